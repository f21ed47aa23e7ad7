"""A single box's SQLite store copied into PostgreSQL, for a centre that moves to the city deployment
(`bilu store copy-to-postgresql URL`).

Every table of `BILU_HOME/bilu.db` is copied, row for row, into an empty PostgreSQL database whose schema
cases/pg_schema.py made at the same migration number: every id kept (so every audit entry's `subject`, every
revision's utterance and every foreign key still names the same row), every audit row with its `content`, its
`prev_hash` and its `hash` as they are (the chain is copied, never recomputed). Then each identity sequence is set
past the highest id the SQLite store ever issued (`sqlite_sequence`, as AUTOINCREMENT promises: an id is never
handed out twice), and `audit_head` to the highest audit id ever issued (what `bilu verify` reads to see deleted
last entries). Then `bilu verify`'s own check runs on the target, over the same `BILU_HOME/audio`: the database
holds paths relative to the home (cases/checks.py `checked_audio_path`), so the audio stays where it is.

The SQLite store is opened read-only and read in one transaction (one snapshot); nothing in it changes (SQLite may
leave its -wal and -shm side files beside bilu.db, the log empty: a read-only connection cannot remove them). The target
is written in one transaction: a failure leaves it as empty as it was. Refused, before anything is written (a
`CopyRefused`, exit 2): a URL that is not postgresql://, a home without a store, a store at an older schema
migration than this version of Bilu (or a newer one), a target database that already holds rows.

The audit table's triggers stay in place while its rows go in: its append-only triggers fire on UPDATE, DELETE and
TRUNCATE, never on INSERT, and the rows go in in id order, the chain's own order. One trigger, which only keeps
audit_head, is switched off inside the copy's transaction, and why is said in `_pause_audit_head`. After the commit every trigger of the
schema is read back from the catalogue and must be there and enabled (`TriggersNotInPlace` otherwise).
"""
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import psycopg

from cases.errors import CopyRefused, StoreError, StoreUnavailable
from cases.integrity import verify
from cases.migrations import MIGRATIONS, MIGRATIONS_TABLE
from cases.pg_database import WRITE_LOCK_KEY, PgDatabase, connect, describe, is_postgres_url
from cases.pg_ddl import SEARCH_SCOPE_COLUMNS
from cases.pg_schema import apply_pg_migrations
from cases.store import Store

__all__ = ["CopyRefused", "CopyReport", "REQUIRED_TRIGGERS", "copy_to_postgresql"]

logger = logging.getLogger(__name__)

DATABASE_NAME = "bilu.db"  # cases/store.py's
PROGRESS_EVERY_ROWS = 10_000
_SQLITE_OWN = ("sqlite_", "utterances_fts_")  # SQLite's bookkeeping and FTS5's shadow tables: not the store's rows
_PG_OWN = ("audit_head",)  # written from what is copied (see the module's text)
DEFAULT_UNIT = (1, "默认单位")  # the one row migration 5 writes (cases/pg_ddl.py V5): an empty store holds it
PATH_COLUMNS = (("sessions", "audio_path"), ("audio_segments", "path"), ("signatures", "strokes_path"),
                ("signatures", "image_path"))
"""Where the store names files under its home: checked relative, the audio does not move."""

REQUIRED_TRIGGERS = frozenset({
    ("audit", "audit_no_update"), ("audit", "audit_no_delete"), ("audit", "audit_no_truncate"),
    ("audit", "audit_head_follows"), ("utterances", "utterances_keep_original_text"),
    ("utterances", "utterances_original_text_is_final"),
})
"""The triggers that guard the record on PostgreSQL (cases/pg_ddl.py V6 and V8): each must be there and enabled
after the copy."""

Progress = Callable[[str, int, int], None]
"""progress(table, rows copied so far, rows of the table in all)."""


class TriggersNotInPlace(RuntimeError):
    """A trigger that guards the record is missing or disabled after the copy: a bug, never the user's input."""


