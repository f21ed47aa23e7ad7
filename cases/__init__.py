"""Case records: the SQLite store (cases, sessions, utterances, words, Chinese full-text search,
units, users and who may see what, corrections with revisions, the audit table) and the exports of a
session (JSON, SRT, WebVTT, RTTM, 讯问笔录 as text and DOCX).

The only package that talks to the database. Builds on transcribe (its Utterance type).

`Store` is composed of one class per concern (cases, sessions, segments, corrections, people, accounts, tokens,
access, search, audit, exports, failed logins, written records) over one connection and one audit writer; cases/store.py lists them and what a
second backend must implement. Every store method that changes data takes the `actor` (an `Account`, a name
such as "cli:root", or SYSTEM_ACTOR) and appends its audit entry in the transaction of the change.
"""

from cases.access import CORRECTING_ROLES, Scope, may_administer, may_correct, scope_of
from cases.accounts import LEVELS, ROLES
from cases.actors import SYSTEM_ACTOR, Account, Actor
from cases.errors import (
    AccountExists,
    CaseExists,
    CaseNotFound,
    InvalidAccount,
    InvalidCaseNumber,
    InvalidCorrection,
    InvalidQuery,
    SessionNotDeletable,
    SessionNotWithdrawable,
    SessionNotFound,
    SpeakerNotFound,
    StaleVersion,
    StoreError,
    UnitNotFound,
    UnknownFormat,
    UserNotFound,
    UtteranceNotFound,
)
from cases.login_throttle import LoginWait, ThrottlePolicy
from cases.passwords import generate_password
from cases.room_agents import RoomNotFound, StreamNotOpen
from cases.search_filters import SearchFilters
from cases.exports import FORMATS, export
from cases.checks import check_case_no
from cases.store import SESSION_KINDS, SESSION_STATUSES, Store
from cases.written_records import CHECKABLE_STATUSES, DISCREPANCY_KINDS, WrittenRecordNotFound

__all__ = [
    "CORRECTING_ROLES",
    "LEVELS",
    "ROLES",
    "Account",
    "Actor",
    "SYSTEM_ACTOR",
    "AccountExists",
    "InvalidAccount",
    "InvalidCorrection",
    "LoginWait",
    "ThrottlePolicy",
    "Scope",
    "SearchFilters",
    "SpeakerNotFound",
    "StaleVersion",
    "UnitNotFound",
    "UserNotFound",
    "UtteranceNotFound",
    "RoomNotFound",
    "StreamNotOpen",
    "generate_password",
    "may_administer",
    "may_correct",
    "scope_of",
    "FORMATS",
    "SESSION_KINDS",
    "SESSION_STATUSES",
    "CaseExists",
    "CaseNotFound",
    "InvalidCaseNumber",
    "InvalidQuery",
    "SessionNotDeletable",
    "SessionNotWithdrawable",
    "SessionNotFound",
    "Store",
    "StoreError",
    "UnknownFormat",
    "check_case_no",
    "export",
    "CHECKABLE_STATUSES",
    "DISCREPANCY_KINDS",
    "WrittenRecordNotFound",
]
