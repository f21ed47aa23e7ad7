"""What the checker reads (Statement) and what it reports (Finding), and reading a batch JSON export."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lexicon.errors import LexiconError, TranscriptError

__all__ = ["STATUSES", "Finding", "Statement", "statements_from_transcript"]

STATUSES = ("satisfied", "missing", "out_of_order", "wrong_speaker")


@dataclass(frozen=True, slots=True)
class Statement:
    """One utterance as the checker sees it. Times in seconds from the session start; `role` is the
    speaker's role (讯问人, 记录人, 被讯问人 ...) or None when roles are not known yet."""

    utterance_id: int | None
    start_s: float
    end_s: float
    role: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Finding:
    """The verdict on one rule.

    `utterance_ids`, `start_s`, `evidence` (the matched text) and `score` (0..1, how closely it matched)
    describe the statement that decided the status: the officer's for satisfied and out_of_order,
    someone else's for wrong_speaker, none for missing. `detail` says why, in a sentence.
    """

    rule_key: str
    title: str
    status: str
    utterance_ids: tuple[int, ...]
    start_s: float | None
    evidence: str
    score: float
    basis: str
    detail: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise LexiconError(f"finding status {self.status!r} is unknown; allowed: {', '.join(STATUSES)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.rule_key,
            "title": self.title,
            "status": self.status,
            "utterance_ids": list(self.utterance_ids),
            "start_s": self.start_s,
            "evidence": self.evidence,
            "score": round(self.score, 3),
            "basis": self.basis,
            "detail": self.detail,
        }


def statements_from_transcript(data: Any) -> list[Statement]:
    """The statements of a batch JSON export (`{"session": {...}, "utterances": [...]}`).

    Each utterance needs `start_s`, `end_s` (numbers, end >= start) and `text` (a string); `id` is an
    integer or absent/null, `role` a string or absent/null. Anything else raises TranscriptError.
    """
    if not isinstance(data, dict):
        raise TranscriptError(f"a transcript must be a JSON object with 'utterances', got {type(data).__name__}")
    utterances = data.get("utterances")
    if not isinstance(utterances, list):
        raise TranscriptError("a transcript needs 'utterances': a list of objects")
    statements = []
    for n, u in enumerate(utterances):
        where = f"utterances[{n}]"
        if not isinstance(u, dict):
            raise TranscriptError(f"{where}: expected an object, got {type(u).__name__}")
        start_s, end_s = _seconds(u, "start_s", where), _seconds(u, "end_s", where)
        if end_s < start_s:
            raise TranscriptError(f"{where}: end_s {end_s} is before start_s {start_s}")
        text = u.get("text")
        if not isinstance(text, str):
            raise TranscriptError(f"{where}: 'text' must be a string")
        uid = u.get("id")
        if uid is not None and (isinstance(uid, bool) or not isinstance(uid, int)):
            raise TranscriptError(f"{where}: 'id' must be an integer or null, got {uid!r}")
        role = u.get("role")
        if role is not None and not isinstance(role, str):
            raise TranscriptError(f"{where}: 'role' must be a string or null, got {role!r}")
        statements.append(Statement(uid, start_s, end_s, role or None, text))
    return statements


def _seconds(u: dict[str, Any], name: str, where: str) -> float:
    value = u.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise TranscriptError(f"{where}: '{name}' must be a number of seconds >= 0, got {value!r}")
    return float(value)