@dataclass(frozen=True, slots=True)
class CopyReport:
    source: Path
    target: str  # the URL without its password
    migration: int  # the schema migration both stores are at
    rows: dict[str, int]  # rows copied, by table, in the order copied
    next_ids: dict[str, int]  # the id each table with one hands out next
    last_audit_id: int  # the highest audit id the SQLite store ever issued, now audit_head's
    triggers: tuple[str, ...]  # "table.trigger", each read back enabled after the commit
    files_named: int  # file paths in the rows, all relative to BILU_HOME
    verify: object  # cases.integrity.IntegrityReport of the target

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def copy_to_postgresql(home: Path | str, url: str, *, progress: Progress | None = None,
                       verify_progress: Callable[[int, int], None] | None = None) -> CopyReport:
    """Copy the SQLite store in `home` into the empty PostgreSQL database at `url`, then verify the target
    (`verify_progress`: bytes of audio re-hashed, as `bilu verify` shows them)."""
    home = Path(home)
    if not is_postgres_url(url):
        raise CopyRefused(f"the target must be a postgresql:// URL (postgresql://user@host:port/name), not "
                          f"{describe(url)!r}")
    path = home / DATABASE_NAME
    if not path.is_file():
        raise CopyRefused(f"there is no SQLite store at {path}: set BILU_HOME to the folder that holds bilu.db")
    with closing(_open_read_only(path)) as source:
        source.execute("BEGIN")  # one snapshot for every read, even if the service still writes
        migration = _check_source_migrations(source, path)
        try:
            target = connect(url)
        except psycopg.Error as error:
            raise StoreUnavailable(f"cannot connect to the PostgreSQL database {describe(url)}: "
                                   f"{str(error).strip()}") from error
        with closing(target):
            _refuse_rows(target, url)  # before the migrations touch it
            apply_pg_migrations(target)
            tables = _tables_in_copy_order(source, target)
            files_named = _check_paths(source)
            with _write_transaction(target):
                _refuse_rows(target, url)  # again under the write lock: nobody wrote in between
                rows = _copy_tables(source, target, tables, progress)
                last_audit_id = _copy_audit_head(source, target)
                next_ids = _reset_sequences(source, target)
                _check_counts(target, rows)
            triggers = _triggers_in_place(target)
        source.execute("COMMIT")
    logger.info("copied %s (migration %d) to %s: %d tables, %d rows", path, migration, describe(url), len(rows),
                sum(rows.values()))
    with Store.open(home, database_url=url) as store:
        report = verify(store, progress=verify_progress)
    return CopyReport(source=path, target=describe(url), migration=migration, rows=rows, next_ids=next_ids,
                      last_audit_id=last_audit_id, triggers=triggers, files_named=files_named, verify=report)


def _open_read_only(path: Path) -> sqlite3.Connection:
    # mode=ro: this connection cannot write the store, whatever runs on it (a WAL file left by a running service is
    # read, not checkpointed into bilu.db). isolation_level=None: the BEGIN and COMMIT above are ours.
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True, isolation_level=None)
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        raise CopyRefused(f"{path} cannot be read as a SQLite store: {error}") from error
    return connection


def _check_source_migrations(source: sqlite3.Connection, path: Path) -> int:
    known = [number for number, _, _ in MIGRATIONS]
    exists = source.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                            [MIGRATIONS_TABLE]).fetchone()
    applied = [row[0] for row in source.execute(f"SELECT number FROM {MIGRATIONS_TABLE} ORDER BY number")] \
        if exists else []
    newer = sorted(set(applied) - set(known))
    if newer:
        raise CopyRefused(f"the SQLite store {path} has schema migrations {newer} that this version of Bilu does "
                          f"not know (it knows 1 to {known[-1]}): copy it with the version that wrote it")
    if applied != known:
        at = max(applied, default=0)
        raise CopyRefused(f"the SQLite store {path} is at schema migration {at}, this version of Bilu at "
                          f"{known[-1]}: open it once with this version (for example `bilu cases` with "
                          f"BILU_HOME={path.parent}), which brings it up to date, then copy it")
    return known[-1]


def _refuse_rows(target: PgDatabase, url: str) -> None:
    """Refuse a target that holds anything but what the migrations themselves write."""
    found = []
    for table in _pg_tables(target):
        if table in (MIGRATIONS_TABLE, *_PG_OWN):
            continue
        count = target.raw.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        if table == "units" and count == 1 and target.raw.execute(
                "SELECT id, name FROM units WHERE parent_id IS NULL").fetchone() == DEFAULT_UNIT:
            continue
        if count:
            found.append(f"{table} ({count})")
    if found:
        raise CopyRefused(f"the PostgreSQL database {describe(url)} already has rows: {', '.join(found)}; copy "
                          "into a new, empty database (createdb, see README \"City deployment\")")


def _pg_tables(target: PgDatabase) -> list[str]:
    return [row[0] for row in target.raw.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        " AND table_type = 'BASE TABLE' ORDER BY table_name")]


