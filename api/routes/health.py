from fastapi import APIRouter

from api.deps import StoreDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(store: StoreDep) -> dict:
    """The service is up and its database answers."""
    return {"status": "ok", "cases": len(store.list_cases())}
