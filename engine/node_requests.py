"""One service node asks the node that holds something (a recording, a room's agent) to act on it, through Redis
(BILU_BROKER_URL), and hears whether it was done: the shape 结束录音 (engine/remote_stop.py) and 开始录音
(agent/remote_start.py) from any node share.

The asking node (after its own authorization) puts the request on a list key named after what it is about, and
waits on a reply list of its own (engine/redis_keys.py). The holding node (`RequestListener`, one thread per
service) pops the requests of what it holds, answers "taken" at once, runs the request through the same path as a
local one, in a thread of its own, and answers its outcome.

Never an outcome claimed that did not happen, nor a request lost: a request not taken within a few seconds is
taken back (LREM: it is removed, so no node will act on it later: `NotTaken`); one that LREM no longer finds was
taken, so the asker waits for its outcome. A lost Redis (`RedisLost`), or a holding node that took the request and
then said nothing (`NoOutcome`), leaves the outcome not known. Each caller says what those mean in its own words.
"""
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable

from engine.live_events import describe_url, redis_client
from engine.redis_keys import reply_key

log = logging.getLogger(__name__)

TAKEN_WITHIN_S = 5.0  # a holding node pops a request within about a second: this is "does not answer"
_POP_S = 1.0  # below the client's 5 s socket timeout: every blocking read returns in time
_KEEP_S = 60  # a request or reply nobody reads is gone after this long


class NotTaken(Exception):
    """No node took the request within the time; it was taken back, so it is not done and never will be."""


class NoOutcome(Exception):
    """A node took the request but gave no outcome within the time: whether it was done is not known."""


class RedisLost(Exception):
    """Redis could not be reached while asking: whether the request was done is not known."""


def ask(url: str, key: str, request: dict, *, taken_within_s: float = TAKEN_WITHIN_S, done_within_s: float) -> dict:
    """Put `request` (JSON) on `key` and return the outcome the holding node answers. Raises NotTaken, NoOutcome or
    RedisLost (see the module's docstring)."""
    request_id = uuid.uuid4().hex
    payload = json.dumps({"id": request_id, **request}, ensure_ascii=False)
    client = redis_client(url)
    try:
        pipe = client.pipeline(transaction=True)
        pipe.rpush(key, payload)
        pipe.expire(key, _KEEP_S)
        pipe.execute()
        reply = _reply(client, request_id, taken_within_s)
        if reply is None:
            if client.lrem(key, 0, payload):  # taken back: no node will act on it now
                raise NotTaken(f"{key}: no node took the request within {taken_within_s:g} s")
            reply = _reply(client, request_id, done_within_s)  # LREM found it gone: it was just taken
        if reply is not None and reply.get("taken"):  # taken: now its outcome
            reply = _reply(client, request_id, done_within_s)
    except NotTaken:
        raise
    except Exception as exc:  # redis.RedisError, or an OSError under it
        raise RedisLost(f"Redis ({describe_url(url)}) cannot be reached ({type(exc).__name__})") from exc
    finally:
        client.close()
    if reply is None:
        raise NoOutcome(f"{key}: the node that took the request did not answer within {done_within_s:g} s")
    return reply


def _reply(client, request_id: str, within_s: float) -> dict | None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        popped = client.blpop([reply_key(request_id)], timeout=min(_POP_S, max(0.01, deadline - time.monotonic())))
        if popped is not None:
            return json.loads(popped[1])
    return None


class RequestListener:
    """On the holding node: takes the requests on the keys `keys()` lists (those of what this node holds now) and
    answers each with `handle(request)`, in a thread of its own so that a long one holds up no other. A handler
    that raises gives no outcome (the asker says it is not known); one that refuses returns that as its outcome."""

    def __init__(self, url: str, *, name: str, keys: Callable[[], list[str]], handle: Callable[[dict], dict]):
        self.url, self.name, self._keys, self._handle = url, name, keys, handle
        self._client = redis_client(url)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(_POP_S + 5)

    def _work(self) -> None:
        reachable = True
        while not self._closed.is_set():
            keys = self._keys()
            if not keys:
                self._closed.wait(0.5)
                continue
            try:
                popped = self._client.blpop(keys, timeout=_POP_S)
            except Exception as exc:  # Redis lost: requests wait in it (or are taken back by their askers)
                if reachable:
                    log.warning("%s: Redis at %s cannot be reached (%s)", self.name, describe_url(self.url),
                                type(exc).__name__)
                reachable = False
                self._closed.wait(2.0)
                continue
            reachable = True
            if popped is not None:
                request = json.loads(popped[1])
                self._answer(request["id"], {"taken": True})
                threading.Thread(target=self._run, args=(request,), name=f"{self.name}-one", daemon=True).start()

    def _run(self, request: dict) -> None:
        try:
            outcome = self._handle(request)
        except Exception:
            log.exception("%s: a request asked on another node failed", self.name)
            return  # no outcome: the asker says it is not known
        self._answer(request["id"], outcome)

    def _answer(self, request_id: str, reply: dict) -> None:
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.rpush(reply_key(request_id), json.dumps(reply, ensure_ascii=False))
            pipe.expire(reply_key(request_id), _KEEP_S)
            pipe.execute()
        except Exception as exc:
            log.warning("%s: the answer could not be sent (%s)", self.name, type(exc).__name__)


__all__ = ["NoOutcome", "NotTaken", "RedisLost", "RequestListener", "TAKEN_WITHIN_S", "ask"]
