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
