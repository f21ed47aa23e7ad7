"""Which sessions are being worked on right now: an exclusive lock file per session, held by the process at work.

The kernel drops a flock when its process dies, however it dies (kill -9, power loss), so a session still
marked "transcribing" whose lock can be taken was left by a dead process. Recovery holds the same lock while it
finishes a session, so two recoverers (the service starting, `bilu recover`) never work on one session at once.
Whoever holds a lock re-reads the session's status before working on it: work only ever starts on a session
still "transcribing", and a session's status changes before its lock is let go.

A live recording locks `.recording.lock` in its own audio folder before its session exists (engine/live.py). A
file's session gets its id only when it is created, so its lock, `locks/session-N.lock` under BILU_HOME, is
taken while `locks/creating.lock` is held; recovery looks for abandoned file sessions while holding that lock
too, so it never sees a file session between its creation and its lock.
"""
import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from cases import Store

log = logging.getLogger(__name__)

LOCKS_DIR = "locks"
_CREATING_NAME = "creating.lock"


class SessionLock:
    """An exclusive flock on a session's lock file; `release()` lets it go (and removes a file session's)."""

    def __init__(self, path: Path, handle: IO, *, remove_on_release: bool):
        self.path = path
        self._handle: IO | None = handle
        self._remove = remove_on_release

    @property
    def held(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        if self._handle is None:
            return
        if self._remove:  # removed while still held: whoever opens the name later gets a fresh, free file
            self.path.unlink(missing_ok=True)
        self._handle.close()
        self._handle = None


def try_lock(path: Path, *, remove_on_release: bool = False) -> SessionLock | None:
    """Take the exclusive lock on `path` (created if missing) without waiting; None while another holds it."""
    handle = open(path, "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return SessionLock(path, handle, remove_on_release=remove_on_release)


def file_session_lock_path(home: Path, session_id: int) -> Path:
    return home / LOCKS_DIR / f"session-{session_id}.lock"


def try_lock_file_session(home: Path, session_id: int) -> SessionLock | None:
    path = file_session_lock_path(home, session_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    return try_lock(path, remove_on_release=True)


@contextmanager
def creating_file_sessions(home: Path) -> Iterator[None]:
    """Held (briefly) while a file session is created and locked, and while recovery picks file sessions."""
    path = home / LOCKS_DIR / _CREATING_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # waits: the holder only creates a row or lists a few ids
        yield


def create_locked_file_session(store: Store, **session_fields) -> tuple[int, SessionLock]:
    """`store.create_session(kind="file", ...)`, returning the session id and the lock now held on it.

    The caller releases the lock after the session's final status is stored (done or failed)."""
    with creating_file_sessions(store.home):
        session_id = store.create_session(**session_fields)
        lock = try_lock_file_session(store.home, session_id)
    if lock is None:  # a new id nobody can hold; if it happens, the session must not stay "transcribing"
        store.fail_session(session_id, error="the new session's lock file was held by another process")
        raise RuntimeError(f"session {session_id} was just created but its lock file is held by another process")
    return session_id, lock


__all__ = ["SessionLock", "create_locked_file_session", "creating_file_sessions", "file_session_lock_path",
           "try_lock", "try_lock_file_session"]