def _tables_in_copy_order(source: sqlite3.Connection, target: PgDatabase) -> list[tuple[str, list[str]]]:
    """(table, columns) for every table to copy, each after the tables its foreign keys name."""
    sqlite_tables = {row[0] for row in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                     if not row[0].startswith(_SQLITE_OWN)} - {MIGRATIONS_TABLE}
    pg_tables = set(_pg_tables(target)) - {MIGRATIONS_TABLE, *_PG_OWN}
    if sqlite_tables != pg_tables:  # tests/cases/test_pg_schema.py keeps them equal: a bug if not
        raise StoreError(f"the two schemas differ: only in SQLite {sorted(sqlite_tables - pg_tables)}, only in "
                         f"PostgreSQL {sorted(pg_tables - sqlite_tables)}; nothing was copied")
    columns: dict[str, list[str]] = {}
    for table, column in target.raw.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND is_generated = 'NEVER' ORDER BY table_name, ordinal_position"):
        if table in pg_tables and not (table == "utterances_fts" and column in SEARCH_SCOPE_COLUMNS):
            columns.setdefault(table, []).append(column)
    for table in sorted(pg_tables):
        in_sqlite = {row[1] for row in source.execute(f'PRAGMA table_info("{table}")')}
        if table == "utterances_fts":
            in_sqlite.add("rowid")  # FTS5's rowid is the utterance's id
        if in_sqlite != set(columns[table]):
            raise StoreError(f"the table {table} has other columns in SQLite ({sorted(in_sqlite)}) than in "
                             f"PostgreSQL ({sorted(columns[table])}); nothing was copied")
    needs: dict[str, set[str]] = {table: set() for table in pg_tables}
    for child, parent in target.raw.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint WHERE contype = 'f'"
            " AND connamespace = current_schema()::regnamespace"):
        if child != parent and child in needs:
            needs[child].add(parent)
    ordered: list[str] = []
    while len(ordered) < len(needs):
        ready = sorted(t for t in needs if t not in ordered and needs[t] <= set(ordered))
        if not ready:
            raise StoreError(f"the foreign keys of {sorted(set(needs) - set(ordered))} form a cycle")
        ordered += ready
    # The search index last: its trigger reads each line's session, case and speaker (cases/pg_ddl.py V16).
    ordered.remove("utterances_fts")
    ordered.append("utterances_fts")
    return [(table, columns[table]) for table in ordered]


def _check_paths(source: sqlite3.Connection) -> int:
    """The files the rows name, all relative to BILU_HOME (the audio is not moved); refused otherwise."""
    named, outside = 0, []
    for table, column in PATH_COLUMNS:
        for (value,) in source.execute(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"):
            named += 1
            path = PurePosixPath(str(value).replace("\\", "/"))
            if path.is_absolute() or ".." in path.parts:
                outside.append(f"{table}.{column} {value!r}")
    if outside:
        raise CopyRefused(f"{len(outside)} file paths in the SQLite store are not relative to BILU_HOME, so other "
                          f"nodes could not find them: {'; '.join(outside[:5])}")
    return named


@contextmanager
def _write_transaction(target: PgDatabase) -> Iterator[None]:
    """One transaction for the whole copy, holding the store's write lock (no Bilu node writes meanwhile)."""
    raw = target.raw
    raw.execute("BEGIN")
    try:
        raw.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK_KEY])
        yield
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    raw.execute("COMMIT")


def _source_rows(source: sqlite3.Connection, table: str, columns: list[str]) -> Iterator[tuple]:
    select = ", ".join(f'"{column}"' for column in columns)
    if table == "units":  # a unit refers to its parent: parents first, whatever their ids
        yield from _parents_first(list(source.execute(f"SELECT {select} FROM units ORDER BY id")),
                                  columns.index("id"), columns.index("parent_id"))
        return
    # rowid order: the order the rows were written in, the audit chain's own order for the audit table
    cursor = source.execute(f'SELECT {select} FROM "{table}" ORDER BY rowid')
    while batch := cursor.fetchmany(PROGRESS_EVERY_ROWS):
        yield from batch


def _parents_first(rows: list[tuple], id_at: int, parent_at: int) -> list[tuple]:
    placed: set = {None}
    ordered: list[tuple] = []
    while rows:
        ready = [row for row in rows if row[parent_at] in placed]
        if not ready:  # a parent that is not there: PostgreSQL's foreign key names it
            ready = rows
        ordered += ready
        placed |= {row[id_at] for row in ready}
        rows = [row for row in rows if row not in ready]
    return ordered


