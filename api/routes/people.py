"""The people of a case (suspects and others): listed by anyone who may see the case, added by those who may
correct its records."""
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from cases.access import may_correct

from api.access import CurrentUser, VisibleCase
from api.deps import StoreDep
from api.schemas import PersonPublic

router = APIRouter(prefix="/cases/{case_no}/people", tags=["people"])


class PersonCreate(BaseModel):
    name: str = Field(..., min_length=1, max_length=64)
    role: str = Field(..., description="犯罪嫌疑人, 违法嫌疑人, 被害人, 证人, 翻译人员, 法定代理人, 合适成年人 or 其他")
    id_number: str | None = Field(None, max_length=64)
    wristband_id: str | None = Field(None, max_length=64, description="The case-handling centre's wristband.")


@router.get("", response_model=list[PersonPublic], summary="本案的人员（犯罪嫌疑人、被害人、证人等）")
def list_people(case: VisibleCase, user: CurrentUser, store: StoreDep) -> list[dict]:
    store.record_audit(user, "case.people_read", case_no=case["case_no"])
    return store.people(case["case_no"])


@router.post("", status_code=201, response_model=PersonPublic, summary="新增本案人员")
def add_person(case: VisibleCase, body: PersonCreate, user: CurrentUser, store: StoreDep) -> dict:
    if not may_correct(user):
        raise HTTPException(403, f"a {user.role} may read this case but not change it")
    return store.add_person(case["case_no"], **body.model_dump(), actor=user)
