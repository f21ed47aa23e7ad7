"""Corrections of a transcript line: edit its text, speaker or role; split it; merge it with a neighbour;
decide on a suspected line (keep it out of the written record, or restore it).

Each save carries the `version` the editor saw: a stale one gets 409 with the current version and line.
After every change the procedural findings are checked again (a corrected line may now hold a notice): once per
request, so a find-and-replace over many lines (`POST …/utterances/replace`) checks them once, not per line.
"""
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from cases import InvalidCorrection
from engine.checking import check_session
from error_kinds import Kind, kind_of

from api.access import CorrectableSession, CurrentUser, VisibleSession
from api.deps import SettingsDep, StoreDep
from api.errors_http import http_error
from api.schemas import RevisionPublic, UtterancePublic
from api.schemas.base import Public

router = APIRouter(prefix="/sessions/{session_id}", tags=["utterances"])


class UtteranceUpdate(BaseModel):
    version: int = Field(..., description="The version of the line you edited (409 if it changed since).")
    text: str | None = Field(None, min_length=1, max_length=5000)
    speaker: str | None = Field(None, min_length=1, max_length=64)
    role: str | None = Field(None, max_length=64, description="This line's role; null: back to its speaker's.")


class SplitRequest(BaseModel):
    version: int
    at_s: float = Field(..., ge=0, description="Where to cut, in seconds from the session start.")
    first_text: str | None = Field(None, max_length=5000, description="Only if the text was corrected.")
    second_text: str | None = Field(None, max_length=5000)


class MergeRequest(BaseModel):
    version: int
    with_id: int = Field(..., description="The neighbouring line (just before or after this one).")
    with_version: int


class SuspectDecision(BaseModel):
    version: int = Field(..., description="The version of the line you decided on (409 if it changed since).")
    decision: Literal["kept_out", "restored"] = Field(
        ..., description="kept_out: the line stays out of the written record; restored: it goes back in.")


LINE_REFUSALS = (Kind.BAD_INPUT, Kind.NOT_FOUND, Kind.CONFLICT)
"""What refuses one line of a replace-all, the others being changed."""


class ReplaceLine(BaseModel):
    id: int = Field(..., description="A line that holds `find`, as the editor shows it.")
    version: int = Field(..., description="The version of the line the editor shows (refused if it changed since).")


class ReplaceAll(BaseModel):
    find: str = Field(..., min_length=1, max_length=500)
    replace: str = Field("", max_length=500, description="Empty: `find` is deleted.")
    lines: list[ReplaceLine] = Field(..., min_length=1, max_length=20000)


class ReplaceRefusal(Public):
    id: int
    status: int = Field(..., description="What a PATCH of this line alone would have answered: 409 changed since, "
                                         "404 no such line, 422 not possible (empty after replacing, not found).")
    code: str
    detail: str


class ReplaceResult(Public):
    changed: list[UtterancePublic]
    refused: list[ReplaceRefusal]


@router.get("/utterances/{utterance_id}", response_model=UtterancePublic, summary="一条语句")
def get_utterance(session_id: VisibleSession, utterance_id: int, user: CurrentUser, store: StoreDep) -> dict:
    utterance = store.utterance(session_id, utterance_id)
    store.record_audit(user, "utterance.read", session_id=session_id, detail={"utterance_id": utterance_id})
    return utterance


@router.patch("/utterances/{utterance_id}", response_model=UtterancePublic, summary="修改一条语句（文字、说话人或角色）")
def edit_utterance(session_id: CorrectableSession, utterance_id: int, body: UtteranceUpdate, user: CurrentUser,
                   store: StoreDep, settings: SettingsDep) -> dict:
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    after = store.edit_utterance(session_id, utterance_id, changes, version=body.version, by=user)
    check_session(store, session_id, settings)
    return after


