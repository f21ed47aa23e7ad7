"""What every part of the store shares: one connection, one lock, one audit writer, the home folder.

The connection is sqlite-utils' `Database`, or `PgDatabase` (cases/pg_database.py), which offers the same few
methods over PostgreSQL: the concerns' SQL is written once, in SQLite's dialect.

`Store` (cases/store.py) builds one `Shared` and one object per concern over it. A concern uses only its own
members, the shared ones, the plain functions of cases/lookups.py and cases/reads.py, and other concerns'
public methods: never another concern's private members.
"""
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlite_utils import Database

if TYPE_CHECKING:
    from cases.audit import AuditWriter


@dataclass(frozen=True, slots=True)
class Shared:
    db: Database
    lock: threading.RLock
    home: Path
    audit: "AuditWriter"


class Concern:
    """A part of the store over the shared connection. Public methods hold the lock (`@locked`); those that
    change data do it in one `immediate_transaction` that also appends their audit entry."""

    def __init__(self, shared: Shared) -> None:
        self._db = shared.db
        self._lock = shared.lock
        self._audit = shared.audit
        self.home = shared.home
