"""A copy of another machine's recording, segment for segment and byte for byte.

A room agent records with `SegmentRecorder` on the room's machine and sends its segments' samples; the
server writes them here into files with the very same header (index and start on the session clock), so
that a closed segment's sha256 on the server equals the agent's. Samples are placed by their offset in the
recording (frames counted from the first segment's first frame): what is already stored is skipped, a
gap is refused, so a resend after a lost connection stores nothing twice.

The header is patched after every write, as the recorder does, so the segment in progress is always a
readable WAV file; `sync()` makes what was written durable (the server acknowledges only after it). A
segment is closed when the agent says so, with its frame count and sha256, which must match.
"""
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from error_kinds import BadInput

from capture.chunk import AudioChunk
from capture.devices import CaptureError
from capture.recorder import (
    SAMPLE_WIDTH_BYTES,
    SegmentInfo,
    _write_all,
    file_sha256,
    fsync_folder,
    patch_wav_sizes,
    segment_path,
    wav_header,
)
from capture.recovery import recover_segments

log = logging.getLogger(__name__)


class MirrorError(BadInput, CaptureError):
    """What the sender sent does not fit the copy: a gap, a segment out of order, a different sha256."""

    code = "stream_invalid"


@dataclass
class _Open:
    index: int
    start_s: float
    frames: int
    fd: int


