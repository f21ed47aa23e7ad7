"""Who opened a WebSocket: a bearer token (header, or `?token=` since browsers cannot set WebSocket headers),
or the page's session cookie, accepted only from a page of this same site (no cross-site WebSocket hijacking).
"""
from urllib.parse import urlparse

from fastapi import WebSocket

from cases import Account

from api.access import signer_of
from api.security import SESSION_COOKIE


def websocket_account(websocket: WebSocket) -> Account | None:
    settings = websocket.app.state.settings
    with settings.open_store() as store:
        header = websocket.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else websocket.query_params.get("token")
        if token:
            found = store.account_for_token(token, kind="api")
            return found[0] if found else None
        cookie = websocket.cookies.get(SESSION_COOKIE)
        if cookie is None or not _same_origin(websocket):
            return None
        session_token = signer_of(websocket).unsign(cookie)
        found = store.account_for_token(session_token, kind="session") if session_token else None
        return found[0] if found else None


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:  # not a browser: no cookie-riding page can be behind it
        return True
    return urlparse(origin).netloc == websocket.headers.get("host")
