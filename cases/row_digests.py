"""The sha256 of each stored row the audit chain covers, computed one way for the writer and the verifier.

A digest is the sha256 of the canonical JSON of the row's columns as SQLite returns them (an utterance's
with its words), so that the store, when it writes a row, and `bilu verify`, when it re-reads it, get the
same value from the same row. Subjects name the rows:

    session:ID   utterance:ID   revision:ID   speaker:SESSION:LABEL   segment:SESSION:SEQ   person:ID
    written:ID (an imported version of a written record, file included)

and, for files, audio:SESSION (a file session's recording), playback:SESSION (a live session's playback
WAV); a live segment's file is covered by its segment entry.

Left out on purpose: what the application recomputes (findings, the search index, speaker turns are redone
with the transcript), and the session's rule set, officers and `transcribed_ms`, which are settings and
bookkeeping rather than the record. Their writes are still audited, in their transaction: findings:SESSION,
turns:SESSION, rules:SESSION and progress:SESSION entries (BOOKKEEPING_KINDS), which verify does not compare.
"""
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence

from sqlite_utils import Database

SESSION_FIELDS = ("id", "case_id", "room", "kind", "status", "source_name", "audio_path", "audio_sha256",
                  "audio_bytes", "duration_ms", "sample_rate", "channels", "diarizer", "model", "options_json",
                  "timings_json", "error", "created_at", "finished_at")
# Added by migration 15 (a withdrawn upload): in a digest only when set, like the utterance marks below.
SESSION_WITHDRAWAL_FIELDS = ("withdrawn_at", "withdrawn_by", "withdrawn_reason")
UTTERANCE_FIELDS = ("id", "session_id", "seq", "start_ms", "end_ms", "speaker", "channel", "text", "original_text",
                    "committed", "role", "version", "merged_into")
# Added by migration 11: in a digest only when set, so the digests of rows stored before stay as they were.
UTTERANCE_MARK_FIELDS = ("suspect", "not_speech", "speech_probability", "energy_db", "suspect_decision")
WORD_FIELDS = ("seq", "start_ms", "end_ms", "text", "probability")
SPEAKER_FIELDS = ("id", "session_id", "label", "role", "channel", "version")
REVISION_FIELDS = ("id", "session_id", "utterance_id", "speaker_label", "kind", "user_id", "user_name",
                   "created_at", "before_json", "after_json")
SEGMENT_FIELDS = ("session_id", "seq", "path", "start_ms", "duration_ms", "frames", "sample_rate", "channels",
                  "sha256", "created_at")
PERSON_FIELDS = ("id", "case_id", "role", "name", "id_number", "wristband_id", "created_at")
WRITTEN_FIELDS = ("id", "session_id", "version", "filename", "sha256", "size_bytes", "content_b64", "record_json",
                  "recording_started_at", "discrepancy_kinds", "discrepancy_count", "imported_by", "imported_at")

ROW_KINDS = ("session", "utterance", "revision", "speaker", "segment", "person", "written")
FILE_KINDS = ("audio", "playback", "segment", "signature")
"""Subjects whose entry's subject_sha256 is a file's sha256 (a segment's entry also holds its row's digest)."""


def canonical_json(value: dict | list) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def segment_entry(row: Mapping) -> tuple[str, dict]:
    """A segment's chain entry: (subject_sha256, detail). The file's sha256 is the subject's digest (the
    verifier re-hashes the file); the row's own digest and where the file is go in the detail."""
    return row["sha256"], {"path": row["path"], "row_sha256": fields_digest(row, SEGMENT_FIELDS)}


def fields_digest(row: Mapping, fields: Sequence[str]) -> str:
    return sha256_text(canonical_json({field: row[field] for field in fields}))


def session_row_digest(row: Mapping) -> str:
    value = {field: row[field] for field in SESSION_FIELDS}
    value.update({field: row[field] for field in SESSION_WITHDRAWAL_FIELDS if row.get(field) is not None})
    return sha256_text(canonical_json(value))


def utterance_digest(row: Mapping, words: Iterable[Sequence]) -> str:
    """`words`: (seq, start_ms, end_ms, text, probability) per word, in seq order."""
    value = {field: row[field] for field in UTTERANCE_FIELDS}
    value.update({field: row[field] for field in UTTERANCE_MARK_FIELDS if row.get(field) is not None})
    value["words"] = [list(word) for word in words]
    return sha256_text(canonical_json(value))


def written_subject(record_id: int) -> str:
    return f"written:{record_id}"


def session_subject(session_id: int) -> str:
    return f"session:{session_id}"


def utterance_subject(utterance_id: int) -> str:
    return f"utterance:{utterance_id}"


def revision_subject(revision_id: int) -> str:
    return f"revision:{revision_id}"


def speaker_subject(session_id: int, label: str) -> str:
    return f"speaker:{session_id}:{label}"


def segment_subject(session_id: int, seq: int) -> str:
    return f"segment:{session_id}:{seq}"


def person_subject(person_id: int) -> str:
    return f"person:{person_id}"


