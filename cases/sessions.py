"""Interview sessions and what is stored for them: the session rows, their speakers and roles, utterances
with their words and search rows, the procedural findings, the diarizer's speaker turns. The `Sessions` concern
of the store.

Every change appends its audit entries in its own transaction: the rows it covers ("session.created",
"utterance.added", "speaker.added" ...), with their digests, and an action where it covers no row
("session.rule_set", "findings.checked", "speaker_turns.added": bookkeeping entries that `bilu verify` does not
compare, see cases/row_digests.py).
"""
import json
import logging
from collections.abc import Iterable
from typing import Any

from cases.actors import SYSTEM_ACTOR, Account, Actor
from cases.audit import file_sha256
from cases.checks import (
    check_choice,
    checked_audio_path,
    checked_count,
    checked_probability,
    checked_sha256,
    to_json,
    to_ms,
    utterance_marks,
)
from cases.concern import Concern
from cases.errors import SessionNotDeletable, SessionNotFound, SessionNotWithdrawable, StoreError
from cases.locking import locked
from cases.lookups import case_id, ensure_case_id, ensure_speaker, require_session
from cases.migrations import immediate_transaction
from cases.reads import now_utc_iso, one, read_findings, read_sessions, read_utterances
from cases.row_digests import (
    audio_subject,
    bookkeeping_subject,
    playback_subject,
    session_subject,
    speaker_subject,
    utterance_digest,
    utterance_subject,
    values_digest,
)
from cases.search import segment_for_index
from cases.segments import PLAYBACK_NAME
from diarize.types import SpeakerTurn
from lexicon import Finding
from transcribe.types import Utterance

__all__ = ["FINISHED_STATUSES", "SESSION_KINDS", "SESSION_STATUSES", "Sessions"]

logger = logging.getLogger(__name__)

SESSION_KINDS = ("file", "live")
STARTING_ACTIONS = ("session.uploaded", "session.recording_started")
"""How a person started a session, audited with its row (`create_session(started_as=…)`): an upload through the
service, a recording started from the page. The command line and the room agents start sessions without one."""
SESSION_STATUSES = ("transcribing", "done", "failed", "interrupted", "recovered")
FINISHED_STATUSES = ("done", "failed", "interrupted", "recovered")
DELETABLE_STATUSES = ("transcribing", "failed")
"""A session that reached done/interrupted/recovered is a record: it is never deleted."""