@router.post("/utterances/replace", response_model=ReplaceResult, summary="查找替换：在所列语句中替换文字（每句一条修改记录）")
def replace_all(session_id: CorrectableSession, body: ReplaceAll, user: CurrentUser, store: StoreDep,
                settings: SettingsDep) -> dict:
    """Every occurrence of `find` in each listed line becomes `replace`, each line a correction of its own (one
    revision, its history) against the version the editor showed; a line that cannot be changed is refused on its
    own (`refused`), the others are changed. The procedural findings are checked again once, after all of them."""
    changed, refused = [], []
    try:
        for line in body.lines:
            try:
                text = store.utterance(session_id, line.id)["text"]
                if body.find not in text:
                    raise InvalidCorrection(f"line {line.id} does not hold {body.find!r}", zh="此句不含要查找的文字")
                replaced = text.replace(body.find, body.replace).strip()
                if not replaced:
                    raise InvalidCorrection(f"line {line.id} would be empty after replacing", zh="替换后此句为空")
                changed.append(store.edit_utterance(session_id, line.id, {"text": replaced}, version=line.version,
                                                    by=user))
            except Exception as exc:
                if kind_of(exc) not in LINE_REFUSALS:  # a full disk, a bug: the whole request fails
                    raise
                error = http_error(exc)  # the answer a PATCH of this line alone would have had
                refused.append({"id": line.id, "status": error.status, "code": error.code, "detail": error.detail})
    finally:  # the lines changed before a failure are stored: their findings too
        if changed:
            check_session(store, session_id, settings)
    return {"changed": changed, "refused": refused}


@router.post("/utterances/{utterance_id}/split", response_model=list[UtterancePublic], summary="在某一时刻把一条语句拆成两条")
def split_utterance(session_id: CorrectableSession, utterance_id: int, body: SplitRequest, user: CurrentUser,
                    store: StoreDep, settings: SettingsDep) -> list[dict]:
    """Two lines: the first keeps the id; the words go to the side their middle falls on."""
    first, second = store.split_utterance(session_id, utterance_id, at_s=body.at_s, version=body.version, by=user,
                                          first_text=body.first_text, second_text=body.second_text)
    check_session(store, session_id, settings)
    return [first, second]


@router.post("/utterances/{utterance_id}/merge", response_model=UtterancePublic, summary="把一条语句与下一条合并")
def merge_utterances(session_id: CorrectableSession, utterance_id: int, body: MergeRequest, user: CurrentUser,
                     store: StoreDep, settings: SettingsDep) -> dict:
    """One line (the earlier one's id) from two neighbours."""
    merged = store.merge_utterances(session_id, utterance_id, with_id=body.with_id, version=body.version,
                                    with_version=body.with_version, by=user)
    check_session(store, session_id, settings)
    return merged


@router.post("/utterances/{utterance_id}/suspect", response_model=UtterancePublic,
             summary="处理疑似识别错误的语句（确认不入笔录或恢复）")
def decide_suspect(session_id: CorrectableSession, utterance_id: int, body: SuspectDecision, user: CurrentUser,
                   store: StoreDep) -> dict:
    """An officer's decision on a line the recognizer may have invented (`suspect`): the text is kept either
    way; the decision is a revision, and says whether the line is in the 讯问笔录. The findings are not checked
    again: the text did not change."""
    return store.decide_suspect(session_id, utterance_id, body.decision, version=body.version, by=user)


@router.get("/utterances/{utterance_id}/revisions", response_model=list[RevisionPublic], summary="一条语句的修改记录")
def utterance_revisions(session_id: VisibleSession, utterance_id: int, user: CurrentUser, store: StoreDep) -> list[dict]:
    """The line's history: who changed what, when, from what to what."""
    revisions = store.revisions(session_id, utterance_id)
    store.record_audit(user, "revisions.read", session_id=session_id, detail={"utterance_id": utterance_id})
    return revisions


@router.get("/revisions", response_model=list[RevisionPublic], summary="本次讯问的全部修改记录")
def session_revisions(session_id: VisibleSession, user: CurrentUser, store: StoreDep) -> list[dict]:
    revisions = store.revisions(session_id)
    store.record_audit(user, "revisions.read", session_id=session_id)
    return revisions

