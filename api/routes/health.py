from fastapi import APIRouter

from api.deps import StoreDep
from api.schemas import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic, summary="服务运行状态（无需登录）")
def health(store: StoreDep) -> dict:
    """The service is up and its database answers (no login needed, so nothing about the cases is told)."""
    store.has_admin()
    return {"status": "ok"}
