"""The written record (讯问笔录) of a session and its check against the recording."""
from typing import Annotated, Literal

from pydantic import Field

from api.schemas.base import Public, Timestamp

Kind = Literal["written_not_said", "said_not_written", "changed", "header_time"]
Severity = Literal["high", "medium", "low"]


class WrittenVersion(Public):
    id: int
    session_id: int
    version: int
    filename: str
    sha256: str
    size_bytes: int
    recording_started_at: str | None
    discrepancy_kinds: list[Kind]
    discrepancy_count: int
    imported_by: str
    imported_at: Timestamp


class DiscrepancyPublic(Public):
    kind: Kind
    what: Annotated[str, Field(description="What it is about: rights_notice, recusal, counsel, record_review, answer, "
                                           "question, denial, retraction, ill_treatment, lawyer, stop, refuse_sign, "
                                           "polarity, amount, date, time, number, name_or_place, start, end.")]
    severity: Severity
    written: str
    spoken: str
    start_s: Annotated[float | None, Field(description="Play from here (seconds from the session's start).")]
    end_s: float | None
    blocks: Annotated[list[int], Field(description="The written blocks (indexes) concerned.")]
    utterance_ids: list[int]


class BlockAlignment(Public):
    index: int
    speaker: Literal["问", "答"]
    label: str | None
    text: str
    utterance_ids: Annotated[list[int], Field(description="The utterances this block stands for; empty: not found.")]
    start_s: float | None
    end_s: float | None
    similarity: float
    moved: Annotated[bool, Field(description="Found only out of order (a clause the recorder moved).")]


class CountsByKind(Public):
    written_not_said: int
    said_not_written: int
    changed: int
    header_time: int


class CountsBySeverity(Public):
    high: int
    medium: int
    low: int


class RecordHeader(Public):
    title: str | None
    header: dict[str, str]
    started_at: str | None
    ended_at: str | None
    asides: list[str]
    notes: list[str]


class WrittenCheckPublic(Public):
    session_id: int
    version: int
    filename: str
    sha256: str
    imported_at: Timestamp
    imported_by: str
    consistent: bool
    by_kind: CountsByKind
    by_severity: CountsBySeverity
    notes: list[str]
    recording_started_at: str | None
    recording_ended_at: str | None
    record: RecordHeader
    blocks: list[BlockAlignment]
    discrepancies: list[DiscrepancyPublic]
