from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response

from cases.exports import export

from api.deps import StoreDep

router = APIRouter(prefix="/sessions", tags=["sessions"])

_MEDIA_TYPES = {
    "json": "application/json",
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "rttm": "text/plain",
    "txt": "text/plain",
}


@router.get("")
def list_sessions(store: StoreDep, case_no: str | None = None) -> list[dict]:
    return store.list_sessions(case_no)


@router.get("/{session_id}")
def get_session(session_id: int, store: StoreDep) -> dict:
    return store.get_session(session_id)


@router.get("/{session_id}/utterances")
def get_utterances(session_id: int, store: StoreDep) -> list[dict]:
    store.get_session(session_id)  # 404 for an unknown session rather than an empty list
    return store.utterances(session_id)


@router.get("/{session_id}/export")
def export_session(
    session_id: int, store: StoreDep, format: Literal["json", "srt", "vtt", "rttm", "txt"] = "json"
) -> Response:
    turns = store.speaker_turns(session_id) if format == "rttm" else None
    text = export(format, store.get_session(session_id), store.utterances(session_id), turns=turns)
    filename = f"session-{session_id}.{format}"
    return Response(
        text,
        media_type=f"{_MEDIA_TYPES[format]}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
