"""Live events across service nodes, through Redis (BILU_BROKER_URL): the node that records a session publishes
its events; any node serving the session's WebSocket (or its GET /sessions/{id}/live) follows them.

Publishing (`EventRelay`, one per service): every event of a recording goes on the channel `bilu:session:<id>`
(Redis pub/sub), and every one but tentative text and lines also onto the session's history (the list
`bilu:session:<id>:history`, for pages that join late: alerts, the checklist without its evidence quotes,
speakers, states: no transcript text stays in Redis). Every second each
recording's status (audio so far, the device, each seat's level) is written to `bilu:session:<id>:live`, kept
10 s: another node answers GET /sessions/{id}/live from it. All of this runs in a thread of its own: the recording
only puts an event on a queue, so a slow or lost Redis never holds it up. While Redis cannot be reached, events
are dropped (one WARNING when it is lost, one when it is back) and the recording goes on: the record is the store.

Following (`follow_remote`): subscribe to the channel first, then catch up (the history's events, then the
speakers and lines stored so far: lines are read from the store, never kept in Redis), then pass on what the
channel brings, skipping what the catch-up gave already (lines by id, other events by their sequence number).
Subscribing before reading is what leaves no gap: a line stored after the read is published after it, so it comes
on the channel. Every event carries its publisher's start (`run`) and a count (`seq`); a count that jumps (events
dropped while Redis was away), a new publisher (the recording taken up again after its node restarted) or a lost
subscription makes the follower catch up from the store again, so a page misses no line and sees none twice.
"""
import asyncio
import json
import logging
import queue
import re
import threading
import time
from collections.abc import AsyncIterator, Callable

from error_kinds import Unavailable

from engine.redis_keys import channel_of, history_key, room_key, status_key
from engine.settings import Settings

log = logging.getLogger(__name__)

ENDED_STATES = ("stopped", "interrupted", "done")  # a recording's last state: its followers are done
_NOT_KEPT = ("tentative", "utterance")  # tentative text goes stale; lines are in the store
_HISTORY_MAX = 5000  # events kept for late joiners (a long session's alerts and checklists fit many times over)
_HISTORY_KEEP_S = 24 * 3600  # renewed with each event: a recording abandoned by its node leaves nothing for long
_ENDED_KEEP_S = 600  # after the last state: a page opened just then still gets the end
_STATUS_EVERY_S = 1.0  # the live page polls its meters every second
_STATUS_KEEP_S = 10  # no status for this long: the recording is not running anywhere
_QUEUE_MAX = 10000
_RETRY_AFTER_S = 2.0  # a lost Redis is tried again this often (events meanwhile are dropped, not queued)
_IDLE_CHECK_S = 5.0  # a follower with nothing on its channel looks at the store this often (has it ended?)
_RESUBSCRIBE_S = 2.0


class LiveEventsUnavailable(Unavailable):
    """Redis (BILU_BROKER_URL) cannot be reached, so what another node records cannot be seen from here (503)."""

    code = "live_events_unavailable"


# Deletes a room's state only if this node wrote it: the room's agent may have moved to another node meanwhile.
_DELETE_IF_OURS = """local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v)['node'] == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0"""


def has_ended(message: dict) -> bool:
    return message["type"] == "state" and message.get("state") in ENDED_STATES


