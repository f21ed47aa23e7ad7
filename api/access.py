"""Who is asking, and what they may reach: the access rules as FastAPI dependencies, declared on routes.

- `Auth` / `CurrentUser`: a logged-in user, by bearer token (API) or signed session cookie (pages);
  401 otherwise. A cookie session must send its CSRF token on every unsafe method (403 without it).
- `VisibleSession`, `VisibleCase`: the session or case, if the user may see it; otherwise 404 with the
  same message as for one that does not exist (never revealing that it does).
- `CorrectableSession`: visible, and the user's role may correct (403 for a prosecutor).
- `AdminUser`: administrators only (403).
- `PageUser`: like CurrentUser, but a page sends a logged-out browser to the login form.
"""
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request

from cases import Account, Scope, may_administer, may_correct, scope_of

from api.deps import StoreDep
from api.security import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, UNSAFE_METHODS, CookieSigner


@dataclass(frozen=True, slots=True)
class Authenticated:
    account: Account
    via: Literal["bearer", "cookie"]
    token_id: int
    session_token: str | None = None  # the cookie's token (for logout and the CSRF token)


class LoginRequired(Exception):
    """Raised for a page asked for without a login: answered with a redirect to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def signer_of(request: Request) -> CookieSigner:
    return request.app.state.cookie_signer


async def optional_auth(request: Request, store: StoreDep) -> Authenticated | None:
    """The caller's login, or None if they sent no credentials at all (bad ones get 401)."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        found = store.account_for_token(token.strip(), kind="api") if scheme.lower() == "bearer" else None
        if found is None:
            raise HTTPException(401, "the bearer token is not valid (unknown, expired or revoked)",
                                headers={"WWW-Authenticate": "Bearer"})
        return Authenticated(found[0], "bearer", found[1])
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        return None
    signer = signer_of(request)
    session_token = signer.unsign(cookie)
    found = store.account_for_token(session_token, kind="session") if session_token else None
    if found is None:
        return None  # an expired or stale cookie is the same as none: log in again
    if request.method in UNSAFE_METHODS:
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            given = (await request.form()).get(CSRF_FIELD)
        if not signer.csrf_matches(session_token, given if isinstance(given, str) else None):
            raise HTTPException(403, f"missing or wrong CSRF token: send the {CSRF_HEADER} header (or the "
                                     f"{CSRF_FIELD} form field) given at login")
    return Authenticated(found[0], "cookie", found[1], session_token)


def require_login(auth: Annotated[Authenticated | None, Depends(optional_auth)]) -> Authenticated:
    if auth is None:
        raise HTTPException(401, "log in first (POST /auth/login) or send a bearer token",
                            headers={"WWW-Authenticate": "Bearer"})
    return auth


Auth = Annotated[Authenticated, Depends(require_login)]
OptionalAuth = Annotated[Authenticated | None, Depends(optional_auth)]


def current_user(auth: Auth) -> Account:
    return auth.account


CurrentUser = Annotated[Account, Depends(current_user)]


def current_scope(user: CurrentUser) -> Scope:
    return scope_of(user)


UserScope = Annotated[Scope, Depends(current_scope)]


def admin_user(user: CurrentUser) -> Account:
    if not may_administer(user):
        raise HTTPException(403, "only an administrator may manage units, users and case assignments")
    return user


AdminUser = Annotated[Account, Depends(admin_user)]


def visible_session(session_id: int, scope: UserScope, store: StoreDep) -> int:
    store.require_session_in_scope(session_id, scope)
    return session_id


VisibleSession = Annotated[int, Depends(visible_session)]


def correctable_session(session_id: VisibleSession, user: CurrentUser) -> int:
    if not may_correct(user):
        raise HTTPException(403, f"a {user.role} may read this transcript but not correct it")
    return session_id


CorrectableSession = Annotated[int, Depends(correctable_session)]

# Who may withdraw a wrong upload: someone who answers for others' work, not the officer who uploaded it.
WITHDRAWING_ROLES = ("supervisor", "admin")


def may_withdraw(user: Account) -> bool:
    return user.role in WITHDRAWING_ROLES


def withdrawable_session(session_id: VisibleSession, user: CurrentUser) -> int:
    if not may_withdraw(user):
        raise HTTPException(403, f"a {user.role} may not withdraw an upload: a supervisor or an administrator may")
    return session_id


WithdrawableSession = Annotated[int, Depends(withdrawable_session)]


def visible_case(case_no: str, scope: UserScope, store: StoreDep) -> dict:
    return store.case_in_scope(case_no, scope)


VisibleCase = Annotated[dict, Depends(visible_case)]


async def page_user(request: Request, store: StoreDep) -> Account:
    auth = await optional_auth(request, store)
    if auth is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return auth.account


PageUser = Annotated[Account, Depends(page_user)]


def login_url(next_path: str) -> str:
    return f"/login?next={quote(next_path, safe='')}"


