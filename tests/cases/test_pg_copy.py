"""`bilu store copy-to-postgresql URL` (cases/pg_copy.py): a single box's SQLite store, built through the store's own
methods over real recordings, copied into a real PostgreSQL database (tests/servers/postgres.py) and compared row
for row; then the copy is verified, written to, and the refusals are checked to write nothing.
"""
import hashlib
import itertools
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from api.cli import cli
from cases import Store, StoreError, ThrottlePolicy
from cases.integrity import signed_export, verify
from cases.migrations import MIGRATIONS, immediate_transaction
from cases.access import scope_of
from cases.pg_copy import REQUIRED_TRIGGERS, CopyRefused, copy_to_postgresql
from cases.pg_ddl import SEARCH_SCOPE_COLUMNS
from cases.search_filters import SearchFilters
from tests.api.helpers import words_of
from tests.cases.test_integrity import file_session, live_session
from transcribe import Utterance, Word

PG_OWN = {"audit_head"}  # PostgreSQL's bookkeeping (cases/pg_schema.py), compared apart
_EMPTY_NAMES = itertools.count(1)


def build_store(home: Path, data_dir: Path) -> dict:
    """A box's store as a centre leaves it: units at three levels, users, cases, a file session and a live one
    (segments) over real recordings, corrections, people, tokens, a room, failed logins, reads and an export in the
    audit chain, and a session deleted (its id issued, never to be issued again)."""
    policy = ThrottlePolicy(free_failures=5, account_free_failures=20, first_delay_s=1.0, max_delay_s=60.0,
                            window_s=900.0)
    with Store.open(home) as store:
        store.add_unit("市公安局", level="city")
        store.add_unit("东城办案中心", level="centre", parent="市公安局")
        store.add_unit("东城派出所", level="unit", parent="东城办案中心")
        store.add_user("officer", role="officer", unit="东城派出所", password="correct-horse-9")
        store.add_user("chief", role="supervisor", unit="东城办案中心", password="battery-staple-7")
        store.open_case("A-1", title="盗窃案", unit="东城派出所", actor="cli:test")
        officer = store.account("officer")
        file_id = file_session(store, data_dir)
        live_id = live_session(store, data_dir)
        # Probabilities that are no short decimal: PostgreSQL must give back the same double, bit for bit.
        odd = [Word(15.0, 15.5, "属实", 0.1 + 0.2), Word(15.5, 16.25, "无误", 2 / 3)]
        store.add_utterance(file_id, Utterance.from_words(odd, speaker="S2"))
        first, second, third = store.utterances(file_id)[:3]
        store.edit_utterance(file_id, first["id"], {"text": "现在依法对你进行讯问，你看清楚了吗？"}, version=1, by=officer)
        store.split_utterance(file_id, third["id"], at_s=10.0, version=1, by=officer)
        store.relabel_speaker(file_id, "S2", version=store.speakers(file_id)[1]["version"], by=officer,
                              role="犯罪嫌疑人")
        store.add_person("A-1", name="王某", role="犯罪嫌疑人", wristband_id="WB-1")
        store.set_session_officers(file_id, ["officer"], actor="cli:test")
        store.issue_token(officer, kind="session", lifetime_s=3600, via="form")
        store.add_room("一号讯问室", unit="东城派出所")
        store.issue_room_token("一号讯问室")
        store.record_login_failure("chief", "10.0.0.9", policy, actor="10.0.0.9")
        store.set_case_procedure("A-1", {"birth_date": "1990-05-01"}, actor="cli:test")
        store.record_audit(officer, "session.read", session_id=file_id, case_no="A-1")
        signed_export(store, file_id, fmt="json", actor=officer)
        doomed = store.create_session(case_no="A-2", room=None, kind="file", source_name=None,
                                      audio_path="audio/none.wav", audio_sha256="", audio_bytes=0, duration_s=1.0,
                                      sample_rate=16000, channels=1, diarizer=None, model="base", options={})
        store.delete_session(doomed)
        intact = verify(store)
    assert intact.intact, intact.problems
    return {"file_id": file_id, "live_id": live_id, "doomed": doomed, "entries": intact.entries}


@pytest.fixture(scope="module")
def source(tmp_path_factory, data_dir):
    """One store for the module; each test copies it into a database of its own (the SQLite store only read)."""
    home = tmp_path_factory.mktemp("box") / "home"
    return home, build_store(home, data_dir)


