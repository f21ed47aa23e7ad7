"""Secrets of the web login: the signing key, the signed session cookie, the CSRF token, login throttling.

The cookie holds a random session token (kept in the store only as its sha256), signed with the service's
key so that a forged or altered cookie is refused before the database is asked. The CSRF token is derived
from the session token with the key (HMAC): the page sends it back in the X-CSRF-Token header (or a
`csrf_token` form field) on every unsafe request, which another site cannot read or forge.
"""
import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import threading
import time
from collections import deque
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

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
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip().encode("ascii")
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(secrets.token_hex(32))
    log.info("generated the service's signing key in %s", path)
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


class LoginThrottle:
    """Counts failed logins per key ("user:NAME", "addr:IP") in a sliding window; at the limit, 429.

    Kept in memory: one `bilu serve` process answers every login; a restart forgets the counts.
    """

    MAX_KEYS = 100_000

    def __init__(self, *, max_failures: int, window_s: float) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after_s(self, keys: list[str]) -> int | None:
        """Seconds to wait if any key is at the limit, else None."""
        now = time.monotonic()
        with self._lock:
            waits = []
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= self.max_failures:
                    waits.append(times[0] + self.window_s - now)
        return max(1, int(max(waits)) + 1) if waits else None

    def failed(self, keys: list[str]) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= self.MAX_KEYS:
                self._failures.clear()  # a flood of names: forget rather than grow without bound
            for key in keys:
                self._failures.setdefault(key, deque(maxlen=self.max_failures)).append(now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times
