"""The exceptions of the cases package.

All derive from `StoreError`: bad input to the store or the exports (error_kinds.BadInput, so a ValueError);
those that name something missing are also NotFound, those that clash with what is stored Conflict. The api layer
maps the kinds to HTTP codes and exit codes in one table each. Each message says what was wrong and what is
allowed; each class names a stable `code` that the API returns with it.
"""
from error_kinds import BadInput, Conflict, NotFound, Unavailable


class StoreError(BadInput):
    """Bad input to the store or the exports, or a state the store cannot work with."""

    code = "store_input_invalid"


class StoreUnavailable(Unavailable):
    """The database cannot be reached or is not set up right (BILU_DATABASE_URL): an administrator fixes it."""

    code = "database_unavailable"


class CopyRefused(StoreError):
    """`bilu store copy-to-postgresql` cannot start: the message names what is wrong (the URL, the SQLite store,
    the target database); nothing was written."""

    code = "store_copy_refused"


class InvalidCaseNumber(StoreError):
    """A case number that is empty, too long, or holds characters that are not allowed."""

    code = "case_number_invalid"


class CaseNotFound(NotFound, StoreError):
    """No case with that case number."""

    code = "case_not_found"


class SessionNotFound(NotFound, StoreError):
    """No session with that id."""

    code = "session_not_found"


class SessionNotDeletable(StoreError):
    """Only sessions that never completed may be deleted: finished records are kept."""

    code = "session_not_deletable"


class SessionNotWithdrawable(Conflict, StoreError):
    """Only a finished upload may be withdrawn, once: not a live recording, nor one still being transcribed."""

    code = "session_not_withdrawable"


class InvalidQuery(StoreError):
    """A search query with nothing to search for, or a bad search argument."""

    code = "search_invalid"


class UnknownFormat(StoreError):
    """An export format that is not one of `cases.exports.FORMATS`."""

    code = "export_format_unknown"


class InvalidAccount(StoreError):
    """A unit, user name, role, display name or password that is not allowed."""

    code = "account_invalid"


class UnitNotFound(NotFound, StoreError):
    """No unit with that name (or id)."""

    code = "unit_not_found"


class UserNotFound(NotFound, StoreError):
    """No user with that name."""

    code = "user_not_found"


class AccountExists(Conflict, StoreError):
    """A unit or user with that name exists already."""

    code = "account_exists"


class CaseExists(Conflict, StoreError):
    """A case with that case number exists already (opening a new case)."""

    code = "case_exists"


class InvalidCorrection(StoreError):
    """A correction that cannot be applied: a split point outside the utterance, merging non-neighbours,
    correcting a session that is still being recorded, ..."""

    code = "correction_invalid"


class UtteranceNotFound(NotFound, StoreError):
    """No utterance with that id in that session (or it was merged into its neighbour)."""

    code = "utterance_not_found"


class SpeakerNotFound(NotFound, StoreError):
    """No speaker with that label in that session."""

    code = "speaker_not_found"


class StaleVersion(Conflict, StoreError):
    """A change saved against an older version of an utterance or speaker than the stored one.

    `current_version` and `current` (the stored row, as the API shows it) let the client show what the
    other person saved, and try again.
    """

    code = "version_stale"

    def __init__(self, message: str, *, current_version: int, current: dict) -> None:
        super().__init__(message)
        self.current_version = current_version
        self.current = current
