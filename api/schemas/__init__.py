"""The response schemas of the JSON routes, one module per resource family: the OpenAPI document's contract.

Request bodies (`…Create`, `…Update`) stay beside their routes; these are the `…Public` side.
"""
from api.schemas.accounts import LoginLock, UnitPublic, UserAccount, UserPublic, UserUnlocked
from api.schemas.auth import LoginPublic, MePublic, TokenIssued, TokenPublic
from api.schemas.cases import CaseDetail, CasePublic, PersonPublic
from api.schemas.integrity import IntegrityProblem, IntegrityReportPublic
from api.schemas.rooms import AbandonedFinished, RoomPublic, SessionAgent
from api.schemas.search import SearchHit, SessionMatch, UnmetStatement
from api.schemas.service import HealthPublic
from api.schemas.sessions import (
    ExportIntegrity,
    ExportedUtterance,
    FindingPublic,
    LiveStatus,
    RecordingStarted,
    SessionDetail,
    SessionPublic,
    SessionSpeaker,
    SessionWithFindings,
    SpeakerPublic,
    SpeakerRelabelled,
    TranscriptExport,
    TranscriptionProgress,
    UploadAccepted,
)
from api.schemas.utterances import RevisionPublic, UtterancePublic, WordPublic
from api.schemas.written import DiscrepancyPublic, WrittenCheckPublic, WrittenVersion

__all__ = [
    "AbandonedFinished", "RoomPublic", "SessionAgent",
    "DiscrepancyPublic", "WrittenCheckPublic", "WrittenVersion",
    "CaseDetail", "CasePublic", "ExportIntegrity", "ExportedUtterance", "FindingPublic", "HealthPublic",
    "IntegrityProblem", "IntegrityReportPublic", "LiveStatus", "LoginLock", "LoginPublic", "MePublic", "PersonPublic", "RecordingStarted",
    "RevisionPublic", "SearchHit", "SessionDetail", "SessionMatch", "SessionPublic", "SessionSpeaker",
    "SessionWithFindings", "SpeakerPublic", "SpeakerRelabelled", "TokenIssued", "TokenPublic", "TranscriptExport",
    "TranscriptionProgress", "UnitPublic", "UnmetStatement", "UploadAccepted", "UserAccount", "UserPublic", "UserUnlocked", "UtterancePublic", "WordPublic",
]
