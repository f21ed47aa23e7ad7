"""Audio that arrives over the network, already on this machine's disk: the source of a room agent's session.

The receiver (agent/receiver.py) writes each piece of a room agent's stream into the session's folder, then
`put`s it here; `LiveSession.run_received` iterates over it as over a microphone. The iteration ends at
`end()` (the agent finished the recording) or `suspend()` (this service is stopping: the session stays open,
and is taken up again when the agent reconnects to the restarted service).
"""
import queue

from capture import AudioChunk, SegmentInfo, read_segments

_END = object()


class ReceivedAudio:
    """A blocking iterable of chunks fed from another thread; waits as long as the room is offline."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self.suspended = False
        self.ended = False

    def start(self) -> None:
        """Nothing to start: the session's thread reads what is put (engine/live_handoff.py WorkerFeed starts one)."""

    def put(self, chunk: AudioChunk, *, offset: int | None = None, segment: int | None = None) -> None:
        """`chunk` is on disk (where, `offset` and `segment`, matters only to a session recognised on a worker)."""
        self._queue.put(chunk)

    def take_up(self, segments: list[SegmentInfo], from_s: float) -> None:
        """Taken up after this service restarted: the stored audio from `from_s` (after the last stored utterance)
        is transcribed again from the disk."""
        audio = read_segments(segments, from_s=from_s)
        if audio.samples.shape[0]:
            self.put(audio)

    def end(self) -> None:
        self.ended = True
        self._queue.put(_END)

    def suspend(self) -> None:
        self.suspended = True
        self._queue.put(_END)

    def __iter__(self):
        while (item := self._queue.get()) is not _END:
            yield item


__all__ = ["ReceivedAudio"]
