"""Sessions, their speakers and findings, and what starting or uploading one answers."""
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, with_config
from typing_extensions import NotRequired, TypedDict

from cases import SESSION_KINDS, SESSION_STATUSES
from lexicon.findings import STATUSES as FINDING_STATUSES

from api.schemas.base import Public, Timestamp
from api.schemas.rooms import AGENT_STATES, SessionAgent
from api.schemas.utterances import UtterancePublic, WordPublic


class SessionSpeaker(Public):
    label: str
    role: str | None
    channel: int | None


class SessionWithdrawal(Public):
    at: Timestamp
    by: Annotated[str, Field(description="The user name of the supervisor or administrator who withdrew it.")]
    reason: str


class SessionPublic(Public):
    id: int
    case_id: int
    case_no: str
    case_title: str | None
    number_in_case: Annotated[int, Field(description="Which interview of the case (第 N 次), failed ones "
                                                     "not counted.")]
    room: str | None
    kind: Literal[SESSION_KINDS]
    status: Literal[SESSION_STATUSES]
    source_name: str | None
    audio_path: str
    audio_sha256: str | None
    audio_bytes: int | None
    duration_s: float
    sample_rate: int
    channels: int
    diarizer: str | None
    model: str
    options: Annotated[dict[str, Any], Field(description="The recognition options the transcript was made with.")]
    timings: dict[str, Any] | None
    error: str | None
    created_at: Timestamp
    finished_at: Timestamp | None
    utterance_count: int
    speakers: list[SessionSpeaker]
    withdrawn: Annotated[SessionWithdrawal | None, Field(
        description="A wrong upload withdrawn by a supervisor or administrator: kept, with its transcript, audio and "
                    "第 N 次; null if not withdrawn.")]
    rule_set: str
    conditions: list[str]


class FindingPublic(Public):
    """One required statement of the procedural checklist."""

    key: str
    title: str
    status: Literal[FINDING_STATUSES]
    utterance_ids: list[int]
    start_s: float | None
    evidence: str
    score: float
    basis: str
    detail: str
    checked_at: Timestamp


class SessionWithFindings(SessionPublic):
    findings: list[FindingPublic]


# A room agent's link to the service was down from .. to (README "Room agents"); the audio was kept in the room and
# sent afterwards. Functional form: "from" is a Python keyword.
SessionOutage = with_config(ConfigDict(extra="forbid"))(
    TypedDict("SessionOutage", {"from": Timestamp, "to": Timestamp, "seconds": float}))


class SessionDetail(SessionWithFindings):
    officers: list[str]  # user names of who questioned
    outages: list[SessionOutage]
    agent: Annotated[SessionAgent | None, Field(description="The room agent that recorded it, with its clock's "
                                                            "offset; null for a recording on the service's own "
                                                            "devices or an upload.")]


class SpeakerPublic(Public):
    label: str
    role: str | None
    channel: int | None
    version: Annotated[int, Field(description="Send it back when relabelling (409 if it changed since).")]


class SpeakerRelabelled(SpeakerPublic):
    utterance_ids: list[int]  # the speaker's lines after the change


class RecordingStarted(Public):
    session_id: int
    room: str
    websocket: Annotated[str, Field(description="Where to follow the recording's events.")]


class LiveStatus(Public):
    """A recording's state for the live page (GET /sessions/{id}/live)."""

    recording: bool
    recorded_s: Annotated[float, Field(description="Audio recorded so far (seconds); once stopped, the length.")]
    audio_age_s: Annotated[float | None, Field(description="Seconds since the device's last audio (recording).")]
    device: str | None  # the input device's name
    channels: int | None
    sample_rate: int | None
    status: NotRequired[Literal[SESSION_STATUSES]]  # once stopped: the session's status
    device_lost: NotRequired[bool]  # once stopped: whether the device was lost
    levels_db: NotRequired[Annotated[list[float] | None, Field(
        description="Recording: each seat's (channel's) level over the last audio, dBFS (-90: silence).")]]
    agent: NotRequired[Annotated[Literal[AGENT_STATES] | None, Field(
        description="Recording through a room agent: its link (recording: online; offline: down).")]]
    clock_offset_s: NotRequired[Annotated[float | None, Field(
        description="Recording through a room agent: its clock's offset to the service's (s).")]]


class TranscriptionProgress(Public):
    """How far an uploaded file's transcription is (GET /sessions/{id}/progress), and its lines stored since."""

    status: Literal[SESSION_STATUSES]
    duration_s: float
    transcribed_until_s: Annotated[float, Field(description="The transcript is complete up to here (seconds).")]
    percent: Annotated[float, Field(description="transcribed_until_s of duration_s, 0 to 100.")]
    error: str | None
    utterance_count: int
    utterances: Annotated[list[UtterancePublic], Field(description="The lines with an id above `after_id`.")]


class UploadAccepted(Public):
    session_id: int
    status: Literal["transcribing"]


class ExportedUtterance(Public):
    id: int
    start_s: float
    end_s: float
    speaker: str | None
    role: str | None
    channel: int | None
    text: str
    committed: bool
    suspect: str | None
    not_speech: bool
    speech_probability: float | None
    energy_db: float | None
    suspect_decision: str | None
    in_record: Annotated[bool, Field(description="Whether the 讯问笔录 export writes this line.")]
    words: list[WordPublic]


class ExportIntegrity(Public):
    chain_head: Annotated[str, Field(description="The hash of the export's own audit entry (bilu verify --code).")]
    session_digest: str
    entries: int


class TranscriptExport(Public):
    """`GET /sessions/{id}/export?format=json` (and `bilu export --format json`)."""

    session: SessionWithFindings
    utterances: list[ExportedUtterance]
    integrity: ExportIntegrity
