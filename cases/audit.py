"""The audit table: who read or changed what, and when. Append-only (triggers refuse UPDATE and DELETE) and
hash-chained (cases/audit_chain.py): each row carries the sha256 of the row before it.

Two kinds of rows share the one chain, both written through the one `AuditWriter` of a store:
- actions (`AuditWriter.action`): what someone did. Every store method that changes data appends its action
  inside the transaction of the change (who acts is its `actor`), so a change and its entry are kept or lost
  together; reads, exports and logins that change nothing are appended by `Audit.record_audit`, in a
  transaction of their own;
- data entries (`cover_row`, `cover_file`, `cover_segment`), appended inside the very transaction that writes
  the row or keeps the file they cover, with its sha256: `bilu verify` compares those with what is stored now.
Details hold ids, formats, paths and digests, never transcript text or personal data.
"""
import hashlib
import json
import re
from pathlib import Path

from sqlite_utils import Database

from cases.actors import Account, Actor
from cases.audit_chain import SYSTEM_ACTOR, append_entry
from cases.concern import Concern
from cases.errors import StoreError
from cases.locking import locked
from cases.migrations import immediate_transaction
from cases.reads import local_iso, now_utc_iso, one
from cases.row_digests import canonical_json, row_digest, segment_entry, segment_subject

__all__ = ["Actor", "Audit", "AuditWriter", "SYSTEM_ACTOR", "canonical_json", "file_sha256"]

ACTION_PATTERN = re.compile(r"[a-z][a-z_.]{0,47}")
_BLOCK = 1 << 20


