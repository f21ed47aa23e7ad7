"""Reading back and signing the record (issue 20, cases/signing.py): the read-back's state, signatures drawn on the
signing page (pointer strokes) or uploaded as a scanned PDF, 已签名 or 拒绝签名, and the signing page itself.
Reads: whoever may see the session. Changes: those who may correct it (officers and recorders of its unit)."""
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field

from cases.exports import record_turns
from cases.fault_statement import fault_statement, fault_statement_text
from cases.record_form import RECORD_CONFIRMATION
from cases.signing import SIGNER_ROLES, MAX_PDF_BYTES
from error_kinds import NotFound

from api.schemas.base import Public, Timestamp
from api.access import CorrectableSession, CurrentUser, PageUser, VisibleSession
from api.deps import StoreDep
from api.templating import render_page

router = APIRouter(tags=["signing"])

SignerRole = Literal["被讯问人", "讯问人", "记录人", "翻译人员", "法定代理人", "合适成年人", "见证人"]
assert set(SignerRole.__args__) == set(SIGNER_ROLES)


class StrokePoint(BaseModel):
    x: float
    y: float
    t: float | None = Field(None, description="ms since the pad was opened (pointer event time)")


class StrokeSignature(BaseModel):
    signer_role: SignerRole
    signer_name: str = Field(..., min_length=1, max_length=64)
    statement: str | None = Field(None, max_length=500, description="e.g. 以上笔录我看过，和我说的相符")
    width: int = Field(..., ge=10, le=2000, description="the pad's width in its own pixels")
    height: int = Field(..., ge=10, le=2000)
    strokes: list[list[StrokePoint]] = Field(..., min_length=1, max_length=2000)
    amendment_id: int | None = Field(None, description="confirm this amendment of a signed record")


class SignaturePublic(Public):
    id: int
    signer_role: SignerRole
    signer_name: str
    kind: Literal["strokes", "pdf"]
    statement: str | None
    amendment_id: int | None
    strokes_sha256: str | None
    image_sha256: str
    image_url: str
    created_at: Timestamp


class AmendmentPublic(Public):
    id: int
    revision_id: int
    utterance_id: int | None
    kind: str
    before: dict
    after: dict
    created_at: Timestamp
    confirmed_signature_id: int | None


class RecordReviewPublic(Public):
    session_id: int
    document: Literal["record", "fault_statement"]
    note: str | None
    state: Literal["review", "signed", "refused"] | None
    state_zh: str
    locked: bool
    reason: str | None
    witnesses: list[str]
    opened_at: Timestamp | None
    closed_at: Timestamp | None
    signatures: list[SignaturePublic]
    amendments: list[AmendmentPublic]


Document = Literal["record", "fault_statement"]
DocumentQuery = Annotated[Document, Query(description="record: the 讯问笔录; fault_statement: the 相关说明 of the "
                                                      "recording's faults")]


class ReviewStart(BaseModel):
    note: str | None = Field(None, max_length=2000, description="the officers' completion of a drafted 相关说明")


class FaultStatementPublic(Public):
    needed: bool
    title: str
    lines: list[str]
    text: str
    review: RecordReviewPublic


class ReviewClose(BaseModel):
    outcome: Literal["signed", "refused"]
    reason: str | None = Field(None, max_length=500, description="why the person refused to sign")
    witnesses: list[str] = Field(default_factory=list, max_length=10)


@router.get("/sessions/{session_id}/record-review", response_model=RecordReviewPublic, summary="笔录核对与签名状态")
def get_review(session_id: VisibleSession, store: StoreDep, document: DocumentQuery = "record") -> dict:
    return _public(store.record_review(session_id, document=document))


@router.post("/sessions/{session_id}/record-review", response_model=RecordReviewPublic, summary="开始笔录核对（记录核对）")
def start_review(session_id: CorrectableSession, user: CurrentUser, store: StoreDep,
                 body: ReviewStart | None = None, document: DocumentQuery = "record") -> dict:
    return _public(store.start_record_review(session_id, document=document, note=body.note if body else None,
                                             actor=user))


