"""The written records (讯问笔录) imported for a session: every version kept, hashed and audited. The
`WrittenRecords` concern of the store.

A record may be imported again after corrections: each import is a new version (1, 2, …), nothing is replaced.
The row keeps the file as given (base64 text), its sha256, the record as read (header and blocks, JSON), the
recording's start clock if the importer gave one, and the discrepancy kinds the check found at import (for the
supervisors' filter). The audit chain covers the row (`written:ID`), so `bilu verify` sees a changed record.
Reading and checking the record is consistency/'s work; this module stores what it is given.
"""
import base64
import hashlib
import json

from cases.actors import SYSTEM_ACTOR, Actor
from cases.concern import Concern
from cases.errors import NotFound, StoreError
from cases.locking import locked
from cases.lookups import require_session
from cases.migrations import immediate_transaction
from cases.reads import local_iso, now_utc_iso, one
from cases.row_digests import written_subject

__all__ = ["WrittenRecords", "WrittenRecordNotFound", "CHECKABLE_STATUSES", "DISCREPANCY_KINDS"]

CHECKABLE_STATUSES = ("done", "interrupted", "recovered")
"""A written record is compared with a transcript that is there: a session still transcribing, or failed, has none."""
DISCREPANCY_KINDS = ("written_not_said", "said_not_written", "changed", "header_time")
_MAX_FILENAME = 200


class WrittenRecordNotFound(NotFound, StoreError):
    """No written record (or no such version of it) for that session."""

    code = "written_record_not_found"


class WrittenRecords(Concern):

    @locked
    def add_written_record(self, session_id: int, *, filename: str, content: bytes, record: dict,
                           recording_started_at: str | None, discrepancy_kinds: list[str], discrepancy_count: int,
                           actor: Actor = SYSTEM_ACTOR) -> dict:
        """Keep a new version of the session's written record; its audit entry covers the row, file included."""
        if not isinstance(content, bytes) or not content:
            raise StoreError("a written record needs the file's content")
        if not isinstance(filename, str) or not filename.strip() or len(filename) > _MAX_FILENAME \
                or any(ord(ch) < 32 for ch in filename):
            raise StoreError(f"the file name must be text of 1 to {_MAX_FILENAME} characters")
        unknown = set(discrepancy_kinds) - set(DISCREPANCY_KINDS)
        if unknown:
            raise StoreError(f"unknown discrepancy kinds {sorted(unknown)}: use {', '.join(DISCREPANCY_KINDS)}")
        sha256 = hashlib.sha256(content).hexdigest()
        with immediate_transaction(self._db):
            session = require_session(self._db, session_id)
            if session["status"] not in CHECKABLE_STATUSES:
                raise StoreError(f"session {session_id} has status {session['status']!r}: a written record is "
                                 f"compared with a finished transcript ({', '.join(CHECKABLE_STATUSES)})",
                                 zh="该讯问尚未完成转写，无法比对笔录")
            version = self._db.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM written_records WHERE session_id = ?",
                                       [session_id]).fetchone()[0]
            kinds = " " + " ".join(k for k in DISCREPANCY_KINDS if k in discrepancy_kinds) + " "
            cursor = self._db.execute(
                "INSERT INTO written_records (session_id, version, filename, sha256, size_bytes, content_b64,"
                " record_json, recording_started_at, discrepancy_kinds, discrepancy_count, imported_by, imported_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [session_id, version, filename.strip(), sha256, len(content), base64.b64encode(content).decode(),
                 json.dumps(record, ensure_ascii=False, sort_keys=True), recording_started_at, kinds,
                 int(discrepancy_count), _actor_name(actor), now_utc_iso()],
            )
            record_id = cursor.lastrowid
            self._audit.cover_row("written.imported", written_subject(record_id), actor=actor, session_id=session_id,
                                  detail={"version": version, "sha256": sha256})
        return self._public(one(self._db, "SELECT * FROM written_records WHERE id = ?", [record_id]))

    @locked
    def written_records(self, session_id: int) -> list[dict]:
        """Every imported version of the session's written record, oldest first (without the file)."""
        require_session(self._db, session_id)
        return [self._public(row) for row in self._db.query(
            "SELECT * FROM written_records WHERE session_id = ? ORDER BY version", [session_id])]

    @locked
    def written_record(self, session_id: int, version: int | None = None) -> dict:
        """One version (the latest when `version` is None) with the record as read (`record`) and the file
        (`content`, bytes). Raises WrittenRecordNotFound."""
        require_session(self._db, session_id)
        if version is None:
            row = one(self._db, "SELECT * FROM written_records WHERE session_id = ? ORDER BY version DESC LIMIT 1",
                      [session_id])
        else:
            row = one(self._db, "SELECT * FROM written_records WHERE session_id = ? AND version = ?",
                      [session_id, version])
        if row is None:
            raise WrittenRecordNotFound(
                f"session {session_id} has no written record" + (f" version {version}" if version else ""),
                zh="该讯问尚未导入笔录" if version is None else f"没有第 {version} 版笔录")
        return {**self._public(row), "record": json.loads(row["record_json"]),
                "content": base64.b64decode(row["content_b64"])}

    @staticmethod
    def _public(row: dict) -> dict:
        return {"id": row["id"], "session_id": row["session_id"], "version": row["version"],
                "filename": row["filename"], "sha256": row["sha256"], "size_bytes": row["size_bytes"],
                "recording_started_at": row["recording_started_at"],
                "discrepancy_kinds": row["discrepancy_kinds"].split(), "discrepancy_count": row["discrepancy_count"],
                "imported_by": row["imported_by"], "imported_at": local_iso(row["imported_at"])}


def _actor_name(actor: Actor) -> str:
    return actor if isinstance(actor, str) else actor.name
