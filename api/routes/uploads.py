"""Uploading a recording into a case: checked at once, transcribed in the background.

`POST /cases/{case_no}/recordings` (multipart/form-data): the body streams to audio/.incoming under
BILU_HOME (413 past BILU_MAX_UPLOAD_MB, a declared Content-Length over it before anything is read), the
form is checked, the file decoded (422 naming the problem: not audio, truncated, NaN samples, …), the copy
kept and the session opened; the upload worker transcribes it, or, with BILU_BROKER_URL set, a job naming the
session goes to the workers (engine/work_queue.py). Nothing is stored for a refused upload.
"""
import asyncio
import dataclasses
import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from cases import CaseNotFound, check_case_no
from cases.access import may_correct, scope_of
from diarize import parse_seat_roles

from api.access import CurrentUser
from engine.checking import DEFAULT_RULE_SET
from api.deps import SettingsDep, StoreDep
from api.schemas import UploadAccepted
from engine.pipeline import FileRequest, Pipeline, StagedFile
from api.security import CSRF_FIELD
from engine.settings import Settings
from api.upload_body import FILE_FIELD, UploadRejected, check_content_length, receive_upload
from engine.upload_worker import UploadWorker, discard

router = APIRouter(tags=["uploads"])

FIELDS = ("room", "seat_roles", "speakers", "rules", "conditions")
MAX_SPEAKERS = 8

_FORM_SCHEMA = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object",
        "required": [FILE_FIELD],
        "properties": {
            FILE_FIELD: {"type": "string", "format": "binary",
                         "description": "The recording: wav, flac, mp3, m4a, ogg/opus; any rate; 1 to 32 channels."},
            "room": {"type": "string", "maxLength": 64, "description": "The interview room."},
            "seat_roles": {"type": "string", "description": "Roles by seat (channel), e.g. 讯问人,被讯问人."},
            "speakers": {"type": "integer", "minimum": 1, "maximum": MAX_SPEAKERS,
                         "description": "Number of speakers, if known (1 skips diarization)."},
            "rules": {"type": "string", "description": f"Procedural rule set (default {DEFAULT_RULE_SET})."},
            "conditions": {"type": "string", "description": "Conditional requirements, comma separated "
                                                            "(minor, deaf_mute, interpreter, …)."},
        },
    }}},
}


def service_pipeline(request: Request) -> Pipeline:
    return request.app.state.pipeline


def upload_worker(request: Request) -> UploadWorker:
    return request.app.state.upload_worker


def declared_size_within_limit(request: Request, settings: SettingsDep) -> None:
    """Runs before the login check too: a 2 GB declaration is refused before a byte of it is read."""
    check_content_length(request, max_bytes=_limit_bytes(settings))


@router.post(
    "/cases/{case_no}/recordings",
    status_code=202,
    response_model=UploadAccepted,
    dependencies=[Depends(declared_size_within_limit)],
    openapi_extra={"requestBody": _FORM_SCHEMA},
    responses={413: {"description": "The body is larger than BILU_MAX_UPLOAD_MB"},
               422: {"description": "Bad form or bad audio; `detail` names the problem"}},
    summary="上传录音文件到案件，后台转写",
)
async def upload_recording(
    case_no: str,
    request: Request,
    user: CurrentUser,
    store: StoreDep,
    settings: SettingsDep,
    pipeline: Annotated[Pipeline, Depends(service_pipeline)],
    worker: Annotated[UploadWorker, Depends(upload_worker)],
) -> JSONResponse:
    """Upload a recording into the case (created if new, in the uploader's unit); 202 with the new session id,
    transcribed in the background: follow `GET /sessions/{id}` until its status is `done` (or `failed`)."""
    check_case_no(case_no)
    new_case = await asyncio.to_thread(_check_access, store, case_no, user)
    upload = await receive_upload(request, incoming_dir=store.audio_dir / ".incoming",
                                  max_bytes=_limit_bytes(settings))
    staged = StagedFile(upload.path, upload.sha256, upload.size_bytes)
    try:
        file_request = _file_request(upload, case_no=case_no)
        # The session's row, "session.created" and "session.uploaded" (who, how many bytes): one transaction.
        prepared = await asyncio.to_thread(pipeline.prepare, store, file_request, staged=staged, actor=user,
                                           started_as="session.uploaded")
    except BaseException:
        staged.path.unlink(missing_ok=True)
        raise
    try:
        if new_case:  # a new case belongs to the unit of the officer who opens it
            await asyncio.to_thread(store.set_case_unit, case_no, user.unit_name, actor=user)
    except BaseException as exc:  # the session must not stay "transcribing" with nobody to run it
        await asyncio.to_thread(discard, store, prepared, error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    queue = request.app.state.work_queue
    if queue is not None:  # the workers transcribe it (BILU_BROKER_URL); a broker that is down: 503, session failed
        await asyncio.to_thread(queue.submit_prepared, store, prepared)
    else:
        try:
            worker.submit(dataclasses.replace(prepared, audio=None))  # the queue keeps no samples
        except BaseException as exc:
            await asyncio.to_thread(discard, store, prepared, error=f"{type(exc).__name__}: {exc}"[:500])
            raise  # WorkerStopped (the service is stopping) is Unavailable: 503 by api/errors_http.py
    return JSONResponse({"session_id": prepared.session_id, "status": "transcribing"}, status_code=202)


def _check_access(store, case_no: str, user) -> bool:
    """True for a new case; 404 for a case out of reach (as if none), 403 for a role that may not upload."""
    try:
        store.case_in_scope(case_no, scope_of(user))
        new_case = False
    except CaseNotFound:
        try:
            store.get_case(case_no)
        except CaseNotFound:
            new_case = True
        else:
            raise  # someone else's case: the same 404 as no case at all
    if not may_correct(user):
        raise HTTPException(403, f"a {user.role} may not upload recordings")
    return new_case


def _file_request(upload, *, case_no: str) -> FileRequest:
    unknown = sorted(set(upload.fields) - set(FIELDS) - {CSRF_FIELD})  # the page's CSRF field was checked already
    if unknown:
        raise UploadRejected(f"unknown form field(s) {', '.join(map(repr, unknown))}: allowed are {FILE_FIELD!r}, "
                             + ", ".join(map(repr, FIELDS)))
    seat_roles = upload.field("seat_roles")
    speakers = upload.field("speakers")
    conditions = upload.field("conditions")
    return FileRequest(
        path=Path(upload.filename),  # only the user's name for the file: the audio is the staged copy
        case_no=case_no,
        room=upload.field("room") or None,
        num_speakers=_speakers(speakers),
        seat_roles=parse_seat_roles(seat_roles) if seat_roles else (),
        rule_set=upload.field("rules") or DEFAULT_RULE_SET,
        conditions=tuple(c for c in (s.strip() for s in re.split(r"[,，、\s]+", conditions or "")) if c),
    )


def _speakers(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    if not text.strip().isdigit() or not 1 <= int(text) <= MAX_SPEAKERS:
        raise UploadRejected(f"speakers {text[:20]!r} must be a whole number from 1 to {MAX_SPEAKERS}")
    return int(text)


def _limit_bytes(settings: Settings) -> int:
    return settings.max_upload_mb << 20
