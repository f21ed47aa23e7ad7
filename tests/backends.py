"""The two backends of the store, for tests that run against both: SQLite in the home folder (the default) and
PostgreSQL (a database of the test's own on the session's server, tests/servers/postgres.py).

`Backend.open(home)` opens the store as `bilu` does with and without BILU_DATABASE_URL; `tamper` and `scalar`
reach the database behind Bilu's back (sqlite3, or psycopg), as someone bypassing it would.
"""
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from cases import Store


@dataclass(frozen=True)
class Backend:
    name: str  # "sqlite" or "postgresql"
    url: str | None = None  # the PostgreSQL database's URL

    def open(self, home: Path) -> Store:
        return Store.open(home, database_url=self.url)

    def tamper(self, home: Path, *statements: str, params: tuple = ()) -> None:
        """Run statements directly, with the audit table's triggers out of the way where a statement touches it
        (dropped on SQLite, disabled on PostgreSQL: both need the database's owner, not Bilu)."""
        touches_audit = any("audit" in statement for statement in statements)
        if self.url is None:
            with sqlite3.connect(home / "bilu.db") as db:
                if touches_audit:
                    db.execute("DROP TRIGGER IF EXISTS audit_no_update")
                    db.execute("DROP TRIGGER IF EXISTS audit_no_delete")
                for statement in statements:
                    db.execute(statement, params if "?" in statement else ())
            return
        import psycopg

        with psycopg.connect(self.url) as db:  # one transaction, committed on leaving
            if touches_audit:
                db.execute("ALTER TABLE audit DISABLE TRIGGER USER")
            for statement in statements:
                db.execute(statement.replace("?", "%s"), params if "?" in statement else ())

    def scalar(self, home: Path, sql: str, params: tuple = ()):
        if self.url is None:
            with sqlite3.connect(home / "bilu.db") as db:
                return db.execute(sql, params).fetchone()[0]
        import psycopg

        with psycopg.connect(self.url) as db:
            return db.execute(sql.replace("?", "%s"), params).fetchone()[0]


SQLITE = Backend("sqlite")
