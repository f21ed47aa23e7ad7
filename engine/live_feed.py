"""A room agent's live audio on its way from the node that receives it to the worker that recognises it
(BILU_LIVE_ON_WORKERS), through a Redis stream per session, `bilu:session:<id>:audio`.

The receiving node writes each piece of the agent's stream to the session's folder on shared storage first
(agent/receiver.py, as always), then appends its reference to the stream: {"type": "audio", "offset", "frames",
"segment", "start_s"} (frames counted from the recording's first frame, the segment's index, its session time).
It appends {"type": "notice", "message"} for what the page must hear from it (the agent went offline), and
{"type": "end"} when the agent has sent everything. No audio goes through Redis: the worker reads the frames from
the archive (capture/archive_reader.py), so what it recognises is the archive, byte for byte, and a worker that
takes a session over re-reads the stream from its first entry, skipping what lies before the point it resumes
from: the archive after that point, then what comes. An entry says "the recording is on disk up to here": a
reference lost (the receiving node died between its fsync and its append) leaves no hole, the next one covers it.

`FeedWriter` (receiving node) never blocks the agent's connection: entries go on a queue and a thread of its own
appends them, retrying while Redis cannot be reached (nothing is dropped). `FeedReader` (worker) is what
LiveSession.run_received iterates over (engine/live_job.py).
"""
import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from capture import AudioChunk
from capture.archive_reader import ArchiveReader

from engine.live_events import describe_url, redis_client
from engine.redis_keys import feed_key, notified_key

log = logging.getLogger(__name__)

_BLOCK_MS = 1000  # below the client's 5 s socket timeout
_RETRY_S = 1.0
_GIVEN_UP_EVERY_S = 3.0
_KEEP_AFTER_END_S = 24 * 3600  # a finished session's stream is deleted by its job; this if the job never comes


