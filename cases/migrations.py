"""Schema migrations: a numbered list of functions, each applied once, in its own transaction.

Written by hand rather than with `sqlite_utils.migrations` (or the sqlite-migrate package) for one
reason: two processes (the api server and a command-line run) may open the same database at the
same moment. Each migration here runs under `BEGIN IMMEDIATE`, which takes the write lock first and
only then checks whether the migration is still pending, so the second process waits (busy timeout)
and then finds it applied instead of failing with "table already exists".

To change the schema, append a function to `MIGRATIONS` with the next number. Never edit or
renumber one that has shipped: databases in the field record which numbers they have applied.
"""

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlite_utils import Database

from cases.audit_chain import chain_existing_rows, entry_hash, GENESIS_HASH
from cases.errors import StoreError
from cases.row_digests import sha256_text

logger = logging.getLogger(__name__)

MIGRATIONS_TABLE = "migrations"

Migration = Callable[[Database], None]


def _v1_initial_schema(db: Database) -> None:
    """Cases, sessions, speakers, utterances, words and the full-text index."""
    statements = [
        """
        CREATE TABLE cases (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            case_no TEXT NOT NULL UNIQUE,
            title TEXT,
            created_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            case_id INTEGER NOT NULL REFERENCES cases(id),
            room TEXT,
            kind TEXT NOT NULL CHECK (kind IN ('file', 'live')),
            status TEXT NOT NULL
                CHECK (status IN ('transcribing', 'done', 'failed', 'interrupted', 'recovered')),
            source_name TEXT,
            audio_path TEXT NOT NULL,
            audio_sha256 TEXT,
            audio_bytes INTEGER,
            duration_ms INTEGER NOT NULL,
            sample_rate INTEGER NOT NULL,
            channels INTEGER NOT NULL,
            diarizer TEXT,
            model TEXT NOT NULL,
            options_json TEXT NOT NULL,
            timings_json TEXT,
            error TEXT,
            created_at TEXT NOT NULL,
            finished_at TEXT
        )
        """,
        "CREATE INDEX sessions_case_id ON sessions (case_id)",
        """
        CREATE TABLE speakers (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            label TEXT NOT NULL,
            role TEXT,
            channel INTEGER,
            UNIQUE (session_id, label)
        )
        """,
        # AUTOINCREMENT: utterance ids are cited by findings and revisions (later issues), so an
        # id must never be handed out twice, even after a failed session was deleted.
        """
        CREATE TABLE utterances (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            seq INTEGER NOT NULL,
            start_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL,
            speaker TEXT,
            channel INTEGER,
            text TEXT NOT NULL,
            committed INTEGER NOT NULL CHECK (committed IN (0, 1)),
            UNIQUE (session_id, seq)
        )
        """,
        "CREATE INDEX utterances_session_start ON utterances (session_id, start_ms)",
        """
        CREATE TABLE words (
            utterance_id INTEGER NOT NULL REFERENCES utterances(id),
            seq INTEGER NOT NULL,
            start_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL,
            text TEXT NOT NULL,
            probability REAL NOT NULL,
            PRIMARY KEY (utterance_id, seq)
        )
        """,
        # rowid = utterances.id. The column holds jieba-segmented text (words separated by spaces):
        # unicode61 would otherwise see a run of Han characters as a single token.
        "CREATE VIRTUAL TABLE utterances_fts USING fts5 (segmented, tokenize = 'unicode61')",
    ]
    for statement in statements:
        db.execute(statement)


def _v2_speaker_turns(db: Database) -> None:
    """Who spoke when, as the diarizer found it: the RTTM export is made from these.

    Utterance times come from Whisper's word timestamps, which start and end a word late or early; the
    diarizer's turns follow the audio itself.
    """
    db.execute(
        """
        CREATE TABLE speaker_turns (
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            start_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL,
            speaker TEXT NOT NULL,
            channel INTEGER
        )
        """
    )
    db.execute("CREATE INDEX speaker_turns_session_start ON speaker_turns (session_id, start_ms)")


