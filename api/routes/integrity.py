"""GET /sessions/{session_id}/verify: the integrity check of one session (全程留痕), for whoever may read it."""
from fastapi import APIRouter

from cases.integrity import verify

from api.access import CurrentUser, VisibleSession
from api.deps import StoreDep
from api.schemas import IntegrityReportPublic

router = APIRouter(prefix="/sessions", tags=["integrity"])


@router.get("/{session_id}/verify", response_model=IntegrityReportPublic, summary="完整性校验：审计链、语句与录音文件")
def verify_session(session_id: VisibleSession, user: CurrentUser, store: StoreDep) -> dict:
    """Walk the audit chain, compare the session's rows and re-hash its audio: `intact`, and each problem
    (kind, subject, detail). Runs in the thread pool: re-hashing hours of audio takes a second or two."""
    report = verify(store, session_id=session_id)
    store.record_audit(user, "session.verify", session_id=session_id,
                       detail={"intact": report.intact, "problems": len(report.problems)})
    return report.to_dict()
