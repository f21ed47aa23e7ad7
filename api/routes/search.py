from fastapi import APIRouter, Query

from api.deps import StoreDep

router = APIRouter(prefix="/search", tags=["search"])


@router.get("")
def search(
    store: StoreDep,
    q: str = Query(..., min_length=1, max_length=200, description="Chinese words or phrases"),
    case_no: str | None = None,
    role: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> list[dict]:
    return store.search(q, case_no=case_no, role=role, limit=limit)
