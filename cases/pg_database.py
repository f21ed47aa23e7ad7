"""PostgreSQL under the store's concerns: the few methods of sqlite-utils' `Database` they use, over psycopg 3.

The concern classes (cases/concern.py) are written once, in SQLite's dialect, against `db.execute`, `db.query`,
`db.conn.executemany`, `db.conn.in_transaction`, `cursor.lastrowid` / `rowcount` and `immediate_transaction`
(cases/migrations.py). `PgDatabase` offers exactly those over one psycopg connection, and this module is the ONE
place where SQLite's dialect becomes PostgreSQL's (`translate`):

    IS NOT ? / IS ?          -> IS DISTINCT FROM ? / IS NOT DISTINCT FROM ?   (SQLite's null-safe comparisons)
    ?                        -> %s                (positional parameters)
    :name  (dict parameters) -> %(name)s          (named parameters)
    %                        -> %%                (a literal percent sign, outside string literals)
    INSERT OR IGNORE INTO …  -> INSERT INTO … ON CONFLICT DO NOTHING
    INSERT INTO t …          -> … RETURNING id    (t a table with an `id` column: `cursor.lastrowid`)
    BEGIN IMMEDIATE          -> BEGIN; SELECT pg_advisory_xact_lock(WRITE_LOCK_KEY)
    BEGIN   (a read snapshot)-> BEGIN ISOLATION LEVEL REPEATABLE READ
    Python bool parameters   -> 0 / 1             (SQLite stores booleans as integers; so do these tables)
    Python int parameters    -> int8              (every INTEGER column is BIGINT here, as SQLite's are 64-bit)

What cannot be translated word for word is asked of the dialect by name, in the module that needs it: the
full-text index (cases/search_candidates.py: FTS5's MATCH and rank against a `simple` tsvector, a GIN
index and `ts_rank`) and the highest audit id ever issued (cases/integrity.py, from `audit_head`).

One writer at a time, as in SQLite: every write transaction takes the same transaction-level advisory lock at
BEGIN, so the read-then-write steps of the concerns (the next `seq`, the audit chain's last hash) see every
write committed before them, whichever process or node made it, and the audit chain stays one line. The lock
is released by COMMIT or ROLLBACK, and by the server if the connection dies (a killed process holds nothing).
"""
import functools
import logging
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg.types.numeric import Int8Dumper

__all__ = ["INTEGRITY_ERRORS", "PgDatabase", "WRITE_LOCK_KEY", "connect", "describe", "is_postgres",
           "is_postgres_url", "translate"]

logger = logging.getLogger(__name__)

URL_SCHEMES = ("postgresql://", "postgres://")
WRITE_LOCK_KEY = 0x6269_6C75  # "bilu": the one advisory lock every write transaction of the store takes
CONNECT_TIMEOUT_S = 10

INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.errors.IntegrityError)
"""What a refused constraint or trigger raises, on either backend."""

_INSERT = re.compile(r"^\s*INSERT\s+(OR\s+IGNORE\s+)?INTO\s+(\w+)", re.IGNORECASE)
_STRING_LITERAL = re.compile(r"('(?:[^']|'')*')")
_IS_NOT_PARAMETER = re.compile(r"\bIS\s+NOT\s+\?", re.IGNORECASE)
_IS_PARAMETER = re.compile(r"\bIS\s+\?", re.IGNORECASE)
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and url.startswith(URL_SCHEMES)


def is_postgres(db: object) -> bool:
    """Whether the store's connection is PostgreSQL (else sqlite-utils' Database)."""
    return isinstance(db, PgDatabase)


