"""GET /sessions/{id}/verify: the integrity report."""
from typing import Literal

from cases.integrity import PROBLEM_KINDS

from api.schemas.base import Public


class IntegrityProblem(Public):
    kind: Literal[PROBLEM_KINDS]
    subject: str  # "audit:12", "utterance:5", "audio:3" ...
    detail: str


class IntegrityReportPublic(Public):
    session_id: int | None
    entries: int  # audit chain entries walked
    rows: int  # stored rows compared with their entries
    audio_files: int  # files re-hashed
    chain_head: str
    problems: list[IntegrityProblem]
    intact: bool