@router.post("/sessions/{session_id}/record-review/close", response_model=RecordReviewPublic, summary="结束核对：已签名，或拒绝签名（原因、见证人）")
def close_review(session_id: CorrectableSession, body: ReviewClose, user: CurrentUser, store: StoreDep,
                 document: DocumentQuery = "record") -> dict:
    return _public(store.close_record_review(session_id, outcome=body.outcome, reason=body.reason,
                                             witnesses=body.witnesses, document=document, actor=user))


@router.post("/sessions/{session_id}/signatures", status_code=201, response_model=SignaturePublic, summary="手写签名（签名板笔迹）")
def sign_with_strokes(session_id: CorrectableSession, body: StrokeSignature, user: CurrentUser,
                      store: StoreDep, document: DocumentQuery = "record") -> dict:
    strokes = [[point.model_dump(exclude_none=True) for point in stroke] for stroke in body.strokes]
    return _signature(session_id, store.add_signature(session_id, signer_role=body.signer_role, signer_name=body.signer_name,
                                          strokes=strokes, width=body.width, height=body.height,
                                          statement=body.statement, amendment_id=body.amendment_id,
                                          document=document, actor=user))


@router.post("/sessions/{session_id}/signatures/pdf", status_code=201, response_model=SignaturePublic, summary="上传签名后的笔录扫描件（PDF）")
def sign_with_pdf(session_id: CorrectableSession, user: CurrentUser, store: StoreDep,
                  signer_role: Annotated[SignerRole, Form()], signer_name: Annotated[str, Form(max_length=64)],
                  file: Annotated[UploadFile, File(description="the scanned signed record, PDF")],
                  document: DocumentQuery = "record") -> dict:
    data = file.file.read(MAX_PDF_BYTES + 1)
    return _signature(session_id, store.add_signature(session_id, signer_role=signer_role, signer_name=signer_name,
                                                      pdf=data, document=document, actor=user))


@router.get("/sessions/{session_id}/signatures/{signature_id}/image", response_class=FileResponse,
            summary="签名图像（PNG）或扫描件（PDF）")
def signature_image(session_id: VisibleSession, signature_id: int, store: StoreDep) -> FileResponse:
    found = next((s for document in ("record", "fault_statement")
                  for s in store.record_review(session_id, document=document)["signatures"]
                  if s["id"] == signature_id), None)
    if found is None:
        raise NotFound(f"session {session_id} has no signature {signature_id}", zh="没有该签名")
    pdf = found["kind"] == "pdf"
    return FileResponse(store.home / found["image_path"], media_type="application/pdf" if pdf else "image/png",
                        headers={"Cache-Control": "private, max-age=3600"})


@router.get("/sessions/{session_id}/fault-statement", response_model=FaultStatementPublic,
            summary="录音录像中断的相关说明（草稿、补充说明与签名）")
def get_fault_statement(session_id: VisibleSession, store: StoreDep) -> dict:
    statement = fault_statement(store, session_id)
    return {**statement, "text": fault_statement_text(statement), "review": _public(statement["review"])}


@router.get("/sessions/{session_id}/sign/page", response_class=HTMLResponse, include_in_schema=False)
def signing_page(session_id: int, user: PageUser, store: StoreDep,
                 document: DocumentQuery = "record") -> HTMLResponse:
    from cases import may_correct, scope_of

    store.require_session_in_scope(session_id, scope_of(user))
    session = store.get_session(session_id)
    store.record_audit(user, "record.sign_page", session_id=session_id, case_no=session["case_no"])
    statement = fault_statement(store, session_id) if document == "fault_statement" else None
    return render_page("sign.html", user=user, session=session, document=document, statement=statement,
                       review=_public(store.record_review(session_id, document=document)),
                       turns=record_turns(store.utterances(session_id)), signer_roles=SIGNER_ROLES,
                       confirmation=(RECORD_CONFIRMATION.replace("（或向我宣读过）", "") if statement is None
                                     else "以上说明属实"),
                       may_correct=may_correct(user))


def _public(review: dict) -> dict:
    return {**review, "signatures": [_signature(review["session_id"], s) for s in review["signatures"]]}


def _signature(session_id: int, signature: dict) -> dict:
    """Without the files' places on the server's disk: the image is at its own URL."""
    public = {k: v for k, v in signature.items() if k not in ("image_path", "strokes_path")}
    return {**public, "image_url": f"/sessions/{session_id}/signatures/{signature['id']}/image"}


