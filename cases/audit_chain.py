"""The audit hash chain: each audit row carries the sha256 of its own content and of the row before it.

    content_sha256 = sha256(content)            content: the row's canonical JSON (who, what, when, subject)
    hash           = sha256(prev_hash + content_sha256)       prev_hash of the first row: 64 zeros

A row that covers stored data names it in `subject` ("utterance:12", "segment:5:0", "audio:5" ...) with the
sha256 of that row or file in `subject_sha256`; both are inside `content` too, so neither can be changed
without the row's hash showing it. Rows are appended only inside an open write transaction (BEGIN IMMEDIATE):
SQLite lets one writer at a time, so reading the last hash and appending after it stays one linear chain even
with several processes.

Plain functions over the connection, shared by the store (cases/audit.py) and migration 8 (the backfill).
"""
from sqlite_utils import Database

from cases.errors import StoreError
from cases.row_digests import (
    PERSON_FIELDS,
    REVISION_FIELDS,
    session_row_digest,
    SPEAKER_FIELDS,
    audio_subject,
    canonical_json,
    fields_digest,
    person_subject,
    revision_subject,
    row_digest,
    segment_entry,
    segment_subject,
    session_subject,
    sha256_text,
    speaker_subject,
    utterance_subject,
)

GENESIS_HASH = "0" * 64
SYSTEM_ACTOR = "system"
"""The actor of writes nobody asked for by name: the pipeline, the recorder, recovery."""


def entry_hash(prev_hash: str, content_sha256: str) -> str:
    return sha256_text(prev_hash + content_sha256)


def entry_content(*, at: str, user_id: int | None, user_name: str, action: str, session_id: int | None,
                  case_no: str | None, detail: dict | None, subject: str | None,
                  subject_sha256: str | None) -> str:
    return canonical_json({
        "at": at, "user_id": user_id, "user": user_name, "action": action, "session_id": session_id,
        "case_no": case_no, "detail": detail or {}, "subject": subject, "subject_sha256": subject_sha256,
    })


def last_hash(db: Database) -> str:
    row = db.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    return GENESIS_HASH if row is None or row[0] is None else row[0]


def append_entry(db: Database, *, at: str, user_id: int | None, user_name: str, action: str,
                 session_id: int | None, case_no: str | None, detail: dict | None, subject: str | None = None,
                 subject_sha256: str | None = None) -> tuple[int, str]:
    """Append one chained audit row; the caller holds an open write transaction. Returns (id, hash)."""
    if not db.conn.in_transaction:
        # A programming error, never the user's: an entry outside the write it covers could be lost on a kill -9
        # between the two, and `bilu verify` would then report a row the application itself wrote.
        raise StoreError(f"audit entry {action!r} must be appended inside the write transaction it covers")
    content = entry_content(at=at, user_id=user_id, user_name=user_name, action=action, session_id=session_id,
                            case_no=case_no, detail=detail, subject=subject, subject_sha256=subject_sha256)
    content_sha256 = sha256_text(content)
    prev_hash = last_hash(db)
    chained = entry_hash(prev_hash, content_sha256)
    cursor = db.execute(
        "INSERT INTO audit (at, user_id, user_name, action, session_id, case_no, content, content_sha256,"
        " prev_hash, hash, subject, subject_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [at, user_id, user_name, action, session_id, case_no, content, content_sha256, prev_hash, chained,
         subject, subject_sha256],
    )
    return int(cursor.lastrowid), chained


def chain_existing_rows(db: Database, *, at: str) -> int:
    """Append a "chain.baseline" entry for every covered row and audio file already stored (migration 8).

    Audio files are taken at the hash the store recorded when it kept them: re-hashing hours of audio
    inside a migration would hold the write lock for minutes, and `bilu verify` re-hashes them anyway.
    Returns the number of entries appended.
    """
    def add(subject: str, digest: str | None, session_id: int | None, detail: dict | None = None) -> None:
        append_entry(db, at=at, user_id=None, user_name=SYSTEM_ACTOR, action="chain.baseline",
                     session_id=session_id, case_no=None, detail=detail, subject=subject, subject_sha256=digest)

    count = 0
    for row in db.query("SELECT * FROM sessions ORDER BY id"):
        add(session_subject(row["id"]), session_row_digest(row), row["id"])
        count += 1
        if row["kind"] == "file" and row["audio_sha256"]:
            add(audio_subject(row["id"]), row["audio_sha256"], row["id"],
                {"path": row["audio_path"], "bytes": row["audio_bytes"]})
            count += 1
    for utterance_id, session_id in db.execute("SELECT id, session_id FROM utterances ORDER BY id").fetchall():
        add(utterance_subject(utterance_id), row_digest(db, utterance_subject(utterance_id)), session_id)
        count += 1
    for row in db.query("SELECT * FROM speakers ORDER BY id"):
        add(speaker_subject(row["session_id"], row["label"]), fields_digest(row, SPEAKER_FIELDS), row["session_id"])
        count += 1
    for row in db.query("SELECT * FROM revisions ORDER BY id"):
        add(revision_subject(row["id"]), fields_digest(row, REVISION_FIELDS), row["session_id"])
        count += 1
    for row in db.query("SELECT * FROM audio_segments ORDER BY session_id, seq"):
        digest, detail = segment_entry(row)
        add(segment_subject(row["session_id"], row["seq"]), digest, row["session_id"], detail)
        count += 1
    for row in db.query("SELECT * FROM people ORDER BY id"):
        add(person_subject(row["id"]), fields_digest(row, PERSON_FIELDS), None)
        count += 1
    return count