@pytest.fixture
def empty_database(postgres_server):
    """A database as `createdb` leaves it: no schema yet (the copy applies it)."""
    name = f"empty_{os.getpid()}_{next(_EMPTY_NAMES)}"
    postgres_server.admin(f"CREATE DATABASE {name}")
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


def file_digest(home: Path) -> str:
    """bilu.db's bytes, and that no write-ahead log holds anything not in them (a read-only connection to a WAL
    database leaves SQLite's -wal and -shm side files beside it, the -wal empty)."""
    wal = home / "bilu.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    return hashlib.sha256((home / "bilu.db").read_bytes()).hexdigest()


def pg_columns(url: str) -> dict[str, list[str]]:
    with psycopg.connect(url) as db:
        columns: dict[str, list[str]] = {}
        for table, column in db.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
                " AND is_generated = 'NEVER' ORDER BY table_name, ordinal_position"):
            if not (table == "utterances_fts" and column in SEARCH_SCOPE_COLUMNS):  # PostgreSQL's own: below
                columns.setdefault(table, []).append(column)
    return columns


def rows_of(home: Path, url: str, table: str, columns: list[str]) -> tuple[list[tuple], list[tuple]]:
    """The table's rows on each side, every column, in one order (by their repr: exact for floats)."""
    select = ", ".join(f'"{column}"' for column in columns)
    with sqlite3.connect(home / "bilu.db") as db:
        sqlite_rows = db.execute(f"SELECT {select} FROM {table}").fetchall()
    with psycopg.connect(url) as db:
        pg_rows = [tuple(row) for row in db.execute(f"SELECT {select} FROM {table}").fetchall()]
    return sorted(sqlite_rows, key=repr), sorted(pg_rows, key=repr)


def test_every_row_of_every_table_is_copied_and_verify_is_intact_there(source, empty_database):
    home, built = source
    before = file_digest(home)
    report = copy_to_postgresql(home, empty_database)

    assert file_digest(home) == before  # the SQLite store only read
    columns = pg_columns(empty_database)
    tables = set(columns) - PG_OWN - {"migrations"}
    assert set(report.rows) == tables and len(tables) >= 25
    compared = 0
    for table in sorted(tables):
        sqlite_rows, pg_rows = rows_of(home, empty_database, table, columns[table])
        assert pg_rows == sqlite_rows, table
        assert report.rows[table] == len(sqlite_rows)
        compared += len(sqlite_rows)
    assert compared == report.total_rows
    for table in ("units", "users", "cases", "sessions", "utterances", "words", "audio_segments", "revisions",
                  "people", "auth_tokens", "rooms", "login_failures", "case_procedure", "session_officers",
                  "utterances_fts", "audit"):
        assert report.rows[table] > 0, table  # the store built above has rows in each
    sqlite_migrations, pg_migrations = rows_of(home, empty_database, "migrations", ["number", "name"])
    assert sorted(pg_migrations) == sorted(sqlite_migrations) == [(n, name) for n, name, _ in MIGRATIONS]
    assert report.migration == MIGRATIONS[-1][0]

    assert report.verify.intact, report.verify.problems
    assert report.verify.entries == built["entries"] and report.verify.audio_files == 4
    assert set(REQUIRED_TRIGGERS) <= {tuple(name.split(".")) for name in report.triggers}
    with psycopg.connect(empty_database) as db:
        enabled = dict(db.execute("SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'audit'::regclass"
                                  " AND NOT tgisinternal").fetchall())
        last_id = db.execute("SELECT last_id FROM audit_head").fetchone()[0]
    assert enabled == {"audit_no_update": "O", "audit_no_delete": "O", "audit_no_truncate": "O",
                       "audit_head_follows": "O"}
    assert last_id == report.last_audit_id == built["entries"]
    for statement in ("UPDATE audit SET user_name = 'nobody'", "DELETE FROM audit WHERE id = 1"):
        with psycopg.connect(empty_database) as db, pytest.raises(psycopg.errors.IntegrityError,
                                                                  match="append-only"):
            db.execute(statement)


