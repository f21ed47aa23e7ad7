"""Search: lines holding the query's words, and sessions matching filters alone."""
from typing import Annotated, Literal

from pydantic import Field

from cases import SESSION_STATUSES
from lexicon.findings import STATUSES as FINDING_STATUSES

from api.schemas.base import Public, Timestamp


class SearchHit(Public):
    utterance_id: int
    session_id: int
    case_no: str
    room: str | None
    session_created_at: Timestamp
    start_s: Annotated[float, Field(description="Play from here.")]
    end_s: float
    speaker: str | None
    role: str | None
    text: str
    snippet: Annotated[str, Field(description="The text with the matched words marked 【 】.")]


class UnmetStatement(Public):
    key: str
    title: str
    status: Literal[FINDING_STATUSES]
    start_s: float | None
    utterance_ids: list[int]


class ViolatedGuardrail(Public):
    key: str
    title: str
    detail: str
    at_s: float | None


class SessionMatch(Public):
    session_id: int
    case_no: str
    room: str | None
    status: Literal[SESSION_STATUSES]
    created_at: Timestamp
    duration_s: float
    unmet: Annotated[list[UnmetStatement], Field(description="Its required statements not satisfied.")]
    play_from_s: Annotated[float, Field(description="Where the first of those was found, else 0.")]
    violated: Annotated[list[ViolatedGuardrail], Field(description="Its guardrails violated (issue 20).")]
    discrepancy_kinds: Annotated[list[str] | None, Field(
        description="The kinds of discrepancy its latest written record had when imported; null: no record.")]
