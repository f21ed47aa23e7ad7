"""开始录音 for a standing-by room agent from any service node (BILU_BROKER_URL): the node the page asks need not be
the node the agent is connected to.

The asking node authorizes as for a local start (api/routes/rooms.py), then looks where the agent stands by: here,
it starts the session itself (StreamReceiver.start_remote); on another node (as that node publishes its rooms,
engine/live_events.py), it asks that node through Redis, by the request and reply 结束录音 uses too
(engine/node_requests.py): the request goes on the room's list `bilu:room:<room>:start`, and the node holding the
agent (`StartListener`) starts the session exactly as a local start (the agent is told to start, its stream opens
the session, audited as started by the account that asked), then answers with the session's id. The page then
follows the session from whichever node it asked (live events cross nodes).

Never a start claimed that did not happen, nor one done twice: a request no node takes within a few seconds is
taken back (no node will act on it later) and answered 503; a holding node whose agent is gone by then answers
so (503 `agent_offline`, as on one node); a lost Redis, or a node that took the request and said nothing, is a 503
that says the outcome is not known (the page shows the room's session if it did start).
"""
import dataclasses

from cases import Account
from engine.live_events import EventRelay
from engine.node_requests import TAKEN_WITHIN_S, NoOutcome, NotTaken, RedisLost, RequestListener, ask
from engine.redis_keys import start_key
from error_kinds import Unavailable

from agent.receiver import AgentOffline, StreamReceiver

STARTED_WITHIN_S = 75.0  # start_remote: up to 5 s to tell the agent, then up to 60 s for its stream to open it


class RemoteStartUnavailable(Unavailable):
    """The start could not be carried to the node that holds the room's agent, or its outcome is not known (503)."""

    code = "remote_start_unavailable"


def start_agent_recording(receiver: StreamReceiver, relay: EventRelay | None, broker_url: str | None, room: str,
                          start: dict) -> int:
    """Start a session in `room` through its standing-by agent, on this node or the one that holds the agent
    (`start`: as StreamReceiver.start_remote takes it); the session's id. Raises AgentOffline when no node holds
    the agent standing by, LiveEventsUnavailable when where it stands by cannot be read (Redis lost), and
    RemoteStartUnavailable (see the module's docstring)."""
    if relay is None or broker_url is None or receiver.agent_standing_by(room):
        return receiver.start_remote(room, start)
    elsewhere = relay.room_states([room]).get(room)
    if elsewhere is None or elsewhere["agent"] != "standing_by":
        return receiver.start_remote(room, start)  # connected nowhere, or recording: refused as on one node
    return ask_start(broker_url, room, start)


def ask_start(url: str, room: str, start: dict, *, taken_within_s: float = TAKEN_WITHIN_S,
              started_within_s: float = STARTED_WITHIN_S) -> int:
    """Ask the node that holds `room`'s standing-by agent to start `start`; the session's id."""
    request = {"room": room, "start": {**start, "actor": dataclasses.asdict(start["actor"]),
                                       "conditions": list(start.get("conditions") or ())}}
    try:
        reply = ask(url, start_key(room), request, taken_within_s=taken_within_s, done_within_s=started_within_s)
    except NotTaken as exc:
        raise RemoteStartUnavailable(
            f"room {room}: no node took the start (the node its agent is connected to is down or not connected to "
            "Redis); no recording was started",
            zh=f"审讯室 {room} 的终端所连接的服务器没有回应，未开始录音：请稍后重试") from exc
    except RedisLost as exc:
        raise RemoteStartUnavailable(
            f"room {room}: its agent is connected to another node and {exc}: whether it started is not known",
            zh=f"消息服务器连接不上，无法确认审讯室 {room} 是否已开始录音：请刷新页面查看，必要时重试") from exc
    except NoOutcome as exc:
        raise RemoteStartUnavailable(
            f"room {room}: the node its agent is connected to took the start but did not say whether it started",
            zh=f"审讯室 {room} 的终端所连接的服务器已收到开始请求，但没有确认是否已开始录音：请刷新页面查看") from exc
    if "session_id" not in reply:
        raise AgentOffline(reply["offline"], zh=reply.get("zh"))
    return int(reply["session_id"])


class StartListener(RequestListener):
    """On each node (with BILU_BROKER_URL): takes the start requests of the rooms whose agents stand by here and
    starts each as a local start; answers the session's id, or that the agent is gone."""

    def __init__(self, url: str, receiver: StreamReceiver):
        super().__init__(url, name="start-requests",
                         keys=lambda: [start_key(room) for room in receiver.standing_by_rooms()],
                         handle=lambda request: _start_here(receiver, request))


def _start_here(receiver: StreamReceiver, request: dict) -> dict:
    start = {**request["start"], "actor": Account(**request["start"]["actor"]),
             "conditions": tuple(request["start"]["conditions"])}
    try:
        return {"session_id": receiver.start_remote(request["room"], start)}
    except AgentOffline as exc:  # gone since it was published, or it did not start: the asker says so
        return {"offline": str(exc), "zh": exc.zh}


__all__ = ["RemoteStartUnavailable", "StartListener", "ask_start", "start_agent_recording"]
