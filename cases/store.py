"""The case store: cases, interview sessions, utterances and their words, in SQLite via sqlite-utils.

The only module of Bilu that writes SQL. Dicts in, dicts out; times cross the interface as seconds
(float) and are stored as integer milliseconds; timestamps are stored as UTC ISO 8601 text and
returned in the machine's local time zone, with its offset.

One `Store` may be shared by threads (the api's request handlers and its transcription workers):
every public method holds the store's lock, and the connection is opened with
`check_same_thread=False` for that reason. Several processes may open the same home: WAL mode lets
readers run beside a writer, and every write transaction takes the write lock at BEGIN and waits for
the busy timeout.
"""

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from cases.checks import (
    check_case_no,
    check_choice,
    checked_audio_path,
    checked_count,
    checked_probability,
    checked_sha256,
    to_json,
    to_ms,
)
from cases.errors import (
    CaseNotFound,
    InvalidQuery,
    SessionNotDeletable,
    SessionNotFound,
    StoreError,
)
from cases.access import AccessMixin
from cases.accounts import AccountsMixin
from cases.audit import Actor, AuditMixin, file_sha256
from cases.audit_chain import SYSTEM_ACTOR
from cases.auth_tokens import TokensMixin
from cases.integrity import ExportsMixin
from cases.locking import locked
from cases.migrations import apply_migrations, immediate_transaction
from cases.revisions import CorrectionsMixin
from cases.search_filters import FilteredSearchMixin
from cases.people import PeopleMixin
from cases.row_digests import (
    audio_subject,
    playback_subject,
    session_subject,
    speaker_subject,
    utterance_digest,
    utterance_subject,
)
from cases.segments import PLAYBACK_NAME, SegmentsMixin
from cases.reads import (
    now_utc_iso,
    one,
    read_case,
    read_cases,
    read_findings,
    read_sessions,
    read_utterances,
    search_utterances,
)
from cases.search import highlight, match_expression, query_terms, segment_for_index
from diarize.types import SpeakerTurn
from lexicon import Finding
from transcribe.types import Utterance

logger = logging.getLogger(__name__)

DATABASE_NAME = "bilu.db"
AUDIO_DIR_NAME = "audio"
BUSY_TIMEOUT_MS = 10_000
MAX_SEARCH_LIMIT = 1000

SESSION_KINDS = ("file", "live")
SESSION_STATUSES = ("transcribing", "done", "failed", "interrupted", "recovered")
FINISHED_STATUSES = ("done", "failed", "interrupted", "recovered")
DELETABLE_STATUSES = ("transcribing", "failed")
"""A session that reached done/interrupted/recovered is a record: it is never deleted."""

