"""Cases and the people of a case."""
from typing import Literal

from cases.people import PERSON_ROLES

from api.schemas.base import Public, Timestamp
from api.schemas.sessions import SessionPublic


class CasePublic(Public):
    id: int
    case_no: str
    title: str | None
    created_at: Timestamp
    session_count: int
    last_session_at: Timestamp | None
    unit: str | None


class CaseDetail(CasePublic):
    sessions: list[SessionPublic]  # those the user may see, newest first


class PersonPublic(Public):
    id: int
    role: Literal[PERSON_ROLES]
    name: str
    id_number: str | None
    wristband_id: str | None
    created_at: Timestamp
