"""The exceptions of the cases package.

All derive from `StoreError`, itself a `ValueError`, so that the api layer can map them to 4xx
responses in one place. Each message says what was wrong and what is allowed.
"""


class StoreError(ValueError):
    """Bad input to the store or the exports, or a state the store cannot work with."""


class InvalidCaseNumber(StoreError):
    """A case number that is empty, too long, or holds characters that are not allowed."""


class CaseNotFound(StoreError):
    """No case with that case number."""


class SessionNotFound(StoreError):
    """No session with that id."""


class SessionNotDeletable(StoreError):
    """Only sessions that never completed may be deleted: finished records are kept."""


class InvalidQuery(StoreError):
    """A search query with nothing to search for, or a bad search argument."""


class UnknownFormat(StoreError):
    """An export format that is not one of `cases.exports.FORMATS`."""


class InvalidAccount(StoreError):
    """A unit, user name, role, display name or password that is not allowed."""


class UnitNotFound(StoreError):
    """No unit with that name (or id)."""


class UserNotFound(StoreError):
    """No user with that name."""


class AccountExists(StoreError):
    """A unit or user with that name exists already."""


class InvalidCorrection(StoreError):
    """A correction that cannot be applied: a split point outside the utterance, merging non-neighbours,
    correcting a session that is still being recorded, ..."""


class UtteranceNotFound(StoreError):
    """No utterance with that id in that session (or it was merged into its neighbour)."""


class SpeakerNotFound(StoreError):
    """No speaker with that label in that session."""


class StaleVersion(StoreError):
    """A change saved against an older version of an utterance or speaker than the stored one.

    `current_version` and `current` (the stored row, as the API shows it) let the client show what the
    other person saved, and try again.
    """

    def __init__(self, message: str, *, current_version: int, current: dict) -> None:
        super().__init__(message)
        self.current_version = current_version
        self.current = current
