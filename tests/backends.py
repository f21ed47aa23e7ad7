"""The two backends of the store, for tests that run against both: SQLite in the home folder (the default) and
PostgreSQL (a database of the test's own on the session's server, tests/servers/postgres.py).

`Backend.open(home)` opens the store as `bilu` does with and without BILU_DATABASE_URL; `tamper` and `scalar`
reach the database behind Bilu's back (sqlite3, or psycopg), as someone bypassing it would.
"""
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cases import Store


@dataclass(frozen=True)
class Backend:
    name: str  # "sqlite" or "postgresql"
    url: str | None = None  # the PostgreSQL database's URL
    server: Any = None  # the PostgresServer holding it

    @property
    def database(self) -> str | None:
        return None if self.url is None else self.url.rsplit("/", 1)[1]

    def copy(self, home: Path, to_home: Path) -> "Backend":
        """A copy of the store in `home` (its folder, and its database) at `to_home`, on a backend of its own.
        Nothing may hold the PostgreSQL database open (a template must be idle)."""
        shutil.copytree(home, to_home)
        if self.url is None:
            return self
        return Backend(self.name, self.server.url(self.server.new_database(template=self.database)), self.server)

    def drop(self) -> None:
        """Remove a copy's PostgreSQL database (nothing to do for SQLite: its file goes with the folder)."""
        if self.url is not None:
            self.server.drop_database(self.database)

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

    def execute(self, home: Path, statement: str, params: tuple = ()) -> None:
        """One statement directly, as an intruder would (no trigger out of the way)."""
        if self.url is None:
            with sqlite3.connect(home / "bilu.db") as db:
                db.execute(statement, params)
            return
        import psycopg

        with psycopg.connect(self.url) as db:
            db.execute(statement.replace("?", "%s"), params)

    def scalar(self, home: Path, sql: str, params: tuple = ()):
        if self.url is None:
            with sqlite3.connect(home / "bilu.db") as db:
                return db.execute(sql, params).fetchone()[0]
        import psycopg

        with psycopg.connect(self.url) as db:
            return db.execute(sql.replace("?", "%s"), params).fetchone()[0]


SQLITE = Backend("sqlite")


def backend_of(settings) -> Backend:
    """The backend a Settings' store is on."""
    return Backend("sqlite") if settings.database_url is None else Backend("postgresql", settings.database_url)


def store_tables(store: Store) -> list[str]:
    """The store's tables, the backend's own bookkeeping (sqlite_*) left out."""
    from cases.pg_database import is_postgres

    if is_postgres(store._db):
        sql = ("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
               " AND table_type = 'BASE TABLE' ORDER BY table_name")
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    return [row[0] for row in store._db.execute(sql)]


def refuse(store: Store, name: str, *, before: str, table: str, message: str, when: str | None = None,
           first: str | None = None) -> None:
    """A trigger that refuses `before` ("INSERT", "UPDATE OF version") on `table` of the store with `message`
    (an integrity error on both backends) when the SQL condition `when` holds, after running the statement
    `first`. SQLite: a temporary trigger of the store's own connection; PostgreSQL: a trigger in the test's own
    copy of the database."""
    from cases.pg_database import is_postgres

    if not is_postgres(store._db):
        where = f" WHERE {when}" if when else ""
        before_check = f" {first};" if first else ""
        store._db.execute(f"CREATE TEMP TRIGGER {name} BEFORE {before} ON main.{table} BEGIN{before_check}"
                          f" SELECT RAISE(ABORT, '{message}'){where}; END")
        return
    before_check = f" {first};" if first else ""
    store._db.raw.execute(
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN{before_check} IF {when or 'TRUE'}"
        f" THEN RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation', MESSAGE = '{message}';"
        " END IF; RETURN NEW; END $$")
    store._db.raw.execute(f"CREATE TRIGGER {name} BEFORE {before} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")


def integrity_errors() -> tuple[type[Exception], ...]:
    from cases.pg_database import INTEGRITY_ERRORS

    return INTEGRITY_ERRORS
