"""Reading a session's segment folder by frame offset while another process (or machine) is still writing it.

Offsets count frames from the recording's first frame, across segments, as a room agent's stream does
(agent/protocol.py). Nothing is written or repaired here: the segment being written has its header patched after
every write (capture/recorder.py, capture/mirror.py), and its file's length says how many whole frames it holds.
Closed segments are remembered; the last one is looked at again on every read.
"""
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from capture.chunk import AudioChunk
from capture.recorder import HEADER_BYTES, SAMPLE_WIDTH_BYTES, segment_path

_START_AT = 44  # the `bilu` chunk's start_s (recorder.wav_header's layout)


@dataclass(frozen=True, slots=True)
class _Segment:
    index: int
    start_s: float
    first: int  # its first frame's offset in the recording
    frames: int


class ArchiveReader:
    """Frames of a segment folder by offset (read-only)."""

    def __init__(self, folder: Path, *, sample_rate: int, channels: int):
        self.folder, self.sample_rate, self.channels = Path(folder), sample_rate, channels
        self.block = channels * SAMPLE_WIDTH_BYTES
        self._closed: list[_Segment] = []  # every segment before the last one found

    def segments(self) -> list[_Segment]:
        """The segments on disk now, in order (a segment is closed once the next one exists)."""
        found = list(self._closed)
        last = len(found)
        while segment_path(self.folder, last).exists():  # first which exist, then their lengths: a segment
            last += 1  # looked at after its successor was seen is whole
        first = found[-1].first + found[-1].frames if found else 0
        for index in range(len(found), last):
            segment = self._look(index, first)
            if segment is None:
                break
            found.append(segment)
            first += segment.frames
        if len(found) > 1:
            self._closed = found[:-1]
        return found

    def total_frames(self) -> int:
        found = self.segments()
        return found[-1].first + found[-1].frames if found else 0

    def offset_at(self, time_s: float) -> int:
        """The offset of the first frame at or after session time `time_s` (the end when none is)."""
        for segment in self.segments():
            end_s = segment.start_s + segment.frames / self.sample_rate
            if time_s < end_s:
                return segment.first + max(0, int(round((time_s - segment.start_s) * self.sample_rate)))
        return self.total_frames()

    def read(self, first: int, end: int) -> list[AudioChunk]:
        """The frames [first, end) as chunks on the session clock, one per segment; fewer when the folder does not
        hold them all yet."""
        chunks = []
        for segment in self.segments():
            lo, hi = max(first, segment.first), min(end, segment.first + segment.frames)
            if lo >= hi:
                continue
            with open(segment_path(self.folder, segment.index), "rb") as f:
                f.seek(HEADER_BYTES + (lo - segment.first) * self.block)
                data = f.read((hi - lo) * self.block)
            data = data[: len(data) // self.block * self.block]
            if not data:
                break
            samples = np.frombuffer(data, dtype="<i2").reshape(-1, self.channels).astype(np.float32) / 32768.0
            chunks.append(AudioChunk(samples=samples, sample_rate=self.sample_rate,
                                     start_s=segment.start_s + (lo - segment.first) / self.sample_rate))
            if samples.shape[0] < hi - lo:
                break
        return chunks

    def _look(self, index: int, first: int) -> _Segment | None:
        path = segment_path(self.folder, index)
        try:
            with open(path, "rb") as f:
                head = f.read(HEADER_BYTES)
                size = f.seek(0, 2)
        except FileNotFoundError:
            return None
        if len(head) < HEADER_BYTES:  # just created: its header is not written yet
            return None
        start_s = struct.unpack_from("<d", head, _START_AT)[0]
        return _Segment(index, start_s, first, (size - HEADER_BYTES) // self.block)


__all__ = ["ArchiveReader"]