class AuditWriter:
    """Appends chain entries over one connection. Every method is called inside an open write transaction
    (`immediate_transaction`), the one of the change it records: append_entry refuses otherwise."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def action(self, actor: Actor, action: str, *, session_id: int | None = None, case_no: str | None = None,
               detail: dict | None = None) -> tuple[int, str]:
        """An action entry (no subject): who did what. Returns (id, hash)."""
        return self._append(action, actor=actor, session_id=session_id, case_no=case_no, subject=None,
                            subject_sha256=None, detail=detail)

    def cover_row(self, action: str, subject: str, *, actor: Actor = SYSTEM_ACTOR, session_id: int | None,
                  case_no: str | None = None, detail: dict | None = None) -> None:
        """Cover the row `subject` as it is now in this transaction (or its deletion, when it is gone)."""
        self._append(action, actor=actor, session_id=session_id, case_no=case_no, subject=subject,
                     subject_sha256=row_digest(self._db, subject), detail=detail)

    def cover_digest(self, action: str, subject: str, digest: str | None, *, actor: Actor = SYSTEM_ACTOR,
                     session_id: int | None, detail: dict | None = None) -> None:
        """Cover a subject by a digest the caller computed from the values it wrote (no read-back)."""
        self._append(action, actor=actor, session_id=session_id, case_no=None, subject=subject,
                     subject_sha256=digest, detail=detail)

    def cover_segment(self, session_id: int, seq: int, *, actor: Actor = SYSTEM_ACTOR) -> None:
        row = one(self._db, "SELECT * FROM audio_segments WHERE session_id = ? AND seq = ?", [session_id, seq])
        digest, detail = segment_entry(row)
        self._append("segment.stored", actor=actor, session_id=session_id, case_no=None,
                     subject=segment_subject(session_id, seq), subject_sha256=digest, detail=detail)

    def cover_file(self, action: str, subject: str, *, path: str, sha256: str | None, size_bytes: int | None,
                   actor: Actor = SYSTEM_ACTOR, session_id: int) -> None:
        """Cover an audio file (`path` relative to the home) by its sha256."""
        self._append(action, actor=actor, session_id=session_id, case_no=None, subject=subject,
                     subject_sha256=sha256, detail={"path": path, "bytes": size_bytes})

    def _append(self, action: str, *, actor: Actor, session_id: int | None, case_no: str | None,
                subject: str | None, subject_sha256: str | None, detail: dict | None) -> tuple[int, str]:
        if not isinstance(action, str) or not ACTION_PATTERN.fullmatch(action):
            raise StoreError(f"audit action {action!r} must be lowercase letters, '_' or '.' (up to 48)")
        if isinstance(actor, Account):
            user_id, user_name = actor.id, actor.name
        elif isinstance(actor, str) and actor:
            user_id, user_name = None, actor
        else:
            raise StoreError(f"the actor of an audit entry is an account or a non-empty name, not {actor!r}")
        return append_entry(self._db, at=now_utc_iso(), user_id=user_id, user_name=user_name, action=action,
                            session_id=session_id, case_no=case_no, detail=detail, subject=subject,
                            subject_sha256=subject_sha256)


class Audit(Concern):
    """The entries that record no change (reads, exports, failed logins ...), and reading the table."""

    @locked
    def record_audit(
        self,
        actor: Actor,
        action: str,
        *,
        session_id: int | None = None,
        case_no: str | None = None,
        detail: dict | None = None,
    ) -> int:
        """Append one action entry for something that changes no data (a read, a page view, a failed login).
        A change is audited by the store method that makes it, in its own transaction: never call this for one."""
        with immediate_transaction(self._db):
            entry_id, _ = self._audit.action(actor, action, session_id=session_id, case_no=case_no, detail=detail)
        return entry_id

    @locked
    def audit_rows(self, *, session_id: int | None = None, limit: int = 1000,
                   with_data_entries: bool = False) -> list[dict]:
        """Audit rows, oldest first (all, or those about one session): the recorded actions, and with
        `with_data_entries` also the entries that cover stored rows and files (those have a `subject`)."""
        conditions, params = [], []
        if session_id is not None:
            conditions, params = ["session_id = ?"], [session_id]
        if not with_data_entries:
            conditions.append("subject IS NULL")
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        return [
            {"id": row["id"], "at": local_iso(row["at"]), "user": row["user_name"], "action": row["action"],
             "session_id": row["session_id"], "case_no": row["case_no"],
             "detail": json.loads(row["content"])["detail"], "content": row["content"], "subject": row["subject"],
             "hash": row["hash"]}
            for row in self._db.query(f"SELECT * FROM audit {where} ORDER BY id LIMIT ?", [*params, limit])
        ]

    @locked
    def audit_extract(self, session_id: int, *, until_id: int) -> dict:
        """What a sealed package carries of the chain (cases/package.py): "entries", every entry about the session up
        to `until_id` in full (content, content_sha256, prev_hash, hash); "links", (id, prev_hash, content_sha256,
        hash) of every entry from the session's first to `until_id`, so the links can be walked to the head without
        the content of entries about other sessions. One read snapshot."""
        db = self._db
        db.conn.execute("BEGIN")
        try:
            entries = [
                {"id": row["id"], "content": row["content"], "content_sha256": row["content_sha256"],
                 "prev_hash": row["prev_hash"], "hash": row["hash"]}
                for row in db.query("SELECT * FROM audit WHERE session_id = ? AND id <= ? ORDER BY id",
                                    [session_id, until_id])
            ]
            first = entries[0]["id"] if entries else until_id
            links = [{"id": row[0], "prev_hash": row[1], "content_sha256": row[2], "hash": row[3]}
                     for row in db.execute("SELECT id, prev_hash, content_sha256, hash FROM audit "
                                           "WHERE id >= ? AND id <= ? ORDER BY id", [first, until_id]).fetchall()]
        finally:
            db.conn.execute("COMMIT")
        return {"session_id": session_id, "entries": entries, "links": links}


def file_sha256(path: Path) -> tuple[str, int]:
    """(sha256, bytes) of a file, read in 1 MiB blocks."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as source:
        while block := source.read(_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
