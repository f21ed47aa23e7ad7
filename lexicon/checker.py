"""The procedural-statement checker: one Finding per rule, in rule order.

How a transcript is read:
- A "unit" is one statement, or two neighbouring statements of the same role (at most the rule set's
  `pair_gap_s` apart), so that a notice split across two utterances is still found. A pair counts for a
  rule only when neither of its statements matched that rule alone.
- A rule is satisfied by a unit whose role the rule accepts (the officers', usually). If only people in
  other roles said it, the status is wrong_speaker: a suspect repeating a notice does not give it.
- A question on the facts is an officer statement that matches no procedural rule and either has one
  of the rule set's facts markers or is a question (an interrogative word or a question mark) without a
  word of identity or procedural questions. The questions on the facts begin at the first of them that
  stands next to another (or to the crime question), or at the crime question if that is earlier.
- Ordering: `start` rules must come before the questions on the facts, `before_facts` rules (the rights
  notices) likewise, the `facts_first` rule (the crime question) must be the first of them, `end` rules
  must come after the last question on the facts. With no questions on the facts found, `start` rules
  must lie in the first half of the statements and `end` rules in the second half.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

from lexicon.errors import TranscriptError
from lexicon.findings import Finding, Statement, statements_from_transcript
from lexicon.matcher import RuleHit, RuleMatcher, TextAnalysis
from lexicon.rules import Rule, RuleSet

__all__ = ["check", "check_transcript", "matcher_for"]

logger = logging.getLogger(__name__)

_EVIDENCE_MAX_CHARS = 200


@lru_cache(maxsize=16)
def matcher_for(rule_set: RuleSet) -> RuleMatcher:
    """The compiled matcher of a rule set, shared so that its cache of analysed texts is reused."""
    return RuleMatcher(rule_set)


@dataclass(frozen=True, slots=True)
class _Unit:
    first: int  # index of its first statement in time order
    last: int
    statements: tuple[Statement, ...]
    analysis: TextAnalysis

    @property
    def role(self) -> str | None:
        return self.statements[0].role

    @property
    def is_pair(self) -> bool:
        return len(self.statements) == 2


def _same_role(a: Statement, b: Statement) -> bool:
    if a.role is None or b.role is None:
        return a.role is None and b.role is None
    return a.role.strip().casefold() == b.role.strip().casefold()


def _units(statements: Sequence[Statement], matcher: RuleMatcher) -> list[_Unit]:
    gap_s = matcher.rule_set.pair_gap_s
    units = []
    for i, s in enumerate(statements):
        units.append(_Unit(i, i, (s,), matcher.analyse(s.text)))
        if i + 1 < len(statements):
            nxt = statements[i + 1]
            if _same_role(s, nxt) and nxt.start_s - s.end_s <= gap_s:
                units.append(_Unit(i, i + 1, (s, nxt), matcher.analyse(s.text + nxt.text)))
    return units


def _is_officer(role: str | None, rule_set: RuleSet) -> bool:
    return role is None or role.strip().casefold() in rule_set.officer_roles


def _facts_span(units: list[_Unit], rule_set: RuleSet) -> tuple[int | None, int | None]:
    """Indices of the first and the last officer question on the facts (None, None when none found)."""
    crime = next((r for r in rule_set.rules if r.order == "facts_first"), None)
    singles = {u.first: u for u in units if not u.is_pair}
    # Halves of a notice split over two statements are not questions on the facts, whatever they hold.
    split_halves: set[int] = set()
    for unit in units:
        if unit.is_pair:
            alone = singles[unit.first].analysis.hits.keys() | singles[unit.last].analysis.hits.keys()
            if unit.analysis.hits.keys() - alone:
                split_halves.update((unit.first, unit.last))
    # The officers' significant statements in order: F a question on the facts, C the crime question,
    # R any other procedural statement. A lone F between procedural statements (an identity question
    # garbled past recognition, say) is not taken to begin the questioning on the facts: only an F
    # next to another F or to the crime question counts.
    labelled: list[tuple[int, str]] = []
    for unit in units:
        if unit.is_pair or unit.first in split_halves or not _is_officer(unit.role, rule_set):
            continue
        hits = unit.analysis.hits
        if crime is not None and crime.key in hits and crime.accepts_role(unit.role):
            labelled.append((unit.first, "C"))
        elif hits:
            labelled.append((unit.first, "R"))
        elif on_the_facts(unit.analysis, unit.statements[0].text):
            labelled.append((unit.first, "F"))
    indices = []
    for n, (index, label) in enumerate(labelled):
        neighbours = {labelled[m][1] for m in (n - 1, n + 1) if 0 <= m < len(labelled)}
        if label == "C" or (label == "F" and neighbours & {"F", "C"}):
            indices.append(index)
    if not indices:
        return None, None
    return min(indices), max(indices)


def on_the_facts(analysis: TextAnalysis, raw_text: str) -> bool:
    """Whether an officer saying this text is asking about the facts (see the module docstring)."""
    if analysis.hits:
        return False
    if analysis.facts_marker:
        return True
    return (analysis.interrogative or "？" in raw_text or "?" in raw_text) and not analysis.not_facts


def check(statements: Sequence[Statement], rule_set: RuleSet) -> list[Finding]:
    """Check a transcript's statements against a rule set: one Finding per rule, in rule order.

    Statements are taken in time order (ties keep their given order). Cheap to re-run on a growing
    transcript: every text is analysed once and cached by the rule set's matcher.
    """
    ordered = [s for _, s in sorted(enumerate(statements), key=lambda p: (p[1].start_s, p[0]))]
    matcher = matcher_for(rule_set)
    units = _units(ordered, matcher)
    facts_first, facts_last = _facts_span(units, rule_set)
    findings = [_judge(rule, units, len(ordered), facts_first, facts_last) for rule in rule_set.rules]
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("checked %d statements against %s: %s", len(ordered), rule_set.name,
                     {f.rule_key: f.status for f in findings})
    return findings


def _hits_for(rule: Rule, units: list[_Unit]) -> list[tuple[_Unit, RuleHit]]:
    singles = {u.first for u in units if not u.is_pair and rule.key in u.analysis.hits}
    found = []
    for unit in units:
        hit = unit.analysis.hits.get(rule.key)
        if hit is None:
            continue
        if unit.is_pair and (unit.first in singles or unit.last in singles):
            continue
        found.append((unit, hit))
    return found


def _judge(rule: Rule, units: list[_Unit], count: int, facts_first: int | None,
           facts_last: int | None) -> Finding:
    hits = _hits_for(rule, units)
    accepted = [(u, h) for u, h in hits if rule.accepts_role(u.role)]
    if not accepted:
        others = [(u, h) for u, h in hits if not rule.accepts_role(u.role)]
        if others:
            unit, hit = others[0]
            return _finding(rule, "wrong_speaker", unit, hit,
                            f"said only by {unit.role or 'an unknown speaker'}, not by an officer")
        return Finding(rule.key, rule.title, "missing", (), None, "", 0.0, rule.basis,
                       "not found in the officers' speech")
    if rule.order == "end":
        unit, hit = max(accepted, key=lambda p: (p[0].last, p[1].score))
    else:
        unit, hit = min(accepted, key=lambda p: (p[0].first, -p[1].score))
    problem = _order_problem(rule, unit, count, facts_first, facts_last)
    if problem:
        return _finding(rule, "out_of_order", unit, hit, problem)
    note = "" if unit.role is not None else "speaker role unknown"
    return _finding(rule, "satisfied", unit, hit, note)


def _order_problem(rule: Rule, unit: _Unit, count: int, facts_first: int | None,
                   facts_last: int | None) -> str:
    if rule.order in ("start", "before_facts"):
        if facts_first is not None and unit.first > facts_first:
            return f"said after the questions on the facts began (statement {facts_first + 1})"
        if facts_first is None and rule.order == "start" and unit.first > (count - 1) / 2:
            return "said in the second half of the questioning, not at the start"
    elif rule.order == "facts_first":
        if facts_first is not None and unit.first > facts_first:
            return f"other questions on the facts came first (statement {facts_first + 1})"
    elif rule.order == "end":
        if facts_last is not None and unit.last < facts_last:
            return f"questions on the facts continued after it (statement {facts_last + 1})"
        if facts_last is None and unit.last < (count - 1) / 2:
            return "said in the first half of the questioning, not at the end"
    return ""


def _finding(rule: Rule, status: str, unit: _Unit, hit: RuleHit, detail: str) -> Finding:
    ids = tuple(s.utterance_id for s in unit.statements if s.utterance_id is not None)
    evidence = " / ".join(s.text.strip() for s in unit.statements)
    if len(evidence) > _EVIDENCE_MAX_CHARS:
        evidence = evidence[: _EVIDENCE_MAX_CHARS - 1] + "…"
    return Finding(rule.key, rule.title, status, ids, unit.statements[0].start_s, evidence,
                   round(hit.score, 3), rule.basis, detail)


def check_transcript(data: dict[str, Any] | str, rule_set: RuleSet) -> list[Finding]:
    """Check a transcript in the batch JSON export shape (a dict, or its JSON text).

    Raises TranscriptError when the document does not have that shape."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise TranscriptError(f"the transcript is not valid JSON: {exc}") from exc
    return check(statements_from_transcript(data), rule_set)
