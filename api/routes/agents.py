"""Room agents stream here: `/agents/stream?room=NAME` (WebSocket, the protocol in agent/protocol.py).

The room's token (`bilu rooms token NAME`) comes as `Authorization: Bearer`; it lets its agent stream its own
room and nothing else. A missing, unknown, replaced or revoked token is refused (close code 4401), another
room's token too (4403); every connection and refusal is audited (never the token).
"""
from fastapi import APIRouter, WebSocket


from agent.protocol import REFUSED_ROOM, REFUSED_TOKEN, STREAM_PATH

router = APIRouter(tags=["rooms"])


@router.websocket(STREAM_PATH)
async def agent_stream(websocket: WebSocket, room: str = "") -> None:
    """A room agent's recording: audio in, acknowledgements out."""
    app = websocket.app
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    await websocket.accept()
    with app.state.settings.open_store() as store:
        found = store.room_for_token(token) if token else None
        if found is None or found["name"] != room:
            reason = "no token" if not token else "unknown or revoked token" if found is None else "another room's token"
            store.record_audit(f"agent:{room[:40] or '?'}", "agent.refused", detail={"room": room[:64], "reason": reason})
            code = REFUSED_ROOM if found is not None else REFUSED_TOKEN
            message = "此令牌属于其他审讯室" if found is not None else "审讯室令牌无效或已被吊销"
            await websocket.send_json({"type": "error", "message": f"{message} ({reason})"})
            await websocket.close(code=code, reason=reason)
            return
        store.record_audit(f"agent:{room}", "agent.connected", detail={"room": room})
    await app.state.agent_streams.serve(websocket, found)
