"""The PostgreSQL backend's own guarantees, beside the tests that run on both backends (tests/backends.py):
its schema keeps step with SQLite's migration by migration, the audit table and the recognizer's original text
are protected by triggers as on SQLite, and writers in several processes keep one audit chain."""
import sqlite3
import subprocess
import sys
import textwrap
import time

import psycopg
import pytest
from click.testing import CliRunner

from api.cli import cli
from cases import Store
from cases.errors import StoreUnavailable
from cases.integrity import verify
from cases.migrations import MIGRATIONS
from cases.pg_database import translate
from tests.api.helpers import words_of
from transcribe import Utterance

# Each backend's own bookkeeping: SQLite's FTS5 shadow tables, PostgreSQL's audit_head (cases/pg_schema.py).
SQLITE_OWN = ("utterances_fts_",)
PG_OWN = {"audit_head"}
SQLITE_TYPES = {"INTEGER": "bigint", "TEXT": "text", "REAL": "double precision"}


def sqlite_schema(home) -> tuple[dict[str, dict[str, tuple]], set[str]]:
    with sqlite3.connect(home / "bilu.db") as db:
        tables = [name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            if not name.startswith(SQLITE_OWN)]
        columns = {}
        for table in tables:
            columns[table] = {name: (SQLITE_TYPES.get(declared.upper(), declared.lower()), bool(notnull or pk))
                              for _, name, declared, notnull, _, pk in db.execute(f"PRAGMA table_info({table})")}
        indexes = {name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'")}
    return columns, indexes


def pg_schema(url) -> tuple[dict[str, dict[str, tuple]], set[str]]:
    with psycopg.connect(url) as db:
        columns: dict[str, dict[str, tuple]] = {}
        for table, name, data_type, nullable in db.execute(
                "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
                " WHERE table_schema = 'public'"):
            if table not in PG_OWN:
                columns.setdefault(table, {})[name] = (data_type, nullable == "NO")
        indexes = {name for (name,) in db.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"  # not those of primary keys and UNIQUE
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)")}
    return columns, indexes


def test_both_backends_have_the_same_tables_columns_and_indexes_after_migration(tmp_path, postgres_url):
    """A SQLite migration added without its PostgreSQL twin (cases/pg_schema.py) fails here."""
    Store.open(tmp_path / "sqlite").close()
    Store.open(tmp_path / "pg", database_url=postgres_url).close()
    sqlite_columns, sqlite_indexes = sqlite_schema(tmp_path / "sqlite")
    pg_columns, pg_indexes = pg_schema(postgres_url)
    # The full-text index: FTS5's virtual table (rowid implicit) and a table with a generated tsvector.
    assert set(sqlite_columns.pop("utterances_fts")) == {"segmented"}
    # PostgreSQL's row also carries what a search in a scope filters on (migration 16, kept by triggers), and its
    # session's start, which the walk newest first goes by (migration 17).
    assert pg_columns.pop("utterances_fts") == {"rowid": ("bigint", True), "segmented": ("text", True),
                                                "words": ("tsvector", False), "session_id": ("bigint", False),
                                                "unit_id": ("bigint", False), "role": ("text", False),
                                                "session_created_at": ("text", False)}
    assert set(pg_columns) == set(sqlite_columns)
    for table, columns in sqlite_columns.items():
        assert pg_columns[table] == columns, table
    assert pg_indexes - sqlite_indexes == {"utterances_fts_words", "utterances_fts_unit_newest", "utterances_fts_session",
                                           "utterances_fts_newest"}
    assert sqlite_indexes <= pg_indexes
    with psycopg.connect(postgres_url) as db:
        applied = [row[0] for row in db.execute("SELECT number FROM migrations ORDER BY number")]
    assert applied == [number for number, _, _ in MIGRATIONS]


def test_the_audit_table_refuses_update_delete_and_truncate(tmp_path, postgres_url):
    with Store.open(tmp_path, database_url=postgres_url) as store:
        store.record_audit("cli:test", "session.read")
    for statement in ("UPDATE audit SET user_name = 'nobody'", "DELETE FROM audit", "TRUNCATE audit"):
        with psycopg.connect(postgres_url) as db, pytest.raises(psycopg.errors.IntegrityError, match="append-only"):
            db.execute(statement)
    with Store.open(tmp_path, database_url=postgres_url) as store:
        assert verify(store).intact and store.audit_rows()[0]["user"] == "cli:test"


def test_the_recognizers_text_is_kept_and_never_overwritten(tmp_path, postgres_url):
    with Store.open(tmp_path, database_url=postgres_url) as store:
        session_id = store.create_session(case_no="P-1", room=None, kind="file", source_name=None,
                                          audio_path="audio/x.wav", audio_sha256="", audio_bytes=0, duration_s=1.0,
                                          sample_rate=16000, channels=1, diarizer=None, model="base", options={})
        utterance_id = store.add_utterance(session_id, Utterance.from_words(words_of(0.0, 1.0, "你好"), speaker="S1"))
    with psycopg.connect(postgres_url) as db:
        assert db.execute("SELECT original_text FROM utterances WHERE id = %s", [utterance_id]).fetchone() == ("你好",)
        with pytest.raises(psycopg.errors.IntegrityError, match="never overwritten"):
            db.execute("UPDATE utterances SET original_text = '再见' WHERE id = %s", [utterance_id])


WRITER = textwrap.dedent("""
    import sys
    import time
    from pathlib import Path
    from cases import Store
    from transcribe.types import Utterance, Word

    home, url, session_id, speaker = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    with Store.open(home, database_url=url) as store:
        store.search("现在")  # jieba loaded before the start, so that the writers overlap
        (home / f"ready-{speaker}").touch()
        while not (home / "go").exists():
            time.sleep(0.01)
        for i in range(25):
            words = [Word(i, i + 0.2, "现在", 0.9), Word(i + 0.2, i + 0.5, "开始", 0.8)]
            store.add_utterance(session_id, Utterance.from_words(words, speaker=speaker))
            store.record_audit("cli:" + speaker, "session.read", session_id=session_id)
""")


def test_writers_in_several_processes_keep_one_chain(tmp_path, postgres_url):
    """Three processes append at once (as service nodes and workers would): every utterance gets its own seq and
    the audit chain stays one line, each entry linked to the one before it."""
    with Store.open(tmp_path, database_url=postgres_url) as store:
        session_id = store.create_session(case_no="P-2", room=None, kind="live", source_name=None,
                                          audio_path="audio/live", audio_sha256="", audio_bytes=0, duration_s=0.0,
                                          sample_rate=16000, channels=1, diarizer=None, model="base", options={})
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), postgres_url, str(session_id), name])
               for name in ("S1", "S2", "S3")]
    deadline = time.monotonic() + 240
    while len(list(tmp_path.glob("ready-*"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    (tmp_path / "go").touch()
    assert [writer.wait(timeout=300) for writer in writers] == [0, 0, 0]
    with Store.open(tmp_path, database_url=postgres_url) as store:
        stored = store.utterances(session_id)
        report = verify(store)
        reads = [row for row in store.audit_rows(session_id=session_id) if row["action"] == "session.read"]
    assert sorted(u["seq"] for u in stored) == list(range(75))
    assert report.intact, report.problems
    assert len(reads) == 75 and {row["user"] for row in reads} == {"cli:S1", "cli:S2", "cli:S3"}


def test_an_unreachable_database_is_an_error_that_names_it(tmp_path, postgres_server):
    from tests.servers.postgres import free_port

    url = f"postgresql://bilu:secret@127.0.0.1:{free_port()}/bilu"
    with pytest.raises(StoreUnavailable, match="cannot connect to the PostgreSQL database") as raised:
        Store.open(tmp_path, database_url=url)
    assert "secret" not in str(raised.value)
    with pytest.raises(StoreUnavailable, match="must start with postgresql://"):
        Store.open(tmp_path, database_url="mysql://x@127.0.0.1/bilu")
    result = CliRunner().invoke(cli, ["cases"], env={"BILU_HOME": str(tmp_path), "BILU_DATABASE_URL": url})
    assert result.exit_code == 1 and "cannot connect to the PostgreSQL database" in result.output
    assert "secret" not in result.output


@pytest.mark.parametrize(("sqlite", "postgres"), [
    ("SELECT * FROM t WHERE a = ? AND b LIKE '%?%'", "SELECT * FROM t WHERE a = %s AND b LIKE '%?%'"),
    ("INSERT OR IGNORE INTO speakers (a) VALUES (?)", "INSERT INTO speakers (a) VALUES (%s) ON CONFLICT DO NOTHING RETURNING id"),
    ("INSERT INTO cases (a) VALUES (?)", "INSERT INTO cases (a) VALUES (%s) RETURNING id"),
    ("INSERT INTO words (a) VALUES (?)", "INSERT INTO words (a) VALUES (%s)"),
    ("SELECT 100 % 7", "SELECT 100 %% 7"),
    ("UPDATE t SET a = ? WHERE b IS NOT ? AND c IS ?",
     "UPDATE t SET a = %s WHERE b IS DISTINCT FROM %s AND c IS NOT DISTINCT FROM %s"),
])
def test_the_dialect_is_translated_in_one_place(sqlite, postgres):
    assert translate(sqlite, id_tables=frozenset({"cases", "speakers"})) == postgres
    assert translate("UPDATE s SET a = :a WHERE id = :id", named=True) == "UPDATE s SET a = %(a)s WHERE id = %(id)s"


def test_a_pg_dump_backup_restores_to_an_intact_store_that_goes_on(tmp_path, postgres_server, postgres_url):
    """The README's backup: pg_dump while the store is in use, pg_restore into a new database, bilu verify."""
    from tests.servers.postgres import PG_BIN

    with Store.open(tmp_path, database_url=postgres_url) as store:
        session_id = store.create_session(case_no="B-1", room=None, kind="file", source_name=None,
                                          audio_path="audio/x.wav", audio_sha256="", audio_bytes=0, duration_s=1.0,
                                          sample_rate=16000, channels=1, diarizer=None, model="base", options={})
        store.add_utterance(session_id, Utterance.from_words(words_of(0.0, 1.0, "你好"), speaker="S1"))
        dump = tmp_path / "bilu.dump"
        subprocess.run([str(PG_BIN / "pg_dump"), "--format=custom", f"--file={dump}", postgres_url], check=True,
                       timeout=120)
    postgres_server.admin("CREATE DATABASE restored TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8'"
                          " LC_CTYPE 'C.UTF-8'")
    try:
        restored = postgres_server.url("restored")
        subprocess.run([str(PG_BIN / "pg_restore"), f"--dbname={restored}", str(dump)], check=True, timeout=120)
        with Store.open(tmp_path, database_url=restored) as store:
            before = verify(store)
            store.record_audit("cli:test", "session.read", session_id=session_id)
            after = verify(store)
            found = store.search("你好")
        assert before.intact and after.intact and after.entries == before.entries + 1
        assert [hit["session_id"] for hit in found] == [session_id]
    finally:
        postgres_server.drop_database("restored")
