"""Logging in and out: the login form, session cookies for the pages, bearer tokens for the API."""
import asyncio
import logging
import math

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from cases import Account, LoginWait

from api.access import Auth, OptionalAuth, signer_of
from api.deps import SettingsDep, StoreDep
from api.schemas import LoginPublic, MePublic, TokenIssued, TokenPublic
from api.security import CSRF_COOKIE, SESSION_COOKIE, cookie_secure, throttle_policy, zh_wait
from api.templating import render_page

log = logging.getLogger(__name__)

router = APIRouter(tags=["auth"])

_LOGIN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"type": "object", "required": ["name", "password"], "properties": {
                "name": {"type": "string"}, "password": {"type": "string", "format": "password"},
                "next": {"type": "string", "description": "form only: where to go after logging in"}}}}
            for media in ("application/json", "application/x-www-form-urlencoded")
        },
    }
}


class TokenRequest(BaseModel):
    name: str | None = Field(None, description="With password: log in and get a token in one step.")
    password: str | None = Field(None, json_schema_extra={"format": "password"})
    label: str | None = Field(None, max_length=100, description="What the token is for (shown in the list).")
    days: int | None = Field(None, ge=1, le=366, description="Lifetime; default BILU_TOKEN_DAYS.")


WRONG_PASSWORD = "用户名或密码错误"


class LoginHeld(HTTPException):
    """A login refused for now (429): too many failures for the account, from this address or from anywhere."""

    def __init__(self, wait: LoginWait) -> None:
        self.retry_after_s = max(1, math.ceil(wait.wait_s))
        super().__init__(429, held_message(wait), headers={"Retry-After": str(self.retry_after_s)})


def held_message(wait: LoginWait) -> str:
    if wait.whole_account:
        return (f"该账号登录失败次数过多，已暂停登录，请 {zh_wait(wait.wait_s)}后再试，"
                "或请管理员解锁（bilu users unlock 用户名）。")
    return (f"该账号在本机连续登录失败次数过多，请 {zh_wait(wait.wait_s)}后再试。"
            "其他电脑登录不受影响；管理员可立即解锁。")


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(settings: SettingsDep, next: str = "/", error: bool = False) -> HTMLResponse:
    return _login_form(settings, next, WRONG_PASSWORD if error else None)


@router.post("/auth/login", openapi_extra=_LOGIN_BODY, summary="登录：取得会话 Cookie（表单或 JSON）",
             response_model=LoginPublic, responses={
                 303: {"description": "表单登录：转到 `next`"},
                 429: {"description": "该账号（在本机或全部地址）登录失败次数过多：等待 Retry-After 秒"}})
async def login(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """JSON in, JSON out (`user`, `csrf_token`); a form posts back a redirect to `next`. Either way the
    signed session cookie is set. After repeated failures for an account from one address, or for the account
    from everywhere: 429 with Retry-After (the form shows the wait in Chinese)."""
    is_form = not request.headers.get("content-type", "").startswith("application/json")
    data = dict(await request.form()) if is_form else await _json_object(request)
    name, password = data.get("name"), data.get("password")
    next_path = _local_path(data.get("next"))
    if not isinstance(name, str) or not isinstance(password, str):
        raise HTTPException(422, "请填写用户名和密码（name, password）")
    try:
        account, started = await asyncio.to_thread(_checked_login, request, store, settings, name, password)
    except LoginHeld as held:
        if not is_form:
            raise
        return _login_form(settings, next_path, held.detail, status_code=429,
                           headers={"Retry-After": str(held.retry_after_s)})
    if account is None:
        # A failure that starts a wait says so at once, not only at the next try.
        message = WRONG_PASSWORD if started is None else f"{WRONG_PASSWORD}。{held_message(started)}"
        if is_form:
            return _login_form(settings, next_path, message, status_code=401)
        raise HTTPException(401, message)
    issued = store.issue_token(account, kind="session", lifetime_s=int(settings.session_hours * 3600),
                               via="form" if is_form else "json")  # its "auth.login" entry comes with the token
    signer = signer_of(request)
    csrf = signer.csrf_token(issued["token"])
    response: Response = RedirectResponse(next_path, status_code=303) if is_form else JSONResponse(
        {"user": account.public(), "csrf_token": csrf, "expires_at": issued["expires_at"]})
    secure = cookie_secure(settings, scheme=request.url.scheme, host=request.url.hostname)
    max_age = signer.max_age_s
    response.set_cookie(SESSION_COOKIE, signer.sign(issued["token"]), max_age=max_age, httponly=True,
                        secure=secure, samesite="lax", path="/")
    # Readable by the page's script, which sends it back in the X-CSRF-Token header.
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, httponly=False, secure=secure, samesite="strict",
                        path="/")
    return response


