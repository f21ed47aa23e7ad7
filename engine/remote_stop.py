"""结束录音 asked on a node that does not record the session, carried to the node that does through Redis
(BILU_BROKER_URL), by the request and reply both nodes share (engine/node_requests.py).

The asking node (after its own authorization) puts the request on the session's list `bilu:session:<id>:stop`.
The recording node (`StopListener`, one thread per service) takes the requests of the sessions it records and stops
each through the same path as a local request (engine/rooms.py stop_recording: the same audit entry, with the
account that asked as its actor), then answers whether it stopped it.

Never a stop claimed that did not happen, nor a stop lost: a request not taken within a few seconds is taken back
(no node will act on it later, and the asker says the recording node did not answer). A lost Redis, or a recording
node that took the request and then said nothing, is a 503 that says the outcome is not known.
"""
import dataclasses
from collections.abc import Callable

from cases import Account
from error_kinds import Unavailable

from engine.node_requests import TAKEN_WITHIN_S, NoOutcome, NotTaken, RedisLost, RequestListener, ask
from engine.redis_keys import stop_key

STOPPED_WITHIN_S = 180.0  # the local stop waits up to 120 s for the last words; the agent sends its rest first


class RemoteStopUnavailable(Unavailable):
    """The stop could not be carried to the recording node, or its outcome is not known (503)."""

    code = "remote_stop_unavailable"


def ask_stop(url: str, session_id: int, actor: Account, *, taken_within_s: float = TAKEN_WITHIN_S,
             stopped_within_s: float = STOPPED_WITHIN_S) -> bool:
    """Ask the node that records `session_id` to stop it as `actor`; True once it has, False if that node says it
    is not recording it. Raises RemoteStopUnavailable (see the module's docstring)."""
    try:
        reply = ask(url, stop_key(session_id), {"session_id": session_id, "actor": dataclasses.asdict(actor)},
                    taken_within_s=taken_within_s, done_within_s=stopped_within_s)
    except NotTaken as exc:
        raise RemoteStopUnavailable(
            f"session {session_id}: no node took the stop within {taken_within_s:g} s (the node recording it is "
            "down or not connected to Redis); the recording was not stopped",
            zh="正在录音的服务器没有回应，录音未结束：请稍后重试，或在审讯室终端上结束录音") from exc
    except RedisLost as exc:
        raise RemoteStopUnavailable(
            f"session {session_id} is recorded on another node and {exc}: whether it stopped is not known",
            zh="消息服务器连接不上，无法确认录音是否已结束：请刷新页面查看，必要时重试") from exc
    except NoOutcome as exc:
        raise RemoteStopUnavailable(
            f"session {session_id}: the recording node took the stop but did not say it was done",
            zh="正在录音的服务器已收到结束请求，但没有确认录音已结束：请刷新页面查看") from exc
    return bool(reply["stopped"])


class StopListener(RequestListener):
    """On the recording node: takes the stop requests of the sessions `held()` lists and runs `stop(session_id,
    actor)` (True if it stopped it) for each."""

    def __init__(self, url: str, *, held: Callable[[], list[int]], stop: Callable[[int, Account], bool]):
        super().__init__(url, name="stop-requests", keys=lambda: [stop_key(i) for i in held()],
                         handle=lambda request: {"stopped": stop(request["session_id"], Account(**request["actor"]))})


__all__ = ["RemoteStopUnavailable", "StopListener", "ask_stop", "stop_key"]