class _BoolAsInt(Dumper):
    """Python bools as the 0/1 integers the schema keeps (SQLite does the same)."""
    oid = psycopg.postgres.types["int8"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


@functools.lru_cache(maxsize=1024)
def _translate(sql: str, named: bool, id_tables: frozenset[str]) -> str:
    parts = _STRING_LITERAL.split(sql)
    for index in range(0, len(parts), 2):  # even parts are outside string literals
        part = _IS_NOT_PARAMETER.sub("IS DISTINCT FROM ?", parts[index])
        part = _IS_PARAMETER.sub("IS NOT DISTINCT FROM ?", part)
        part = part.replace("%", "%%").replace("?", "%s")
        parts[index] = _NAMED.sub(r"%(\1)s", part) if named else part
    translated = "".join(parts)
    insert = _INSERT.match(translated)
    if insert is not None:
        if insert.group(1):
            translated = translated[:insert.start(1)] + translated[insert.end(1):]
            translated = f"{translated.rstrip()} ON CONFLICT DO NOTHING"
        if insert.group(2).lower() in id_tables and not re.search(r"\bRETURNING\b", translated, re.IGNORECASE):
            translated = f"{translated.rstrip()} RETURNING id"
    return translated


def translate(sql: str, *, named: bool = False, id_tables: frozenset[str] = frozenset()) -> str:
    """The statement in PostgreSQL's dialect (see the module's text). `named`: parameters come as a dict."""
    return _translate(sql, named, id_tables)


class PgCursor:
    """What the concerns read from a cursor: rows as tuples, `rowcount`, and `lastrowid` (from RETURNING id)."""

    def __init__(self, cursor: psycopg.Cursor, *, returns_id: bool) -> None:
        self._cursor = cursor
        self.rowcount = cursor.rowcount
        self.lastrowid: int | None = None
        if returns_id:
            ids = cursor.fetchall()
            self.lastrowid = ids[-1][0] if ids else None

    def fetchone(self) -> tuple | None:
        return self._cursor.fetchone()

    def fetchall(self) -> list[tuple]:
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[tuple]:
        return iter(self._cursor)


class PgConnection:
    """`db.conn` of the concerns: transaction control, `executemany`, `in_transaction`."""

    def __init__(self, database: "PgDatabase") -> None:
        self._database = database

    @property
    def in_transaction(self) -> bool:
        return self._database.raw.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, params: Sequence | Mapping | None = None) -> PgCursor:
        statement = " ".join(sql.split()).upper()
        raw = self._database.raw
        if statement == "BEGIN IMMEDIATE":
            raw.execute("BEGIN")
            raw.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK_KEY])
            return PgCursor(raw.cursor(), returns_id=False)
        if statement in ("BEGIN", "BEGIN DEFERRED"):
            raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")  # one snapshot for every read until COMMIT
            return PgCursor(raw.cursor(), returns_id=False)
        return self._database.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence]) -> None:
        rows = [list(row) for row in rows]
        if rows:
            with self._database.raw.cursor() as cursor:
                cursor.executemany(translate(sql), rows)

    def close(self) -> None:
        self._database.close()


class PgDatabase:
    """The part of sqlite-utils' `Database` the store uses, over one psycopg connection (autocommit: the
    concerns open and close their transactions themselves, as on SQLite)."""

    def __init__(self, raw: psycopg.Connection, *, url: str = "") -> None:
        self.raw = raw
        self.url = url
        self.conn = PgConnection(self)
        self._id_tables: frozenset[str] = frozenset()

    @property
    def id_tables(self) -> frozenset[str]:
        return self._id_tables

    def use_id_tables(self, tables: frozenset[str]) -> None:
        self._id_tables = tables

    def refresh_tables(self) -> None:
        """Learn which tables have an `id` column (their INSERTs return it); after migrations."""
        rows = self.raw.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND column_name = 'id'").fetchall()
        self._id_tables = frozenset(row[0] for row in rows)

    def execute(self, sql: str, params: Sequence | Mapping | None = None) -> PgCursor:
        named = isinstance(params, Mapping)
        translated = translate(sql, named=named, id_tables=self._id_tables)
        cursor = self.raw.cursor()
        cursor.execute(translated, dict(params) if named else list(params or []))
        return PgCursor(cursor, returns_id=translated.endswith(" RETURNING id"))

    def query(self, sql: str, params: Sequence | Mapping | None = None) -> Iterator[dict]:
        named = isinstance(params, Mapping)
        with self.raw.cursor(row_factory=dict_row) as cursor:
            cursor.execute(translate(sql, named=named, id_tables=self._id_tables),
                           dict(params) if named else list(params or []))
            rows = cursor.fetchall()
        return iter(rows)

    def close(self) -> None:
        self.raw.close()


def connect(url: str) -> PgDatabase:
    """A connection to the database at `url` (postgresql://user:password@host:port/name, or with
    ?host=/socket/dir), set up as the store needs it."""
    raw = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, application_name="bilu")
    # Every statement planned with its values (never a generic prepared plan): how many rows hold a searched
    # word decides whether a search starts from the GIN index, and only the value tells.
    raw.prepare_threshold = None
    raw.adapters.register_dumper(int, Int8Dumper)
    raw.adapters.register_dumper(bool, _BoolAsInt)
    raw.execute("SET TIME ZONE 'UTC'")
    return PgDatabase(raw, url=url)


def describe(url: str) -> str:
    """The URL without its password, for logs and messages."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)

