from fastapi import APIRouter

from api.access import VisibleSession
from api.deps import StoreDep
from api.schemas import FindingPublic

router = APIRouter(tags=["findings"])


@router.get("/sessions/{session_id}/findings", response_model=list[FindingPublic], summary="程序检查清单（权利义务告知等）")
def get_findings(session_id: VisibleSession, store: StoreDep) -> list[dict]:
    """The procedural checklist: each required statement, its status, and the lines that are its evidence."""
    return store.findings(session_id)
