import shutil
import tempfile
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from cases.docx_export import DOCX_MEDIA_TYPE
from cases.integrity import signed_export
from cases.package import build_package

from api.access import CorrectableSession, CurrentUser, UserScope, VisibleSession, WithdrawableSession
from api.deps import StoreDep
from api.schemas import SessionDetail, SessionPublic, TranscriptExport, TranscriptionProgress, UtterancePublic

router = APIRouter(prefix="/sessions", tags=["sessions"])

_MEDIA_TYPES = {
    "json": "application/json; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "rttm": "text/plain; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "docx": DOCX_MEDIA_TYPE,
    "package": "application/zip",
}

# The JSON export is described by its schema; the other formats are text, and the Word document bytes.
_EXPORT_RESPONSE = {
    "description": "The transcript as a download, in `format`",
    "model": TranscriptExport,
    "content": {media.split(";")[0]: {"schema": {"type": "string", **({"format": "binary"} if name in ("docx", "package") else {})}}
                for name, media in _MEDIA_TYPES.items() if name != "json"},
}


class SessionOfficers(BaseModel):
    officers: list[str]


class Withdrawal(BaseModel):
    reason: str = Field(..., min_length=1, max_length=500, description="Why, e.g. 上传错了文件（另一案件的录音）.")


@router.get("", response_model=list[SessionPublic], summary="本人可查看的讯问（可按案件）")
def list_sessions(scope: UserScope, store: StoreDep, case_no: str | None = None) -> list[dict]:
    """The sessions the user may see (of one case, if given)."""
    return store.sessions_in_scope(scope, case_no)


@router.get("/{session_id}", response_model=SessionDetail, summary="一次讯问的详情")
def get_session(session_id: VisibleSession, user: CurrentUser, store: StoreDep) -> dict:
    session = store.get_session(session_id)
    store.record_audit(user, "session.read", session_id=session_id, case_no=session["case_no"])
    # `outages`: when a room agent's link to the service was down during the recording; `agent`: the room agent it
    # was recorded by, with its clock's offset to ours (README "Room agents").
    return {**session, "officers": store.session_officers(session_id), "outages": store.outages(session_id),
            "agent": store.session_agent(session_id)}


@router.get("/{session_id}/utterances", response_model=list[UtterancePublic], summary="一次讯问的全部语句（含修改后的文字与识别原文）")
def get_utterances(session_id: VisibleSession, user: CurrentUser, store: StoreDep) -> list[dict]:
    """Each line with its corrected `text` beside the recognizer's `original_text`, and its `version`."""
    utterances = store.utterances(session_id)
    store.record_audit(user, "utterances.read", session_id=session_id)
    return utterances


@router.get("/{session_id}/progress", response_model=TranscriptionProgress, summary="转写进度及新转写出的语句")
def transcription_progress(session_id: VisibleSession, user: CurrentUser, store: StoreDep,
                           after_id: int = Query(0, ge=0)) -> dict:
    """While an uploaded file is transcribed (status `transcribing`): how far the stored transcript reaches,
    and the lines stored since the one with id `after_id` (the page follows the transcription with it).
    A call that returns lines is audited as a read of them; one that returns only the figures is not (the
    page polls every two seconds). Each poll reads the session's row and only the lines after `after_id`, not
    the whole transcript: a three-hour upload is polled for as long as it takes."""
    session = store.transcription_progress(session_id)
    until_s = min(session["transcribed_until_s"], session["duration_s"])
    if session["status"] != "transcribing":
        until_s = session["duration_s"]
    fresh = store.utterances(session_id, after_id=after_id)
    if fresh:
        store.record_audit(user, "utterances.read", session_id=session_id,
                           detail={"after_id": after_id, "count": len(fresh)})
    percent = 100.0 * until_s / session["duration_s"] if session["duration_s"] > 0 else 100.0
    return {"status": session["status"], "duration_s": session["duration_s"], "transcribed_until_s": until_s,
            "percent": round(min(100.0, percent), 1), "error": session["error"],
            "utterance_count": session["utterance_count"],
            "utterances": fresh}


@router.post("/{session_id}/withdraw", response_model=SessionPublic, summary="撤回误传的录音（督察或管理员，保留录音，记入审计）")
def withdraw_session(session_id: WithdrawableSession, body: Withdrawal, user: CurrentUser, store: StoreDep) -> dict:
    """A wrong upload is withdrawn, not deleted: the session, its transcript and its audio stay, marked withdrawn
    with who, when and why (audited), and it keeps its 第 N 次, so no other session's number changes. Its page
    and the case's list say it was withdrawn; it can no longer be corrected. 409 for a live recording, an upload
    still being transcribed, or one withdrawn already."""
    withdrawn = store.withdraw_session(session_id, reason=body.reason, actor=user)
    return {key: value for key, value in withdrawn.items() if key != "findings"}


@router.put("/{session_id}/officers", response_model=list[str], summary="设定本次讯问的讯问人和记录人")
def set_officers(session_id: CorrectableSession, body: SessionOfficers, user: CurrentUser, store: StoreDep) -> list[str]:
    """Who questioned in this session (user names): the search filter `officer`."""
    store.set_session_officers(session_id, body.officers, actor=user)
    return store.session_officers(session_id)


@router.get("/{session_id}/export", response_class=Response, responses={200: _EXPORT_RESPONSE},
            summary="导出笔录（DOCX 讯问笔录、TXT、JSON、SRT、VTT、RTTM，或封存的证据包 ZIP）")
def export_session(
    session_id: VisibleSession,
    user: CurrentUser,
    store: StoreDep,
    format: Literal["json", "srt", "vtt", "rttm", "txt", "docx", "package"] = "json",
) -> Response:
    if format == "package":
        return _package_response(store, session_id, user)
    # Signed: the export's audit entry ("session.export") is written first, and its hash is in the export.
    content, _ = signed_export(store, session_id, fmt=format, actor=user)
    return Response(
        content,
        media_type=_MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{_file_stem(store, session_id)}.{format}"'},
    )


def _file_stem(store, session_id: int) -> str:
    """session-N, or session-N-withdrawn for a withdrawn upload: its record is marked inside, and its name says so
    in a folder of downloads too."""
    withdrawn = store.get_session(session_id).get("withdrawn")
    return f"session-{session_id}" + ("-withdrawn" if withdrawn else "")


def _package_response(store, session_id: int, user) -> FileResponse:
    """The sealed package (cases/package.py), written to a temporary file (it holds the audio: hours of it do not
    belong in memory) that is removed once sent."""
    folder = Path(tempfile.mkdtemp(prefix="bilu-package-"))
    target = folder / f"{_file_stem(store, session_id)}.zip"
    try:
        build_package(store, session_id, target, actor=user)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(target, media_type=_MEDIA_TYPES["package"], filename=target.name,
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))