def audio_subject(session_id: int) -> str:
    return f"audio:{session_id}"


def playback_subject(session_id: int) -> str:
    return f"playback:{session_id}"


BOOKKEEPING_KINDS = ("findings", "turns", "rules", "progress", "guardrails")
"""Subjects (KIND:SESSION) of the entries that record writes of what is left out on purpose above: the entry says
who wrote what and when, its digest is that of the values written, and `bilu verify` does not compare them."""


def bookkeeping_subject(kind: str, session_id: int) -> str:
    assert kind in BOOKKEEPING_KINDS, kind
    return f"{kind}:{session_id}"


def values_digest(values: dict | list) -> str:
    return sha256_text(canonical_json(values))


def subject_kind(subject: str) -> str:
    return subject.split(":", 1)[0]


def row_digest(db: Database, subject: str) -> str | None:
    """The digest of the row `subject` names as it is now (None: there is no such row)."""
    kind, _, rest = subject.partition(":")
    if kind == "utterance":
        row = _one(db, "SELECT * FROM utterances WHERE id = ?", [int(rest)])
        if row is None:
            return None
        words = db.execute(f"SELECT {', '.join(WORD_FIELDS)} FROM words WHERE utterance_id = ? ORDER BY seq",
                           [row["id"]]).fetchall()
        return utterance_digest(row, words)
    if kind in ("speaker", "segment"):
        session_id, _, key = rest.partition(":")
        sql = ("SELECT * FROM speakers WHERE session_id = ? AND label = ?" if kind == "speaker"
               else "SELECT * FROM audio_segments WHERE session_id = ? AND seq = ?")
        row = _one(db, sql, [int(session_id), key if kind == "speaker" else int(key)])
        return None if row is None else fields_digest(row, SPEAKER_FIELDS if kind == "speaker" else SEGMENT_FIELDS)
    if kind == "session":
        row = _one(db, "SELECT * FROM sessions WHERE id = ?", [int(rest)])
        return None if row is None else session_row_digest(row)
    table, fields = {"revision": ("revisions", REVISION_FIELDS), "person": ("people", PERSON_FIELDS),
                     "written": ("written_records", WRITTEN_FIELDS)}[kind]
    row = _one(db, f"SELECT * FROM {table} WHERE id = ?", [int(rest)])
    return None if row is None else fields_digest(row, fields)


def current_digests(db: Database, *, session_id: int | None = None) -> dict[str, str]:
    """Every covered row now (of one session, or all), subject -> digest. People belong to a case, not a
    session: they are only in the whole store's list."""
    where, params = ("WHERE session_id = ?", [session_id]) if session_id is not None else ("", [])
    digests: dict[str, str] = {}
    session_where = ("WHERE id = ?", [session_id]) if session_id is not None else ("", [])
    for row in db.query(f"SELECT * FROM sessions {session_where[0]}", session_where[1]):
        digests[session_subject(row["id"])] = session_row_digest(row)
    for utterance_id, digest in _utterance_digests(db, where, params):
        digests[utterance_subject(utterance_id)] = digest
    for row in db.query(f"SELECT * FROM speakers {where}", params):
        digests[speaker_subject(row["session_id"], row["label"])] = fields_digest(row, SPEAKER_FIELDS)
    for row in db.query(f"SELECT * FROM revisions {where}", params):
        digests[revision_subject(row["id"])] = fields_digest(row, REVISION_FIELDS)
    for row in db.query(f"SELECT * FROM audio_segments {where}", params):
        digests[segment_subject(row["session_id"], row["seq"])] = fields_digest(row, SEGMENT_FIELDS)
    for row in db.query(f"SELECT * FROM written_records {where}", params):
        digests[written_subject(row["id"])] = fields_digest(row, WRITTEN_FIELDS)
    if session_id is None:
        for row in db.query("SELECT * FROM people"):
            digests[person_subject(row["id"])] = fields_digest(row, PERSON_FIELDS)
    return digests


def _utterance_digests(db: Database, where: str, params: list) -> Iterator[tuple[int, str]]:
    """Utterances and their words in two ordered scans, joined as they go (no per-row query)."""
    word_where = "" if not params else "WHERE utterance_id IN (SELECT id FROM utterances WHERE session_id = ?)"
    words = db.execute(f"SELECT utterance_id, {', '.join(WORD_FIELDS)} FROM words {word_where}"
                       " ORDER BY utterance_id, seq", params)
    pending = words.fetchone()
    for row in db.query(f"SELECT * FROM utterances {where} ORDER BY id", params):
        while pending is not None and pending[0] < row["id"]:
            pending = words.fetchone()  # words of an utterance that is gone: the utterance shows as deleted
        own = []
        while pending is not None and pending[0] == row["id"]:
            own.append(pending[1:])
            pending = words.fetchone()
        yield row["id"], utterance_digest(row, own)


def _one(db: Database, sql: str, params: list) -> dict | None:
    rows = list(db.query(sql, params))
    return rows[0] if rows else None