def _v3_findings(db: Database) -> None:
    """The procedural checker's findings per session, and which rule set the session is checked against."""
    db.execute("ALTER TABLE sessions ADD COLUMN rule_set TEXT NOT NULL DEFAULT 'criminal_first'")
    db.execute("ALTER TABLE sessions ADD COLUMN conditions_json TEXT NOT NULL DEFAULT '[]'")
    db.execute(
        """
        CREATE TABLE findings (
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            seq INTEGER NOT NULL,
            rule_key TEXT NOT NULL,
            title TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('satisfied', 'missing', 'out_of_order', 'wrong_speaker')),
            utterance_ids_json TEXT NOT NULL,
            start_ms INTEGER,
            evidence TEXT NOT NULL,
            score REAL NOT NULL,
            basis TEXT NOT NULL,
            detail TEXT NOT NULL,
            checked_at TEXT NOT NULL,
            PRIMARY KEY (session_id, seq)
        )
        """
    )


def _v4_audio_segments(db: Database) -> None:
    """Live recordings are kept as a series of short WAV segments, each with its sha256 once closed.

    `sessions.transcribed_ms` is how far the committed transcript reaches: after a crash, recovery
    transcribes the audio from there on.
    """
    db.execute(
        """
        CREATE TABLE audio_segments (
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            seq INTEGER NOT NULL,
            path TEXT NOT NULL,
            start_ms INTEGER NOT NULL,
            duration_ms INTEGER NOT NULL,
            frames INTEGER NOT NULL,
            sample_rate INTEGER NOT NULL,
            channels INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (session_id, seq)
        )
        """
    )
    db.execute("ALTER TABLE sessions ADD COLUMN transcribed_ms INTEGER NOT NULL DEFAULT 0")


