"""Secrets of the web login: the signing key, the signed session cookie, the CSRF token, the login throttle's policy.

The cookie holds a random session token (kept in the store only as its sha256), signed with the service's
key so that a forged or altered cookie is refused before the database is asked. The CSRF token is derived
from the session token with the key (HMAC): the page sends it back in the X-CSRF-Token header (or a
`csrf_token` form field) on every unsafe request, which another site cannot read or forge.
"""
import hashlib
import hmac
import ipaddress
import logging
import math
import os
import secrets
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from cases.login_throttle import ThrottlePolicy
from engine.settings import Settings

log = logging.getLogger(__name__)

SESSION_COOKIE = "bilu_session"
CSRF_COOKIE = "bilu_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SECRET_FILE = "secret_key"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def load_secret_key(settings: Settings) -> bytes:
    """BILU_SECRET_KEY, else the key in BILU_HOME/secret_key, generated (mode 0600) the first time."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode("utf-8")
    path = Path(settings.home) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written whole under a private name, then linked into place: service nodes sharing BILU_HOME that start
        # together never read a half-written key, and all end up with the one that was linked first.
        draft = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(32))
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(draft, path)
            log.info("generated the service's signing key in %s", path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="ascii").strip().encode("ascii")


class CookieSigner:
    def __init__(self, key: bytes, *, max_age_s: int) -> None:
        self._signer = TimestampSigner(key, salt="bilu-session")
        self._key = key
        self.max_age_s = max_age_s

    def sign(self, session_token: str) -> str:
        return self._signer.sign(session_token).decode("ascii")

    def unsign(self, cookie: str) -> str | None:
        try:
            return self._signer.unsign(cookie, max_age=self.max_age_s).decode("ascii")
        except (BadSignature, SignatureExpired, UnicodeDecodeError):
            return None

    def csrf_token(self, session_token: str) -> str:
        return hmac.new(self._key, b"csrf:" + session_token.encode("ascii"), hashlib.sha256).hexdigest()

    def csrf_matches(self, session_token: str, given: str | None) -> bool:
        return isinstance(given, str) and hmac.compare_digest(self.csrf_token(session_token), given)


def cookie_secure(settings: Settings, *, scheme: str, host: str | None) -> bool:
    """Secure unless configured otherwise, or the page came over plain http to a loopback address (where a
    browser would otherwise drop the cookie of `make run` on http://127.0.0.1)."""
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    if scheme == "https":
        return True
    return not _is_loopback(host)


def _is_loopback(host: str | None) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address((host or "").strip("[]")).is_loopback
    except ValueError:
        return False


def throttle_policy(settings: Settings) -> ThrottlePolicy:
    """How failed logins are held (cases/login_throttle.py keeps the counts, in the database)."""
    return ThrottlePolicy(free_failures=settings.login_max_failures,
                          account_free_failures=settings.login_account_max_failures,
                          first_delay_s=settings.login_delay_s, max_delay_s=settings.login_max_delay_s,
                          window_s=settings.login_window_s)


def zh_wait(seconds: float) -> str:
    """A wait as a person reads it: 30 秒, 2 分钟, 1 小时 5 分钟 (rounded up: never shorter than it is)."""
    total = max(1, math.ceil(seconds))
    if total < 60:
        return f"{total} 秒"
    minutes = math.ceil(total / 60)
    if minutes < 60:
        return f"{minutes} 分钟"
    return f"{minutes // 60} 小时" + (f" {minutes % 60} 分钟" if minutes % 60 else "")
