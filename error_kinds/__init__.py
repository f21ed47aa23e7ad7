"""What kind of failure an error is, carried by the error's class: the bottom layer every package may import.

Three kinds, and each decides what the user is told and by whom the fault is fixed:
- `BadInput`: the request, file or option is wrong; the user can fix it (HTTP 4xx, exit code 2).
  `NotFound` and `Conflict` narrow it (404 and 409).
- `Unavailable`: the machine or its configuration is wrong (a model missing or damaged, a pyannote folder broken,
  no audio device, a full disk); an administrator fixes it, and the message names what to fix (HTTP 503, exit 1).
- anything else is a bug (HTTP 500, exit 1, logged with an id the user is shown).

Each package's errors carry one of these as a mixin next to their own base (`class ModelError(Unavailable)`), so
a missing model is no longer mistaken for bad input because it borrowed ValueError. `BadInput` stays a ValueError
(callers that catch ValueError around input checks keep working). When a class inherits two kinds (a capture
setting that is wrong is a CaptureError, whose family is Unavailable), the kind named first in its bases wins:
`kind_of` reads the `kind` attribute, found in method resolution order.

Every error class also names a stable `code` (snake_case): the API returns it with the message, and clients may
rely on it where the wording changes. A raise may add `zh=`, the message in Chinese for this one case; without it
the API shows the Chinese message of the class's code. This module imports nothing of ours: `capture`, the lowest package, uses it.
"""
import enum
import errno
import sqlite3

__all__ = ["Kind", "KindedError", "BadInput", "NotFound", "Conflict", "Unavailable", "kind_of", "code_of"]


class Kind(enum.Enum):
    BAD_INPUT = "bad_input"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNAVAILABLE = "unavailable"
    BUG = "bug"


class KindedError(Exception):
    """What every kind shares: an optional Chinese message for the people in the room (`zh`), next to the
    technical message (the first argument) that logs, the command line and tests read."""

    def __init__(self, *args, zh: str | None = None) -> None:
        super().__init__(*args)
        self.zh = zh


class BadInput(KindedError, ValueError):
    """The input is wrong; the message says what was wrong and what is allowed."""

    kind = Kind.BAD_INPUT
    code = "bad_input"


class NotFound(BadInput):
    """The input names something that does not exist (or that the user may not see)."""

    kind = Kind.NOT_FOUND
    code = "not_found"


class Conflict(BadInput):
    """The input is valid but clashes with the stored state (a busy room, a name taken, an older version)."""

    kind = Kind.CONFLICT
    code = "conflict"


class Unavailable(KindedError):
    """The machine or its configuration cannot do it; the message names what to fix (a setting, a folder, a device)."""

    kind = Kind.UNAVAILABLE
    code = "unavailable"


# errno values that mean the machine ran out of room or may not write: the environment, not the input.
_ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def kind_of(exc: BaseException) -> Kind:
    """The kind of `exc`: its class's own, or for the standard library's errors of the environment (a full disk,
    a read-only file system, SQLite's "database or disk is full"), Unavailable; anything else is a bug."""
    kind = getattr(type(exc), "kind", None)
    if isinstance(kind, Kind):
        return kind
    if isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS:
        return Kind.UNAVAILABLE
    if isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc):
        return Kind.UNAVAILABLE
    return Kind.BUG


def code_of(exc: BaseException) -> str:
    """The stable snake_case code of `exc` (the class's own, or one for its kind)."""
    code = getattr(type(exc), "code", None)
    if isinstance(code, str) and isinstance(getattr(type(exc), "kind", None), Kind):
        return code
    kind = kind_of(exc)
    if kind is Kind.UNAVAILABLE:
        return "disk_full" if _is_disk_full(exc) else "unavailable"
    return "internal_error" if kind is Kind.BUG else kind.value


def _is_disk_full(exc: BaseException) -> bool:
    return (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or (
        isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc))