def _v5_accounts(db: Database) -> None:
    """Units (city bureau / case-handling centre / grassroots unit), users, prosecutors' case assignments,
    login sessions and API tokens (stored as sha256 only).

    Every existing case is put in a default unit, created here at city level (id 1): a case inserted
    without a unit lands there too (column default), and an administrator moves it.
    """
    statements = [
        """
        CREATE TABLE units (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            level TEXT NOT NULL CHECK (level IN ('city', 'centre', 'unit')),
            parent_id INTEGER REFERENCES units(id),
            created_at TEXT NOT NULL,
            CHECK ((level = 'city') = (parent_id IS NULL))
        )
        """,
        "CREATE INDEX units_parent ON units (parent_id)",
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('officer', 'recorder', 'supervisor', 'prosecutor', 'admin')),
            unit_id INTEGER NOT NULL REFERENCES units(id),
            password_hash TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
            created_at TEXT NOT NULL,
            password_changed_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE case_assignments (
            case_id INTEGER NOT NULL REFERENCES cases(id),
            user_id INTEGER NOT NULL REFERENCES users(id),
            assigned_at TEXT NOT NULL,
            PRIMARY KEY (case_id, user_id)
        )
        """,
        "CREATE INDEX case_assignments_user ON case_assignments (user_id)",
        """
        CREATE TABLE auth_tokens (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id INTEGER NOT NULL REFERENCES users(id),
            kind TEXT NOT NULL CHECK (kind IN ('session', 'api')),
            token_sha256 TEXT NOT NULL UNIQUE,
            label TEXT,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            revoked_at TEXT
        )
        """,
        "CREATE INDEX auth_tokens_user ON auth_tokens (user_id)",
    ]
    for statement in statements:
        db.execute(statement)
    db.execute(
        "INSERT INTO units (id, name, level, parent_id, created_at) VALUES (1, '默认单位', 'city', NULL, ?)",
        [datetime.now(timezone.utc).isoformat(timespec="milliseconds")],
    )
    # No REFERENCES here: SQLite cannot add a foreign-key column with a non-NULL default; the store checks
    # the unit whenever it sets one, and unit 1 is never deleted.
    db.execute("ALTER TABLE cases ADD COLUMN unit_id INTEGER NOT NULL DEFAULT 1")
    db.execute("CREATE INDEX cases_unit ON cases (unit_id)")
    # The officers who questioned in a session (the search filter "officer").
    db.execute(
        """
        CREATE TABLE session_officers (
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            user_id INTEGER NOT NULL REFERENCES users(id),
            PRIMARY KEY (session_id, user_id)
        )
        """
    )
    db.execute("CREATE INDEX session_officers_user ON session_officers (user_id)")


def _v6_corrections_and_audit(db: Database) -> None:
    """Corrections keep the recognizer's text; every change is a revision; every read and change is audited.

    - `utterances.original_text`: what the recognizer wrote, filled at insert by a trigger (so no writer can
      forget it) and protected from any later UPDATE by another.
    - `utterances.role`: a role set on one utterance, over its speaker's role; `version`: bumped by every
      change, for optimistic locking; `merged_into`: an utterance merged into its neighbour is kept (with its
      original text) but no longer read.
    - `audit`: append-only (UPDATE and DELETE are refused by triggers). `content` is the canonical JSON of
      the row (who, what, when, details): issue 6 chains these rows by hash over it.
    """
    statements = [
        "ALTER TABLE utterances ADD COLUMN original_text TEXT",
        "ALTER TABLE utterances ADD COLUMN role TEXT",
        "ALTER TABLE utterances ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE utterances ADD COLUMN merged_into INTEGER",
        "UPDATE utterances SET original_text = text",
        """
        CREATE TRIGGER utterances_keep_original_text AFTER INSERT ON utterances
        WHEN NEW.original_text IS NULL
        BEGIN
            UPDATE utterances SET original_text = NEW.text WHERE id = NEW.id;
        END
        """,
        """
        CREATE TRIGGER utterances_original_text_is_final BEFORE UPDATE OF original_text ON utterances
        WHEN OLD.original_text IS NOT NULL AND NEW.original_text IS NOT OLD.original_text
        BEGIN
            SELECT RAISE(ABORT, 'the recognizer''s original text of an utterance is never overwritten');
        END
        """,
        "ALTER TABLE speakers ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
        """
        CREATE TABLE revisions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            utterance_id INTEGER,
            speaker_label TEXT,
            kind TEXT NOT NULL CHECK (kind IN ('text', 'speaker', 'role', 'relabel', 'split', 'merge')),
            user_id INTEGER REFERENCES users(id),
            user_name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            before_json TEXT NOT NULL,
            after_json TEXT NOT NULL
        )
        """,
        "CREATE INDEX revisions_session ON revisions (session_id, utterance_id)",
        """
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            user_id INTEGER,
            user_name TEXT NOT NULL,
            action TEXT NOT NULL,
            session_id INTEGER,
            case_no TEXT,
            content TEXT NOT NULL
        )
        """,
        "CREATE INDEX audit_session ON audit (session_id)",
        """
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN
            SELECT RAISE(ABORT, 'the audit table is append-only');
        END
        """,
        """
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN
            SELECT RAISE(ABORT, 'the audit table is append-only');
        END
        """,
    ]
    for statement in statements:
        db.execute(statement)


def _v7_people(db: Database) -> None:
    """The people of a case: suspects and others, with their identity number and wristband id."""
    db.execute(
        """
        CREATE TABLE people (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            case_id INTEGER NOT NULL REFERENCES cases(id),
            role TEXT NOT NULL,
            name TEXT NOT NULL,
            id_number TEXT,
            wristband_id TEXT,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX people_case ON people (case_id)")


_AUDIT_APPEND_ONLY_TRIGGERS = (
    """
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN
        SELECT RAISE(ABORT, 'the audit table is append-only');
    END
    """,
    """
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN
        SELECT RAISE(ABORT, 'the audit table is append-only');
    END
    """,
)


def _v8_audit_chain(db: Database) -> None:
    """Chain the audit rows by hash (cases/audit_chain.py) and name the data each covers.

    Existing rows are chained in id order: the append-only triggers are dropped for this one UPDATE pass and
    created again in the same transaction. Then every row and audio file already stored gets a
    "chain.baseline" entry, so that `bilu verify` finds an old database intact rather than all "inserted".
    """
    for column in ("content_sha256", "prev_hash", "hash", "subject", "subject_sha256"):
        db.execute(f"ALTER TABLE audit ADD COLUMN {column} TEXT")
    db.execute("CREATE INDEX audit_subject ON audit (subject)")
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("DROP TRIGGER audit_no_delete")
    prev_hash = GENESIS_HASH
    for row_id, content in db.execute("SELECT id, content FROM audit ORDER BY id").fetchall():
        content_sha256 = sha256_text(content)
        chained = entry_hash(prev_hash, content_sha256)
        db.execute("UPDATE audit SET content_sha256 = ?, prev_hash = ?, hash = ? WHERE id = ?",
                   [content_sha256, prev_hash, chained, row_id])
        prev_hash = chained
    for statement in _AUDIT_APPEND_ONLY_TRIGGERS:
        db.execute(statement)
    chained_rows = chain_existing_rows(db, at=datetime.now(timezone.utc).isoformat(timespec="milliseconds"))
    logger.info("audit chain: %d baseline entries for rows stored before migration 8", chained_rows)


def _v9_room_agents(db: Database) -> None:
    """Interview rooms whose agent streams to this service (cases/room_agents.py): each room's unit and its one
    token (stored as sha256 only), the stream an agent started for a session (its key, the agent clock's
    offset to ours), and the outages of a session's link, from and to."""
    statements = [
        """
        CREATE TABLE rooms (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            unit_id INTEGER NOT NULL REFERENCES units(id),
            token_sha256 TEXT UNIQUE,
            token_issued_at TEXT,
            token_revoked_at TEXT,
            created_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE agent_streams (
            session_id INTEGER PRIMARY KEY REFERENCES sessions(id),
            room_id INTEGER NOT NULL REFERENCES rooms(id),
            stream_key TEXT NOT NULL UNIQUE,
            clock_offset_ms INTEGER NOT NULL DEFAULT 0,
            ended_at TEXT,
            created_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE session_outages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            from_at TEXT NOT NULL,
            to_at TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (session_id, from_at)
        )
        """,
    ]
    for statement in statements:
        db.execute(statement)


def _v10_login_failures(db: Database) -> None:
    """Failed logins per account (address '') and per (account, address), in the database so that an
    administrator's unlock from the command line reaches the service (cases/login_throttle.py)."""
    db.execute(
        """
        CREATE TABLE login_failures (
            user_name TEXT NOT NULL,
            address TEXT NOT NULL,
            failures INTEGER NOT NULL,
            last_failed_at REAL NOT NULL,
            blocked_until REAL NOT NULL,
            PRIMARY KEY (user_name, address)
        )
        """
    )
    db.execute("CREATE INDEX login_failures_last ON login_failures (last_failed_at)")


def _v11_suspect_utterances(db: Database) -> None:
    """Text the recognizer may have invented is kept and marked, never deleted (issue 15).

    - `utterances.suspect`: why the filters doubt the line ("caption", "loop", "no_speech",
      "no_speech_audio"), NULL if nothing does; `speech_probability` and `energy_db`: the independent audio
      measure over its span (Silero's mean; level above the noise floor); `not_speech` (0/1): that measure
      says the audio is not speech, so the line is left out of the written record until an officer decides;
      `suspect_decision`: that decision ("kept_out" confirms, "restored" puts it back), each one a revision.
      NULL in every row stored before: they were not judged (and their audit digests stay as they were).
    - `revisions.kind` also takes 'suspect'. SQLite cannot alter a CHECK constraint, so the table is rebuilt
      with the same columns and ids (what sqlite-utils' `transform` does), in this migration's transaction.
    """
    for column in ("suspect TEXT", "not_speech INTEGER", "speech_probability REAL", "energy_db REAL",
                   "suspect_decision TEXT CHECK (suspect_decision IN ('kept_out', 'restored'))"):
        db.execute(f"ALTER TABLE utterances ADD COLUMN {column}")
    db.execute(
        """
        CREATE TABLE revisions_v11 (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            utterance_id INTEGER,
            speaker_label TEXT,
            kind TEXT NOT NULL CHECK (kind IN ('text', 'speaker', 'role', 'relabel', 'split', 'merge', 'suspect')),
            user_id INTEGER REFERENCES users(id),
            user_name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            before_json TEXT NOT NULL,
            after_json TEXT NOT NULL
        )
        """
    )
    columns = ("id, session_id, utterance_id, speaker_label, kind, user_id, user_name, created_at, before_json,"
               " after_json")
    db.execute(f"INSERT INTO revisions_v11 ({columns}) SELECT {columns} FROM revisions ORDER BY id")
    db.execute("DROP TABLE revisions")
    db.execute("ALTER TABLE revisions_v11 RENAME TO revisions")
    db.execute("CREATE INDEX revisions_session ON revisions (session_id, utterance_id)")


def _v13_guardrails_and_signing(db: Database) -> None:
    """Issue 20: what the case records for the guardrails (summons, detention, the person's birth date, the
    interpreter and guardian named), the guardrail findings per session; the read-back of the record (记录核对 →
    已签名 / 拒绝签名), its signatures (strokes and PNG, or a scanned PDF: files under signatures/, hashed into
    the audit chain) and the amendments made after it was signed."""
    statements = [
        """
        CREATE TABLE case_procedure (
            case_id INTEGER PRIMARY KEY REFERENCES cases(id),
            summons_kind TEXT,
            summons_at TEXT,
            summons_extended INTEGER NOT NULL DEFAULT 0,
            detained_at TEXT,
            birth_date TEXT,
            interpreter TEXT,
            guardian TEXT,
            updated_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE guardrail_findings (
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            seq INTEGER NOT NULL,
            guard_key TEXT NOT NULL,
            kind TEXT NOT NULL,
            title TEXT NOT NULL,
            status TEXT NOT NULL,
            basis TEXT NOT NULL,
            detail TEXT NOT NULL,
            at_ms INTEGER,
            checked_at TEXT NOT NULL,
            PRIMARY KEY (session_id, seq)
        )
        """,
        "CREATE INDEX guardrail_findings_key ON guardrail_findings (guard_key, status)",
        """
        CREATE TABLE record_reviews (
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            document TEXT NOT NULL DEFAULT 'record',
            state TEXT NOT NULL,
            note TEXT,
            reason TEXT,
            witnesses_json TEXT NOT NULL DEFAULT '[]',
            opened_at TEXT NOT NULL,
            closed_at TEXT,
            closed_by TEXT,
            PRIMARY KEY (session_id, document)
        )
        """,
        """
        CREATE TABLE signatures (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            document TEXT NOT NULL DEFAULT 'record',
            signer_role TEXT NOT NULL,
            signer_name TEXT NOT NULL,
            kind TEXT NOT NULL,
            statement TEXT,
            amendment_id INTEGER,
            strokes_path TEXT,
            strokes_sha256 TEXT,
            image_path TEXT NOT NULL,
            image_sha256 TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """,
        "CREATE INDEX signatures_session ON signatures (session_id)",
        """
        CREATE TABLE record_amendments (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            revision_id INTEGER NOT NULL REFERENCES revisions(id),
            utterance_id INTEGER,
            kind TEXT NOT NULL,
            created_at TEXT NOT NULL,
            confirmed_signature_id INTEGER
        )
        """,
        "CREATE INDEX record_amendments_session ON record_amendments (session_id)",
    ]
    for statement in statements:
        db.execute(statement)
def _v12_written_records(db: Database) -> None:
    """The written records (讯问笔录) imported for a session, every version kept (issue 19): the file as given
    (base64 text, so that the table stays plain SQL), its sha256, the record as read (header and 问/答 blocks,
    JSON), the recording's start clock if the importer gave one, and the discrepancy kinds the check found when
    the version was imported (space-separated, padded with spaces so that `LIKE '% changed %'` filters)."""
    db.execute(
        """
        CREATE TABLE written_records (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            version INTEGER NOT NULL,
            filename TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            content_b64 TEXT NOT NULL,
            record_json TEXT NOT NULL,
            recording_started_at TEXT,
            discrepancy_kinds TEXT NOT NULL,
            discrepancy_count INTEGER NOT NULL,
            imported_by TEXT NOT NULL,
            imported_at TEXT NOT NULL,
            UNIQUE (session_id, version)
        )
        """
    )
    db.execute("CREATE INDEX written_records_session ON written_records (session_id, version)")


def _v14_agent_clock(db: Database) -> None:
    """How well the agent clock's offset is known (issue 17): the round trip of the exchange that measured it
    (the offset is off by at most half of it), NULL for streams measured before; and when a stream was given up
    for good (its agent never came back: `bilu rooms finish`), NULL otherwise."""
    db.execute("ALTER TABLE agent_streams ADD COLUMN clock_round_trip_ms INTEGER")
    db.execute("ALTER TABLE agent_streams ADD COLUMN abandoned_at TEXT")


def _v15_withdrawn_sessions(db: Database) -> None:
    """A wrong upload is withdrawn, never deleted (issue 16): the session, its transcript and its audio stay, marked
    with when, by whom and why. NULL in every session stored before (none was withdrawn), and left out of their
    audit digests while NULL, so the digests of rows stored before stay as they were."""
    for column in ("withdrawn_at TEXT", "withdrawn_by TEXT", "withdrawn_reason TEXT"):
        db.execute(f"ALTER TABLE sessions ADD COLUMN {column}")


def _v16_search_scope_columns(db: Database) -> None:
    """PostgreSQL's twin gives each search index row its session and its case's unit, so that a search in a
    user's scope walks the newest matching lines and stops early (issue 18). Nothing to do here: SQLite's FTS5
    table cannot take such columns in place, and its search joins to the case (fast enough on one machine:
    bench/results/scale_search.json). The number is kept so that both backends count the same migrations."""


def _v17_search_by_session_start(db: Database) -> None:
    """PostgreSQL's twin puts each line's session start on its search index row, so that a search with an old date
    range walks from the range's end instead of from the newest line (issue 18). Nothing to do here: FTS5 rows take
    no such column (cases/search_candidates.py says what SQLite does). Kept so that both backends count the same
    migrations."""


MIGRATIONS: tuple[tuple[int, str, Migration], ...] = (
    (1, "initial_schema", _v1_initial_schema),
    (2, "speaker_turns", _v2_speaker_turns),
    (3, "findings", _v3_findings),
    (4, "audio_segments", _v4_audio_segments),
    (5, "accounts", _v5_accounts),
    (6, "corrections_and_audit", _v6_corrections_and_audit),
    (7, "people", _v7_people),
    (8, "audit_chain", _v8_audit_chain),
    (9, "room_agents", _v9_room_agents),
    (10, "login_failures", _v10_login_failures),
    (11, "suspect_utterances", _v11_suspect_utterances),
    (12, "written_records", _v12_written_records),
    (13, "guardrails_and_signing", _v13_guardrails_and_signing),
    (14, "agent_clock", _v14_agent_clock),
    (15, "withdrawn_sessions", _v15_withdrawn_sessions),
    (16, "search_scope_columns", _v16_search_scope_columns),
    (17, "search_by_session_start", _v17_search_by_session_start),
)


@contextmanager
def immediate_transaction(db: Database) -> Iterator[None]:
    """A write transaction that takes the write lock at BEGIN.

    A deferred transaction (`db.atomic()`) that reads and then writes fails at once with "database
    is locked" in WAL mode when another connection wrote in between; taking the lock first makes it
    wait for the busy timeout instead.
    """
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    else:
        db.conn.execute("COMMIT")


def applied_migrations(db: Database) -> list[int]:
    """The numbers of the migrations applied to `db`, in order."""
    if not db.table(MIGRATIONS_TABLE).exists():
        return []
    return [row["number"] for row in db.query(f"SELECT number FROM {MIGRATIONS_TABLE} ORDER BY number")]


def apply_migrations(db: Database) -> list[int]:
    """Apply every pending migration; return the numbers applied by this call (empty if none)."""
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
        " number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    known = {number for number, _, _ in MIGRATIONS}
    unknown = sorted(set(applied_migrations(db)) - known)
    if unknown:
        raise StoreError(
            f"the database has schema migrations {unknown} that this version of Bilu does not know "
            f"(it knows 1 to {max(known)}): it was written by a newer version; upgrade Bilu to open it"
        )
    applied_now: list[int] = []
    for number, name, migrate in MIGRATIONS:
        with immediate_transaction(db):
            already = db.execute(
                f"SELECT 1 FROM {MIGRATIONS_TABLE} WHERE number = ?", [number]
            ).fetchone()
            if already:
                continue
            try:
                migrate(db)
            except sqlite3.Error as error:
                raise StoreError(f"schema migration {number} ({name}) failed: {error}") from error
            db.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (number, name, applied_at) VALUES (?, ?, ?)",
                [number, name, datetime.now(timezone.utc).isoformat(timespec="milliseconds")],
            )
        applied_now.append(number)
        logger.info("applied schema migration %d (%s)", number, name)
    return applied_now
