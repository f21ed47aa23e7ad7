"""Units (市局 / 办案中心 / 基层单位): administrators manage them; any user may list them (for the filters)."""
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.access import AdminUser, CurrentUser
from api.deps import StoreDep
from api.schemas import UnitPublic

router = APIRouter(prefix="/units", tags=["units"])


class UnitCreate(BaseModel):
    name: str = Field(..., min_length=1, max_length=64)
    level: Literal["city", "centre", "unit"]
    parent: str | None = Field(None, description="A centre's city bureau, a unit's centre; none for a city.")


@router.get("", response_model=list[UnitPublic], summary="单位列表")
def list_units(user: CurrentUser, store: StoreDep) -> list[dict]:
    return store.list_units()


@router.post("", status_code=201, response_model=UnitPublic, summary="新增单位（管理员）")
def add_unit(body: UnitCreate, admin: AdminUser, store: StoreDep) -> dict:
    return store.add_unit(body.name, level=body.level, parent=body.parent, actor=admin)
