"""The live rooms of a running service: recordings in background threads, their events fanned out to
WebSocket listeners.

One `LiveRooms` per app. A recording runs in its own thread (LiveSession.run blocks); its events arrive on
that thread and are handed to each listener's asyncio queue on the event loop. A room records one session
at a time. The recognition model is loaded once, on the first recording, and shared. With BILU_BROKER_URL set,
every event and each recording's status also go to Redis (engine/live_events.py), for pages on other nodes, and a
stop asked on another node comes here through it (engine/remote_stop.py). With BILU_LIVE_ON_WORKERS too, a room
agent's session is kept here (its audio, its status, its stop) but recognised by a worker (engine/live_handoff.py).
"""
import asyncio
import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from capture import CaptureError
from cases import Account
from error_kinds import Conflict

from engine.live import LiveRequest, LiveSession, recognised_on_workers
from engine.live_events import EventRelay
from engine.live_handoff import WorkerFeed
from engine.pipeline import Pipeline
from engine.received import ReceivedAudio
from engine.remote_stop import StopListener
from engine.settings import Settings
from engine.work_queue import BrokerUnavailable, WorkQueue

log = logging.getLogger(__name__)

# A listener that falls this far behind is dropped rather than let the queue grow without end.
_LISTENER_QUEUE_MAX = 1000


class RoomBusy(Conflict):
    """The room is already recording a session."""

    code = "room_busy"


@dataclass
class _Running:
    session: LiveSession
    room: str
    thread: threading.Thread
    listeners: set = field(default_factory=set)
    history: list = field(default_factory=list)  # every event so far, for listeners that join late
    on_stop: object = None  # a room agent's session: tells the agent to stop
    feed: object = None  # a room agent's session: its ReceivedAudio, or WorkerFeed when a worker recognises it
    on_workers: bool = False  # its events come from the worker (through Redis), not from here


