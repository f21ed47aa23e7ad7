"""Checking during a recording: alerts as statements arrive, and the running checklist.

`LiveChecker.add` is fed each committed statement in time order and returns the alerts it raises at
once (a push API with no I/O: the WebSocket, a test or a replayed file drive it the same way). The
running checklist is `findings()`, the full check, which is cheap to repeat because every text is
analysed once.
"""

from __future__ import annotations

from dataclasses import dataclass

from lexicon.checker import check, matcher_for, on_the_facts
from lexicon.errors import LexiconError
from lexicon.findings import Finding, Statement
from lexicon.rules import RuleSet

__all__ = ["ALERT_KINDS", "Alert", "LiveChecker"]

ALERT_KINDS = ("facts_before_rights", "crime_question_not_first")


@dataclass(frozen=True, slots=True)
class Alert:
    """Something the officer should hear about now. `rule_keys` are the rules concerned."""

    kind: str
    message: str
    rule_keys: tuple[str, ...]
    utterance_id: int | None
    start_s: float

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "message": self.message, "rule_keys": list(self.rule_keys),
                "utterance_id": self.utterance_id, "start_s": self.start_s}


class LiveChecker:
    """Incremental checker for one session. Each alert kind is raised at most once.

    The questions on the facts are taken to begin at the crime question, or at the second officer
    question on the facts in a row (the first alone may be a garbled identity question); the alert
    then names the rights notices not yet given."""

    def __init__(self, rule_set: RuleSet) -> None:
        self.rule_set = rule_set
        self._matcher = matcher_for(rule_set)
        self._statements: list[Statement] = []
        self._before_facts = [r for r in rule_set.rules if r.order == "before_facts"]
        self._crime = next((r for r in rule_set.rules if r.order == "facts_first"), None)
        self._said: set[str] = set()
        self._facts_started = False
        self._lone_question = False

    @property
    def statements(self) -> tuple[Statement, ...]:
        return tuple(self._statements)

    def add(self, statement: Statement) -> list[Alert]:
        """Take the next statement (in time order); return the alerts it raises."""
        if not isinstance(statement, Statement):
            raise LexiconError(f"LiveChecker.add needs a Statement, got {type(statement).__name__}")
        if self._statements and statement.start_s < self._statements[-1].start_s:
            raise LexiconError(
                f"statements must arrive in time order: {statement.start_s} s after "
                f"{self._statements[-1].start_s} s"
            )
        previous = self._statements[-1] if self._statements else None
        self._statements.append(statement)
        analysis = self._matcher.analyse(statement.text)
        hits = dict(analysis.hits)
        if (previous is not None and previous.role == statement.role
                and statement.start_s - previous.end_s <= self.rule_set.pair_gap_s):
            # A notice split over this statement and the one before (not one the previous had alone).
            before = self._matcher.analyse(previous.text).hits
            for key, hit in self._matcher.analyse(previous.text + statement.text).hits.items():
                if key not in before:
                    hits.setdefault(key, hit)
        for rule in self._before_facts:
            if rule.key in hits and rule.accepts_role(statement.role):
                self._said.add(rule.key)
        if self._facts_started:
            return []
        officer = statement.role is None or statement.role.strip().casefold() in self.rule_set.officer_roles
        if not officer:
            return []
        crime_question = (self._crime is not None and self._crime.key in analysis.hits
                          and self._crime.accepts_role(statement.role))
        if not crime_question:
            if hits:  # a procedural statement (or the second half of one) ends a lone question
                self._lone_question = False
                return []
            if not on_the_facts(analysis, statement.text):
                return []
            # As in the checker, one question between procedural statements is not yet the facts:
            # the second in a row is.
            if not self._lone_question:
                self._lone_question = True
                return []
        self._facts_started = True
        alerts = []
        unsaid = tuple(r.key for r in self._before_facts if r.key not in self._said)
        if unsaid:
            titles = "、".join(r.title for r in self._before_facts if r.key in unsaid)
            alerts.append(Alert("facts_before_rights", f"讯问事实前尚未告知：{titles}", unsaid,
                                statement.utterance_id, statement.start_s))
        if self._crime is not None and not crime_question:
            alerts.append(Alert("crime_question_not_first",
                                f"讯问案件事实前应首先讯问是否有犯罪行为（{self._crime.basis}）",
                                (self._crime.key,), statement.utterance_id, statement.start_s))
        return alerts

    def findings(self) -> list[Finding]:
        """The running checklist: the full check of the statements so far."""
        return check(self._statements, self.rule_set)