class Store(AccountsMixin, TokensMixin, AccessMixin, CorrectionsMixin, AuditMixin, FilteredSearchMixin,
            SegmentsMixin, PeopleMixin, ExportsMixin):
    """Cases, sessions and transcripts under one home folder (`bilu.db` and `audio/`).

    Accounts, access scopes, corrections, audit and filtered search are mixins (cases/accounts.py,
    auth_tokens.py, access.py, revisions.py, audit.py, search_filters.py) sharing this connection and lock.
    Every write that stores a row or keeps an audio file appends its audit chain entry in the same transaction
    (cases/audit.py, cases/integrity.py): a new writer must do the same, or `bilu verify` reports its rows.
    """

    def __init__(self, *, home: Path, db: Database) -> None:
        """Use `Store.open(home)`; this only wraps a database that is already set up."""
        self.home = home
        self.audio_dir = home / AUDIO_DIR_NAME
        self._db = db
        self._lock = threading.RLock()
        self._closed = False

    @classmethod
    def open(cls, home: Path | str) -> "Store":
        """Open (creating if needed) the store in `home`, and bring its schema up to date."""
        home = Path(home)
        (home / AUDIO_DIR_NAME).mkdir(parents=True, exist_ok=True)
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

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._db.close()
                self._closed = True

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Cases

    @locked
    def ensure_case(self, case_no: str, *, title: str | None = None) -> dict:
        """The case with this number, created if missing (a title given later fills an empty one)."""
        with immediate_transaction(self._db):
            case_id = self._ensure_case_id(case_no, title=title)
        return self._read_case(case_id)

    @locked
    def discard_case_if_unused(self, case_no: str) -> bool:
        """Delete a case nothing refers to (opened for a recording that then failed to start); True if deleted.
        A case holding anything (a session, a person, an assignment) is kept: foreign keys refuse the delete."""
        try:
            with immediate_transaction(self._db):
                deleted = self._db.execute(
                    "DELETE FROM cases WHERE case_no = ? AND NOT EXISTS "
                    "(SELECT 1 FROM sessions WHERE sessions.case_id = cases.id)", [case_no]).rowcount
        except sqlite3.IntegrityError:
            return False
        return deleted > 0

    @locked
    def get_case(self, case_no: str) -> dict:
        return self._read_case(self._case_id(case_no))

    @locked
    def list_cases(self) -> list[dict]:
        """Every case with `session_count` and `last_session_at`, most recently active first."""
        return read_cases(self._db)

    # Sessions

    @locked
    def create_session(
        self,
        *,
        case_no: str,
        room: str | None,
        kind: str,
        source_name: str | None,
        audio_path: str,
        audio_sha256: str,
        audio_bytes: int,
        duration_s: float,
        sample_rate: int,
        channels: int,
        diarizer: str | None,
        model: str,
        options: dict,
        actor: Actor = SYSTEM_ACTOR,
    ) -> int:
        """Start a session (status 'transcribing') in the case, creating the case if missing.

        `audio_path` is relative to the store's home. `audio_sha256` may be "" while a live
        recording is still being written: `finish_session` fills it in. The audit chain covers the
        session row and, for a file session, the recording by its sha256.
        """
        check_choice("session kind", kind, SESSION_KINDS)
        row = {
            "room": room,
            "kind": kind,
            "status": "transcribing",
            "source_name": source_name,
            "audio_path": checked_audio_path(audio_path),
            "audio_sha256": checked_sha256(audio_sha256),
            "audio_bytes": checked_count("audio_bytes", audio_bytes, minimum=0),
            "duration_ms": to_ms(duration_s, "duration_s"),
            "sample_rate": checked_count("sample_rate", sample_rate, minimum=1),
            "channels": checked_count("channels", channels, minimum=1),
            "diarizer": diarizer,
            "model": model,
            "options_json": to_json(options, "options"),
            "created_at": now_utc_iso(),
        }
        with immediate_transaction(self._db):
            row["case_id"] = self._ensure_case_id(case_no, title=None)
            session_id = self._db.table("sessions").insert(row).last_pk
            self._chain_row("session.created", session_subject(session_id), actor=actor, session_id=session_id,
                            case_no=case_no, detail={"kind": kind})
            if kind == "file" and row["audio_sha256"]:
                self._chain_file("audio.stored", audio_subject(session_id), path=row["audio_path"],
                                 sha256=row["audio_sha256"], size_bytes=row["audio_bytes"], actor=actor,
                                 session_id=session_id)
        logger.info("created session %d (%s)", session_id, kind)
        return int(session_id)

    @locked
    def finish_session(
        self,
        session_id: int,
        *,
        status: str = "done",
        timings: dict | None = None,
        error: str | None = None,
        duration_s: float | None = None,
        audio_sha256: str | None = None,
        audio_bytes: int | None = None,
        actor: Actor = SYSTEM_ACTOR,
    ) -> None:
        """Close a session with a final status.

        `duration_s`, `audio_sha256` and `audio_bytes` are for what is known only at the end (a
        live recording); None leaves the stored value. A live session's playback WAV, written before
        this call, is covered by the audit chain too (hashed here, before the write lock is taken).
        """
        check_choice("final session status", status, FINISHED_STATUSES)
        changes: dict[str, Any] = {
            "status": status,
            "timings_json": None if timings is None else to_json(timings, "timings"),
            "error": error,
            "finished_at": now_utc_iso(),
        }
        if duration_s is not None:
            changes["duration_ms"] = to_ms(duration_s, "duration_s")
        if audio_sha256 is not None:
            changes["audio_sha256"] = checked_sha256(audio_sha256)
        if audio_bytes is not None:
            changes["audio_bytes"] = checked_count("audio_bytes", audio_bytes, minimum=0)
        assignments = ", ".join(f"{column} = :{column}" for column in changes)
        playback = self._playback_file(session_id)
        with immediate_transaction(self._db):
            self._require_session(session_id)
            self._db.execute(
                f"UPDATE sessions SET {assignments} WHERE id = :session_id",
                {**changes, "session_id": session_id},
            )
            self._chain_row("session.finished", session_subject(session_id), actor=actor, session_id=session_id,
                            detail={"status": status})
            if playback is not None:
                self._chain_file("playback.stored", playback_subject(session_id), path=playback[0],
                                 sha256=playback[1], size_bytes=playback[2], actor=actor, session_id=session_id)
        logger.info("session %d finished: %s", session_id, status)

    def fail_session(self, session_id: int, error: str, *, actor: Actor = SYSTEM_ACTOR) -> None:
        """Mark a session failed, with the error that stopped it."""
        self.finish_session(session_id, status="failed", error=error, actor=actor)

    @locked
    def delete_session(self, session_id: int, *, actor: Actor = SYSTEM_ACTOR) -> None:
        """Remove a session that never completed and everything stored for it (not its audio file).

        Raises SessionNotDeletable for a session that reached done, interrupted or recovered. Each removed
        row's deletion is an audit chain entry, so `bilu verify` knows the application removed it.
        """
        with immediate_transaction(self._db):
            session = self._require_session(session_id)
            if session["status"] not in DELETABLE_STATUSES:
                raise SessionNotDeletable(
                    f"session {session_id} has status {session['status']!r} and is kept as a record; "
                    f"only sessions with status {' or '.join(DELETABLE_STATUSES)} can be deleted"
                )
            in_session = "SELECT id FROM utterances WHERE session_id = ?"
            removed = [utterance_subject(row[0]) for row in self._db.execute(in_session, [session_id])]
            removed += [speaker_subject(session_id, row[0]) for row in self._db.execute(
                "SELECT label FROM speakers WHERE session_id = ?", [session_id])]
            removed.append(session_subject(session_id))
            covers_audio = one(self._db, "SELECT 1 FROM audit WHERE subject = ? LIMIT 1", [audio_subject(session_id)])
            for statement in (
                f"DELETE FROM utterances_fts WHERE rowid IN ({in_session})",
                f"DELETE FROM words WHERE utterance_id IN ({in_session})",
                "DELETE FROM utterances WHERE session_id = ?",
                "DELETE FROM speakers WHERE session_id = ?",
                "DELETE FROM speaker_turns WHERE session_id = ?",
                "DELETE FROM findings WHERE session_id = ?",
                "DELETE FROM session_officers WHERE session_id = ?",
                "DELETE FROM sessions WHERE id = ?",
            ):
                self._db.execute(statement, [session_id])
            for subject in removed:
                self._chain_row(subject.split(":", 1)[0] + ".deleted", subject, actor=actor, session_id=session_id)
            if covers_audio:  # the file is kept (another session may share it) but no longer part of a record
                self._append_chain("audio.released", actor=actor, session_id=session_id, case_no=None,
                                   subject=audio_subject(session_id), subject_sha256=None, detail={})
        logger.info("deleted session %d", session_id)

    @locked
    def get_session(self, session_id: int) -> dict:
        """The session with its speakers and the procedural checker's findings."""
        sessions = read_sessions(self._db, "s.id = ?", [session_id])
        if not sessions:
            raise SessionNotFound(f"no session with id {session_id}")
        return {**sessions[0], "findings": read_findings(self._db, session_id)}

    @locked
    def list_sessions(self, case_no: str | None = None) -> list[dict]:
        """Sessions, newest first; only those of `case_no` if given (CaseNotFound if no such case)."""
        if case_no is None:
            return read_sessions(self._db, "1", [])
        case_id = self._case_id(case_no)
        return read_sessions(self._db, "s.case_id = ?", [case_id])

    @locked
    def unfinished_sessions(self, kind: str) -> list[int]:
        """Ids of the sessions of `kind` ("file" or "live") still "transcribing": at work, or their process died."""
        check_choice("session kind", kind, SESSION_KINDS)
        return [r["id"] for r in self._db.query(
            "SELECT id FROM sessions WHERE kind = ? AND status = 'transcribing' ORDER BY id", [kind])]

    # Speakers

    @locked
    def set_speaker_roles(
        self,
        session_id: int,
        roles: dict[str, str | None],
        channels: dict[str, int | None] | None = None,
        *,
        actor: Actor = SYSTEM_ACTOR,
    ) -> None:
        """Assign roles (讯问人, 记录人, 被讯问人 …; None to clear) and seat channels to speaker labels.

        Labels not seen yet are created, so roles can be set before anyone speaks.
        """
        channels = channels or {}
        for label, role in roles.items():
            if not isinstance(label, str) or not label.strip():
                raise StoreError(f"speaker labels must be non-empty strings, not {label!r}")
            if role is not None and (not isinstance(role, str) or not role.strip()):
                raise StoreError(f"the role of speaker {label!r} must be a non-empty string or None")
        for label, channel in channels.items():
            if channel is not None:
                checked_count(f"channel of speaker {label!r}", channel, minimum=0)
        with immediate_transaction(self._db):
            self._require_session(session_id)
            for label in {**roles, **channels}:
                self._ensure_speaker(session_id, label, channel=None, actor=actor)
            for label, role in roles.items():
                self._db.execute(
                    "UPDATE speakers SET role = ? WHERE session_id = ? AND label = ?",
                    [role, session_id, label],
                )
            for label, channel in channels.items():
                self._db.execute(
                    "UPDATE speakers SET channel = ? WHERE session_id = ? AND label = ?",
                    [channel, session_id, label],
                )
            for label in {**roles, **channels}:
                self._chain_row("speaker.roles_set", speaker_subject(session_id, label), actor=actor,
                                session_id=session_id)

    # Utterances

    @locked
    def add_utterance(self, session_id: int, utterance: Utterance, *, actor: Actor = SYSTEM_ACTOR) -> int:
        """Store an utterance, its words and its search row; return the utterance id.

        Its `seq` is the next in the session (order of arrival). A speaker label not seen before in
        the session is created (with the utterance's channel). The audit chain entry covering it is one
        more INSERT in the same transaction, its digest computed from the values written (no read-back).
        """
        start_ms = to_ms(utterance.start_s, "utterance start_s")
        end_ms = to_ms(utterance.end_s, "utterance end_s")
        if end_ms < start_ms:
            raise StoreError(
                f"an utterance must not end before it starts (start_s={utterance.start_s}, "
                f"end_s={utterance.end_s})"
            )
        words = [
            (
                seq,
                to_ms(word.start_s, "word start_s"),
                to_ms(word.end_s, "word end_s"),
                word.text,
                checked_probability(word.probability),
            )
            for seq, word in enumerate(utterance.words)
        ]
        segmented = segment_for_index(utterance.text)
        with immediate_transaction(self._db):
            self._require_session(session_id)
            if utterance.speaker is not None:
                self._ensure_speaker(session_id, utterance.speaker, channel=utterance.channel, actor=actor)
            seq = self._db.execute(
                "SELECT COALESCE(MAX(seq), -1) + 1 FROM utterances WHERE session_id = ?", [session_id]
            ).fetchone()[0]
            utterance_id = self._db.execute(
                "INSERT INTO utterances"
                " (session_id, seq, start_ms, end_ms, speaker, channel, text, committed)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    session_id,
                    seq,
                    start_ms,
                    end_ms,
                    utterance.speaker,
                    utterance.channel,
                    utterance.text,
                    int(utterance.committed),
                ],
            ).lastrowid
            self._db.conn.executemany(
                "INSERT INTO words (utterance_id, seq, start_ms, end_ms, text, probability)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(utterance_id, *word) for word in words],
            )
            self._db.execute(
                "INSERT INTO utterances_fts (rowid, segmented) VALUES (?, ?)", [utterance_id, segmented]
            )
            stored = {"id": utterance_id, "session_id": session_id, "seq": seq, "start_ms": start_ms,
                      "end_ms": end_ms, "speaker": utterance.speaker, "channel": utterance.channel,
                      "text": utterance.text, "original_text": utterance.text, "committed": int(utterance.committed),
                      "role": None, "version": 1, "merged_into": None}
            self._append_chain("utterance.added", actor=actor, session_id=session_id, case_no=None,
                               subject=utterance_subject(utterance_id),
                               subject_sha256=utterance_digest(stored, words), detail={})
        logger.debug("session %d: stored utterance %d (seq %d)", session_id, utterance_id, seq)
        return int(utterance_id)

    # Procedural findings

    @locked
    def set_rule_set(self, session_id: int, rule_set: str, conditions: Iterable[str] = ()) -> None:
        """Which procedural rule set (and conditional additions) the session is checked against."""
        conditions = list(conditions)
        if not isinstance(rule_set, str) or not rule_set.strip() or not all(isinstance(c, str) for c in conditions):
            raise StoreError(f"a rule set is a name and conditions a list of names, got {rule_set!r}, {conditions!r}")
        with immediate_transaction(self._db):
            self._require_session(session_id)
            self._db.execute("UPDATE sessions SET rule_set = ?, conditions_json = ? WHERE id = ?",
                             [rule_set, json.dumps(conditions, ensure_ascii=False), session_id])

    @locked
    def set_findings(self, session_id: int, findings: Iterable[Finding]) -> None:
        """Replace the session's findings with a new check's (after a correction, the check is redone)."""
        checked_at = now_utc_iso()
        rows = [
            [session_id, seq, f.rule_key, f.title, f.status, json.dumps(list(f.utterance_ids)),
             None if f.start_s is None else to_ms(f.start_s, "finding start"), f.evidence, float(f.score), f.basis,
             f.detail, checked_at]
            for seq, f in enumerate(findings)
        ]
        with immediate_transaction(self._db):
            self._require_session(session_id)
            self._db.execute("DELETE FROM findings WHERE session_id = ?", [session_id])
            self._db.conn.executemany(
                "INSERT INTO findings (session_id, seq, rule_key, title, status, utterance_ids_json, start_ms,"
                " evidence, score, basis, detail, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    @locked
    def findings(self, session_id: int) -> list[dict]:
        self._require_session(session_id)
        return read_findings(self._db, session_id)

    # Speaker turns

    @locked
    def add_speaker_turns(self, session_id: int, turns: Iterable[SpeakerTurn]) -> None:
        """Store the diarizer's turns (who spoke when) for the session."""
        rows = []
        for turn in turns:
            start_ms, end_ms = to_ms(turn.start_s, "turn start"), to_ms(turn.end_s, "turn end")
            if end_ms < start_ms or not turn.speaker:
                raise StoreError(f"a speaker turn needs a speaker and end >= start, got {turn!r}")
            rows.append([session_id, start_ms, end_ms, turn.speaker, turn.channel])
        with immediate_transaction(self._db):
            self._require_session(session_id)
            self._db.conn.executemany(
                "INSERT INTO speaker_turns (session_id, start_ms, end_ms, speaker, channel) VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    @locked
    def speaker_turns(self, session_id: int) -> list[dict]:
        """The diarizer's turns, by start: `{"start_s", "end_s", "speaker", "channel"}`."""
        self._require_session(session_id)
        return [
            {"start_s": r["start_ms"] / 1000, "end_s": r["end_ms"] / 1000, "speaker": r["speaker"],
             "channel": r["channel"]}
            for r in self._db.query(
                "SELECT start_ms, end_ms, speaker, channel FROM speaker_turns WHERE session_id = ? "
                "ORDER BY start_ms, end_ms", [session_id])
        ]

    @locked
    def utterances(self, session_id: int) -> list[dict]:
        """The session's utterances ordered by start, each with its words and its speaker's role."""
        self._require_session(session_id)
        return read_utterances(self._db, session_id)

    # Search

    @locked
    def search(
        self,
        query: str,
        *,
        case_no: str | None = None,
        role: str | None = None,
        limit: int = 50,
    ) -> list[dict]:
        """Utterances holding every word of `query` (segmented with jieba), best matches first.

        Each result has `snippet`: the utterance text with the matched words marked 【 】.
        Raises InvalidQuery for a query with nothing to search for, CaseNotFound for an unknown
        `case_no`.
        """
        terms = query_terms(query)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise InvalidQuery(f"limit must be an integer from 1 to {MAX_SEARCH_LIMIT}, not {limit!r}")
        case_id = None if case_no is None else self._case_id(case_no)
        hits = search_utterances(
            self._db, match_expression(terms), case_id=case_id, role=role, limit=limit
        )
        return [{**hit, "snippet": highlight(hit["text"], terms)} for hit in hits]

    # Internals (callers hold the lock)

    def _case_id(self, case_no: str) -> int:
        row = one(self._db, "SELECT id FROM cases WHERE case_no = ?", [case_no])
        if row is None:
            raise CaseNotFound(f"no case with case number {case_no!r}")
        return row["id"]

    def _ensure_case_id(self, case_no: str, *, title: str | None) -> int:
        check_case_no(case_no)
        row = one(self._db, "SELECT id, title FROM cases WHERE case_no = ?", [case_no])
        if row is None:
            cursor = self._db.execute(
                "INSERT INTO cases (case_no, title, created_at) VALUES (?, ?, ?)",
                [case_no, title, now_utc_iso()],
            )
            logger.info("created case %d", cursor.lastrowid)
            return int(cursor.lastrowid)
        if title is not None and not row["title"]:
            self._db.execute("UPDATE cases SET title = ? WHERE id = ?", [title, row["id"]])
        return row["id"]

    def _read_case(self, case_id: int) -> dict:
        case = read_case(self._db, case_id)
        assert case is not None, "the caller found or created the case"
        return case

    def _require_session(self, session_id: int) -> dict:
        row = one(self._db, "SELECT id, status FROM sessions WHERE id = ?", [session_id])
        if row is None:
            raise SessionNotFound(f"no session with id {session_id}")
        return row

    def _ensure_speaker(self, session_id: int, label: str, *, channel: int | None,
                        actor: Actor = SYSTEM_ACTOR) -> None:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO speakers (session_id, label, channel) VALUES (?, ?, ?)",
            [session_id, label, channel],
        )
        if cursor.rowcount == 1:
            self._chain_row("speaker.added", speaker_subject(session_id, label), actor=actor, session_id=session_id)

    def _playback_file(self, session_id: int) -> tuple[str, str, int] | None:
        """A live session's playback WAV as (path relative to the home, sha256, bytes), if written."""
        row = one(self._db, "SELECT kind, audio_path FROM sessions WHERE id = ?", [session_id])
        if row is None or row["kind"] != "live":
            return None
        relative = f"{row['audio_path']}/{PLAYBACK_NAME}"
        if not (self.home / relative).is_file():
            return None
        return (relative, *file_sha256(self.home / relative))
