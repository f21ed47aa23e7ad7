"""Read queries of the store, and the shaping of rows into the dicts it returns.

Callers hold the store's lock. Times leave here as seconds (float) and local ISO 8601 strings.
"""

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from sqlite_utils import Database

CASE_COLUMNS = (
    "SELECT c.id, c.case_no, c.title, c.created_at, COUNT(s.id) AS session_count,"
    " MAX(s.created_at) AS last_session_at"
    " FROM cases c LEFT JOIN sessions s ON s.case_id = c.id"
)


def one(db: Database, sql: str, params: Iterable[Any]) -> dict | None:
    rows = list(db.query(sql, list(params)))
    return rows[0] if rows else None


def read_case(db: Database, case_id: int) -> dict | None:
    row = one(db, f"{CASE_COLUMNS} WHERE c.id = ? GROUP BY c.id", [case_id])
    return None if row is None else case_from_row(row)


def read_cases(db: Database) -> list[dict]:
    """Every case, most recently active first."""
    rows = db.query(
        f"{CASE_COLUMNS} GROUP BY c.id"
        " ORDER BY COALESCE(MAX(s.created_at), c.created_at) DESC, c.id DESC"
    )
    return [case_from_row(row) for row in rows]


def read_sessions(db: Database, where: str, params: list[Any]) -> list[dict]:
    """Sessions matching `where` (SQL over `s`, the sessions row), newest first, with speakers."""
    rows = list(
        db.query(
            "SELECT s.*, c.case_no, c.title AS case_title,"
            # Which interview of the case this is (第 N 次), counting earlier sessions that did
            # not fail.
            " (SELECT COUNT(*) FROM sessions e WHERE e.case_id = s.case_id AND e.id <= s.id"
            "   AND (e.status != 'failed' OR e.id = s.id)) AS number_in_case,"
            " (SELECT COUNT(*) FROM utterances u WHERE u.session_id = s.id AND u.merged_into IS NULL)"
            " AS utterance_count"
            f" FROM sessions s JOIN cases c ON c.id = s.case_id WHERE {where} ORDER BY s.id DESC",
            params,
        )
    )
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    speakers: dict[int, list[dict]] = {session_id: [] for session_id in ids}
    for speaker in db.query(
        "SELECT session_id, label, role, channel FROM speakers"
        f" WHERE session_id IN ({', '.join('?' * len(ids))}) ORDER BY session_id, label",
        ids,
    ):
        speakers[speaker["session_id"]].append(
            {"label": speaker["label"], "role": speaker["role"], "channel": speaker["channel"]}
        )
    return [session_from_row(row, speakers[row["id"]]) for row in rows]


def read_utterances(db: Database, session_id: int, *, utterance_id: int | None = None,
                    after_id: int | None = None) -> list[dict]:
    """The session's utterances ordered by start (or just the one `utterance_id`, or only those stored after the
    one with id `after_id`: ids grow as lines are stored), each with its words, its role (its own if one was set
    on it, else its speaker's), the recognizer's original text and its version. Utterances merged into a
    neighbour are not read."""
    only, params = "", [session_id]
    if utterance_id is not None:
        only, params = only + " AND u.id = ?", params + [utterance_id]
    if after_id is not None:
        only, params = only + " AND u.id > ?", params + [after_id]
    words_by_utterance: dict[int, list[dict]] = {}
    for word in db.query(
        "SELECT w.utterance_id, w.start_ms, w.end_ms, w.text, w.probability"
        " FROM words w JOIN utterances u ON u.id = w.utterance_id"
        f" WHERE u.session_id = ? AND u.merged_into IS NULL{only} ORDER BY w.utterance_id, w.seq",
        params,
    ):
        words_by_utterance.setdefault(word["utterance_id"], []).append(
            {
                "start_s": to_s(word["start_ms"]),
                "end_s": to_s(word["end_ms"]),
                "text": word["text"],
                "probability": word["probability"],
            }
        )
    rows = db.query(
        "SELECT u.id, u.seq, u.start_ms, u.end_ms, u.speaker, COALESCE(u.role, sp.role) AS role, u.channel,"
        " u.text, u.original_text, u.version, u.committed, u.suspect, u.not_speech, u.speech_probability,"
        " u.energy_db, u.suspect_decision FROM utterances u"
        " LEFT JOIN speakers sp ON sp.session_id = u.session_id AND sp.label = u.speaker"
        f" WHERE u.session_id = ? AND u.merged_into IS NULL{only} ORDER BY u.start_ms, u.seq",
        params,
    )
    return [
        {
            "id": row["id"],
            "seq": row["seq"],
            "start_s": to_s(row["start_ms"]),
            "end_s": to_s(row["end_ms"]),
            "speaker": row["speaker"],
            "role": row["role"],
            "channel": row["channel"],
            "text": row["text"],
            "original_text": row["original_text"],
            "corrected": row["text"] != row["original_text"],
            "version": row["version"],
            "committed": bool(row["committed"]),
            "suspect": row["suspect"],
            "not_speech": bool(row["not_speech"]),
            "speech_probability": row["speech_probability"],
            "energy_db": row["energy_db"],
            "suspect_decision": row["suspect_decision"],
            "in_record": in_record(row),
            "words": words_by_utterance.get(row["id"], []),
        }
        for row in rows
    ]


