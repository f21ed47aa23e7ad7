"""Cases: list, open a new one (number, title, unit), read one with its sessions, give it a title."""
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from cases import check_case_no, may_correct, scope_of

from api.access import CurrentUser, UserScope, VisibleCase
from api.deps import StoreDep
from api.schemas import CaseDetail, CasePublic

router = APIRouter(prefix="/cases", tags=["cases"])


class CaseCreate(BaseModel):
    case_no: str = Field(..., min_length=1, max_length=64, description="案件编号")
    title: str | None = Field(None, max_length=200, description="案件名称")
    unit: str | None = Field(None, description="承办单位；默认为本人所在单位")


class CaseUpdate(BaseModel):
    title: str | None = Field(..., max_length=200, description="案件名称（空则清除）")


@router.get("", response_model=list[CasePublic], summary="本人可查看的案件")
def list_cases(scope: UserScope, store: StoreDep) -> list[dict]:
    """The cases the user may see."""
    return store.cases_in_scope(scope)


@router.post("", status_code=201, response_model=CasePublic, summary="新建案件（编号、名称、承办单位）",
             responses={403: {"description": "检察人员不能立案，或不能在该单位立案"},
                        409: {"description": "案件编号已被使用"}})
def open_case(body: CaseCreate, user: CurrentUser, store: StoreDep) -> dict:
    """A new case, in the user's own unit unless another is given: an officer or recorder opens cases in their
    unit, a supervisor in their unit or a unit below it, an administrator anywhere; a prosecutor never."""
    check_case_no(body.case_no)
    if not may_correct(user):
        raise HTTPException(403, "检察人员为只读账号，不能新建案件")
    unit = body.unit or user.unit_name
    if unit not in store.units_for_new_cases(user):
        raise HTTPException(403, f"不能在“{unit}”新建案件：只能在本单位{'或下级单位' if user.role == 'supervisor' else ''}立案")
    store.open_case(body.case_no, title=body.title, unit=unit, actor=user)
    return store.case_in_scope(body.case_no, scope_of(user))


@router.get("/{case_no}", response_model=CaseDetail, summary="一个案件及其各次讯问")
def get_case(case: VisibleCase, scope: UserScope, store: StoreDep) -> dict:
    return {**case, "sessions": store.sessions_in_scope(scope, case["case_no"])}


@router.patch("/{case_no}", response_model=CasePublic, summary="修改案件名称")
def update_case(body: CaseUpdate, case: VisibleCase, user: CurrentUser, store: StoreDep) -> dict:
    if not may_correct(user):
        raise HTTPException(403, "检察人员为只读账号，不能修改案件")
    store.set_case_title(case["case_no"], body.title, actor=user)
    return store.case_in_scope(case["case_no"], scope_of(user))