def test_the_copied_search_index_knows_each_lines_session_unit_and_role(source, empty_database, tmp_path):
    """PostgreSQL's search rows carry what a scoped search filters on (migration 16), filled as the copy writes them:
    the officer's search with a role filter finds the line whose speaker was relabelled before the copy."""
    home, built = source
    copy_to_postgresql(home, empty_database)
    with psycopg.connect(empty_database) as db:
        rows, wrong = db.execute(
            "SELECT count(*), count(*) FILTER (WHERE f.session_id IS DISTINCT FROM u.session_id OR f.unit_id IS"
            " DISTINCT FROM c.unit_id OR f.role IS DISTINCT FROM COALESCE(u.role, sp.role)) FROM utterances_fts f"
            " LEFT JOIN utterances u ON u.id = f.rowid LEFT JOIN sessions s ON s.id = u.session_id"
            " LEFT JOIN cases c ON c.id = s.case_id"
            " LEFT JOIN speakers sp ON sp.session_id = u.session_id AND sp.label = u.speaker").fetchone()
    assert rows > 0 and wrong == 0
    with Store.open(tmp_path / "node", database_url=empty_database) as store:
        officer = scope_of(store.account("officer"))
        hits = store.search_visible("属实", officer, SearchFilters(role="犯罪嫌疑人"))
        assert [hit["session_id"] for hit in hits] == [built["file_id"]]
        assert {hit["role"] for hit in hits} == {"犯罪嫌疑人"}
        assert store.search_visible("属实", scope_of(store.account("chief")), SearchFilters(role="讯问人")) == []