class Sessions(Concern):
    """Sessions, speakers, utterances, findings and speaker turns."""

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
        started_as: str | None = None,
        started_detail: dict | None = None,
    ) -> int:
        """Start a session (status 'transcribing') in the case, creating the case if missing.

        `audio_path` is relative to the store's home. `audio_sha256` may be "" while a live
        recording is still being written: `finish_session` fills it in. The audit chain covers the
        session row and, for a file session, the recording by its sha256. `started_as` (one of
        STARTING_ACTIONS: how a person started it, an upload or a recording from the page) adds that action entry,
        with `started_detail`, in the same transaction: no session of theirs without it, no entry without it.
        """
        check_choice("session kind", kind, SESSION_KINDS)
        if started_as is not None:
            check_choice("starting action", started_as, STARTING_ACTIONS)
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
            row["case_id"] = ensure_case_id(self._db, self._audit, case_no, title=None, actor=actor)
            session_id = self._db.execute(
                f"INSERT INTO sessions ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values())
            ).lastrowid
            self._audit.cover_row("session.created", session_subject(session_id), actor=actor, session_id=session_id,
                            case_no=case_no, detail={"kind": kind})
            if kind == "file" and row["audio_sha256"]:
                self._audit.cover_file("audio.stored", audio_subject(session_id), path=row["audio_path"],
                                 sha256=row["audio_sha256"], size_bytes=row["audio_bytes"], actor=actor,
                                 session_id=session_id)
            if started_as is not None:
                self._audit.action(actor, started_as, session_id=session_id, case_no=case_no, detail=started_detail)
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
            require_session(self._db, session_id)
            self._db.execute(
                f"UPDATE sessions SET {assignments} WHERE id = :session_id",
                {**changes, "session_id": session_id},
            )
            self._audit.cover_row("session.finished", session_subject(session_id), actor=actor, session_id=session_id,
                            detail={"status": status})
            if playback is not None:
                self._audit.cover_file("playback.stored", playback_subject(session_id), path=playback[0],
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
            session = require_session(self._db, session_id)
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
                self._audit.cover_row(subject.split(":", 1)[0] + ".deleted", subject, actor=actor,
                                      session_id=session_id)
            if covers_audio:  # the file is kept (another session may share it) but no longer part of a record
                self._audit.cover_digest("audio.released", audio_subject(session_id), None, actor=actor,
                                         session_id=session_id, detail={})
        logger.info("deleted session %d", session_id)

    @locked
    def withdraw_session(self, session_id: int, *, reason: str, actor: Actor) -> dict:
        """Withdraw a wrong upload: the session stays, with its transcript and its audio, marked withdrawn (when,
        by whom, why) and audited; it keeps its 第 N 次 so that no other session's number changes. Who may
        withdraw is the api's rule (a supervisor or an administrator). Raises SessionNotWithdrawable for a live
        recording, an upload still being transcribed, or one withdrawn already."""
        reason = (reason or "").strip()
        if not reason or len(reason) > 500:
            raise StoreError("a withdrawal needs its reason (1 to 500 characters)",
                             zh="撤回须写明原因（1 至 500 字）")
        with immediate_transaction(self._db):
            require_session(self._db, session_id)
            session = one(self._db, "SELECT kind, status, withdrawn_at FROM sessions WHERE id = ?", [session_id])
            if session["kind"] != "file" or session["status"] == "transcribing" or session["withdrawn_at"]:
                why = ("it was withdrawn already" if session["withdrawn_at"] else
                       "it is a live recording, not an upload" if session["kind"] != "file" else
                       "it is still being transcribed: withdraw it when the run has ended")
                zh = ("已撤回" if session["withdrawn_at"] else "现场录音不能撤回，只有上传的录音可以撤回"
                      if session["kind"] != "file" else "仍在转写，转写结束后才能撤回")
                raise SessionNotWithdrawable(f"session {session_id} cannot be withdrawn: {why}", zh=zh)
            by = actor.name if isinstance(actor, Account) else str(actor)
            self._db.execute("UPDATE sessions SET withdrawn_at = ?, withdrawn_by = ?, withdrawn_reason = ?"
                             " WHERE id = ?", [now_utc_iso(), by, reason, session_id])
            self._audit.cover_row("session.withdrawn", session_subject(session_id), actor=actor,
                                  session_id=session_id, detail={"status": session["status"]})
        logger.info("session %d withdrawn", session_id)
        return self.get_session(session_id)

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
            return read_sessions(self._db, "TRUE", [])
        return read_sessions(self._db, "s.case_id = ?", [case_id(self._db, case_no)])

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
            require_session(self._db, session_id)
            for label in {**roles, **channels}:
                ensure_speaker(self._db, self._audit, session_id, label, channel=None, actor=actor)
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
                self._audit.cover_row("speaker.roles_set", speaker_subject(session_id, label), actor=actor,
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
        marks = utterance_marks(utterance)
        with immediate_transaction(self._db):
            require_session(self._db, session_id)
            if utterance.speaker is not None:
                ensure_speaker(self._db, self._audit, session_id, utterance.speaker, channel=utterance.channel,
                               actor=actor)
            seq = self._db.execute(
                "SELECT COALESCE(MAX(seq), -1) + 1 FROM utterances WHERE session_id = ?", [session_id]
            ).fetchone()[0]
            utterance_id = self._db.execute(
                "INSERT INTO utterances"
                " (session_id, seq, start_ms, end_ms, speaker, channel, text, committed,"
                " suspect, not_speech, speech_probability, energy_db)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    session_id,
                    seq,
                    start_ms,
                    end_ms,
                    utterance.speaker,
                    utterance.channel,
                    utterance.text,
                    int(utterance.committed),
                    *marks.values(),
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
                      "role": None, "version": 1, "merged_into": None, **marks, "suspect_decision": None}
            self._audit.cover_digest("utterance.added", utterance_subject(utterance_id),
                                     utterance_digest(stored, words), actor=actor, session_id=session_id, detail={})
        logger.debug("session %d: stored utterance %d (seq %d)", session_id, utterance_id, seq)
        return int(utterance_id)

    # Procedural findings

    @locked
    def set_rule_set(self, session_id: int, rule_set: str, conditions: Iterable[str] = (), *,
                     actor: Actor = SYSTEM_ACTOR) -> None:
        """Which procedural rule set (and conditional additions) the session is checked against."""
        conditions = list(conditions)
        if not isinstance(rule_set, str) or not rule_set.strip() or not all(isinstance(c, str) for c in conditions):
            raise StoreError(f"a rule set is a name and conditions a list of names, got {rule_set!r}, {conditions!r}")
        with immediate_transaction(self._db):
            require_session(self._db, session_id)
            self._db.execute("UPDATE sessions SET rule_set = ?, conditions_json = ? WHERE id = ?",
                             [rule_set, json.dumps(conditions, ensure_ascii=False), session_id])
            self._audit.cover_digest("session.rule_set", bookkeeping_subject("rules", session_id),
                                     values_digest({"rule_set": rule_set, "conditions": conditions}), actor=actor,
                                     session_id=session_id, detail={"rule_set": rule_set})

    @locked
    def set_findings(self, session_id: int, findings: Iterable[Finding], *, actor: Actor = SYSTEM_ACTOR) -> None:
        """Replace the session's findings with a new check's (after a correction, the check is redone)."""
        checked_at = now_utc_iso()
        rows = [
            [session_id, seq, f.rule_key, f.title, f.status, json.dumps(list(f.utterance_ids)),
             None if f.start_s is None else to_ms(f.start_s, "finding start"), f.evidence, float(f.score), f.basis,
             f.detail, checked_at]
            for seq, f in enumerate(findings)
        ]
        with immediate_transaction(self._db):
            require_session(self._db, session_id)
            self._db.execute("DELETE FROM findings WHERE session_id = ?", [session_id])
            self._db.conn.executemany(
                "INSERT INTO findings (session_id, seq, rule_key, title, status, utterance_ids_json, start_ms,"
                " evidence, score, basis, detail, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._audit.cover_digest("findings.checked", bookkeeping_subject("findings", session_id),
                                     values_digest(rows), actor=actor, session_id=session_id,
                                     detail={"findings": len(rows), "unmet": sum(r[4] != "satisfied" for r in rows)})

    @locked
    def findings(self, session_id: int) -> list[dict]:
        require_session(self._db, session_id)
        return read_findings(self._db, session_id)

    # Speaker turns

    @locked
    def add_speaker_turns(self, session_id: int, turns: Iterable[SpeakerTurn], *,
                          actor: Actor = SYSTEM_ACTOR) -> None:
        """Store the diarizer's turns (who spoke when) for the session."""
        rows = []
        for turn in turns:
            start_ms, end_ms = to_ms(turn.start_s, "turn start"), to_ms(turn.end_s, "turn end")
            if end_ms < start_ms or not turn.speaker:
                raise StoreError(f"a speaker turn needs a speaker and end >= start, got {turn!r}")
            rows.append([session_id, start_ms, end_ms, turn.speaker, turn.channel])
        with immediate_transaction(self._db):
            require_session(self._db, session_id)
            self._db.conn.executemany(
                "INSERT INTO speaker_turns (session_id, start_ms, end_ms, speaker, channel) VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            self._audit.cover_digest("speaker_turns.added", bookkeeping_subject("turns", session_id),
                                     values_digest(rows), actor=actor, session_id=session_id,
                                     detail={"turns": len(rows)})

    @locked
    def speaker_turns(self, session_id: int) -> list[dict]:
        """The diarizer's turns, by start: `{"start_s", "end_s", "speaker", "channel"}`."""
        require_session(self._db, session_id)
        return [
            {"start_s": r["start_ms"] / 1000, "end_s": r["end_ms"] / 1000, "speaker": r["speaker"],
             "channel": r["channel"]}
            for r in self._db.query(
                "SELECT start_ms, end_ms, speaker, channel FROM speaker_turns WHERE session_id = ? "
                "ORDER BY start_ms, end_ms", [session_id])
        ]

    @locked
    def utterances(self, session_id: int, *, after_id: int | None = None) -> list[dict]:
        """The session's utterances ordered by start, each with its words and its speaker's role; with
        `after_id`, only those stored after the utterance with that id (what a follower has not seen yet)."""
        require_session(self._db, session_id)
        return read_utterances(self._db, session_id, after_id=after_id)

    # Internals (callers hold the lock)

    def _playback_file(self, session_id: int) -> tuple[str, str, int] | None:
        """A live session's playback WAV as (path relative to the home, sha256, bytes), if written."""
        row = one(self._db, "SELECT kind, audio_path FROM sessions WHERE id = ?", [session_id])
        if row is None or row["kind"] != "live":
            return None
        relative = f"{row['audio_path']}/{PLAYBACK_NAME}"
        if not (self.home / relative).is_file():
            return None
        return (relative, *file_sha256(self.home / relative))