def in_record(row: dict) -> bool:
    """Whether a line goes into the written record (讯问笔录): every line does, except one whose audio the
    independent measure found not to be speech (`not_speech`), unless an officer restored it; and one an
    officer kept out (`suspect_decision`). Such a line is still stored, shown struck through on the page."""
    decision = row["suspect_decision"]
    if decision is not None:
        return decision == "restored"
    return not row["not_speech"]


def case_from_row(row: dict) -> dict:
    return {
        "id": row["id"],
        "case_no": row["case_no"],
        "title": row["title"],
        "created_at": local_iso(row["created_at"]),
        "session_count": row["session_count"],
        "last_session_at": local_iso(row["last_session_at"]),
    }


def session_from_row(row: dict, speakers: list[dict]) -> dict:
    return {
        "id": row["id"],
        "case_id": row["case_id"],
        "case_no": row["case_no"],
        "case_title": row["case_title"],
        "number_in_case": row["number_in_case"],
        "room": row["room"],
        "kind": row["kind"],
        "status": row["status"],
        "source_name": row["source_name"],
        "audio_path": row["audio_path"],
        "audio_sha256": row["audio_sha256"],
        "audio_bytes": row["audio_bytes"],
        "duration_s": to_s(row["duration_ms"]),
        "sample_rate": row["sample_rate"],
        "channels": row["channels"],
        "diarizer": row["diarizer"],
        "model": row["model"],
        "options": json.loads(row["options_json"]),
        "timings": None if row["timings_json"] is None else json.loads(row["timings_json"]),
        "error": row["error"],
        "created_at": local_iso(row["created_at"]),
        "finished_at": local_iso(row["finished_at"]),
        "utterance_count": row["utterance_count"],
        "speakers": speakers,
        "rule_set": row["rule_set"],
        "conditions": json.loads(row["conditions_json"]),
        # A wrong upload withdrawn (migration 15): kept, with its transcript and audio, and its 第 N 次.
        "withdrawn": None if not row.get("withdrawn_at") else {
            "at": local_iso(row["withdrawn_at"]), "by": row["withdrawn_by"], "reason": row["withdrawn_reason"]},
    }


def read_findings(db: Database, session_id: int) -> list[dict]:
    """The checker's findings for the session, in rule order (the shape of lexicon's Finding.to_dict())."""
    return [
        {
            "key": row["rule_key"],
            "title": row["title"],
            "status": row["status"],
            "utterance_ids": json.loads(row["utterance_ids_json"]),
            "start_s": None if row["start_ms"] is None else to_s(row["start_ms"]),
            "evidence": row["evidence"],
            "score": row["score"],
            "basis": row["basis"],
            "detail": row["detail"],
            "checked_at": local_iso(row["checked_at"]),
        }
        for row in db.query("SELECT * FROM findings WHERE session_id = ? ORDER BY seq", [session_id])
    ]


def now_utc_iso() -> str:
    """The stored form of a timestamp: UTC, ISO 8601, milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def local_iso(stored: str | None) -> str | None:
    """A stored timestamp as the API gives it: ISO 8601 in local time, with the offset."""
    if stored is None:
        return None
    return datetime.fromisoformat(stored).astimezone().isoformat(timespec="milliseconds")


def to_s(milliseconds: int) -> float:
    return milliseconds / 1000
