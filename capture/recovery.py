"""After a crash: find the segments a recorder left, repair the last header, read the audio back (whole
with `read_segments`, or a window at a time with `segment_windows`, cut as a recorded file is cut).

A recorder killed between writing samples and patching the header leaves a segment whose header
declares less audio than the file holds (or a half-written last frame). The samples themselves are
intact, so the header is rewritten from the data actually on disk.
"""
import hashlib
import logging
import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from capture.chunk import AudioChunk
from capture.decode import SAMPLE_RATE
from capture.microphone import ChunkResampler
from capture.recorder import (
    HEADER_BYTES,
    SAMPLE_WIDTH_BYTES,
    SEGMENT_PATTERN,
    RecordingError,
    SegmentInfo,
    file_sha256,
    patch_wav_sizes,
)
from capture.windows import WINDOW_S, AudioWindow, cut_windows

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Header:
    sample_rate: int
    channels: int
    index: int
    start_s: float
    data_offset: int
    declared_bytes: int


def recover_segments(folder: str | Path) -> list[SegmentInfo]:
    """Every segment in `folder`, in order, with headers repaired to the data on disk and their sha256.

    Safe to run on a folder whose recorder closed cleanly (nothing changes) and to run twice. A file too
    short to hold a header (the process died while creating it) holds no audio and is skipped with a
    warning; any other file that is not a segment of ours raises RecordingError naming it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise RecordingError(f"no recording folder at {folder}")
    found = []
    for path in sorted(folder.glob(SEGMENT_PATTERN)):
        size = path.stat().st_size
        if size < HEADER_BYTES:
            log.warning("%s: %d bytes, no complete header and so no audio: skipped", path, size)
            continue
        header = _read_header(path)
        frames = _repair(path, header, size)
        found.append(
            SegmentInfo(
                path=path,
                index=header.index,
                start_s=header.start_s,
                duration_s=frames / header.sample_rate,
                frames=frames,
                sha256=file_sha256(path),
                sample_rate=header.sample_rate,
                channels=header.channels,
            )
        )
    found.sort(key=lambda info: info.index)
    log.info("recovered %d segments (%.1f s) in %s", len(found), sum(s.duration_s for s in found), folder)
    return found


def read_segments(
    segments: Sequence[SegmentInfo],
    *,
    from_s: float = 0.0,
    until_s: float | None = None,
    sample_rate: int | None = None,
) -> AudioChunk:
    """The audio of `segments` between `from_s` and `until_s` on the session clock, as one chunk.

    Each file is checked against its sha256 first (RecordingError if it changed). Gaps between segments
    become silence so that times stay true. `sample_rate` resamples (16000 for recognition); by default
    the audio keeps the recorded rate. A 4-hour 48 kHz stereo session is 5.5 GB as float32: pass
    `from_s` (what was already transcribed) and `until_s` to read it in parts.
    """
    if not segments:
        raise RecordingError("no segments to read")
    rates = {s.sample_rate for s in segments}
    channels = {s.channels for s in segments}
    if len(rates) != 1 or len(channels) != 1:
        raise RecordingError(f"segments mix sample rates {sorted(rates)} or channel counts {sorted(channels)}")
    rate, width = rates.pop(), channels.pop()
    ordered = sorted(segments, key=lambda s: s.start_s)
    begin_s = max(from_s, ordered[0].start_s)
    end_s = max(s.start_s + s.duration_s for s in ordered)
    if until_s is not None:
        end_s = min(end_s, until_s)
    total = max(0, int(round((end_s - begin_s) * rate)))
    out = np.zeros((total, width), dtype=np.float32)
    filled_until = 0
    for info in ordered:
        first = int(round((info.start_s - begin_s) * rate))  # where the segment's frame 0 lands in `out`
        if first >= total or first + info.frames <= 0:
            continue
        samples = _read_samples(info)
        skip = max(0, -first)
        at = first + skip
        take = min(len(samples) - skip, total - at)
        if at > filled_until:
            log.warning("no audio from %.2f s to %.2f s: filled with silence", begin_s + filled_until / rate, begin_s + at / rate)
        out[at : at + take] = samples[skip : skip + take]
        filled_until = max(filled_until, at + take)
    chunk = AudioChunk(samples=out, sample_rate=rate, start_s=begin_s)
    if sample_rate is None or sample_rate == rate:
        return chunk
    resampler = ChunkResampler(target_rate=sample_rate)
    parts = [part for part in (resampler.resample(chunk), resampler.flush()) if part is not None]
    if not parts:
        return AudioChunk(samples=np.zeros((0, width), dtype=np.float32), sample_rate=sample_rate, start_s=begin_s)
    return AudioChunk(samples=np.concatenate([p.samples for p in parts]), sample_rate=sample_rate, start_s=begin_s)


def segment_windows(segments: Sequence[SegmentInfo], *, from_s: float = 0.0, window_s: float = WINDOW_S,
                    search_s: float | None = None) -> Iterator[AudioWindow]:
    """The audio of `segments` from `from_s` on, at 16 kHz, in windows cut at quiet moments exactly as
    capture.decode_windows cuts a file (the first window starts at `from_s`, or at the first segment after it). Read one segment at a time:
    memory follows the window, not the recording. Gaps between segments are silence, as in read_segments."""
    if not segments:
        raise RecordingError("no segments to read")
    ordered = [s for s in sorted(segments, key=lambda s: s.start_s) if s.start_s + s.duration_s > from_s]
    channels = segments[0].channels
    if len({(s.sample_rate, s.channels) for s in segments}) != 1:
        raise RecordingError("segments mix sample rates or channel counts")
    begin_s = max(from_s, ordered[0].start_s) if ordered else from_s  # as read_segments begins

    def blocks() -> Iterator[np.ndarray]:
        resampler = ChunkResampler(target_rate=SAMPLE_RATE)
        rate = ordered[0].sample_rate
        written = 0  # frames at the recorded rate, from begin_s
        for info in ordered:
            chunk = read_segments([info], from_s=max(from_s, info.start_s))
            gap = int(round((chunk.start_s - begin_s) * rate)) - written
            samples = chunk.samples if gap >= 0 else chunk.samples[-gap:]
            if gap > 0:
                samples = np.concatenate([np.zeros((gap, channels), dtype=np.float32), samples])
            written += samples.shape[0]
            if (out := resampler.resample(AudioChunk(samples, rate, begin_s))) is not None:
                yield out.samples
        if (tail := resampler.flush()) is not None:
            yield tail.samples

    if not ordered:
        return cut_windows(iter(()), channels, window_s=window_s, search_s=search_s, start_s=begin_s)
    return cut_windows(blocks(), channels, window_s=window_s, search_s=search_s, start_s=begin_s)


def _read_samples(info: SegmentInfo) -> np.ndarray:
    data = info.path.read_bytes()
    if (actual := hashlib.sha256(data).hexdigest()) != info.sha256:
        raise RecordingError(f"{info.path} changed since it was recorded: sha256 {actual}, recorded {info.sha256}")
    header = _parse_header(info.path, data[: max(HEADER_BYTES, 4096)])
    pcm = data[header.data_offset : header.data_offset + header.declared_bytes]
    usable = len(pcm) // (header.channels * SAMPLE_WIDTH_BYTES) * (header.channels * SAMPLE_WIDTH_BYTES)
    samples = np.frombuffer(pcm[:usable], dtype="<i2").reshape(-1, header.channels)
    return samples.astype(np.float32) / 32768.0


def _read_header(path: Path) -> _Header:
    with open(path, "rb") as f:
        return _parse_header(path, f.read(4096))


def _parse_header(path: Path, head: bytes) -> _Header:
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise RecordingError(f"{path} is not a WAV segment of a Bilu recording (no RIFF/WAVE header)")
    fmt = bilu = None
    at = 12
    while at + 8 <= len(head):
        kind, size = head[at : at + 4], struct.unpack("<I", head[at + 4 : at + 8])[0]
        body = head[at + 8 : at + 8 + size]
        if kind == b"fmt ":
            fmt = body
        elif kind == b"bilu":
            bilu = body
        elif kind == b"data":
            if fmt is None or len(fmt) < 16 or bilu is None or len(bilu) < 12:
                break
            audio_format, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
            if audio_format != 1 or bits != 8 * SAMPLE_WIDTH_BYTES or channels < 1 or rate < 1:
                raise RecordingError(f"{path}: {bits}-bit format {audio_format}; Bilu segments are 16-bit PCM")
            start_s, index = struct.unpack("<dI", bilu[:12])
            return _Header(rate, channels, index, start_s, at + 8, size)
        at += 8 + size + size % 2
    raise RecordingError(f"{path} is not a WAV segment of a Bilu recording (no fmt, bilu and data chunks)")


def _repair(path: Path, header: _Header, size: int) -> int:
    """Make the header declare the whole frames on disk; the number of frames."""
    block_align = header.channels * SAMPLE_WIDTH_BYTES
    on_disk = size - header.data_offset
    whole = on_disk // block_align * block_align
    if whole == header.declared_bytes and whole == on_disk:
        return whole // block_align
    if header.data_offset != HEADER_BYTES:
        raise RecordingError(f"{path}: unexpected header layout; it cannot be repaired")
    fd = os.open(path, os.O_RDWR)
    try:
        os.ftruncate(fd, header.data_offset + whole)  # a half-written last frame is not audio
        patch_wav_sizes(fd, whole)
        os.fsync(fd)
    finally:
        os.close(fd)
    rate_bytes = header.sample_rate * block_align
    log.info("%s: header repaired: declared %.2f s, holds %.2f s", path.name, header.declared_bytes / rate_bytes, whole / rate_bytes)
    return whole // block_align
