"""The receiving node's side of a room agent's session recognised on the workers (BILU_LIVE_ON_WORKERS).

The node still opens the session, stores every piece the agent sends (agent/receiver.py: on disk, fsynced, before
the agent's ack) and records its segments; it recognises nothing. `WorkerFeed` takes the calls a session recognised
here takes (engine/received.py ReceivedAudio: put, end, suspend), and turns them into entries of the session's
Redis stream (engine/live_feed.py): a reference per piece, the node's own notices (its agent went offline), the
end. Its thread first sends the session's job to the workers (engine/work_queue.py, the case's centre's queue),
and after the end waits until a worker has stored the last words, so that 结束录音 and the agent's "closed"
answer come once the session is finished, as when the node recognises it itself.
"""
import logging
import time
from collections.abc import Callable

from capture import AudioChunk, SegmentInfo

from engine.live import LiveSession
from engine.live_feed import FeedWriter
from engine.settings import Settings

log = logging.getLogger(__name__)

# After the agent's end: how long the node waits for a worker to store the last words before it answers anyway
# (the session is then finished by whichever worker takes its job).
LAST_WORDS_WAIT_S = 300.0
_POLL_S = 0.3


class WorkerFeed:
    """A room agent's audio, already on this node's disk, referenced for the worker that recognises it."""

    def __init__(self, settings: Settings, session: LiveSession, *, submit: Callable[[], None],
                 when_done: Callable[[], None]):
        self.settings, self.session = settings, session
        self.suspended = self.ended = False
        self._writer = FeedWriter(settings.broker_url, session.session_id, before=submit,
                                  after_end=self._wait_for_worker, when_done=when_done)
        self.thread = self._writer.thread

    def start(self) -> None:
        """Hand the session over: its folder lock goes (the worker's job takes it), the job is sent, entries flow.
        Called once the session is an agent's open stream in the store (so no recovery takes it for abandoned)."""
        self.session.let_go()
        self._writer.start()

    def put(self, chunk: AudioChunk, *, offset: int | None = None, segment: int | None = None) -> None:
        """`chunk` is on disk: frames from `offset` of the recording, in segment `segment`."""
        if offset is None or segment is None:
            raise ValueError("a piece recognised on the workers needs its offset and segment")
        self.session.heard(chunk)  # the live page's meters and recorded time are this node's
        self._writer.audio(offset=offset, frames=chunk.samples.shape[0], segment=segment, start_s=chunk.start_s)

    def take_up(self, segments: list[SegmentInfo], from_s: float) -> None:
        """Taken up on this node (it restarted, or the agent moved to it): the folder holds audio up to its last
        frame, which the node before may not have referenced yet. The worker goes on from what it stored."""
        if segments:
            last = segments[-1]
            self._writer.audio(offset=sum(s.frames for s in segments[:-1]), frames=last.frames, segment=last.index,
                               start_s=last.start_s)

    def notice(self, message: dict) -> None:
        if message.get("type") != "state":  # the worker says the recording's states
            self._writer.notice(message)

    def end(self) -> None:
        self.ended = True
        self._writer.end()

    def suspend(self) -> None:
        """This node stops; the session stays open, the worker keeps waiting for the agent's next node."""
        self.suspended = True
        self.session.status = "suspended"
        self._writer.close()

    def _wait_for_worker(self) -> None:
        deadline = time.monotonic() + LAST_WORDS_WAIT_S
        with self.settings.open_store() as store:
            while (status := store.get_session(self.session.session_id)["status"]) == "transcribing":
                if time.monotonic() > deadline:
                    log.warning("session %s: no worker finished it within %.0f s of its agent's end; the first "
                                "worker free finishes it", self.session.session_id, LAST_WORDS_WAIT_S)
                    break
                time.sleep(_POLL_S)
        self.session.status = status


__all__ = ["LAST_WORDS_WAIT_S", "WorkerFeed"]
