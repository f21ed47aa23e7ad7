"""结束录音 asked on a node that does not record the session, carried to the node that does through Redis
(BILU_BROKER_URL).

The asking node (after its own authorization) puts a request on the session's list `bilu:session:<id>:stop` and
waits on a reply list of its own. The recording node (`StopListener`, one thread per service) pops the requests of
the sessions it records, answers "taken" at once, then stops the session through the same path as a local request
(engine/rooms.py stop_recording: the same audit entry, with the account that asked as its actor) and answers
whether it stopped it.

Never a stop claimed that did not happen, nor a stop lost: a request not taken within a few seconds is taken back
(LREM: it is removed, so no node will act on it later, and the asker says the recording node did not answer); one
that LREM no longer finds was taken, so the asker waits for its outcome. A lost Redis, or a recording node that
took the request and then said nothing, is a 503 that says the outcome is not known.
"""
import dataclasses
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable

from cases import Account
from error_kinds import Unavailable

from engine.live_events import channel_of, describe_url, redis_client

log = logging.getLogger(__name__)

TAKEN_WITHIN_S = 5.0  # a recording node pops a request within about a second: this is "does not answer"
STOPPED_WITHIN_S = 180.0  # the local stop waits up to 120 s for the last words; the agent sends its rest first
_POP_S = 1.0  # below the client's 5 s socket timeout: every blocking read returns in time
_KEEP_S = 60  # a request or reply nobody reads is gone after this long


class RemoteStopUnavailable(Unavailable):
    """The stop could not be carried to the recording node, or its outcome is not known (503)."""

    code = "remote_stop_unavailable"


def stop_key(session_id: int) -> str:
    return f"{channel_of(session_id)}:stop"


def reply_key(request_id: str) -> str:
    return f"bilu:stop-reply:{request_id}"


def ask_stop(url: str, session_id: int, actor: Account, *, taken_within_s: float = TAKEN_WITHIN_S,
             stopped_within_s: float = STOPPED_WITHIN_S) -> bool:
    """Ask the node that records `session_id` to stop it as `actor`; True once it has, False if that node says it
    is not recording it. Raises RemoteStopUnavailable (see the module's docstring)."""
    request_id = uuid.uuid4().hex
    payload = json.dumps({"id": request_id, "session_id": session_id, "actor": dataclasses.asdict(actor)},
                         ensure_ascii=False)
    client = redis_client(url)
    try:
        try:
            pipe = client.pipeline(transaction=True)
            pipe.rpush(stop_key(session_id), payload)
            pipe.expire(stop_key(session_id), _KEEP_S)
            pipe.execute()
            reply = _reply(client, request_id, taken_within_s)
            if reply is None:
                if client.lrem(stop_key(session_id), 0, payload):  # taken back: no node will act on it now
                    raise RemoteStopUnavailable(
                        f"session {session_id}: no node took the stop within {taken_within_s:g} s (the node "
                        "recording it is down or not connected to Redis); the recording was not stopped",
                        zh="正在录音的服务器没有回应，录音未结束：请稍后重试，或在审讯室终端上结束录音")
                reply = _reply(client, request_id, stopped_within_s)  # LREM found it gone: it was just taken
            if reply is not None and reply.get("taken"):  # taken: now its outcome
                reply = _reply(client, request_id, stopped_within_s)
        except RemoteStopUnavailable:
            raise
        except Exception as exc:  # redis.RedisError, or an OSError under it
            raise RemoteStopUnavailable(
                f"session {session_id} is recorded on another node and Redis ({describe_url(url)}) cannot be reached "
                f"({type(exc).__name__}): whether it stopped is not known", zh="消息服务器连接不上，无法确认录音是否已"
                "结束：请刷新页面查看，必要时重试") from exc
        if reply is None:
            raise RemoteStopUnavailable(
                f"session {session_id}: the recording node took the stop but did not say it was done",
                zh="正在录音的服务器已收到结束请求，但没有确认录音已结束：请刷新页面查看")
        return bool(reply["stopped"])
    finally:
        client.close()


def _reply(client, request_id: str, within_s: float) -> dict | None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        popped = client.blpop([reply_key(request_id)], timeout=min(_POP_S, max(0.01, deadline - time.monotonic())))
        if popped is not None:
            return json.loads(popped[1])
    return None


class StopListener:
    """On the recording node: takes the stop requests of the sessions `held()` lists and runs `stop(session_id,
    actor)` (True if it stopped it) for each, in a thread of its own so that a long stop holds up no other."""

    def __init__(self, url: str, *, held: Callable[[], list[int]], stop: Callable[[int, Account], bool]):
        self.url, self._held, self._stop = url, held, stop
        self._client = redis_client(url)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._work, name="stop-requests", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(_POP_S + 5)

    def _work(self) -> None:
        reachable = True
        while not self._closed.is_set():
            session_ids = self._held()
            if not session_ids:
                self._closed.wait(0.5)
                continue
            try:
                popped = self._client.blpop([stop_key(i) for i in session_ids], timeout=_POP_S)
            except Exception as exc:  # Redis lost: requests wait in it (or are taken back by their askers)
                if reachable:
                    log.warning("stop requests: Redis at %s cannot be reached (%s)", describe_url(self.url),
                                type(exc).__name__)
                reachable = False
                self._closed.wait(2.0)
                continue
            reachable = True
            if popped is not None:
                request = json.loads(popped[1])
                self._answer(request["id"], {"taken": True})
                threading.Thread(target=self._run, args=(request,), name="stop-request", daemon=True).start()

    def _run(self, request: dict) -> None:
        session_id = request["session_id"]
        try:
            stopped = self._stop(session_id, Account(**request["actor"]))
        except Exception:
            log.exception("session %s: the stop asked on another node failed", session_id)
            return  # no outcome: the asker says it is not known
        self._answer(request["id"], {"stopped": stopped})

    def _answer(self, request_id: str, reply: dict) -> None:
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.rpush(reply_key(request_id), json.dumps(reply))
            pipe.expire(reply_key(request_id), _KEEP_S)
            pipe.execute()
        except Exception as exc:
            log.warning("stop requests: the answer could not be sent (%s)", type(exc).__name__)
