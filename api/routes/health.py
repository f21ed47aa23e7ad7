from fastapi import APIRouter

from api.deps import StoreDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(store: StoreDep) -> dict:
    """The service is up and its database answers (no login needed, so nothing about the cases is told)."""
    store.has_admin()
    return {"status": "ok"}
