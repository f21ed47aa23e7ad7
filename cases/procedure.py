"""What a case records for the session guardrails, and the guardrail findings of each session (issue 20).

The `Procedure` concern of the store:
- `set_case_procedure` / `case_procedure`: the summons (传唤 or 拘传) and its time, whether the 24-hour limit was
  approved, the detention time, the birth date of the person questioned, the interpreter and the guardian named;
- `guardrail_context`: every stored fact the guardrails read about one session (its wall-clock span, room, officers,
  the case's procedure and sessions, the officers' other sessions, the link outages and the gaps between recorded
  segments), as plain values: the engine turns them into `lexicon.SessionFacts`;
- `set_guardrail_findings` / `guardrail_findings`: the verdicts, replaced at each check like the statement findings.
Times are stored in UTC and given back in local time; an input time without an offset is local time.
"""
from datetime import date, datetime, timezone
from typing import Any, Iterable

from cases.actors import SYSTEM_ACTOR, Actor
from cases.concern import Concern
from cases.errors import StoreError
from cases.locking import locked
from cases.lookups import checked_case_id, require_session
from cases.migrations import immediate_transaction
from cases.reads import local_iso, now_utc_iso, one, to_s
from cases.row_digests import bookkeeping_subject, values_digest

__all__ = ["GUARD_STATUSES", "PROCEDURE_FIELDS", "SUMMONS_KINDS", "Procedure"]

SUMMONS_KINDS = ("传唤", "拘传")
PROCEDURE_FIELDS = ("summons_kind", "summons_at", "summons_extended", "detained_at", "birth_date", "interpreter",
                    "guardian")
GUARD_STATUSES = ("ok", "violated", "warning", "not_applicable")
_TIME_FIELDS = ("summons_at", "detained_at")
_NAME_FIELDS = ("interpreter", "guardian")
_MAX_NAME = 64