def test_a_write_after_the_copy_gets_a_fresh_id_and_extends_the_chain(source, postgres_url, tmp_path):
    """Into a database the schema runner migrated already (its default unit made way for the store's)."""
    home, built = source
    report = copy_to_postgresql(home, postgres_url)
    with sqlite3.connect(home / "bilu.db") as db:
        last_hash = db.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()[0]
        issued = dict(db.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
    assert issued["sessions"] == built["doomed"] > built["live_id"]  # the deleted session's id was issued
    with Store.open(home, database_url=postgres_url) as store:
        session_id = store.create_session(case_no="A-1", room=None, kind="file", source_name=None,
                                          audio_path="audio/next.wav", audio_sha256="", audio_bytes=0,
                                          duration_s=1.0, sample_rate=16000, channels=1, diarizer=None,
                                          model="base", options={})
        unit = store.add_unit("西城办案中心", level="centre", parent="市公安局")
        rows = list(store._db.query("SELECT * FROM audit WHERE id > ? ORDER BY id", [built["entries"]]))
        after = verify(store)
        units = [u["name"] for u in store.list_units()]
    assert session_id == built["doomed"] + 1 == report.next_ids["sessions"]  # never the deleted one's id again
    assert unit["id"] == report.next_ids["units"]
    assert rows[0]["id"] == built["entries"] + 1 and rows[0]["prev_hash"] == last_hash
    assert all(row["prev_hash"] == before["hash"] for before, row in zip(rows, rows[1:]))
    assert after.intact, after.problems
    assert after.entries == built["entries"] + len(rows)
    assert units.count("默认单位") == 1 and "东城派出所" in units


def test_the_command_prints_a_summary_and_progress(source, empty_database):
    home, built = source
    env = {**_environment(), "BILU_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "api", "store", "copy-to-postgresql", empty_database],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"(schema migration {MIGRATIONS[-1][0]})" in done.stdout
    assert f"verify on PostgreSQL: intact: {built['entries']} entries, 4 audio files" in done.stdout
    assert "audit.audit_head_follows" in done.stdout and "all relative to BILU_HOME" in done.stdout
    words = next(line for line in done.stdout.splitlines() if line.split()[:1] == ["words"])
    with sqlite3.connect(home / "bilu.db") as db:
        assert int(words.split()[1].replace(",", "")) == db.execute("SELECT count(*) FROM words").fetchone()[0]
    assert "bilu: copying audit:" in done.stderr and "bilu: copying words:" in done.stderr


def _environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name != "BILU_DATABASE_URL"}


def copy_command(home: Path, url: str):
    return CliRunner().invoke(cli, ["store", "copy-to-postgresql", url], env={"BILU_HOME": str(home),
                                                                             "BILU_DATABASE_URL": None})


def audit_count(url: str) -> int:
    with psycopg.connect(url) as db:
        return db.execute("SELECT count(*) FROM audit").fetchone()[0]


def test_a_target_that_has_rows_is_refused_and_left_alone(source, postgres_url, tmp_path):
    home, built = source
    assert copy_command(home, postgres_url).exit_code == 0
    again = copy_command(home, postgres_url)
    assert again.exit_code == 2
    assert "already has rows" in again.output and f"audit ({built['entries']})" in again.output
    assert audit_count(postgres_url) == built["entries"]


def test_a_target_in_use_by_bilu_is_refused(source, postgres_url, tmp_path):
    home, _ = source
    with Store.open(tmp_path / "node", database_url=postgres_url) as store:
        store.add_user("admin", role="admin", unit="默认单位", password="correct-horse-9")
    refused = copy_command(home, postgres_url)
    assert refused.exit_code == 2 and "users (1)" in refused.output and "audit (1)" in refused.output
    assert audit_count(postgres_url) == 1


@pytest.mark.parametrize("url", ["sqlite:///tmp/bilu.db", "mysql://bilu@db/bilu", "bilu"])
def test_a_url_that_is_not_postgresql_is_refused(source, url):
    home, _ = source
    refused = copy_command(home, url)
    assert refused.exit_code == 2 and "must be a postgresql:// URL" in refused.output


def test_a_home_without_a_store_is_refused(tmp_path, empty_database):
    refused = copy_command(tmp_path / "nothing", empty_database)
    assert refused.exit_code == 2 and f"no SQLite store at {tmp_path / 'nothing' / 'bilu.db'}" in refused.output
    with psycopg.connect(empty_database) as db:  # nothing written: not even the schema
        assert db.execute("SELECT to_regclass('migrations')").fetchone()[0] is None


def test_a_store_at_an_older_migration_is_refused_and_left_as_it_was(tmp_path, empty_database):
    home = tmp_path / "old"
    home.mkdir()
    from sqlite_utils import Database

    db = Database(sqlite3.connect(home / "bilu.db"))
    db.execute("CREATE TABLE migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    for number, name, migrate in MIGRATIONS[:-1]:
        with immediate_transaction(db):
            migrate(db)
            db.execute("INSERT INTO migrations VALUES (?, ?, '2026-01-01')", [number, name])
    db.close()
    before = file_digest(home)
    refused = copy_command(home, empty_database)
    older, latest = MIGRATIONS[-2][0], MIGRATIONS[-1][0]  # numbers may skip one (assigned per branch)
    assert refused.exit_code == 2
    assert f"is at schema migration {older}, this version of Bilu at {latest}: open it once" in refused.output
    assert file_digest(home) == before
    with pytest.raises(CopyRefused, match="open it once with this version"):
        copy_to_postgresql(home, empty_database)


def test_a_copy_that_fails_midway_leaves_the_target_empty(source, empty_database, tmp_path):
    """A row PostgreSQL refuses (a case in a unit that does not exist: SQLite kept no foreign key on that column)
    stops the copy naming the table, and the one transaction leaves nothing copied; the store fixed, it goes."""
    import shutil

    home = tmp_path / "copy"
    shutil.copytree(source[0], home)
    with sqlite3.connect(home / "bilu.db") as db:
        unit_id = db.execute("SELECT unit_id FROM cases WHERE case_no = 'A-1'").fetchone()[0]
        db.execute("UPDATE cases SET unit_id = 999 WHERE case_no = 'A-1'")
    with pytest.raises(StoreError, match=r"copying the table cases failed .*unit_id.*nothing was copied"):
        copy_to_postgresql(home, empty_database)
    with psycopg.connect(empty_database) as db:
        assert db.execute("SELECT count(*) FROM units").fetchone()[0] == 1  # the schema's default unit only
        assert db.execute("SELECT count(*) FROM audit").fetchone()[0] == 0
        assert db.execute("SELECT last_id FROM audit_head").fetchone()[0] == 0
        assert dict(db.execute("SELECT tgname, tgenabled FROM pg_trigger WHERE tgname = 'audit_head_follows'")
                    .fetchall()) == {"audit_head_follows": "O"}
    with sqlite3.connect(home / "bilu.db") as db:
        db.execute("UPDATE cases SET unit_id = ? WHERE case_no = 'A-1'", [unit_id])
    assert copy_to_postgresql(home, empty_database).verify.intact
