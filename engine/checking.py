"""The procedural checker applied to a stored session: which required statements were made, by whom, when."""
from pathlib import Path
from typing import Iterable

from cases import Store
from lexicon import Finding, RuleSet, Statement, check, load_rule_set

from engine.settings import Settings

DEFAULT_RULE_SET = "criminal_first"


def rule_set_for(settings: Settings, name: str, conditions: Iterable[str] = ()) -> RuleSet:
    """Load a rule set (shipped, or from BILU_RULES_DIR); a bad name or file raises lexicon.RuleError."""
    extra: tuple[Path, ...] = (settings.rules_dir,) if settings.rules_dir else ()
    return load_rule_set(name, conditions=tuple(conditions), extra_dirs=extra)


def statements_of(utterances: list[dict]) -> list[Statement]:
    return [Statement(u["id"], u["start_s"], u["end_s"], u.get("role"), u["text"]) for u in utterances]


def check_session(
    store: Store,
    session_id: int,
    settings: Settings,
    *,
    rule_set: str | None = None,
    conditions: Iterable[str] | None = None,
) -> list[Finding]:
    """Check a stored session and store the findings (replacing earlier ones).

    Without `rule_set`/`conditions`, the session's own (set when it was transcribed) are used.
    """
    from engine.guardrails import MINOR_CONDITION, check_guardrails, is_minor

    session = store.get_session(session_id)
    name = rule_set or session["rule_set"]
    conditions = tuple(session["conditions"] if conditions is None else conditions)
    # A person under 18 by the case's birth date: the minor condition applies by itself (CPL 281).
    if MINOR_CONDITION not in conditions and is_minor(store, session["case_no"],
                                                      on_epoch_s=store.guardrail_context(session_id)["start_epoch_s"]):
        conditions = (*conditions, MINOR_CONDITION)
    rules = rule_set_for(settings, name, conditions)
    findings = check(statements_of(store.utterances(session_id)), rules)
    if (name, list(conditions)) != (session["rule_set"], session["conditions"]):
        store.set_rule_set(session_id, name, conditions)
    store.set_findings(session_id, findings)
    check_guardrails(store, session_id, settings)
    return findings
