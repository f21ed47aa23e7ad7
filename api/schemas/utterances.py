"""Transcript lines, their words, and the revisions that corrected them."""
from typing import Annotated, Any, Literal

from pydantic import Field

from api.schemas.base import Public, Timestamp


class WordPublic(Public):
    start_s: float
    end_s: float
    text: str
    probability: float


class UtterancePublic(Public):
    id: int
    seq: int
    start_s: float
    end_s: float
    speaker: str | None
    role: Annotated[str | None, Field(description="The line's own role if one was set, else its speaker's.")]
    channel: int | None
    text: Annotated[str, Field(description="As corrected.")]
    original_text: Annotated[str, Field(description="As the recognizer wrote it (never overwritten).")]
    corrected: bool
    version: Annotated[int, Field(description="Send it back with a correction (409 if it changed since).")]
    committed: bool
    words: list[WordPublic]


class RevisionPublic(Public):
    id: int
    utterance_id: int | None  # none for a speaker's relabelling
    speaker_label: str | None
    kind: Literal["text", "speaker", "role", "relabel", "split", "merge"]
    user: str  # the login name
    user_display_name: str  # the name people know (the history shows it); the login name for an account gone
    at: Timestamp
    before: Annotated[dict[str, Any], Field(description="The changed fields (or lines) before, with their version.")]
    after: Annotated[dict[str, Any], Field(description="The same after the change.")]
