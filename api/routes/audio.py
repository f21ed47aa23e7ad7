"""A session's recording, streamed with HTTP range requests (206, Content-Range) so that a page can seek."""
import logging
import mimetypes
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from api.access import CurrentUser, VisibleSession
from api.deps import StoreDep
from engine.live import PLAYBACK_NAME, ensure_playback

log = logging.getLogger(__name__)

router = APIRouter(tags=["audio"])

_AUDIO_TYPES = {".wav": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mpeg", ".m4a": "audio/mp4",
                ".ogg": "audio/ogg", ".opus": "audio/ogg", ".webm": "audio/webm"}


@router.get("/sessions/{session_id}/audio", response_class=FileResponse,
            responses={206: {"description": "所请求的字节范围"}, 416: {"description": "字节范围超出录音长度"}},
            summary="本次讯问的录音（支持按字节范围回放）")
def get_audio(session_id: VisibleSession, request: Request, user: CurrentUser, store: StoreDep) -> FileResponse:
    """The whole file, or the byte range asked for with `Range: bytes=START-END`."""
    session = store.get_session(session_id)
    stored = session["audio_path"]
    if session["kind"] == "live":  # a live session's audio is a folder of segments; the page plays its mixdown
        stored = f"{stored}/{PLAYBACK_NAME}"
        folder = Path(store.home) / session["audio_path"]
        if session["status"] != "transcribing" and folder.is_dir() and not (folder / PLAYBACK_NAME).exists():
            ensure_playback(folder)  # closing could not write it (a full disk): now, or a 503 naming why
    path = _inside_home(store.home, stored)
    if path is None:
        raise HTTPException(404, f"the recording of session {session_id} is not available")
    store.record_audit(user, "session.audio", session_id=session_id, case_no=session["case_no"],
                       detail={"range": request.headers.get("range", "")[:100]})
    media_type = _AUDIO_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, content_disposition_type="inline",
                        filename=f"session-{session_id}{path.suffix.lower()}")


def _inside_home(home: Path, audio_path: str) -> Path | None:
    """The file, if the stored path resolves (links followed) to a file inside BILU_HOME; else None."""
    root = Path(home).resolve()
    try:
        path = (root / audio_path).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(root) or not path.is_file():
        log.warning("session audio path refused: it does not resolve to a file inside the home")
        return None
    return path
