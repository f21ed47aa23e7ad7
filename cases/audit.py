"""The audit table: who read or changed what, and when. Append-only (triggers refuse UPDATE and DELETE).

A mixin of `Store`. Each row's `content` is the canonical JSON of everything it records, so that a later
issue can chain the rows by hash (each row carrying the hash of the previous one) over exactly that text.
Details hold ids, formats and byte ranges, never transcript text.
"""
import json
import re

from cases.accounts import Account
from cases.errors import StoreError
from cases.locking import locked
from cases.migrations import immediate_transaction
from cases.reads import local_iso, now_utc_iso

ACTION_PATTERN = re.compile(r"[a-z][a-z_.]{0,47}")


def canonical_json(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


class AuditMixin:

    @locked
    def record_audit(
        self,
        actor: Account | str,
        action: str,
        *,
        session_id: int | None = None,
        case_no: str | None = None,
        detail: dict | None = None,
    ) -> int:
        """Append one audit row; `actor` is an account, or a name such as "cli:root" for the command line."""
        if not isinstance(action, str) or not ACTION_PATTERN.fullmatch(action):
            raise StoreError(f"audit action {action!r} must be lowercase letters, '_' or '.' (up to 48)")
        user_id, user_name = (actor.id, actor.name) if isinstance(actor, Account) else (None, str(actor))
        at = now_utc_iso()
        content = canonical_json({
            "at": at, "user_id": user_id, "user": user_name, "action": action,
            "session_id": session_id, "case_no": case_no, "detail": detail or {},
        })
        with immediate_transaction(self._db):
            return int(self._db.execute(
                "INSERT INTO audit (at, user_id, user_name, action, session_id, case_no, content)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [at, user_id, user_name, action, session_id, case_no, content],
            ).lastrowid)

    @locked
    def audit_rows(self, *, session_id: int | None = None, limit: int = 1000) -> list[dict]:
        """Audit rows, oldest first (all, or those about one session)."""
        where, params = ("WHERE session_id = ?", [session_id]) if session_id is not None else ("", [])
        return [
            {"id": row["id"], "at": local_iso(row["at"]), "user": row["user_name"], "action": row["action"],
             "session_id": row["session_id"], "case_no": row["case_no"],
             "detail": json.loads(row["content"])["detail"], "content": row["content"]}
            for row in self._db.query(f"SELECT * FROM audit {where} ORDER BY id LIMIT ?", [*params, limit])
        ]