class FeedWriter:
    """Appends a session's entries to its stream from a thread of its own, in order, until `end()` or `close()`.

    `before()` runs in that thread before the first entry (sending the session's job); `after_end()` after the end
    entry is appended (waiting for the worker to store the last words); `when_done()` as the thread ends, however."""

    def __init__(self, url: str, session_id: int, *, before: Callable[[], None] = lambda: None,
                 after_end: Callable[[], None] = lambda: None, when_done: Callable[[], None] = lambda: None):
        self.url, self.session_id = url, session_id
        self._before, self._after_end, self._when_done = before, after_end, when_done
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = threading.Event()
        self.thread = threading.Thread(target=self._work, name=f"feed-{session_id}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def audio(self, *, offset: int, frames: int, segment: int, start_s: float) -> None:
        self._queue.put({"type": "audio", "offset": offset, "frames": frames, "segment": segment,
                         "start_s": round(start_s, 6)})

    def notice(self, message: dict) -> None:
        self._queue.put({"type": "notice", "message": json.dumps(message, ensure_ascii=False)})

    def end(self) -> None:
        """The agent has sent everything: the end entry goes after every reference."""
        self._queue.put({"type": "end"})

    def close(self) -> None:
        """This node lets go of the session (it stops; the agent reconnects to one that takes it up): what is
        queued is still appended while Redis answers, then the thread ends without an end entry."""
        self._closed.set()
        self._queue.put(None)

    def _work(self) -> None:
        client = redis_client(self.url)
        try:
            self._retrying(self._before, "the session's job could not be sent")
            while (entry := self._queue.get()) is not None:
                self._retrying(lambda: client.xadd(feed_key(self.session_id), {"entry": json.dumps(entry)}),
                               "a reference to the session's audio could not be appended")
                if entry["type"] == "end":
                    with contextlib.suppress(Exception):  # only a bound on how long it stays if no job deletes it
                        client.expire(feed_key(self.session_id), _KEEP_AFTER_END_S)
                    self._after_end()
                    return
        except _GivenUp:
            pass
        except Exception:
            log.exception("session %s: the feed to the workers stopped", self.session_id)
        finally:
            client.close()
            self._when_done()

    def _retrying(self, action: Callable[[], object], what: str) -> None:
        warned = False
        while True:
            try:
                action()
                if warned:
                    log.warning("session %s: Redis at %s reached again", self.session_id, describe_url(self.url))
                return
            except Exception as exc:  # Redis or the broker away: the audio is on disk; wait for it, drop nothing
                if not warned:
                    log.warning("session %s: %s (%s); retrying", self.session_id, what, type(exc).__name__)
                    warned = True
                if self._closed.is_set():  # this node stops: the node that takes the agent up appends again
                    raise _GivenUp from exc
                time.sleep(_RETRY_S)


class _GivenUp(Exception):
    pass


class FeedReader:
    """The audio of a session recognised on a worker, from session time `from_s` on: an iterable of chunks for
    LiveSession.run_received, ending at the stream's end entry. Notices are passed to `on_notice`, except those
    a worker before this one passed on already."""

    def __init__(self, url: str, session_id: int, folder: Path, *, sample_rate: int, channels: int, from_s: float,
                 on_notice: Callable[[dict], None] = lambda message: None,
                 given_up: Callable[[], bool] = lambda: False):
        """`given_up()`: whether the session's agent was given up on (engine/abandoned.py), asked every few
        seconds; the feed then ends `suspended`, and the worker lets go of the session for its finishing."""
        self.url, self.session_id = url, session_id
        self._archive = ArchiveReader(folder, sample_rate=sample_rate, channels=channels)
        self._next = self._archive.offset_at(from_s)  # the next frame to feed
        self._on_notice, self._given_up = on_notice, given_up
        self.suspended = False  # LiveSession.run_received's question: the session stays open, for another to finish
        self.ended = False

    def __iter__(self) -> Iterator[AudioChunk]:
        client = redis_client(self.url)
        try:
            notified = _decoded(self._call(client.get, notified_key(self.session_id))) or "0-0"
            last_id = "0-0"
            next_look = time.monotonic() + _GIVEN_UP_EVERY_S
            while not self.ended:
                if time.monotonic() >= next_look:
                    next_look = time.monotonic() + _GIVEN_UP_EVERY_S
                    if self._given_up():
                        self.suspended = True
                        return
                answer = self._call(client.xread, {feed_key(self.session_id): last_id}, block=_BLOCK_MS, count=500)
                for _, entries in answer or ():
                    for entry_id, fields in entries:
                        last_id = _decoded(entry_id)
                        entry = json.loads(_decoded(fields[b"entry"]))
                        if entry["type"] == "audio":
                            yield from self._audio_up_to(entry["offset"] + entry["frames"])
                        elif entry["type"] == "notice" and _after(last_id, notified):
                            self._on_notice(json.loads(entry["message"]))
                            self._call(client.set, notified_key(self.session_id), last_id, ex=_KEEP_AFTER_END_S)
                        elif entry["type"] == "end":
                            yield from self._audio_up_to(self._archive.total_frames())
                            self.ended = True
                            break
                    if self.ended:
                        break
        finally:
            client.close()

    def _audio_up_to(self, end: int) -> Iterator[AudioChunk]:
        """The archive's frames from the last one fed up to `end` (on disk before the entry that names it)."""
        if end <= self._next:
            return
        for chunk in self._archive.read(self._next, end):
            self._next += chunk.samples.shape[0]
            yield chunk

    def _call(self, method, *args, **kwargs):
        """A Redis call, retried while Redis cannot be reached: the session waits, as for a room offline."""
        warned = False
        while True:
            try:
                return method(*args, **kwargs)
            except Exception as exc:  # redis.RedisError or an OSError under it
                if not warned:
                    log.warning("session %s: Redis at %s cannot be reached (%s); waiting for the room's audio",
                                self.session_id, describe_url(self.url), type(exc).__name__)
                    warned = True
                time.sleep(_RETRY_S)


def _decoded(value) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _after(entry_id: str, other: str) -> bool:
    return tuple(map(int, entry_id.split("-"))) > tuple(map(int, other.split("-")))


def delete_feed(url: str, session_id: int) -> None:
    """The session is finished and stored: its stream is not needed any more."""
    client = redis_client(url)
    try:
        client.delete(feed_key(session_id), notified_key(session_id))
    except Exception as exc:  # it expires anyway
        log.warning("session %s: its feed could not be deleted (%s)", session_id, type(exc).__name__)
    finally:
        client.close()


def feed_exists(url: str, session_id: int) -> bool:
    client = redis_client(url)
    try:
        return bool(client.exists(feed_key(session_id)))
    finally:
        client.close()


__all__ = ["FeedReader", "FeedWriter", "delete_feed", "feed_exists", "feed_key", "notified_key"]
