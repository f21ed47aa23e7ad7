"""The session guardrails (issue 20): what the case records for them (summons, detention, birth date, interpreter,
guardian), read by whoever may see the case and set by those who may correct it; and a session's guardrail
findings, judged again on request (a summons nearing its limit changes with the clock, not with the transcript)."""
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from cases.access import may_correct
from engine.guardrails import check_guardrails

from api.access import CurrentUser, VisibleCase, VisibleSession
from api.deps import SettingsDep, StoreDep
from api.schemas.base import Public, Timestamp

router = APIRouter(tags=["guardrails"])


class CaseProcedure(TypedDict):
    summons_kind: Literal["传唤", "拘传"] | None
    summons_at: Timestamp | None
    summons_extended: bool
    detained_at: Timestamp | None
    birth_date: str | None
    interpreter: str | None
    guardian: str | None


class CaseProcedureUpdate(BaseModel):
    """Only the fields sent are changed; null clears one. Times without an offset are local time."""

    summons_kind: Literal["传唤", "拘传"] | None = Field(None, description="传唤 or 拘传")
    summons_at: str | None = Field(None, description="When the summons began, e.g. 2026-12-03T09:30")
    summons_extended: bool | None = Field(None, description="The 24-hour limit was approved (CPL 119)")
    detained_at: str | None = Field(None, description="When the person was detained (拘留)")
    birth_date: str | None = Field(None, description="The person questioned's birth date, e.g. 2009-05-01")
    interpreter: str | None = Field(None, max_length=64, description="The interpreter's name (翻译人员)")
    guardian: str | None = Field(None, max_length=64, description="The 法定代理人 or 合适成年人 present")


class GuardrailPublic(Public):
    key: str
    kind: str
    title: str
    status: Literal["ok", "violated", "warning", "not_applicable"]
    basis: str
    detail: str
    at_s: float | None
    checked_at: Timestamp


@router.get("/cases/{case_no}/procedure", response_model=CaseProcedure, summary="案件的传唤、拘留与在场人员登记")
def get_procedure(case: VisibleCase, store: StoreDep) -> dict:
    return store.case_procedure(case["case_no"])


@router.put("/cases/{case_no}/procedure", response_model=CaseProcedure, summary="登记传唤/拘传时间、拘留时间、出生日期、翻译、法定代理人")
def set_procedure(case: VisibleCase, body: CaseProcedureUpdate, user: CurrentUser, store: StoreDep) -> dict:
    if not may_correct(user):
        raise HTTPException(403, f"a {user.role} may read this case but not change it")
    changes = body.model_dump(exclude_unset=True)
    if changes.get("summons_extended") is None and "summons_extended" in changes:
        changes["summons_extended"] = False
    return store.set_case_procedure(case["case_no"], changes, actor=user)


@router.get("/sessions/{session_id}/guardrails", response_model=list[GuardrailPublic],
            summary="讯问规范检查（两人讯问、传唤时限、未成年人、翻译、录音连续等）")
def get_guardrails(session_id: VisibleSession, store: StoreDep, settings: SettingsDep) -> list[dict]:
    """Judged now (the clock matters for a summons still running), stored, and returned."""
    check_guardrails(store, session_id, settings)
    return store.guardrail_findings(session_id)
