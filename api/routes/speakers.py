"""A session's speakers: relabel one for all their lines at once (their role, or merge them into another)."""
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from api.access import CorrectableSession, CurrentUser, VisibleSession
from engine.checking import check_session
from api.deps import SettingsDep, StoreDep
from api.schemas import SpeakerPublic, SpeakerRelabelled

router = APIRouter(prefix="/sessions/{session_id}/speakers", tags=["speakers"])


class SpeakerUpdate(BaseModel):
    version: int = Field(..., description="The speaker's version you saw (409 if it changed since).")
    role: str | None = Field(None, max_length=64, description="e.g. 讯问人, 记录人, 被讯问人; null clears it.")
    new_label: str | None = Field(None, min_length=1, max_length=64,
                                  description="Move all their lines to this speaker (created if new).")


@router.get("", response_model=list[SpeakerPublic], summary="本次讯问的说话人及其角色")
def list_speakers(session_id: VisibleSession, store: StoreDep) -> list[dict]:
    """Each speaker's label, role, channel and version (send the version back when relabelling)."""
    return store.speakers(session_id)


@router.patch("/{label}", response_model=SpeakerRelabelled, summary="修改说话人的标签或角色")
def relabel_speaker(session_id: CorrectableSession, label: str, body: SpeakerUpdate, user: CurrentUser,
                    store: StoreDep, settings: SettingsDep) -> dict:
    given = body.model_fields_set - {"version"}
    if not given:
        raise HTTPException(422, "give role, new_label, or both")
    after = store.relabel_speaker(session_id, label, version=body.version, by=user,
                                  role=body.role if "role" in given else ..., new_label=body.new_label)
    check_session(store, session_id, settings)
    return after

