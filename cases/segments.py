"""The audio of live recordings: a series of WAV segments per session, each with its sha256.

The `Segments` concern of the store. The recorder reports each segment as it closes; after a crash, recovery
adds the segments it repaired. `transcribed_ms` says how far the committed transcript reaches, so recovery knows
what is left to transcribe.
"""
import hashlib

from cases.checks import checked_audio_path, checked_count, checked_sha256, to_ms
from cases.errors import SessionNotFound, StoreError
from cases.locking import locked
from cases.migrations import immediate_transaction
from cases.actors import SYSTEM_ACTOR, Actor
from cases.concern import Concern
from cases.lookups import require_session
from cases.reads import now_utc_iso, one, to_s
from cases.row_digests import bookkeeping_subject, values_digest

PLAYBACK_NAME = "playback.wav"
"""The 16 kHz mono WAV engine/live.py writes into a live session's folder before finishing it (same name there)."""


class Segments(Concern):

    @locked
    def add_audio_segment(self, session_id: int, *, seq: int, path: str, start_s: float, duration_s: float,
                          frames: int, sample_rate: int, channels: int, sha256: str,
                          actor: Actor = SYSTEM_ACTOR) -> None:
        """Record a closed segment (`path` relative to BILU_HOME). The same seq twice keeps the first.

        The audit chain covers the segment's file by the sha256 given, and its row."""
        row = [session_id, checked_count("segment seq", seq, minimum=0), checked_audio_path(path),
               to_ms(start_s, "segment start"), to_ms(duration_s, "segment duration"),
               checked_count("frames", frames, minimum=0), checked_count("sample rate", sample_rate, minimum=1),
               checked_count("channels", channels, minimum=1), checked_sha256(sha256), now_utc_iso()]
        if not row[8]:
            raise StoreError("a closed audio segment needs its sha256")
        with immediate_transaction(self._db):
            require_session(self._db, session_id)
            inserted = self._db.execute(
                "INSERT OR IGNORE INTO audio_segments (session_id, seq, path, start_ms, duration_ms, frames,"
                " sample_rate, channels, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            ).rowcount
            if inserted:
                self._audit.cover_segment(session_id, row[1], actor=actor)

    @locked
    def audio_segments(self, session_id: int) -> list[dict]:
        require_session(self._db, session_id)
        return [
            {"seq": r["seq"], "path": r["path"], "start_s": to_s(r["start_ms"]), "duration_s": to_s(r["duration_ms"]),
             "frames": r["frames"], "sample_rate": r["sample_rate"], "channels": r["channels"], "sha256": r["sha256"]}
            for r in self._db.query("SELECT * FROM audio_segments WHERE session_id = ? ORDER BY seq", [session_id])
        ]

    @locked
    def set_transcribed_until(self, session_id: int, seconds: float, *, actor: Actor = SYSTEM_ACTOR) -> None:
        """The committed transcript reaches `seconds` (never moves back): "session.transcribed_until" when it
        moves on."""
        ms = to_ms(seconds, "transcribed until")
        with immediate_transaction(self._db):
            require_session(self._db, session_id)
            moved = self._db.execute("UPDATE sessions SET transcribed_ms = ? WHERE id = ? AND transcribed_ms < ?",
                                     [ms, session_id, ms]).rowcount
            if moved:
                self._audit.cover_digest("session.transcribed_until", bookkeeping_subject("progress", session_id),
                                         values_digest({"transcribed_ms": ms}), actor=actor, session_id=session_id,
                                         detail={"transcribed_ms": ms})

    @locked
    def transcription_progress(self, session_id: int) -> dict:
        """What a page following a transcription polls for, in one read of the session's row: its status, length,
        error, number of lines and how far the stored transcript reaches (`transcribed_until_s`, not clamped)."""
        row = one(self._db, "SELECT s.status, s.duration_ms, s.error, s.transcribed_ms,"
                            " (SELECT COUNT(*) FROM utterances u WHERE u.session_id = s.id AND u.merged_into IS NULL)"
                            " AS utterance_count FROM sessions s WHERE s.id = ?", [session_id])
        if row is None:
            raise SessionNotFound(f"no session with id {session_id}")
        return {"status": row["status"], "duration_s": to_s(row["duration_ms"]), "error": row["error"],
                "utterance_count": row["utterance_count"], "transcribed_until_s": to_s(row["transcribed_ms"])}

    @locked
    def transcribed_until(self, session_id: int) -> float:
        require_session(self._db, session_id)
        return to_s(one(self._db, "SELECT transcribed_ms FROM sessions WHERE id = ?", [session_id])["transcribed_ms"])


def segments_digest(segments: list[dict]) -> str:
    """One sha256 for a live session's audio: over its segments' hashes, in order."""
    digest = hashlib.sha256()
    for segment in segments:
        digest.update(f"{segment['seq']}:{segment['sha256']}\n".encode())
    return digest.hexdigest()
