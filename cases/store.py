"""The case store: one SQLite database (via sqlite-utils) and the audio folder under a home folder; or, with
`database_url` (BILU_DATABASE_URL), a PostgreSQL database and the audio folder (cases/pg_database.py).

`Store` is a composition of one object per concern, all over one shared connection, one lock and one audit
writer (cases/concern.py); none reaches into another's private members:

    store.cases        Cases        cases/case_records.py  cases: create on first use, read, discard if unused
    store.sessions     Sessions     cases/sessions.py      sessions, speakers and roles, utterances and words,
                                                           findings, speaker turns
    store.segments     Segments     cases/segments.py      a live session's audio segments, how far it is transcribed
    store.corrections  Corrections  cases/revisions.py     corrections of a transcript and their revisions
    store.case_people  People       cases/people.py        the people of a case
    store.accounts     Accounts     cases/accounts.py      units, users, prosecutors' assignments, session officers
    store.tokens       Tokens       cases/auth_tokens.py   login sessions and API tokens
    store.access       Access       cases/access.py        reads of cases and sessions limited to a scope
    store.full_text    Search       cases/search_filters.py  full-text search and session filters
    store.audit        Audit        cases/audit.py         entries for what changes nothing (reads, failed logins);
                                                           reading the audit table
    store.exports      Exports      cases/integrity.py     an export's entry with its read; `bilu verify`
    store.room_agents  RoomAgents   cases/room_agents.py   rooms whose agent streams here, their tokens, the
                                                           streams and their outages
    store.login_throttle  LoginThrottle  cases/login_throttle.py  failed logins per account and (account, address)
    store.procedure    Procedure    cases/procedure.py     what a case records for the guardrails (summons, detention,
                                                           birth date, interpreter, guardian); guardrail findings
    store.signing      Signing      cases/signing.py       the record's read-back, signatures, amendments after signing
    store.written      WrittenRecords  cases/written_records.py  the written records (讯问笔录) imported, every version

Callers keep the flat names: every public method of a concern is also a method of `Store` with the same name
and signature (`store.add_user(...)` is `store.accounts.add_user(...)`), generated below from the concern
classes, so that no name is served twice and no concern's new method needs a hand-written forwarder. The api,
the engine, the benchmarks and the tests call the 66 store methods from 62 files; renaming every call site would
have touched code other work was changing at the same time for no gain to a caller.

The rules every concern follows, and a second backend (PostgreSQL) must keep:
- dicts in, dicts out, times as seconds (stored as integer milliseconds), timestamps returned in local time;
- a method that changes data does it in one write transaction (here `immediate_transaction`: the write lock
  taken at BEGIN) that also appends its audit entries through the shared `AuditWriter`, with the `actor`
  given (SYSTEM_ACTOR when the pipeline, the recorder or recovery writes): the change and its entry are kept
  or lost together (tests/cases/test_store_audit.py walks every public method to hold this);
- the audit chain is appended in that transaction with the hash of the entry before (one writer at a time);
- errors are the classes of cases/errors.py, raised before anything is written where the input is at fault.
PostgreSQL keeps them with the same concern classes, written once: `PgDatabase` (cases/pg_database.py) offers
the few methods of sqlite-utils' `Database` they use and translates SQLite's dialect in one place; its
`immediate_transaction` takes one advisory lock at BEGIN, so writers in every process and node take turns as on
SQLite and the audit chain stays one line. Its schema is cases/pg_schema.py, migration by migration; what is
not a word-for-word translation is asked of the dialect by name (full-text search: cases/search_candidates.py;
the last audit id issued: cases/integrity.py).

One `Store` may be shared by threads (the api's request handlers and its transcription workers): every public
method holds the store's lock, and the connection is opened with `check_same_thread=False` for that reason.
Several processes may open the same home: WAL mode lets readers run beside a writer, and every write
transaction takes the write lock at BEGIN and waits for the busy timeout.
"""

import functools
import inspect
import logging
import sqlite3
import threading
from pathlib import Path

from sqlite_utils import Database

from cases.access import Access
from cases.accounts import Accounts
from cases.audit import Audit, AuditWriter
from cases.auth_tokens import Tokens
from cases.case_records import Cases
from cases.concern import Concern, Shared
from cases.errors import StoreUnavailable
from cases.integrity import Exports
from cases.login_throttle import LoginThrottle
from cases.migrations import apply_migrations
from cases.people import People
from cases.procedure import Procedure
from cases.signing import Signing
from cases.revisions import Corrections
from cases.room_agents import RoomAgents
from cases.search_filters import Search
from cases.segments import Segments
from cases.sessions import SESSION_KINDS, SESSION_STATUSES, Sessions
from cases.written_records import WrittenRecords

__all__ = ["CONCERNS", "SESSION_KINDS", "SESSION_STATUSES", "Store"]

logger = logging.getLogger(__name__)

DATABASE_NAME = "bilu.db"
AUDIO_DIR_NAME = "audio"
BUSY_TIMEOUT_MS = 10_000

