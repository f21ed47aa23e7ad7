"""The session guardrails (lexicon/guardrails.py) applied to a stored session: the facts gathered from the store,
judged, and the verdicts stored beside the statement findings (every check of a session redoes both)."""
import time
from datetime import date

from cases import Store
from lexicon import Statement
from lexicon.guardrails import Guard, GuardFinding, OtherSession, RecordingGap, SessionFacts, evaluate, load_guards

from engine.checking import statements_of
from engine.settings import Settings

__all__ = ["GUARD_POLL_S", "GuardrailWatch", "alert_message", "facts_from", "MINOR_CONDITION", "check_guardrails", "guards_for", "is_minor",
           "session_facts"]

GUARD_POLL_S = 1.0
"""How often a live session's guardrails are judged: an alert comes within this of its condition (and of the
committed line that makes it)."""
CONTEXT_REFRESH_S = 10.0
"""How often the live watch re-reads what the store holds (officers set, the case's procedure, outages)."""

MINOR_CONDITION = "minor"
"""The statement rules' condition for a person under 18: applied by itself when the case's birth date says so."""


def guards_for(settings: Settings) -> tuple[Guard, ...]:
    """The guardrails (shipped, or BILU_RULES_DIR/guardrails/guardrails.toml); a bad file raises RuleError."""
    return load_guards(extra_dirs=(settings.rules_dir,) if settings.rules_dir else ())


def session_facts(store: Store, session_id: int) -> SessionFacts:
    """Everything the guardrails read about the session, from the store as it is now."""
    context = store.guardrail_context(session_id)
    utterances = store.utterances(session_id)
    roles = {s["label"]: s.get("role") for s in store.speakers(session_id)}
    heard = tuple((label, roles.get(label)) for label in dict.fromkeys(u["speaker"] for u in utterances
                                                                      if u.get("speaker")))
    return facts_from(context, tuple(statements_of(utterances)), heard)


def facts_from(context: dict, statements: tuple[Statement, ...], heard: tuple[tuple[str, str | None], ...]
               ) -> SessionFacts:
    """`SessionFacts` from the store's `guardrail_context` and the statements and speakers heard so far."""
    session_id = context["session_id"]
    procedure = context["procedure"]
    detained = _epoch_of(procedure["detained_at"])
    after = [start for start in context["case_session_starts"] if detained is not None and start >= detained]
    return SessionFacts(
        session_id=session_id, room=context["room"], start_epoch_s=context["start_epoch_s"],
        end_epoch_s=context["end_epoch_s"], statements=statements, speakers=heard,
        officers=tuple(context["officers"]), conditions=tuple(context["conditions"]),
        summons_kind=procedure["summons_kind"], summons_epoch_s=_epoch_of(procedure["summons_at"]),
        summons_extended=procedure["summons_extended"], detained_epoch_s=detained,
        first_after_detention_epoch_s=min(after) if after else None,
        birth_date=date.fromisoformat(procedure["birth_date"]) if procedure["birth_date"] else None,
        interpreter=procedure["interpreter"], guardian=procedure["guardian"],
        other_sessions=tuple(OtherSession(**other) for other in context["other_sessions"]),
        gaps=tuple(RecordingGap(**gap) for gap in context["gaps"]),
    )


def check_guardrails(store: Store, session_id: int, settings: Settings, *,
                     now_epoch_s: float | None = None) -> list[GuardFinding]:
    """Judge the session's guardrails and store the verdicts (replacing earlier ones)."""
    findings = evaluate(session_facts(store, session_id), guards_for(settings),
                        now_epoch_s=time.time() if now_epoch_s is None else now_epoch_s)
    store.set_guardrail_findings(session_id, findings)
    return findings


class GuardrailWatch:
    """The guardrails of a session being recorded: `poll` judges them with the clock and what was heard so far,
    and returns the findings newly violated or warned of (each (key, status) once) and, when any status changed,
    the whole list (None otherwise). No I/O but the store's reads; the live session calls it every GUARD_POLL_S."""

    def __init__(self, store: Store, session_id: int, guards: tuple[Guard, ...]) -> None:
        self._store, self._session_id, self._guards = store, session_id, guards
        self._context: dict | None = None
        self._read_at = float("-inf")
        self._raised: set[tuple[str, str]] = set()
        self._statuses: list[tuple[str, str]] = []

    def poll(self, statements: tuple[Statement, ...], heard: tuple[tuple[str, str | None], ...], *,
             now_epoch_s: float, monotonic_s: float) -> tuple[list[GuardFinding], list[GuardFinding] | None]:
        if self._context is None or monotonic_s - self._read_at >= CONTEXT_REFRESH_S:
            self._context, self._read_at = self._store.guardrail_context(self._session_id), monotonic_s
        findings = evaluate(facts_from(self._context, statements, heard), self._guards, now_epoch_s=now_epoch_s)
        new = [f for f in findings if f.status in ("violated", "warning") and (f.key, f.status) not in self._raised]
        self._raised.update((f.key, f.status) for f in new)
        statuses = [(f.key, f.status) for f in findings]
        changed = statuses != self._statuses
        self._statuses = statuses
        return new, findings if changed else None


def alert_message(finding: GuardFinding) -> dict:
    """The live page's alert for a guardrail finding (the `alert` event, kind "guardrail")."""
    return {"type": "alert", "kind": "guardrail", "key": finding.key, "status": finding.status,
            "message": f"{finding.title}：{finding.detail}（{finding.basis}）", "rule_keys": [finding.key],
            "utterance_id": None, "start_s": finding.at_s}


def is_minor(store: Store, case_no: str, *, on_epoch_s: float) -> bool:
    """Whether the case's person questioned was under 18 on that day (False when no birth date is recorded)."""
    born = store.case_procedure(case_no)["birth_date"]
    if not born:
        return False
    from datetime import datetime

    on, born = datetime.fromtimestamp(on_epoch_s).date(), date.fromisoformat(born)
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day)) < 18


def _epoch_of(local_iso: str | None) -> float | None:
    if not local_iso:
        return None
    from datetime import datetime

    return datetime.fromisoformat(local_iso).timestamp()


