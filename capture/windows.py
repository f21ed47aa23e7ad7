"""Decode a long recording a window at a time, each cut at a quiet moment, so memory follows the window.

An hour of 16 kHz float32 audio is 230 MB per channel, and faster-whisper's features of it more: a 4-hour
questioning decoded whole does not fit a small machine. `decode_windows` yields consecutive windows of about
`window_s` (the last may be up to `window_s + search_s`); each is cut at the quietest moment of its last
`search_s` seconds, so no word is split between two windows, and the rest is carried into the next one.
The windows together hold every decoded sample exactly once, in order. Every check of `decode_file` applies
(both read through `capture.decode.decoded_blocks`); one that only decoding can show is raised when it is
reached, after the windows before it.
"""
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from capture.decode import MAX_DURATION_S, SAMPLE_RATE, AudioDecodeError, AudioFormat, decoded_blocks, mixdown

log = logging.getLogger(__name__)

# Ten minutes: a window's samples (37 MB a channel) and Whisper's features of them stay small, while each
# window still holds enough of every voice for the diarizers to recognise it in the next.
WINDOW_S = 600.0
# Where a window may end: within its last this many seconds (a quiet moment is rarely further apart).
SEARCH_S = 30.0
# Loudness is compared over frames this long, smoothed over this many frames: a pause between words, not a
# gap between two samples of one word.
_FRAME_S = 0.02
_SMOOTH_FRAMES = 15


@dataclass(frozen=True, slots=True, eq=False)
class AudioWindow:
    """A stretch of a recording: float32 [frames, channels] at 16 kHz, starting `start_s` into the file."""

    samples: np.ndarray
    start_s: float
    index: int
    last: bool  # no window follows
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.sample_rate

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def mono(self) -> np.ndarray:
        """The mixdown that recognition listens to (as DecodedAudio.mono)."""
        return mixdown(self.samples)


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What a whole decode showed of a file, without keeping its samples."""

    duration_s: float
    channels: int
    source_rate: int
    codec: str


def decode_windows(path: str | Path, *, window_s: float = WINDOW_S, search_s: float | None = None,
                   name: str | None = None) -> tuple[AudioFormat, Iterator[AudioWindow]]:
    """The file's format and its windows, decoded as they are asked for. Raises AudioDecodeError (see
    decode_file), from the iterator for what only decoding shows. `search_s` defaults to SEARCH_S, or a
    quarter of `window_s` when that is less. `name` is how error messages call the file.
    """
    if isinstance(window_s, bool) or not (isinstance(window_s, (int, float)) and 1.0 <= window_s <= MAX_DURATION_S):
        raise ValueError(f"window_s must be from 1 to {MAX_DURATION_S} seconds, got {window_s!r}")
    search_s = min(SEARCH_S, window_s / 4) if search_s is None else search_s
    if not (isinstance(search_s, (int, float)) and 0 < search_s <= window_s):
        raise ValueError(f"search_s must be more than 0 and at most window_s ({window_s}), got {search_s!r}")
    audio_format, blocks = decoded_blocks(path, name=name)
    return audio_format, cut_windows(blocks, audio_format.source_channels, window_s=window_s, search_s=search_s)


def probe_file(path: str | Path, *, name: str | None = None) -> AudioInfo:
    """Decode the whole file, keeping nothing: every check of decode_file, in the memory of one block."""
    audio_format, blocks = decoded_blocks(path, name=name)
    frames = sum(block.shape[0] for block in blocks)
    return AudioInfo(duration_s=frames / SAMPLE_RATE, channels=audio_format.source_channels,
                     source_rate=audio_format.source_rate, codec=audio_format.codec)


def cut_windows(blocks: Iterator[np.ndarray], channels: int, *, window_s: float = WINDOW_S,
                search_s: float | None = None, start_s: float = 0.0) -> Iterator[AudioWindow]:
    """16 kHz float32 [frames, channels] `blocks` cut into windows at quiet moments (as decode_windows cuts a
    file), the first starting `start_s` into the recording: a recorded file and the segments of a live
    recording (capture.recovery.segment_windows) are cut the same way."""
    search_s = min(SEARCH_S, window_s / 4) if search_s is None else search_s
    window = int(round(window_s * SAMPLE_RATE))
    search = int(round(search_s * SAMPLE_RATE))
    # A window is cut only once `search` more frames than it are there: the last window is never a sliver.
    enough = window + search
    pending: list[np.ndarray] = []
    pending_frames = 0
    start = 0
    index = 0
    for block in blocks:
        pending.append(block)
        pending_frames += block.shape[0]
        while pending_frames >= enough:
            buffer = np.concatenate(pending, axis=0)
            cut = quiet_cut(buffer[window - search : window]) + window - search
            # Rows of a C-ordered array: the slice is contiguous already, no copy needed.
            yield AudioWindow(buffer[:cut], start_s + start / SAMPLE_RATE, index, last=False)
            start += cut
            index += 1
            pending, pending_frames = [buffer[cut:]], buffer.shape[0] - cut
    rest = (np.concatenate(pending, axis=0) if pending else np.zeros((0, channels), dtype=np.float32))
    log.debug("decoded in %d window(s), %.1f s", index + 1, (start + rest.shape[0]) / SAMPLE_RATE)
    yield AudioWindow(np.ascontiguousarray(rest), start_s + start / SAMPLE_RATE, index, last=True)


def quiet_cut(span: np.ndarray) -> int:
    """The frame of `span` ([frames, channels] or [frames]) at the middle of its quietest stretch: where a
    cut splits no word. Loudness is that of the mixdown in 20 ms frames, smoothed over 0.3 s."""
    mono = span if span.ndim == 1 else span.mean(axis=1, dtype=np.float32)
    frame = int(_FRAME_S * SAMPLE_RATE)
    count = mono.shape[0] // frame
    if count < 1:
        return mono.shape[0] // 2
    energy = np.square(mono[: count * frame].astype(np.float64)).reshape(count, frame).mean(axis=1)
    width = min(_SMOOTH_FRAMES, count)
    smoothed = np.convolve(energy, np.ones(width) / width, mode="same")
    quietest = np.flatnonzero(smoothed <= smoothed.min() * (1 + 1e-6) + 1e-12)
    # Of equally quiet frames (digital silence), the middle of the run nearest the end keeps windows long.
    runs = np.split(quietest, np.flatnonzero(np.diff(quietest) > 1) + 1)
    chosen = runs[-1]
    return int(chosen[len(chosen) // 2] * frame + frame // 2)


__all__ = ["AudioDecodeError", "AudioInfo", "AudioWindow", "SEARCH_S", "WINDOW_S", "cut_windows", "decode_windows",
           "probe_file", "quiet_cut"]
