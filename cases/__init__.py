"""Case records: the SQLite store (cases, sessions, utterances, words, Chinese full-text search)
and the text exports of a session (JSON, SRT, WebVTT, RTTM, 讯问笔录).

The only package that talks to the database. Builds on transcribe (its Utterance type).
"""

from cases.errors import (
    CaseNotFound,
    InvalidCaseNumber,
    InvalidQuery,
    SessionNotDeletable,
    SessionNotFound,
    StoreError,
    UnknownFormat,
)
from cases.exports import FORMATS, export
from cases.checks import check_case_no
from cases.store import SESSION_KINDS, SESSION_STATUSES, Store

__all__ = [
    "FORMATS",
    "SESSION_KINDS",
    "SESSION_STATUSES",
    "CaseNotFound",
    "InvalidCaseNumber",
    "InvalidQuery",
    "SessionNotDeletable",
    "SessionNotFound",
    "Store",
    "StoreError",
    "UnknownFormat",
    "check_case_no",
    "export",
]