def _copy_tables(source: sqlite3.Connection, target: PgDatabase, tables: list[tuple[str, list[str]]],
                 progress: Progress | None) -> dict[str, int]:
    raw = target.raw
    # The default unit migration 5 wrote into this new database makes way for the store's own (id 1 as well).
    raw.execute("DELETE FROM units WHERE id = %s AND name = %s", list(DEFAULT_UNIT))
    rows: dict[str, int] = {}
    for table, columns in tables:
        total = source.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        done = 0
        if progress is not None:
            progress(table, 0, total)
        names = ", ".join(f'"{column}"' for column in columns)
        if table == "audit":
            _pause_audit_head(raw)
        try:
            with raw.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in _source_rows(source, table, columns):
                    copy.write_row(row)
                    done += 1
                    if progress is not None and done % PROGRESS_EVERY_ROWS == 0:
                        progress(table, done, total)
        except psycopg.Error as error:
            # A constraint (a foreign key, a CHECK) is checked as each row goes in, or at the end of the COPY.
            where = f"at row {done + 1} of {total}" if done < total else f"when its {total} rows were checked"
            raise StoreError(f"copying the table {table} failed {where}: {' '.join(str(error).split())}; "
                             "nothing was copied") from error
        if progress is not None and done % PROGRESS_EVERY_ROWS:
            progress(table, done, total)
        if table == "audit":
            raw.execute("ALTER TABLE audit ENABLE TRIGGER audit_head_follows")
        rows[table] = done
    return rows


def _pause_audit_head(raw) -> None:
    """Switch off `audit_head_follows` (cases/pg_ddl.py V8) for the audit rows copied, and only it.

    Why: it updates the one row of audit_head for every audit row inserted, and within one transaction every such
    update leaves a row version that cannot be cleaned up until the commit and that the next update scans: the copy
    grows with the square of the entries (measured: 5,000 entries 1.1 s, 20,000 8 s, 40,000 35 s; without it
    0.05, 0.16 and 0.25 s), so a year of a box's entries would take hours. `_copy_audit_head` then sets audit_head
    once, to what the trigger would have left (or higher: the last id SQLite issued).
    Safe: ALTER TABLE is part of the copy's transaction. It holds an exclusive lock on audit until the commit (no
    other session appends meanwhile, or sees the trigger off), the trigger is switched on again before the commit,
    and a failure rolls both back. The append-only triggers (UPDATE, DELETE, TRUNCATE) stay on throughout: an
    INSERT does not fire them. After the commit `_triggers_in_place` reads every trigger back, enabled."""
    raw.execute("ALTER TABLE audit DISABLE TRIGGER audit_head_follows")


def _copy_audit_head(source: sqlite3.Connection, target: PgDatabase) -> int:
    """audit_head: the highest audit id the SQLite store ever issued (sqlite_sequence keeps it past deleted last
    entries, so `bilu verify` on the target still sees them deleted)."""
    raw = target.raw
    issued = source.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit'").fetchone()
    highest = raw.execute("SELECT COALESCE(MAX(id), 0) FROM audit").fetchone()[0]
    last_id = max(highest, issued[0] if issued else 0)
    raw.execute("UPDATE audit_head SET last_id = GREATEST(last_id, %s)", [last_id])
    return last_id


def _reset_sequences(source: sqlite3.Connection, target: PgDatabase) -> dict[str, int]:
    """Each identity sequence past the highest id the SQLite store ever issued (AUTOINCREMENT's promise: an id
    deleted is not issued again), so the next write gets a fresh id."""
    raw = target.raw
    issued = dict(source.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
    next_ids = {}
    for table, sequence in raw.execute(
            "SELECT table_name, pg_get_serial_sequence(quote_ident(table_name), 'id')"
            " FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'id'"
            " AND is_identity = 'YES' ORDER BY table_name").fetchall():
        highest = raw.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"').fetchone()[0]
        last = max(highest, issued.get(table, 0))
        if last:
            raw.execute("SELECT setval(%s, %s, true)", [sequence, last])
        else:
            raw.execute("SELECT setval(%s, 1, false)", [sequence])
        next_ids[table] = last + 1
    return next_ids


def _check_counts(target: PgDatabase, rows: dict[str, int]) -> None:
    for table, copied in rows.items():
        held = target.raw.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        if held != copied:
            raise StoreError(f"the table {table} holds {held} rows after copying {copied}; nothing was copied")


def _triggers_in_place(target: PgDatabase) -> tuple[str, ...]:
    """Every trigger of the schema, read back from the catalogue after the commit: each enabled, the ones that
    guard the record among them."""
    found = target.raw.execute(
        "SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
        " ORDER BY c.relname, t.tgname").fetchall()
    disabled = [f"{table}.{name}" for table, name, enabled in found if enabled != "O"]
    missing = sorted(f"{table}.{name}" for table, name in REQUIRED_TRIGGERS - {(t, n) for t, n, _ in found})
    if disabled or missing:
        raise TriggersNotInPlace(f"after the copy, triggers disabled: {disabled}, missing: {missing}")
    return tuple(f"{table}.{name}" for table, name, _ in found)