CONCERNS: dict[str, type[Concern]] = {
    "cases": Cases, "sessions": Sessions, "segments": Segments, "corrections": Corrections,
    "case_people": People, "accounts": Accounts, "tokens": Tokens, "access": Access, "full_text": Search,
    "audit": Audit, "exports": Exports, "room_agents": RoomAgents,
    "login_throttle": LoginThrottle, "procedure": Procedure, "signing": Signing, "written": WrittenRecords,
}
"""The attribute of `Store` that holds each concern, and its class (named apart from every method: `store.people`
and `store.search` are methods)."""


class Store:
    """Cases, sessions and transcripts under one home folder (`bilu.db` and `audio/`): see the module's text."""

    cases: Cases
    sessions: Sessions
    segments: Segments
    corrections: Corrections
    case_people: People
    accounts: Accounts
    tokens: Tokens
    access: Access
    full_text: Search
    audit: Audit
    exports: Exports
    room_agents: RoomAgents
    login_throttle: LoginThrottle
    procedure: Procedure
    signing: Signing
    written: WrittenRecords

    def __init__(self, *, home: Path, db: Database) -> None:
        """Use `Store.open(home)`; this only wraps a database that is already set up."""
        self.home = home
        self.audio_dir = home / AUDIO_DIR_NAME
        self._db = db
        self._lock = threading.RLock()
        self._closed = False
        shared = Shared(db=db, lock=self._lock, home=home, audit=AuditWriter(db))
        accounts, sessions = Accounts(shared), Sessions(shared)
        self._concerns: dict[str, Concern] = {
            "cases": Cases(shared), "sessions": sessions, "segments": Segments(shared),
            "corrections": Corrections(shared), "case_people": People(shared), "accounts": accounts,
            "tokens": Tokens(shared, accounts=accounts), "access": Access(shared), "full_text": Search(shared),
            "audit": Audit(shared), "exports": Exports(shared, sessions=sessions),
            "room_agents": RoomAgents(shared),
            "login_throttle": LoginThrottle(shared), "procedure": Procedure(shared), "signing": Signing(shared),
            "written": WrittenRecords(shared),
        }
        assert {name: type(concern) for name, concern in self._concerns.items()} == CONCERNS

    @classmethod
    def open(cls, home: Path | str, *, database_url: str | None = None) -> "Store":
        """Open (creating if needed) the store in `home`, and bring its schema up to date.

        `database_url` (postgresql://…, the setting BILU_DATABASE_URL): the records are in that PostgreSQL
        database instead of `home/bilu.db` (cases/pg_database.py); the audio stays under `home/audio`.
        """
        home = Path(home)
        (home / AUDIO_DIR_NAME).mkdir(parents=True, exist_ok=True)
        if database_url:
            return cls._open_postgres(home, database_url)
        connection = sqlite3.connect(
            str(home / DATABASE_NAME), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        try:
            db = Database(connection)
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA foreign_keys = ON")
            db.enable_wal()
            apply_migrations(db)
        except BaseException:
            connection.close()
            raise
        logger.info("opened store %s", home)
        return cls(home=home, db=db)

    @classmethod
    def _open_postgres(cls, home: Path, database_url: str) -> "Store":
        from cases.pg_database import connect, describe, is_postgres_url
        from cases.pg_schema import apply_pg_migrations

        if not is_postgres_url(database_url):
            raise StoreUnavailable(f"BILU_DATABASE_URL must start with postgresql://, not "
                                   f"{describe(database_url)!r}")
        import psycopg

        try:
            db = connect(database_url)
        except psycopg.Error as error:
            raise StoreUnavailable(f"cannot connect to the PostgreSQL database {describe(database_url)}: "
                                   f"{str(error).strip()}") from error
        try:
            applied = apply_pg_migrations(db)
        except BaseException:
            db.close()
            raise
        logger.info("opened store %s on PostgreSQL %s (%d migrations applied)", home, describe(database_url),
                    len(applied))
        return cls(home=home, db=db)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._db.close()
                self._closed = True

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def public_methods(concern: type[Concern]) -> dict[str, object]:
    """The public methods a concern class defines (not those of `Concern` itself)."""
    return {name: member for name, member in vars(concern).items()
            if not name.startswith("_") and inspect.isfunction(member)}


def _forwarder(concern_name: str, name: str, method):
    @functools.wraps(method)
    def forward(self: Store, *args, **kwargs):
        return getattr(self._concerns[concern_name], name)(*args, **kwargs)

    forward.concern = concern_name  # type: ignore[attr-defined]
    return forward


def _install_flat_names() -> None:
    served: dict[str, str] = {}
    for concern_name, concern in CONCERNS.items():
        for name, method in public_methods(concern).items():
            if name in served:
                raise TypeError(f"{name} is a method of both the {served[name]} and the {concern_name} concerns")
            if hasattr(Store, name):
                raise TypeError(f"the {concern_name} concern's method {name} would hide Store.{name}")
            served[name] = concern_name
            setattr(Store, name, _forwarder(concern_name, name, method))
    for concern_name in CONCERNS:
        if concern_name in served or hasattr(Store, concern_name):
            raise TypeError(f"the concern attribute {concern_name} is also a method's name")
        setattr(Store, concern_name, property(lambda self, n=concern_name: self._concerns[n],
                                              doc=f"The {concern_name} concern."))


_install_flat_names()
