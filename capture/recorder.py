"""Crash-safe recording: a writer thread that puts every chunk on disk before anything else uses it.

The audio goes into WAV segments of a few seconds, 16-bit PCM at the rate of the source, named
`segment_000000.wav`, `segment_000001.wav`, ... Each one is written through an unbuffered file
descriptor; after every batch of chunks the RIFF and data sizes in the header are patched to what is
on disk and the file is fsynced, so a segment in progress is always a readable WAV file, and a
`kill -9` or a power cut loses only the chunks still queued (a batch is about one block, 0.1 s).
`recover_segments` (recovery.py) repairs the header of a segment whose last sizes were not patched.

Why 16-bit PCM: interview-room microphones deliver 16-bit samples (PortAudio's float32 from a 16-bit
source converts back exactly), every player and the standard `wave` module read it, and it takes half
the disk of float32. Why the source rate: the archive is evidence, so it keeps what the microphone gave;
recognition listens to a 16 kHz copy (`ChunkResampler`).

Every segment carries a small `bilu` chunk (before `data`) with its index and its start on the session
clock, so recovery can place segments in time without the database; players skip unknown chunks.
"""
import errno
import hashlib
import logging
import os
import queue
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from capture.chunk import AudioChunk
from capture.devices import CaptureArgumentError, CaptureError

log = logging.getLogger(__name__)

SEGMENT_PATTERN = "segment_*.wav"
SAMPLE_WIDTH_BYTES = 2
# RIFF header (12) + fmt chunk (8 + 16) + bilu chunk (8 + 12) + data chunk header (8).
HEADER_BYTES = 64
_FMT = struct.Struct("<HHIIHH")
_BILU = struct.Struct("<dI")
_STOP = object()


class RecordingError(CaptureError):
    """The recording could not be written (disk full, folder gone, ...). What was written is kept."""

    code = "recording_not_written"


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """One closed WAV segment: where it is, where it lies on the session clock, and its sha256."""

    path: Path
    index: int
    start_s: float
    duration_s: float
    frames: int
    sha256: str
    sample_rate: int
    channels: int


def segment_path(folder: Path, index: int) -> Path:
    return folder / f"segment_{index:06d}.wav"


def wav_header(*, sample_rate: int, channels: int, index: int, start_s: float, data_bytes: int) -> bytes:
    block_align = channels * SAMPLE_WIDTH_BYTES
    return b"".join(
        [
            b"RIFF", struct.pack("<I", HEADER_BYTES - 8 + data_bytes), b"WAVE",
            b"fmt ", struct.pack("<I", _FMT.size),
            _FMT.pack(1, channels, sample_rate, sample_rate * block_align, block_align, 8 * SAMPLE_WIDTH_BYTES),
            b"bilu", struct.pack("<I", _BILU.size), _BILU.pack(start_s, index),
            b"data", struct.pack("<I", data_bytes),
        ]
    )