class Procedure(Concern):

    @locked
    def set_case_procedure(self, case_no: str, changes: dict[str, Any], *, actor: Actor = SYSTEM_ACTOR) -> dict:
        """Set some of PROCEDURE_FIELDS (None clears one); returns the case's procedure. The audit entry
        "case.procedure" names the fields changed, never their values (a birth date is personal data)."""
        if not isinstance(changes, dict) or not changes:
            raise StoreError(f"give at least one of {', '.join(PROCEDURE_FIELDS)}")
        unknown = set(changes) - set(PROCEDURE_FIELDS)
        if unknown:
            raise StoreError(f"unknown procedure field(s) {', '.join(sorted(unknown))}: use "
                             f"{', '.join(PROCEDURE_FIELDS)}")
        values = {name: _checked(name, value) for name, value in changes.items()}
        with immediate_transaction(self._db):
            case_id = checked_case_id(self._db, case_no)
            self._db.execute("INSERT OR IGNORE INTO case_procedure (case_id, updated_at) VALUES (?, ?)",
                             [case_id, now_utc_iso()])
            assignments = ", ".join(f"{name} = ?" for name in values)
            self._db.execute(f"UPDATE case_procedure SET {assignments}, updated_at = ? WHERE case_id = ?",
                             [*values.values(), now_utc_iso(), case_id])
            self._audit.action(actor, "case.procedure", case_no=case_no, detail={"fields": sorted(values)})
        return self.case_procedure(case_no)

    @locked
    def case_procedure(self, case_no: str) -> dict:
        """The case's procedure: every PROCEDURE_FIELDS key (None where not recorded)."""
        case_id = checked_case_id(self._db, case_no)
        return _procedure_dict(one(self._db, "SELECT * FROM case_procedure WHERE case_id = ?", [case_id]))

    @locked
    def guardrail_context(self, session_id: int) -> dict:
        """The stored facts the guardrails of one session read (see the module's text). Epoch seconds for wall
        clock times; `gaps` in seconds from the session start."""
        require_session(self._db, session_id)
        row = one(self._db, "SELECT s.*, c.case_no FROM sessions s JOIN cases c ON c.id = s.case_id WHERE s.id = ?",
                  [session_id])
        start = _epoch(row["created_at"])
        officers = [r["name"] for r in self._db.query(
            "SELECT u.name FROM session_officers o JOIN users u ON u.id = o.user_id WHERE o.session_id = ?"
            " ORDER BY u.name", [session_id])]
        others = [
            {"session_id": r["id"], "room": r["room"], "officer": r["name"], "start_epoch_s": _epoch(r["created_at"]),
             "end_epoch_s": _span_end(r)}
            for r in self._db.query(
                "SELECT s.id, s.room, s.created_at, s.duration_ms, s.status, u.name FROM session_officers o"
                " JOIN users u ON u.id = o.user_id JOIN sessions s ON s.id = o.session_id"
                " WHERE s.id != ? AND o.user_id IN (SELECT user_id FROM session_officers WHERE session_id = ?)",
                [session_id, session_id])
        ]
        case_starts = [_epoch(r["created_at"]) for r in self._db.query(
            "SELECT created_at FROM sessions WHERE case_id = ? AND status != 'failed'", [row["case_id"]])]
        gaps = [{"from_s": _epoch(r["from_at"]) - start, "to_s": _epoch(r["to_at"]) - start,
                 "cause": "房间代理与服务的连接中断"}
                for r in self._db.query("SELECT from_at, to_at FROM session_outages WHERE session_id = ?"
                                        " ORDER BY from_at", [session_id])]
        segments = list(self._db.query("SELECT seq, start_ms, duration_ms FROM audio_segments WHERE session_id = ?"
                                       " ORDER BY seq", [session_id]))
        for before, after in zip(segments, segments[1:]):
            end_ms = before["start_ms"] + before["duration_ms"]
            if after["start_ms"] > end_ms:
                gaps.append({"from_s": to_s(end_ms), "to_s": to_s(after["start_ms"]),
                             "cause": f"录音片段 {before['seq']} 与 {after['seq']} 之间无录音（设备中断或录音重启）"})
        if row["status"] in ("recovered", "interrupted") and not segments:
            gaps.append({"from_s": to_s(row["duration_ms"]), "to_s": to_s(row["duration_ms"]),
                         "cause": "录音进程中断（" + ("已恢复" if row["status"] == "recovered" else "未恢复") + "）"})
        procedure = _procedure_dict(one(self._db, "SELECT * FROM case_procedure WHERE case_id = ?", [row["case_id"]]))
        return {
            "session_id": session_id, "case_no": row["case_no"], "room": row["room"], "start_epoch_s": start,
            "end_epoch_s": None if row["status"] == "transcribing" and row["kind"] == "live" else _span_end(row),
            "conditions": [c for c in _json_list(row["conditions_json"])], "officers": officers,
            "procedure": procedure, "case_session_starts": sorted(case_starts), "other_sessions": others,
            "gaps": sorted(gaps, key=lambda g: g["from_s"]),
        }

    @locked
    def set_guardrail_findings(self, session_id: int, findings: Iterable, *, actor: Actor = SYSTEM_ACTOR) -> None:
        """Replace the session's guardrail findings (`lexicon.GuardFinding`s, or their dicts)."""
        checked_at = now_utc_iso()
        rows = []
        for seq, finding in enumerate(findings):
            f = finding if isinstance(finding, dict) else finding.to_dict()
            if f["status"] not in GUARD_STATUSES:
                raise StoreError(f"guardrail status {f['status']!r} is unknown; allowed: {', '.join(GUARD_STATUSES)}")
            rows.append([session_id, seq, f["key"], f["kind"], f["title"], f["status"], f["basis"], f["detail"],
                         None if f.get("at_s") is None else round(f["at_s"] * 1000), checked_at])
        with immediate_transaction(self._db):
            require_session(self._db, session_id)
            self._db.execute("DELETE FROM guardrail_findings WHERE session_id = ?", [session_id])
            self._db.conn.executemany(
                "INSERT INTO guardrail_findings (session_id, seq, guard_key, kind, title, status, basis, detail, at_ms,"
                " checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self._audit.cover_digest("guardrails.checked", bookkeeping_subject("guardrails", session_id),
                                     values_digest(rows), actor=actor, session_id=session_id,
                                     detail={"guards": len(rows), "violated": sum(r[5] == "violated" for r in rows)})

    @locked
    def guardrail_findings(self, session_id: int) -> list[dict]:
        require_session(self._db, session_id)
        return [{"key": r["guard_key"], "kind": r["kind"], "title": r["title"], "status": r["status"],
                 "basis": r["basis"], "detail": r["detail"], "at_s": None if r["at_ms"] is None else to_s(r["at_ms"]),
                 "checked_at": local_iso(r["checked_at"])}
                for r in self._db.query("SELECT * FROM guardrail_findings WHERE session_id = ? ORDER BY seq",
                                        [session_id])]


def _checked(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "summons_kind":
        if value not in SUMMONS_KINDS:
            raise StoreError(f"summons_kind is one of {', '.join(SUMMONS_KINDS)}, not {value!r}")
        return value
    if name == "summons_extended":
        if not isinstance(value, bool):
            raise StoreError(f"summons_extended is true or false, not {value!r}")
        return int(value)
    if name in _TIME_FIELDS:
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None:
            raise StoreError(f"{name} is a date and time like 2026-12-03T09:30 (local time) or with an offset, "
                             f"not {value!r}")
        if moment.tzinfo is None:
            moment = moment.astimezone()  # local time, as the pages and the command line show times
        return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    if name == "birth_date":
        try:
            born = date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            born = None
        if born is None or born > date.today() or born.year < 1900:
            raise StoreError(f"birth_date is a past date like 2009-05-01, not {value!r}")
        return born.isoformat()
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_NAME or any(ord(c) < 32 for c in value):
        raise StoreError(f"{name} is a name of 1 to {_MAX_NAME} printable characters")
    return value.strip()


def _procedure_dict(row: dict | None) -> dict:
    if row is None:
        return {name: (False if name == "summons_extended" else None) for name in PROCEDURE_FIELDS}
    result = {name: row[name] for name in PROCEDURE_FIELDS}
    result["summons_extended"] = bool(row["summons_extended"])
    for name in _TIME_FIELDS:
        result[name] = local_iso(row[name])
    return result


def _epoch(stored: str) -> float:
    return datetime.fromisoformat(stored).timestamp()


def _span_end(row: dict) -> float:
    return _epoch(row["created_at"]) + row["duration_ms"] / 1000


def _json_list(text: str | None) -> list:
    import json

    value = json.loads(text) if text else []
    return value if isinstance(value, list) else []
