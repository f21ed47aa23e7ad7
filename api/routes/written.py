"""The written record (讯问笔录) of a session against its recording.

    POST /sessions/{id}/written-record            upload a version (multipart: file, optional recorded_at)
    GET  /sessions/{id}/written-record/versions   the versions imported
    GET  /sessions/{id}/written-record/check      the check of the latest (or ?version=N) against the transcript now
    GET  /sessions/{id}/written-record/report.docx  the same as a .docx report
Uploading is a correction of the session's record (officers and recorders of the case); reading, any who may see
the session. The check is computed on each request from the stored version and the transcript as it is now.
"""
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile
from fastapi.responses import Response

from api.access import CorrectableSession, CurrentUser, VisibleSession
from api.deps import StoreDep
from api.schemas import WrittenCheckPublic, WrittenVersion
from cases.docx_export import DOCX_MEDIA_TYPE
from consistency.record import MAX_BYTES
from consistency.report_docx import report_docx
from engine.written import check_written_record, import_written_record, report_dict

router = APIRouter(prefix="/sessions", tags=["written record"])


@router.post("/{session_id}/written-record", status_code=201, response_model=WrittenCheckPublic,
             responses={413: {"description": "The file is larger than 5 MB"},
                        422: {"description": "Not a readable record (docx or txt with 问：/答： blocks)"}},
             summary="上传书面笔录（docx 或 txt），与录音录像比对")
async def upload_written_record(
    session_id: CorrectableSession,
    user: CurrentUser,
    store: StoreDep,
    file: Annotated[UploadFile, File(description="The written record: .docx, or .txt with 问：/答： lines.")],
    recorded_at: Annotated[str | None, Form(description="When the recording started, local time "
                                                        "(2024-11-08T09:34); a live session's own start if absent.")]
    = None,
) -> dict:
    content = await file.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise HTTPException(413, f"the written record is larger than {MAX_BYTES} bytes")
    check = import_written_record(store, session_id, filename=file.filename or "笔录.txt", content=content,
                                  recorded_at=recorded_at, actor=user)
    return report_dict(check)


@router.get("/{session_id}/written-record/versions", response_model=list[WrittenVersion],
            summary="书面笔录的各个版本")
def written_versions(session_id: VisibleSession, store: StoreDep) -> list[dict]:
    return store.written_records(session_id)


@router.get("/{session_id}/written-record/check", response_model=WrittenCheckPublic,
            summary="书面笔录与录音录像的比对结果（JSON）")
def written_check(session_id: VisibleSession, user: CurrentUser, store: StoreDep,
                  version: int | None = Query(None, ge=1, description="Which version (default: the latest).")) -> dict:
    report = report_dict(check_written_record(store, session_id, version=version))
    store.record_audit(user, "written.checked", session_id=session_id, detail={"version": report["version"]})
    return report


@router.get("/{session_id}/written-record/report.docx", response_class=Response,
            responses={200: {"content": {DOCX_MEDIA_TYPE: {}}, "description": "The report as a .docx file"}},
            summary="比对报告（DOCX）")
def written_report_docx(session_id: VisibleSession, user: CurrentUser, store: StoreDep,
                        version: int | None = Query(None, ge=1)) -> Response:
    report = report_dict(check_written_record(store, session_id, version=version))
    store.record_audit(user, "written.report", session_id=session_id, detail={"version": report["version"]})
    content = report_docx(report, session=store.get_session(session_id))
    return Response(content, media_type=DOCX_MEDIA_TYPE, headers={
        "Content-Disposition": f'attachment; filename="session-{session_id}-written-check.docx"'})
