"""A room's audio referenced through a Redis stream (engine/live_feed.py), read back from the archive by a worker's
feed (capture/archive_reader.py): a real redis-server, a real segment folder written as the receiving node writes
it (capture.mirror.SegmentMirror), no model. What the feed yields must be the archive's frames, each once, in
order, from the point asked; a take-over must not repeat a notice the worker before it passed on."""
import threading

import numpy as np
import pytest

from capture.archive_reader import ArchiveReader
from capture.mirror import SegmentMirror
from capture.recorder import file_sha256, segment_path
from cases import Store
from engine.live import LOCK_NAME, LiveRequest, LiveSession, recognised_on_workers
from engine.live_events import redis_client
from engine.live_feed import FeedReader, FeedWriter, feed_key
from engine.session_jobs import abandoned_sessions
from engine.session_locks import try_lock
from engine.settings import Settings
from tests.servers.redis import redis_server  # noqa: F401  (a fixture)

RATE, CHANNELS = 16000, 2
SEGMENT_FRAMES = RATE * 2  # 2 s segments
PIECE = 3200  # 0.2 s pieces


def recording(seconds: float, seed: int = 3) -> np.ndarray:
    """Int16 stereo samples: noise, so that any frame out of place shows."""
    return np.random.default_rng(seed).integers(-20000, 20000, size=(int(seconds * RATE), CHANNELS), dtype=np.int16)


class Room:
    """Writes a recording into a folder in 0.2 s pieces as agent/receiver.py does, appending each piece's reference."""

    def __init__(self, folder, samples: np.ndarray, writer: FeedWriter | None):
        self.mirror = SegmentMirror(folder, sample_rate=RATE, channels=CHANNELS)
        self.samples, self.writer, self.offset = samples, writer, 0

    def send(self, frames: int, *, reference: bool = True) -> None:
        end = min(self.offset + frames, self.samples.shape[0])
        while self.offset < end:
            index = self.offset // SEGMENT_FRAMES
            if index > self.mirror.closed_count:  # the segment before is full: closed, as the agent says
                previous = self.mirror.closed_count
                self.mirror.close_segment(index=previous, start_s=previous * 2.0, frames=SEGMENT_FRAMES,
                                          sha256=file_sha256(segment_path(self.mirror.folder, previous)))
            stop = min(end, (index + 1) * SEGMENT_FRAMES, self.offset + PIECE)
            chunk = self.mirror.append(index=index, start_s=index * 2.0, offset=self.offset,
                                       pcm=self.samples[self.offset:stop].tobytes())
            self.mirror.sync()
            if reference and self.writer is not None:
                self.writer.audio(offset=self.offset, frames=chunk.samples.shape[0], segment=index,
                                  start_s=chunk.start_s)
            self.offset = stop


def fed(reader: FeedReader) -> tuple[np.ndarray, list[float]]:
    chunks = list(reader)
    starts = [c.start_s for c in chunks]
    samples = np.concatenate([np.round(c.samples * 32768).astype(np.int16) for c in chunks]) if chunks else \
        np.zeros((0, CHANNELS), np.int16)
    return samples, starts


def test_the_feed_is_the_archive_from_the_point_asked_each_frame_once(tmp_path, redis_server):  # noqa: F811
    samples = recording(7.3)
    writer = FeedWriter(redis_server.url, 1)
    writer.start()
    room = Room(tmp_path / "session", samples, writer)
    notices: list[dict] = []
    reader = FeedReader(redis_server.url, 1, tmp_path / "session", sample_rate=RATE, channels=CHANNELS, from_s=0.0,
                        on_notice=notices.append)
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(zip(("samples", "starts"), fed(reader))))
    thread.start()  # the worker reads while the room sends
    room.send(PIECE * 7)
    room.send(PIECE * 3, reference=False)  # the node died between its fsync and its append: the next covers it
    writer.notice({"type": "agent", "state": "offline"})
    room.send(samples.shape[0])
    writer.end()
    thread.join(30)
    writer.thread.join(30)
    assert not thread.is_alive() and reader.ended
    assert np.array_equal(result["samples"], samples)  # every frame, once, in order, as on disk
    assert notices == [{"type": "agent", "state": "offline"}]
    assert all(a < b for a, b in zip(result["starts"], result["starts"][1:]))

    # A worker taking over at 3.1 s (where the last stored line ended) gets the archive from there, to the end,
    # and not the notice its predecessor passed on.
    notices.clear()
    again = FeedReader(redis_server.url, 1, tmp_path / "session", sample_rate=RATE, channels=CHANNELS, from_s=3.1,
                       on_notice=notices.append)
    rest, starts = fed(again)
    assert starts[0] == pytest.approx(3.1)
    assert np.array_equal(rest, samples[int(3.1 * RATE):])
    assert notices == []