def describe_url(url: str) -> str:
    """The URL without its password, for logs."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


def redis_client(url: str, *, asynchronous: bool = False):
    """A client that gives up fast (one retry, 2 s to connect): events are live or not at all."""
    from redis.backoff import NoBackoff

    if asynchronous:
        import redis.asyncio as redis_module
        from redis.asyncio.retry import Retry
    else:
        import redis as redis_module
        from redis.retry import Retry
    return redis_module.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, retry=Retry(NoBackoff(), 1))


class EventRelay:
    """Publishes the events and statuses of the recordings of this process to Redis, from a thread of its own."""

    def __init__(self, url: str):
        self.url = url
        self._client = redis_client(url)
        self._queue: queue.Queue = queue.Queue(maxsize=_QUEUE_MAX)
        self._lock = threading.Lock()
        self._run = time.time_ns()  # later for a later process: a session taken up again counts afresh
        self._seq: dict[int, int] = {}
        self._statuses: dict[int, Callable[[], dict | None]] = {}
        self._rooms: Callable[[], dict[str, dict]] | None = None
        self._rooms_published: set[str] = set()
        self._reachable, self._retry_at, self._dropped = True, 0.0, 0
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="live-events", daemon=True)
        self._thread.start()

    def publish(self, message: dict) -> None:
        """Queue a session's event (never blocks, never raises: a recording calls it)."""
        session_id = message.get("session_id")
        if session_id is None:
            return
        with self._lock:  # one count per session, in the order the events are queued
            seq = self._seq.get(session_id, 0) + 1
            self._seq[session_id] = seq
            if has_ended(message):  # its status goes too (deleted with this event)
                self._seq.pop(session_id)
                self._statuses.pop(session_id, None)
            try:
                self._queue.put_nowait({**message, "run": self._run, "seq": seq})
            except queue.Full:
                self._dropped += 1
                if self._dropped == 1:
                    log.warning("live events: Redis does not keep up; events are dropped until it does")

    def watch(self, session_id: int, status: Callable[[], dict | None]) -> None:
        """Publish `status()` every second while it is not None (a recording's audio so far, device, levels)."""
        with self._lock:
            self._statuses[session_id] = status

    def watch_rooms(self, states: Callable[[], dict[str, dict]]) -> None:
        """Publish every second the state of each room whose agent is connected here (`states()`: room → its state:
        agent, session, clock, levels), kept 10 s, for GET /rooms on other nodes; a room that goes from here is
        taken off at once."""
        self._rooms = states

    def room_states(self, rooms: list[str]) -> dict[str, dict]:
        """The states other nodes published of these rooms (those whose agent is connected to some node, in the last
        10 s). Raises LiveEventsUnavailable when Redis cannot be reached."""
        if not rooms:
            return {}
        try:
            raw = self._client.mget([room_key(room) for room in rooms])
        except Exception as exc:
            raise LiveEventsUnavailable(f"the rooms' agents may be connected to other nodes and Redis "
                                        f"({describe_url(self.url)}) cannot be reached: {type(exc).__name__}",
                                        zh="暂时无法读取审讯室终端的状态（消息服务器连接不上），请稍后重试") from exc
        found = {}
        for room, value in zip(rooms, raw):
            if value is not None:
                state = json.loads(value)
                state.pop("node"), state.pop("published_at")
                found[room] = state
        return found

    def status(self, session_id: int) -> dict | None:
        """A recording's last published status, with `audio_age_s` brought up to now; None if no node published one
        in the last 10 s. Raises LiveEventsUnavailable when Redis cannot be reached."""
        try:
            raw = self._client.get(status_key(session_id))
        except Exception as exc:
            raise LiveEventsUnavailable(f"the live status of session {session_id} is recorded on another node and "
                                        f"Redis ({describe_url(self.url)}) cannot be reached: {type(exc).__name__}",
                                        zh="暂时无法读取录音状态（另一台服务器在录音，消息服务器连接不上），请稍后重试") from exc
        if raw is None:
            return None
        status = json.loads(raw)
        published_at = status.pop("published_at")
        if status.get("audio_age_s") is not None:
            status["audio_age_s"] = round(status["audio_age_s"] + max(0.0, time.time() - published_at), 2)
        return status

    def close(self, wait_s: float = 5.0) -> None:
        """Send what is queued (the last states of recordings just stopped), then stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(wait_s)

    def _work(self) -> None:
        next_status = time.monotonic()
        while True:
            try:
                message = self._queue.get(timeout=max(0.0, next_status - time.monotonic()))
            except queue.Empty:
                message = False
            if message is None:
                return
            if message:
                self._send(message)
            if time.monotonic() >= next_status:
                self._send_statuses()
                next_status = time.monotonic() + _STATUS_EVERY_S

    def _send(self, message: dict) -> None:
        if not self._ready():
            return
        session_id = message["session_id"]
        payload = json.dumps(message, ensure_ascii=False)
        try:
            pipe = self._client.pipeline(transaction=True)
            if message["type"] not in _NOT_KEPT:
                pipe.rpush(history_key(session_id), json.dumps(_kept(message), ensure_ascii=False))
                pipe.ltrim(history_key(session_id), -_HISTORY_MAX, -1)
                pipe.expire(history_key(session_id), _ENDED_KEEP_S if has_ended(message) else _HISTORY_KEEP_S)
            pipe.publish(channel_of(session_id), payload)
            if has_ended(message):
                pipe.delete(status_key(session_id))
            pipe.execute()
        except Exception as exc:  # redis.RedisError, or an OSError under it: never the recording's concern
            self._lost(exc)
        else:
            self._back()

    def _send_statuses(self) -> None:
        self._send_rooms()
        with self._lock:
            watched = list(self._statuses.items())
        for session_id, status_of in watched:
            try:
                status = status_of()
            except Exception:
                log.exception("session %s: its live status could not be read", session_id)
                status = None
            if status is None:  # stopped here
                with self._lock:
                    self._statuses.pop(session_id, None)
                continue
            if not self._ready():
                return
            try:
                self._client.set(status_key(session_id), json.dumps({**status, "published_at": time.time()}),
                                 ex=_STATUS_KEEP_S)
            except Exception as exc:
                self._lost(exc)
                return
            self._back()

    def _send_rooms(self) -> None:
        if self._rooms is None:
            return
        try:
            states = self._rooms()
        except Exception:
            log.exception("the rooms' states could not be read")
            return
        if not self._ready():
            return
        node = str(self._run)
        try:
            pipe = self._client.pipeline(transaction=False)
            for room, state in states.items():
                pipe.set(room_key(room), json.dumps({**state, "node": node, "published_at": time.time()}),
                         ex=_STATUS_KEEP_S)
            for room in self._rooms_published - set(states):
                pipe.eval(_DELETE_IF_OURS, 1, room_key(room), node)
            pipe.execute()
        except Exception as exc:
            self._lost(exc)
            return
        self._rooms_published = set(states)
        self._back()

    def _ready(self) -> bool:
        if self._reachable or time.monotonic() >= self._retry_at:
            return True
        self._dropped += 1
        return False

    def _lost(self, exc: Exception) -> None:
        self._dropped += 1
        self._retry_at = time.monotonic() + _RETRY_AFTER_S
        if self._reachable:
            self._reachable = False
            log.warning("live events: Redis at %s cannot be reached (%s: %s); recordings go on, pages on other "
                        "nodes get their lines from the store when it is back", describe_url(self.url),
                        type(exc).__name__, exc)

    def _back(self) -> None:
        if not self._reachable or self._dropped:
            log.warning("live events: Redis at %s reached again; %d event(s) were not relayed",
                        describe_url(self.url), self._dropped)
        self._reachable, self._dropped = True, 0


def _kept(message: dict) -> dict:
    """An event as the history keeps it: the checklist without its findings' evidence quotes (the page shows a
    link to the line, not the quote), so that no transcript text stays in Redis."""
    if message["type"] != "checklist":
        return message
    return {**message, "findings": [{k: v for k, v in f.items() if k != "evidence"} for f in message["findings"]]}


class _Follower:
    """What one WebSocket on a node that does not record the session has sent it so far."""

    def __init__(self, settings: Settings, session_id: int):
        self.settings, self.session_id = settings, session_id
        self.sent_lines: set[int] = set()
        self.sent_speakers: set[str] = set()
        self.last = (0, 0)  # (run, seq) of the last event taken from the history or the channel

    def take(self, message: dict) -> dict | None:
        """The event to pass on, None if it was sent already (lines and speakers by what they are, other events
        by their count)."""
        key = (message.pop("run", 0), message.pop("seq", 0))
        if message["type"] == "utterance":
            fresh = message["utterance"]["id"] not in self.sent_lines
            self.sent_lines.add(message["utterance"]["id"])
        elif message["type"] == "speaker":
            fresh = message["speaker"] not in self.sent_speakers
            self.sent_speakers.add(message["speaker"])
        else:
            fresh = key > self.last
        self.last = max(self.last, key)
        return message if fresh else None

    def gap_before(self, message: dict) -> bool:
        """Whether events may have been lost before `message`: its count jumps (the lines in between may be in the
        store already: a look there costs one read), or a new publisher took the session up."""
        run, seq = message.get("run", 0), message.get("seq", 0)
        return (run, seq) > (self.last[0], self.last[1] + 1)

    async def stored(self) -> tuple[list[dict], dict | None]:
        """The speakers and lines stored and not sent yet, as events (in the order stored); and the session's last
        state if it is no longer recording."""
        def read():
            with self.settings.open_store() as store:
                return store.get_session(self.session_id), store.utterances(self.session_id)

        session, lines = await asyncio.to_thread(read)
        events = []
        for speaker in session["speakers"]:
            if speaker["label"] not in self.sent_speakers:
                self.sent_speakers.add(speaker["label"])
                events.append(self._event({"type": "speaker", "speaker": speaker["label"], "role": speaker["role"],
                                           "channel": speaker["channel"]}))
        for line in sorted(lines, key=lambda u: u["id"]):
            if line["id"] not in self.sent_lines:
                self.sent_lines.add(line["id"])
                events.append(self._event({"type": "utterance", "utterance": line}))
        ended = None
        if session["status"] != "transcribing":
            ended = self._event({"type": "state", "state": "stopped" if session["status"] == "done"
                                 else session["status"], "duration_s": session["duration_s"]})
        return events, ended

    async def catch_up(self, client) -> list[dict]:
        """After (re)subscribing: the history's events not sent yet, then the stored lines, then the end if the
        history has it (after the lines, so that a page gets every line before it stops listening)."""
        raw = await client.lrange(history_key(self.session_id), 0, -1)
        events, end = [], None
        for message in map(json.loads, raw):
            taken = self.take(message)
            if taken is None:
                continue
            if has_ended(taken):
                end = taken
            else:
                events.append(taken)
        lines, ended = await self.stored()
        return events + lines + ([end or ended] if (end or ended) else [])

    def _event(self, message: dict) -> dict:
        return {"session_id": self.session_id, "time": time.time(), **message}


async def follow_remote(settings: Settings, session_id: int) -> AsyncIterator[dict]:
    """The events of a session another node records, from its start, until it ends (see the module's docstring).
    While Redis cannot be reached, the lines come from the store every few seconds instead."""
    from redis.exceptions import RedisError

    follower = _Follower(settings, session_id)
    client = redis_client(settings.broker_url, asynchronous=True)
    warned = False
    try:
        while True:
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(channel_of(session_id))
                    for message in await follower.catch_up(client):
                        yield message
                        if has_ended(message):
                            return
                    if warned:
                        log.warning("session %s: live events from Redis again", session_id)
                        warned = False
                    async for message in _channel(pubsub, follower):
                        yield message
                        if has_ended(message):
                            return
            except (OSError, RedisError) as exc:
                if not warned:
                    log.warning("session %s: Redis at %s cannot be reached (%s); the page gets the stored lines "
                                "until it is back", session_id, describe_url(settings.broker_url), type(exc).__name__)
                    warned = True
                lines, ended = await follower.stored()
                for message in lines + ([ended] if ended else []):
                    yield message
                if ended:
                    return
                await asyncio.sleep(_RESUBSCRIBE_S)
    finally:
        await client.aclose()


async def _channel(pubsub, follower: _Follower) -> AsyncIterator[dict]:
    """The channel's events, less those already sent; a gap is filled from the store; a quiet channel makes the
    follower look whether the session ended without a word (its node died: the store says so once recovered)."""
    quiet_since = time.monotonic()
    while True:
        raw = await pubsub.get_message(timeout=1.0)
        if raw is None:
            if time.monotonic() - quiet_since >= _IDLE_CHECK_S:
                quiet_since = time.monotonic()
                lines, ended = await follower.stored()
                for message in lines + ([ended] if ended else []):
                    yield message
                if ended:
                    return
            continue
        quiet_since = time.monotonic()
        message = json.loads(raw["data"])
        if follower.gap_before(message):  # the lines stored meanwhile first, in order (this one among them)
            lines, _ = await follower.stored()
            for line in lines:
                yield line
        taken = follower.take(message)
        if taken is not None:
            yield taken
