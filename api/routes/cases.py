from fastapi import APIRouter

from api.deps import StoreDep

router = APIRouter(prefix="/cases", tags=["cases"])


@router.get("")
def list_cases(store: StoreDep) -> list[dict]:
    return store.list_cases()


@router.get("/{case_no}")
def get_case(case_no: str, store: StoreDep) -> dict:
    return {**store.get_case(case_no), "sessions": store.list_sessions(case_no)}
