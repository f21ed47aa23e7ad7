from fastapi import APIRouter

from api.access import UserScope, VisibleCase
from api.deps import StoreDep
from api.schemas import CaseDetail, CasePublic

router = APIRouter(prefix="/cases", tags=["cases"])


@router.get("", response_model=list[CasePublic])
def list_cases(scope: UserScope, store: StoreDep) -> list[dict]:
    """The cases the user may see."""
    return store.cases_in_scope(scope)


@router.get("/{case_no}", response_model=CaseDetail)
def get_case(case: VisibleCase, scope: UserScope, store: StoreDep) -> dict:
    return {**case, "sessions": store.sessions_in_scope(scope, case["case_no"])}