def test_the_archive_reader_reads_a_segment_still_being_written(tmp_path):
    samples = recording(4.5, seed=5)
    room = Room(tmp_path / "session", samples, None)
    room.send(int(2.7 * RATE))  # segment 0 closed, segment 1 open with 0.7 s
    reader = ArchiveReader(tmp_path / "session", sample_rate=RATE, channels=CHANNELS)
    assert reader.total_frames() == int(2.7 * RATE)
    assert reader.offset_at(2.5) == int(2.5 * RATE) and reader.offset_at(9.0) == int(2.7 * RATE)
    chunks = reader.read(RATE, int(2.7 * RATE))  # across the two segments
    assert [c.start_s for c in chunks] == [1.0, 2.0]
    got = np.concatenate([np.round(c.samples * 32768).astype(np.int16) for c in chunks])
    assert np.array_equal(got, samples[RATE:int(2.7 * RATE)])
    room.send(samples.shape[0])
    assert reader.total_frames() == samples.shape[0]  # the open segment is looked at again


def test_a_feed_waits_for_redis_and_drops_nothing(tmp_path, redis_server):  # noqa: F811
    """Entries appended while nobody reads stay in the stream in order; the end closes the reader."""
    samples = recording(1.0, seed=7)
    writer = FeedWriter(redis_server.url, 2)
    room = Room(tmp_path / "session", samples, writer)
    room.send(samples.shape[0])
    writer.end()
    writer.start()  # the thread starts late (the job being sent first): the queue keeps every entry
    writer.thread.join(30)
    client = redis_client(redis_server.url)
    try:
        types = [fields[b"entry"] for _, fields in client.xrange(feed_key(2))]
    finally:
        client.close()
    assert len(types) == samples.shape[0] // PIECE + 1 and b'"end"' in types[-1]
    reader = FeedReader(redis_server.url, 2, tmp_path / "session", sample_rate=RATE, channels=CHANNELS, from_s=0.0)
    got, _ = fed(reader)
    assert np.array_equal(got, samples)


def test_a_sweep_sends_back_a_room_on_the_workers_that_no_worker_holds(tmp_path):
    """A room agent's session is its receiving node's (no sweep touches it), unless a worker recognises it: then a
    free lock means that worker died, and a worker starting up sends its job again (engine/session_jobs.py)."""
    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.ensure_case("W-2026-1")
        ids = {}
        for on_workers, room in ((True, "一号讯问室"), (False, "二号讯问室")):
            unit = store.list_units()[0]["name"]
            store.add_room(room, unit=unit)
            session = LiveSession(settings, store, None, LiveRequest(case_no="W-2026-1", room=room,
                                                                     on_workers=on_workers))
            session.open(sample_rate=RATE, channels=CHANNELS, source_name="room agent")
            store.add_agent_stream(session.session_id, room=room, stream_key=f"stream{int(on_workers)}abc",
                                   clock_offset_s=0.0)
            session.let_go()  # the receiving node hands it over (and the local one's thread died with its node)
            ids[on_workers] = session
        assert abandoned_sessions(store) == [ids[True].session_id]
        held = try_lock(ids[True].folder / LOCK_NAME)  # a worker at work on it
        try:
            assert abandoned_sessions(store) == []
        finally:
            held.release()
        assert recognised_on_workers(store.get_session(ids[True].session_id))
        assert not recognised_on_workers(store.get_session(ids[False].session_id))