class SegmentMirror:
    """The segments of one recording as they arrive. Not thread-safe: one receiver writes."""

    def __init__(self, folder: str | Path, *, sample_rate: int, channels: int, closed: set[int] = frozenset()):
        """Takes up what `folder` already holds (after a restart): headers repaired, every segment but the
        last taken as closed, the last too when its index is in `closed` (the store recorded it)."""
        self.folder = Path(folder)
        self.sample_rate, self.channels = sample_rate, channels
        self.block = channels * SAMPLE_WIDTH_BYTES
        self.closed: list[SegmentInfo] = []
        self._open: _Open | None = None
        self.folder.mkdir(parents=True, exist_ok=True)
        found = recover_segments(self.folder)
        for info in found:
            if (info.sample_rate, info.channels) != (sample_rate, channels):
                raise MirrorError(f"{info.path}: {info.sample_rate} Hz, {info.channels} channels; the recording "
                                  f"is {sample_rate} Hz, {channels} channels")
        for position, info in enumerate(found):
            if info.index != position:
                raise MirrorError(f"{self.folder}: segment {info.index} found where {position} was expected")
            if position < len(found) - 1 or info.index in closed:
                self.closed.append(info)
            else:
                fd = os.open(info.path, os.O_WRONLY)
                os.lseek(fd, 0, os.SEEK_END)
                self._open = _Open(info.index, info.start_s, info.frames, fd)

    @property
    def stored_frames(self) -> int:
        """Frames of the recording held here, from its start: where the sender goes on."""
        return sum(s.frames for s in self.closed) + (self._open.frames if self._open else 0)

    @property
    def closed_count(self) -> int:
        return len(self.closed)

    def segments(self) -> list[SegmentInfo]:
        """Every segment held, the open one with its sha256 as it is now (for reading back what is stored)."""
        found = list(self.closed)
        if self._open is not None:
            path = segment_path(self.folder, self._open.index)
            found.append(SegmentInfo(path=path, index=self._open.index, start_s=self._open.start_s,
                                     duration_s=self._open.frames / self.sample_rate, frames=self._open.frames,
                                     sha256=file_sha256(path), sample_rate=self.sample_rate, channels=self.channels))
        return found

    def append(self, *, index: int, start_s: float, offset: int, pcm: bytes) -> AudioChunk | None:
        """Store the samples `pcm` (16-bit, interleaved) that begin at frame `offset` of the recording and
        belong to segment `index` starting at `start_s`. Returns the part not stored before, as a chunk on
        the session clock (None when all of it was already here)."""
        if len(pcm) % self.block:
            raise MirrorError(f"{len(pcm)} bytes is not a whole number of {self.channels}-channel 16-bit frames")
        frames = len(pcm) // self.block
        stored = self.stored_frames
        if offset + frames <= stored or index < self.closed_count:
            return None  # a resend of what is here already
        if offset > stored:
            raise MirrorError(f"samples from frame {offset} would leave a gap: frames up to {stored} are stored")
        if index != self.closed_count:
            raise MirrorError(f"samples of segment {index} before segment {self.closed_count} was closed")
        if self._open is None:
            self._open = self._create(index, start_s)
        elif abs(self._open.start_s - start_s) > 1e-9:
            raise MirrorError(f"segment {index} starts at {self._open.start_s} s here, not {start_s} s")
        skip = stored - offset
        data = pcm[skip * self.block:]
        _write_all(self._open.fd, data)
        first_in_segment = self._open.frames
        self._open.frames += frames - skip
        patch_wav_sizes(self._open.fd, self._open.frames * self.block)
        samples = np.frombuffer(data, dtype="<i2").reshape(-1, self.channels).astype(np.float32) / 32768.0
        return AudioChunk(samples=samples, sample_rate=self.sample_rate,
                          start_s=self._open.start_s + first_in_segment / self.sample_rate)

    def sync(self) -> None:
        """Make everything written durable (before it is acknowledged)."""
        if self._open is not None:
            os.fsync(self._open.fd)

    def close_segment(self, *, index: int, start_s: float, frames: int, sha256: str) -> SegmentInfo | None:
        """The sender closed segment `index` with `frames` and `sha256`: close ours and check it is the same.
        Returns the closed segment, or None when it was closed here already (and is the same).

        A copy that differs is moved aside (kept, named `.mismatch`) and MirrorError raised: the sender sends
        that segment again from its start."""
        if index < self.closed_count:
            known = self.closed[index]
            if (known.frames, known.sha256) != (frames, sha256):
                raise MirrorError(f"segment {index} is stored with {known.frames} frames, sha256 {known.sha256}; "
                                  f"the sender has {frames} frames, sha256 {sha256}")
            return None
        if self._open is None and index == self.closed_count and frames == 0:
            self._open = self._create(index, start_s)  # the sender died just after creating it: empty, as there
        segment = self._open
        if index != self.closed_count or segment is None or segment.index != index:
            raise MirrorError(f"segment {index} closed, but segment {self.closed_count} is the one being received")
        if segment.frames != frames:
            raise MirrorError(f"segment {index} closed at {frames} frames; {segment.frames} were received")
        os.fsync(segment.fd)
        os.close(segment.fd)
        self._open = None
        path = segment_path(self.folder, index)
        actual = file_sha256(path)
        if actual != sha256:
            aside = path.with_name(f"{path.name}.mismatch")
            path.replace(aside)
            fsync_folder(self.folder)
            log.error("segment %d of %s differs from the sender's (sha256 %s, sent %s): kept as %s, received again",
                      index, self.folder, actual, sha256, aside.name)
            raise MirrorError(f"segment {index} differs from the sender's copy (sha256 {actual}, sender {sha256})")
        info = SegmentInfo(path=path, index=index, start_s=segment.start_s, duration_s=frames / self.sample_rate,
                           frames=frames, sha256=actual, sample_rate=self.sample_rate, channels=self.channels)
        self.closed.append(info)
        return info

    def close(self) -> None:
        """Let go of the open file (what was written stays; a later mirror takes it up)."""
        if self._open is not None:
            os.fsync(self._open.fd)
            os.close(self._open.fd)
            self._open = None

    def _create(self, index: int, start_s: float) -> _Open:
        path = segment_path(self.folder, index)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        header = wav_header(sample_rate=self.sample_rate, channels=self.channels, index=index, start_s=start_s,
                            data_bytes=0)
        _write_all(fd, header)
        os.fsync(fd)
        fsync_folder(self.folder)
        return _Open(index, start_s, 0, fd)


__all__ = ["MirrorError", "SegmentMirror"]