class LiveRooms:
    def __init__(self, settings: Settings, *, pipeline: Pipeline | None = None):
        self.settings = settings
        # The service passes its one pipeline: a second would load a second copy of the model (~400 MB).
        self._pipeline = pipeline or Pipeline(settings)
        self._by_session: dict[int, _Running] = {}
        self._by_room: dict[str, int] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        # BILU_BROKER_URL set: events and statuses also go to Redis, for the pages other nodes serve.
        self.relay = EventRelay(settings.broker_url) if settings.broker_url else None
        # BILU_BROKER_URL set: 结束录音 asked on another node for a session recorded here comes through Redis.
        self.stop_requests = None if not settings.broker_url else StopListener(
            settings.broker_url, held=lambda: list(self._by_session), stop=self._stop_asked_elsewhere)
        # What the service adds to a recording's status (a room agent's link: agent/receiver.py), by room.
        self.room_state: Callable[[str], dict] | None = None
        if settings.live_on_workers and not settings.broker_url:
            raise BrokerUnavailable("BILU_LIVE_ON_WORKERS is set but BILU_BROKER_URL is not: live rooms go to the "
                                    "workers through the work queue (a Redis URL, e.g. redis://127.0.0.1:6379/0)")
        self._work_queue: WorkQueue | None = None  # BILU_LIVE_ON_WORKERS: made at the first room sent to the workers

    def start(self, request: LiveRequest, source_factory, *, duration_s: float | None = None) -> int:
        """Start recording from `source_factory()` (a context manager yielding chunks); returns the session id."""
        with self._lock:
            if request.room in self._by_room:
                raise RoomBusy(f"room {request.room!r} is already recording session {self._by_room[request.room]}")
            self._by_room[request.room] = -1  # reserved while the session starts
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            pass
        opened = threading.Event()
        state: dict = {}

        early: list[dict] = []  # what the session says before it is registered here (its "recording" state)
        publish = self._publisher(early)

        def record() -> None:
            store = self.settings.open_store()
            try:
                with source_factory() as chunks:
                    session = LiveSession(self.settings, store, self._pipeline.model, request, on_event=publish)
                    state["session"] = session
                    first = next(iter(chunks), None)
                    if first is None:
                        raise CaptureError("the audio source gave no audio", zh="录音设备没有送出任何声音：请检查麦克风")
                    session.open(sample_rate=first.sample_rate, channels=first.channels)
                    running = _Running(session, request.room, threading.current_thread(), history=early)
                    with self._lock:
                        self._by_session[session.session_id] = running
                        self._by_room[request.room] = session.session_id
                    self._watch(session.session_id, request.room)
                    opened.set()
                    session.run(_prepend(first, chunks), duration_s=duration_s)
            except Exception as exc:  # before the session opened, start() raises it to its caller
                state["error"] = exc
                if opened.is_set():
                    log.exception("the recording in room %s failed", request.room)
            finally:
                opened.set()
                store.close()
                with self._lock:
                    self._by_room.pop(request.room, None)
                    # Listeners already attached keep their queues; the event history is not kept for ever.
                    session = state.get("session")
                    if session is not None and session.session_id is not None:
                        self._by_session.pop(session.session_id, None)

        thread = threading.Thread(target=record, name=f"room-{request.room}", daemon=True)
        thread.start()
        opened.wait()
        if "session" not in state or state["session"].session_id is None:
            with self._lock:
                self._by_room.pop(request.room, None)
            raise state.get("error") or RuntimeError("the recording did not start")
        return state["session"].session_id

    def start_received(self, request: LiveRequest, *, sample_rate: int, channels: int,
                       resume_session_id: int | None = None, on_stop=None) -> tuple[LiveSession, object, float]:
        """Start (or take up again, after this service restarted) a session whose audio a room agent sends.
        `on_stop()` is called when the session is stopped from the page (the agent is told, and finishes sending).
        Returns the session; its feed, which the caller puts each piece in once it is on disk here and `start()`s
        once the agent's stream is in the store (engine/received.py: recognised here; engine/live_handoff.py: on a
        worker, BILU_LIVE_ON_WORKERS, as the session stored at its start says); and the time from which its stored
        audio is to be fed again (0 for a new session)."""
        with self._lock:
            if request.room in self._by_room:
                raise RoomBusy(f"room {request.room!r} is already recording session {self._by_room[request.room]}")
            self._by_room[request.room] = -1
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            pass
        early: list[dict] = []
        publish = self._publisher(early)
        feeds: list = []  # on a worker: this node's own events (its agent's link) go to the worker, which says them

        store = self.settings.open_store()
        try:
            if resume_session_id is None:
                on_workers = self.settings.live_on_workers
            else:
                on_workers = recognised_on_workers(store.get_session(resume_session_id))
            session = LiveSession(self.settings, store, None if on_workers else self._pipeline.model,
                                  dataclasses.replace(request, on_workers=on_workers),
                                  on_event=(lambda message: feeds and feeds[0].notice(message)) if on_workers
                                  else publish)
            if resume_session_id is None:
                session.open(sample_rate=sample_rate, channels=channels, source_name="room agent")
            elif on_workers:
                session.attach(resume_session_id)
            from_s = 0.0 if resume_session_id is None or on_workers else session.resume(resume_session_id)
        except BaseException:
            store.close()
            with self._lock:
                self._by_room.pop(request.room, None)
            raise

        def finished() -> None:  # the recording is over here, however it ended
            store.close()
            with self._lock:
                self._by_room.pop(request.room, None)
                self._by_session.pop(session.session_id, None)

        if on_workers:
            feed = WorkerFeed(self.settings, session, submit=lambda: self._submit(session.session_id),
                              when_done=finished)
            feeds.append(feed)
            thread = feed.thread
        else:
            feed = ReceivedAudio()

            def record() -> None:
                try:
                    session.run_received(feed)
                except Exception:
                    log.exception("the received recording in room %s failed", request.room)
                finally:
                    finished()

            thread = threading.Thread(target=record, name=f"room-{request.room}", daemon=True)
        running = _Running(session, request.room, thread, history=early, on_stop=on_stop, feed=feed,
                           on_workers=on_workers)
        with self._lock:
            self._by_session[session.session_id] = running
            self._by_room[request.room] = session.session_id
        if not on_workers:
            thread.start()
        self._watch(session.session_id, request.room)
        return session, feed, from_s

    def _submit(self, session_id: int) -> None:
        """Send a live session's job to the workers (from its feed's thread, which retries while the broker is away)."""
        with self._lock:
            if self._work_queue is None:
                self._work_queue = WorkQueue(self.settings)
        with self.settings.open_store() as store:
            self._work_queue.submit(store, session_id)

    def stop(self, session_id: int, *, wait_s: float = 120.0) -> bool:
        """Stop a recording and wait for its last words to be transcribed; False if it is not recording."""
        running = self._by_session.get(session_id)
        if running is None or not running.thread.is_alive():
            return False
        running.session.stop()
        if running.on_stop is not None:  # a room agent's session ends when the agent has sent everything
            running.on_stop()
        running.thread.join(wait_s)
        return True

    def live_status(self, session_id: int) -> dict | None:
        """What the live page shows of a recording here: audio recorded so far, seconds since the device's last
        chunk (a stalled device shows as a growing age), the device, each seat's level over the last chunk (dBFS);
        None if it is not recording here."""
        running = self._by_session.get(session_id)
        # A worker's feed thread starts a moment after the session is registered, and it leaves with it.
        if running is None or not (running.thread.is_alive() or running.on_workers):
            return None
        return running.session.live_status()

    def listen(self, session_id: int) -> asyncio.Queue | None:
        """A queue of the session's events (those so far first); None if it is not a live session here, or a worker
        recognises it (its events are followed through Redis, as another node's)."""
        running = self._by_session.get(session_id)
        if running is None or running.on_workers:
            return None
        queue: asyncio.Queue = asyncio.Queue(maxsize=_LISTENER_QUEUE_MAX)
        self._loop = asyncio.get_running_loop()
        with self._lock:
            for message in running.history:
                queue.put_nowait(message)
            running.listeners.add(queue)
        return queue

    def forget(self, session_id: int, queue: asyncio.Queue) -> None:
        running = self._by_session.get(session_id)
        if running is not None:
            with self._lock:
                running.listeners.discard(queue)

    def stop_all(self) -> None:
        """At the service's stop: rooms on this machine's devices are finished; a room agent's session stays
        open (its agent keeps recording and resends when the service is back)."""
        for session_id, running in list(self._by_session.items()):
            if running.feed is not None:
                running.feed.suspend()
                if running.thread.is_alive():  # a worker's feed starts only once its stream is stored
                    running.thread.join(30)
            else:
                self.stop(session_id)
        if self.stop_requests is not None:
            self.stop_requests.close()
        if self.relay is not None:  # the last states of the recordings just stopped go out first
            self.relay.close()
        if self._work_queue is not None:
            self._work_queue.close()

    def thread_of(self, session_id: int) -> threading.Thread | None:
        running = self._by_session.get(session_id)
        return None if running is None else running.thread

    def running(self, session_id: int) -> LiveSession | None:
        running = self._by_session.get(session_id)
        return None if running is None else running.session

    def _stop_asked_elsewhere(self, session_id: int, actor: Account) -> bool:
        with self.settings.open_store() as store:
            return stop_recording(self, store, session_id, actor)

    def _watch(self, session_id: int, room: str) -> None:
        """With Redis: publish the recording's status every second while it runs (another node's live page)."""
        if self.relay is None:
            return

        def status() -> dict | None:
            running = self.live_status(session_id)
            if running is not None and self.room_state is not None:
                running["room_state"] = self.room_state(room)
            return running

        self.relay.watch(session_id, status)

    def _publisher(self, early: list[dict]):
        """A session's `on_event`: to its listeners once it is registered here, kept in `early` before; with Redis,
        to the session's channel as well (from the first event: the relay never blocks the recording)."""
        def publish(message: dict) -> None:
            if self.relay is not None:
                self.relay.publish(message)
            running = self._by_session.get(message.get("session_id"))
            if running is None:
                early.append(message)
            else:
                self._fan_out(running, message)
        return publish

    def _fan_out(self, running: _Running, message: dict) -> None:
        with self._lock:
            if message["type"] != "tentative":  # late listeners need the record, not old tentative text
                running.history.append(message)
            listeners = list(running.listeners)
        if self._loop is None:
            return
        for queue in listeners:
            self._loop.call_soon_threadsafe(_offer, queue, message)


def stop_recording(rooms: LiveRooms, store, session_id: int, actor: Account) -> bool:
    """结束录音 of a session recorded here, as `actor` (POST /sessions/{id}/stop, or the same asked on another node):
    stop it, wait for its last words, audit it; False if it is not recording here."""
    if not rooms.stop(session_id):
        return False
    store.record_audit(actor, "session.recording_stopped", session_id=session_id)
    return True


def _offer(queue: asyncio.Queue, message: dict) -> None:
    try:
        queue.put_nowait(message)
    except asyncio.QueueFull:
        log.warning("a live listener fell behind; its oldest messages are dropped")


def _prepend(first, chunks):
    yield first
    yield from chunks