def patch_wav_sizes(fd: int, data_bytes: int) -> None:
    """Write the RIFF and data sizes of a segment holding `data_bytes` of samples."""
    os.pwrite(fd, struct.pack("<I", HEADER_BYTES - 8 + data_bytes), 4)
    os.pwrite(fd, struct.pack("<I", data_bytes), HEADER_BYTES - 4)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def fsync_folder(folder: Path) -> None:
    """A new file's name survives a power cut only once its folder is synced."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def to_pcm16(samples: np.ndarray) -> bytes:
    # PortAudio turns 16-bit input into float by dividing by 32768: multiplying back is exact.
    return np.clip(np.rint(samples * 32768.0), -32768, 32767).astype("<i2").tobytes()


class _OpenSegment:
    def __init__(self, folder: Path, *, index: int, start_s: float, sample_rate: int, channels: int) -> None:
        self.path = segment_path(folder, index)
        self.index = index
        self.start_s = start_s
        self.frames = 0
        self.data_bytes = 0
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        header = wav_header(sample_rate=sample_rate, channels=channels, index=index, start_s=start_s, data_bytes=0)
        try:
            _write_all(self.fd, header)
            os.fsync(self.fd)
            fsync_folder(folder)
        except OSError as exc:
            os.close(self.fd)
            self.path.unlink(missing_ok=True)  # holds no audio yet: leave no half header behind
            exc.filename = exc.filename or str(self.path)
            raise


class SegmentRecorder:
    """Writes chunks to WAV segments on its own thread; hands each chunk on only once it is on disk.

    `write(chunk)` only enqueues (it never waits for the disk). The writer thread drains the queue, writes,
    patches the header and fsyncs, then calls `on_written(chunk)` for each chunk of the batch, so nothing
    reaches the transcriber that is not on disk; `on_written` runs on the writer thread and must not block
    (put the chunk on a queue). `on_segment(SegmentInfo)` is called as each segment closes, with its sha256.

    A write error stops the recorder: the segment in progress is closed with what reached the disk, and
    the next `write` or `close` raises RecordingError. Chunks that are not contiguous on the session clock
    start a new segment, so each segment is one stretch of audio without gaps.
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        sample_rate: int,
        channels: int,
        segment_s: float = 5.0,
        on_segment: Callable[[SegmentInfo], None] | None = None,
        on_written: Callable[[AudioChunk], None] | None = None,
    ) -> None:
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or not 1000 <= sample_rate <= 384000:
            raise CaptureArgumentError(f"sample_rate must be a whole number of Hz from 1000 to 384000, not {sample_rate!r}")
        if isinstance(channels, bool) or not isinstance(channels, int) or not 1 <= channels <= 64:
            raise CaptureArgumentError(f"channels must be a whole number from 1 to 64, not {channels!r}")
        if not 0.5 <= segment_s <= 3600:
            raise CaptureArgumentError(f"segment_s must be from 0.5 to 3600 seconds, not {segment_s!r}")
        self.folder = Path(folder)
        self.sample_rate = sample_rate
        self.channels = channels
        self.segment_frames = int(round(segment_s * sample_rate))
        self._on_segment = on_segment
        self._on_written = on_written
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._segments: list[SegmentInfo] = []
        self._current: _OpenSegment | None = None
        self._next_index = 0
        self._frames_written = 0
        self._error: RecordingError | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"segment-writer:{self.folder.name}", daemon=True)
        self._started = False

    # -- the caller's side ---------------------------------------------------------------------------

    def start(self) -> "SegmentRecorder":
        if self._started:
            raise CaptureArgumentError("the recorder was already started")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordingError(f"cannot create the recording folder {self.folder}: {exc.strerror}") from exc
        self._next_index = _next_free_index(self.folder)
        self._started = True
        self._thread.start()
        log.info("recording to %s (%d Hz, %d channels, segments of %.1f s)", self.folder, self.sample_rate,
                 self.channels, self.segment_frames / self.sample_rate)
        return self

    def write(self, chunk: AudioChunk) -> None:
        """Queue a chunk for the disk. Raises RecordingError once the recorder has failed or closed."""
        if self._error is not None:
            raise self._error
        if self._closed or not self._started:
            raise RecordingError(f"the recorder for {self.folder} is {'closed' if self._closed else 'not started'}")
        samples = chunk.samples
        if (
            not isinstance(samples, np.ndarray) or samples.dtype != np.float32 or samples.ndim != 2
            or samples.shape[1] != self.channels or chunk.sample_rate != self.sample_rate
        ):
            raise CaptureArgumentError(
                f"the recorder takes float32 chunks of shape [frames, {self.channels}] at {self.sample_rate} Hz; "
                f"got {getattr(samples, 'dtype', type(samples).__name__)} {getattr(samples, 'shape', '')} at {chunk.sample_rate} Hz"
            )
        with self._lock:  # a chunk queued after the stop mark would never be written
            if self._closed:
                raise RecordingError(f"the recorder for {self.folder} is closed")
            self._queue.put(chunk)

    def close(self) -> list[SegmentInfo]:
        """Write what is queued, close the last segment, stop the thread; every segment written, in order."""
        with self._lock:
            stop_thread = self._started and not self._closed
            self._closed = True
            if stop_thread:
                self._queue.put(_STOP)
        if stop_thread:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self.segments

    def __enter__(self) -> "SegmentRecorder":
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        try:
            self.close()
        except RecordingError as error:  # do not hide the exception that is already on its way
            log.error("%s", error)

    @property
    def segments(self) -> list[SegmentInfo]:
        with self._lock:
            return list(self._segments)

    @property
    def written_s(self) -> float:
        """Seconds of audio on disk so far."""
        return self._frames_written / self.sample_rate

    @property
    def error(self) -> RecordingError | None:
        return self._error

    # -- the writer thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stopping = any(item is _STOP for item in batch)
            chunks = [item for item in batch if item is not _STOP]
            done = 0
            try:
                for chunk in chunks:
                    self._write_chunk(chunk)
                    done += 1
                if self._current is not None:
                    patch_wav_sizes(self._current.fd, self._current.data_bytes)
                    os.fsync(self._current.fd)
            except OSError as exc:
                self._fail(exc, unwritten=chunks[done:])
                for chunk in chunks[:done]:  # on disk before the failure: _fail synced them
                    self._notify(self._on_written, chunk)
                return
            for chunk in chunks:
                self._notify(self._on_written, chunk)
        try:
            self._close_segment()
        except OSError as exc:
            self._fail(exc, unwritten=[])

    def _write_chunk(self, chunk: AudioChunk) -> None:
        samples = chunk.samples
        start_s = chunk.start_s
        while len(samples):
            segment = self._current
            if segment is not None and not self._continues(segment, start_s):
                log.warning("audio jumps from %.3f s to %.3f s: new segment", self._end_s(segment), start_s)
                self._close_segment()
                segment = None
            if segment is None:
                segment = self._current = _OpenSegment(
                    self.folder, index=self._next_index, start_s=start_s,
                    sample_rate=self.sample_rate, channels=self.channels,
                )
                self._next_index += 1
            take = min(len(samples), self.segment_frames - segment.frames)
            data = to_pcm16(samples[:take])
            segment.data_bytes += _write_all(segment.fd, data)
            segment.frames += take
            self._frames_written += take
            samples = samples[take:]
            start_s += take / self.sample_rate
            if segment.frames >= self.segment_frames:
                self._close_segment()

    def _continues(self, segment: _OpenSegment, start_s: float) -> bool:
        return abs(start_s - self._end_s(segment)) <= 1.5 / self.sample_rate

    def _end_s(self, segment: _OpenSegment) -> float:
        return segment.start_s + segment.frames / self.sample_rate

    def _close_segment(self) -> None:
        segment, self._current = self._current, None
        if segment is None:
            return
        try:
            patch_wav_sizes(segment.fd, segment.data_bytes)
            os.fsync(segment.fd)
        finally:
            os.close(segment.fd)
        self._add_segment(segment)

    def _add_segment(self, segment: _OpenSegment) -> None:
        info = SegmentInfo(
            path=segment.path,
            index=segment.index,
            start_s=segment.start_s,
            duration_s=segment.frames / self.sample_rate,
            frames=segment.frames,
            sha256=file_sha256(segment.path),
            sample_rate=self.sample_rate,
            channels=self.channels,
        )
        with self._lock:
            self._segments.append(info)
        log.debug("segment %d closed: %.2f s from %.2f s", info.index, info.duration_s, info.start_s)
        self._notify(self._on_segment, info)

    def _notify(self, callback: Callable | None, value: object) -> None:
        if callback is None:
            return
        try:
            callback(value)
        except Exception:  # the audio matters more than a consumer's bug: keep recording, say so loudly
            log.exception("a recorder callback failed on %r", type(value).__name__)

    def _fail(self, exc: OSError, *, unwritten: list[AudioChunk]) -> None:
        """Keep what reached the disk, close the segment, and remember a clear error for the caller."""
        segment, self._current = self._current, None
        where = segment.path if segment is not None else (exc.filename or self.folder)
        if segment is not None:
            try:
                kept_bytes = _whole_frames(os.fstat(segment.fd).st_size - HEADER_BYTES, self.channels)
                os.ftruncate(segment.fd, HEADER_BYTES + kept_bytes)  # drops a partial frame; frees, never needs, space
                segment.data_bytes = kept_bytes
                segment.frames = kept_bytes // (self.channels * SAMPLE_WIDTH_BYTES)
                patch_wav_sizes(segment.fd, kept_bytes)
                os.fsync(segment.fd)
            except OSError as cleanup_exc:
                log.error("could not tidy %s after the write error: %s", segment.path, cleanup_exc.strerror)
            finally:
                os.close(segment.fd)
            try:
                self._add_segment(segment)
            except OSError as cleanup_exc:
                log.error("could not read back %s after the write error: %s", segment.path, cleanup_exc.strerror)
        lost_frames = sum(len(c.samples) for c in unwritten) + self._drain_queue()
        kept_s = sum(s.duration_s for s in self.segments)
        reason = ("the disk is full (no space left on device)" if exc.errno == errno.ENOSPC
                  else (exc.strerror or str(exc)))
        self._error = RecordingError(
            f"recording stopped: writing {where} failed: {reason}. {kept_s:.1f} s of audio are kept in "
            f"{self.folder}; at most {lost_frames / self.sample_rate:.1f} s queued after them could not be written"
        )
        log.error("%s", self._error)

    def _drain_queue(self) -> int:
        frames = 0
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return frames
            if item is not _STOP:
                frames += len(item.samples)


def _write_all(fd: int, data: bytes) -> int:
    view = memoryview(data)
    written = 0
    while written < len(view):  # os.write may write less than asked, e.g. just before the disk fills
        written += os.write(fd, view[written:])
    return written


def _whole_frames(data_bytes: int, channels: int) -> int:
    block_align = channels * SAMPLE_WIDTH_BYTES
    return max(0, data_bytes) // block_align * block_align


def _next_free_index(folder: Path) -> int:
    indexes = []
    for path in folder.glob(SEGMENT_PATTERN):
        number = path.stem.removeprefix("segment_")
        if number.isdigit():
            indexes.append(int(number))
    return max(indexes) + 1 if indexes else 0
