"""User accounts: administrators add users, change roles and units, reset passwords, assign prosecutors."""
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from cases import Scope

from api.access import AdminUser, VisibleCase
from api.deps import StoreDep
from api.schemas import CasePublic, LoginLock, UserAccount, UserPublic, UserUnlocked

router = APIRouter(tags=["users"])

Role = Literal["officer", "recorder", "supervisor", "prosecutor", "admin"]


class UserCreate(BaseModel):
    name: str = Field(..., min_length=1, max_length=64)
    role: Role
    unit: str
    password: str = Field(..., min_length=8, max_length=256, json_schema_extra={"format": "password"})
    display_name: str | None = Field(None, max_length=64)


class UserUpdate(BaseModel):
    role: Role | None = None
    unit: str | None = None
    display_name: str | None = Field(None, max_length=64)
    active: bool | None = None
    password: str | None = Field(None, min_length=8, max_length=256, json_schema_extra={"format": "password"})


class CaseUnit(BaseModel):
    unit: str


@router.get("/users", tags=["users"], response_model=list[UserAccount], summary="用户列表（管理员）")
def list_users(admin: AdminUser, store: StoreDep) -> list[dict]:
    return store.list_users()


@router.post("/users", status_code=201, response_model=UserPublic, summary="新增用户（管理员）")
def add_user(body: UserCreate, admin: AdminUser, store: StoreDep) -> dict:
    account = store.add_user(body.name, role=body.role, unit=body.unit, password=body.password,
                             display_name=body.display_name, actor=admin)
    return account.public()


@router.patch("/users/{name}", response_model=UserPublic, summary="修改用户的角色、单位、姓名、密码或停用（管理员）")
def update_user(name: str, body: UserUpdate, admin: AdminUser, store: StoreDep) -> dict:
    account = store.update_user(name, **body.model_dump(exclude_unset=True), actor=admin)
    return account.public()


@router.get("/users/login-locks", response_model=list[LoginLock], summary="正在暂停登录的账号（按账号或按账号与地址）")
def login_locks(admin: AdminUser, store: StoreDep) -> list[dict]:
    """Each held count: the account, the address (null: the whole account), failures, seconds left."""
    return store.login_locks()


@router.post("/users/{name}/unlock", response_model=UserUnlocked, summary="解除账号的登录暂停（所有地址），记入审计")
def unlock_user(name: str, admin: AdminUser, store: StoreDep) -> dict:
    """Forget the account's failed logins from every address, so it may log in at once."""
    cleared = store.unlock_user(name, actor=admin)
    return {"name": name, "counts_cleared": cleared}


@router.put("/cases/{case_no}/unit", tags=["cases"], response_model=CasePublic, summary="把案件移到另一单位（管理员）")
def move_case(case_no: str, body: CaseUnit, admin: AdminUser, store: StoreDep) -> dict:
    store.set_case_unit(case_no, body.unit, actor=admin)
    return store.case_in_scope(case_no, Scope("all"))  # an administrator sees every case


@router.put("/cases/{case_no}/prosecutors/{user_name}", status_code=204, tags=["cases"], summary="指派检察官查阅案件（管理员）")
def assign_prosecutor(case_no: str, user_name: str, admin: AdminUser, store: StoreDep) -> Response:
    store.assign_case(case_no, user_name, actor=admin)
    return Response(status_code=204)


@router.delete("/cases/{case_no}/prosecutors/{user_name}", status_code=204, tags=["cases"], summary="取消检察官的查阅指派（管理员）")
def unassign_prosecutor(case_no: str, user_name: str, admin: AdminUser, store: StoreDep) -> Response:
    store.unassign_case(case_no, user_name, actor=admin)
    return Response(status_code=204)


@router.get("/cases/{case_no}/prosecutors", tags=["cases"], response_model=list[str], summary="可查阅本案的检察官")
def case_prosecutors(case: VisibleCase, store: StoreDep) -> list[str]:
    return store.case_prosecutors(case["case_no"])

