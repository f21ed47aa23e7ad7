"""Units and users (what /units, /users and the `user` of /auth return)."""
from typing import Literal

from cases import LEVELS, ROLES

from api.schemas.base import Public, Timestamp

UserRole = Literal[ROLES]  # officer, recorder, supervisor, prosecutor, admin
UnitLevel = Literal[LEVELS]  # city, centre, unit


class UnitPublic(Public):
    id: int
    name: str
    level: UnitLevel
    parent: str | None  # a centre's city bureau, a unit's centre; none for a city
    created_at: Timestamp


class UserPublic(Public):
    """A user as anyone logged in may see them (Account.public())."""

    name: str
    display_name: str
    role: UserRole
    unit: str
    unit_level: UnitLevel


class UserAccount(UserPublic):
    """A user as an administrator lists them."""

    active: bool
    created_at: Timestamp


class LoginLock(Public):
    """A held count of failed logins (GET /users/login-locks)."""

    name: str  # the account tried (or a name that is no account)
    address: str | None  # none: the whole account is held, from every address
    failures: int
    wait_s: float  # seconds left


class UserUnlocked(Public):
    name: str
    counts_cleared: int  # 0: the account was not held
