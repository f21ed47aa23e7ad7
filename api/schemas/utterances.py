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
    suspect: Annotated[Literal["caption", "loop", "no_speech", "no_speech_audio"] | None, Field(
        description="Why the recognizer's text may be something nobody said (kept either way); null if nothing "
                    "doubts it.")]
    not_speech: Annotated[bool, Field(description="The independent audio measure found no speech under the line.")]
    speech_probability: Annotated[float | None, Field(
        description="Silero VAD's mean speech probability over the line's span; null if not measured.")]
    energy_db: Annotated[float | None, Field(description="The span's level above the recording's noise floor, dB.")]
    suspect_decision: Annotated[Literal["kept_out", "restored"] | None, Field(
        description="An officer's decision on a suspected line; null if none yet.")]
    in_record: Annotated[bool, Field(
        description="Whether the line is written into the 讯问笔录: false when its audio is not speech (unless "
                    "restored) or an officer kept it out.")]
    words: list[WordPublic]


class RevisionPublic(Public):
    id: int
    utterance_id: int | None  # none for a speaker's relabelling
    speaker_label: str | None
    kind: Literal["text", "speaker", "role", "relabel", "split", "merge", "suspect"]
    user: str  # the login name
    user_display_name: str  # the name people know (the history shows it); the login name for an account gone
    at: Timestamp
    before: Annotated[dict[str, Any], Field(description="The changed fields (or lines) before, with their version.")]
    after: Annotated[dict[str, Any], Field(description="The same after the change.")]