@router.post("/auth/logout", status_code=204, summary="退出本浏览器的登录（API 令牌仍有效）")
def logout(auth: Auth, store: StoreDep) -> Response:
    if auth.via == "cookie":
        store.revoke_token(auth.account, auth.token_id)  # a session token's revocation is audited as a logout
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=MePublic, summary="当前登录的用户")
def me(auth: Auth, request: Request) -> dict:
    """Who is logged in (and, for a cookie login, the CSRF token the page must send)."""
    body = {"user": auth.account.public(), "via": auth.via}
    if auth.session_token is not None:
        body["csrf_token"] = signer_of(request).csrf_token(auth.session_token)
    return body


@router.post("/auth/tokens",
             response_model=TokenIssued, summary="取得 API 令牌（已登录，或用用户名和密码）")
def create_token(body: TokenRequest, request: Request, auth: OptionalAuth, store: StoreDep,
                 settings: SettingsDep) -> dict:
    """The token is shown only here, once; the store keeps its sha256. Send it as `Authorization: Bearer`."""
    if body.name is not None or body.password is not None:
        account, started = _checked_login(request, store, settings, body.name or "", body.password or "")
        if account is None:
            raise HTTPException(401, WRONG_PASSWORD if started is None else f"{WRONG_PASSWORD}。{held_message(started)}")
    elif auth is not None:
        account = auth.account
    else:
        raise HTTPException(401, "log in first, or give name and password", headers={"WWW-Authenticate": "Bearer"})
    days = body.days or settings.token_days
    issued = store.issue_token(account, kind="api", lifetime_s=days * 24 * 3600, label=body.label)
    return issued


@router.get("/auth/tokens", response_model=list[TokenPublic], summary="本人的 API 令牌")
def list_tokens(auth: Auth, store: StoreDep) -> list[dict]:
    return store.list_tokens(auth.account)


@router.delete("/auth/tokens/{token_id}", status_code=204, summary="吊销一个 API 令牌")
def revoke_token(token_id: int, auth: Auth, store: StoreDep) -> Response:
    if not store.revoke_token(auth.account, token_id):
        raise HTTPException(404, f"you have no live token with id {token_id}")
    return Response(status_code=204)


def _checked_login(request: Request, store, settings, name: str, password: str
                   ) -> tuple[Account | None, LoginWait | None]:
    """The account for these credentials, counting failures per account and per (account, address);
    LoginHeld while either must wait (the password is not even checked then). For wrong credentials: no
    account, and the wait this failure starts, if it starts one."""
    address = request.client.host if request.client else "-"
    wait = store.login_wait(name, address)
    if wait is not None:
        raise LoginHeld(wait)
    account = store.authenticate(name, password)
    if account is None:
        started = store.record_login_failure(name, address, throttle_policy(settings), actor=f"anonymous:{address}")
        log.info("failed login from %s", address)
        return None, started
    store.clear_login_failures(name, address, actor=account)
    return account, None


async def _json_object(request: Request) -> dict:
    try:
        data = await request.json()
    except ValueError:
        raise HTTPException(422, "the body must be a JSON object with name and password") from None
    if not isinstance(data, dict):
        raise HTTPException(422, "the body must be a JSON object with name and password")
    return data


def _local_path(value: object) -> str:
    """Only a path on this site: an open redirect to another site would help a phishing page."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _login_form(settings, next_path: str, error: str | None, *, status_code: int = 200,
                headers: dict | None = None) -> HTMLResponse:
    response = render_page("login.html", status_code=status_code, user=None, error=error,
                           next_path=_local_path(next_path), free_failures=settings.login_max_failures,
                           first_wait=zh_wait(settings.login_delay_s))
    response.headers.update(headers or {})
    return response
