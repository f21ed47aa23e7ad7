"""Who spoke when, in a room with one microphone per seat: the seat whose microphone is loudest.

Each person's voice reaches their own microphone 10-20 dB louder than the others', so within speech
(Silero VAD on the loudest seat's microphone, frame by frame: diarize.signal.loudest_seat) every short
frame goes to the loudest channel. A Viterbi pass with a cost for switching seats smooths that: a cough
or a chair scraping for a moment does not flip the speaker, while a one-word answer, which stands in its
own speech region, starts unopposed.
"""
import logging
from dataclasses import dataclass, field

import numpy as np

from diarize.errors import DiarizationError
from diarize.signal import MODEL_RATE, checked_audio, loudest_seat, report_progress, to_model_rate
from diarize.turns import exclusive_turns, merge_spans, to_turns
from diarize.types import ProgressCallback, SpeakerTurn
from diarize.vad import VadTuning, speech_regions

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChannelTuning:
    frame_ms: int = 20
    # A frame's cost for a seat is how many dB that seat's microphone is below the loudest one,
    # capped so that one very loud click cannot outweigh many ordinary frames.
    max_frame_cost_db: float = 20.0
    # Switching seats costs as much as this many dB-frames: at a 14 dB lead, a new speaker must hold
    # the floor about 0.1 s to take a turn, and 0.2 s to take one in the middle of someone else's.
    switch_cost_db: float = 80.0
    # A pause up to this long inside one person's speech keeps the turn open.
    max_gap_s: float = 1.0
    # Overlap: a seat other than the loudest also speaks when its own microphone is within this many dB
    # of the loudest one (another voice reaches a seat 12-20 dB down, so only its own speaker gets this
    # close) and this far above its own noise floor (the seat's 10th-percentile frame level).
    overlap_margin_db: float = 8.0
    overlap_above_floor_db: float = 15.0
    # Such frames must add up to a stretch this long (after closing gaps up to overlap_gap_s) to count:
    # a word's worth, not a syllable of coincidence.
    min_overlap_s: float = 0.3
    overlap_gap_s: float = 0.2
    # Long recordings go through in windows of this length so that memory stays flat for hours.
    window_s: float = 600.0
    vad: VadTuning = field(default_factory=VadTuning)


class ChannelDiarizer:
    """Diarization by seat microphone: speaker `S{n}` is whoever sits at channel n-1."""

    name = "channel"

    def __init__(self, *, tuning: ChannelTuning = ChannelTuning()) -> None:
        self.tuning = tuning

    def diarize(
        self,
        audio: np.ndarray,
        sample_rate: int,
        *,
        num_speakers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SpeakerTurn]:
        """Turns for [frames, channels] audio with at least 2 channels. `num_speakers` is ignored: the
        seats decide. Raises DiarizationError for fewer than 2 channels or malformed audio."""
        return exclusive_turns(self.diarize_overlapping(audio, sample_rate, progress=progress))

    def diarize_overlapping(
        self,
        audio: np.ndarray,
        sample_rate: int,
        *,
        num_speakers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SpeakerTurn]:
        """Like `diarize`, but two seats may talk at once: turns of different seats may overlap (sorted by
        start; one seat's turns never overlap each other)."""
        audio = checked_audio(audio, sample_rate)
        if audio.shape[1] < 2:
            raise DiarizationError(
                f"the channel diarizer needs one microphone per seat (2 or more channels), got "
                f"{audio.shape[1]} channel; use the voice diarizer for a single room microphone"
            )
        duration_s = audio.shape[0] / sample_rate
        step = max(1, int(self.tuning.window_s * sample_rate))
        report_progress(progress, 0.0)
        primary: list[tuple[float, float, int]] = []
        secondary: list[tuple[float, float, int]] = []
        for start in range(0, audio.shape[0], step):
            # Views of the caller's array, resampled one window at a time: memory follows the window.
            window = to_model_rate(audio[start : start + step], sample_rate)
            found_primary, found_secondary = self._window_spans(window, offset_s=start / sample_rate)
            primary.extend(found_primary)
            secondary.extend(found_secondary)
            report_progress(progress, min(1.0, (start + step) / audio.shape[0]) * 0.99)
        turns = _overlapping_turns(primary, secondary, max_gap_s=self.tuning.max_gap_s,
                                   join_gap_s=self.tuning.overlap_gap_s, duration_s=duration_s)
        report_progress(progress, 1.0)
        log.debug("channel diarizer: %d turns on %d seats", len(turns), audio.shape[1])
        return turns

    def _window_spans(self, audio: np.ndarray, *, offset_s: float) -> tuple[list, list]:
        """(primary, secondary) spans (start_s, end_s, seat) of one window of 16 kHz audio."""
        tuning = self.tuning
        frame = MODEL_RATE * tuning.frame_ms // 1000
        window_levels_db = _frame_levels_db(audio, frame)
        loudest = np.argmax(window_levels_db, axis=1) if window_levels_db.size else np.zeros(0, dtype=np.int64)
        regions = speech_regions(loudest_seat(audio, loudest, frame), tuning=tuning.vad)
        frame_s = frame / MODEL_RATE
        if not regions:
            return [], []
        floors_db = np.percentile(window_levels_db, 10, axis=0)
        primary, secondary = [], []
        for start, end in regions:
            levels_db = _frame_levels_db(audio[start:end], frame)
            seats = _smoothed_seats(levels_db, tuning)
            region_s = (offset_s + start / MODEL_RATE, offset_s + end / MODEL_RATE)
            primary.extend(_runs(seats, start_s=region_s[0], frame_s=frame_s, end_s=region_s[1]))
            also = (levels_db >= levels_db.max(axis=1, keepdims=True) - tuning.overlap_margin_db) & (
                levels_db >= floors_db + tuning.overlap_above_floor_db)
            for seat in range(levels_db.shape[1]):
                active = _closed(also[:, seat] & (seats != seat), int(tuning.overlap_gap_s / frame_s))
                for a, b in _true_runs(active):
                    if (b - a) * frame_s >= tuning.min_overlap_s:
                        secondary.append((region_s[0] + a * frame_s, min(region_s[1], region_s[0] + b * frame_s), seat))
        return primary, secondary


def _overlapping_turns(primary, secondary, *, max_gap_s: float, join_gap_s: float,
                       duration_s: float) -> list[SpeakerTurn]:
    """Turns by start: the loudest seat's spans joined over pauses as before, then each seat's overlap
    spans added. A seat's pause up to `max_gap_s` is bridged when someone talks all through it (the
    other speaker was louder for a while, as happens in an overlap), not when it holds silence (a short
    answer from the other seat between two questions stays a turn of its own)."""
    merged = merge_spans(sorted(primary), max_gap_s=max_gap_s)
    everyone = merge_spans(sorted((a, b, 0) for a, b, _ in [*merged, *secondary]), max_gap_s=join_gap_s)
    per_seat: dict[int, list[tuple[float, float, int]]] = {}
    for span in sorted([*merged, *secondary]):
        per_seat.setdefault(span[2], []).append(span)
    spans = []
    for seat_spans in per_seat.values():
        joined: list[tuple[float, float, int]] = []
        for start_s, end_s, seat in seat_spans:
            if joined and (start_s - joined[-1][1] <= join_gap_s or (
                    start_s - joined[-1][1] <= max_gap_s and _talked_through(joined[-1][1], start_s, everyone))):
                joined[-1] = (joined[-1][0], max(joined[-1][1], end_s), seat)
            else:
                joined.append((start_s, end_s, seat))
        spans.extend(joined)
    return to_turns(sorted(spans), use_channel=True, duration_s=duration_s)


def _talked_through(start_s: float, end_s: float, speech: list[tuple[float, float, int]]) -> bool:
    """Whether one stretch of `speech` (sorted, disjoint) covers [start_s, end_s]."""
    return any(a <= start_s and b >= end_s for a, b, _ in speech)


def _closed(active: np.ndarray, gap_frames: int) -> np.ndarray:
    """`active` with runs of False up to `gap_frames` long between two True runs set to True."""
    out = active.copy()
    runs = _true_runs(~active)
    for a, b in runs:
        if a > 0 and b < active.size and b - a <= gap_frames:
            out[a:b] = True
    return out


def _true_runs(active: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index ranges of the runs of True."""
    padded = np.concatenate([[False], active, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _frame_levels_db(audio: np.ndarray, frame: int) -> np.ndarray:
    """Energy in dB per (frame, channel); a last partial frame counts as a frame."""
    frames = -(-audio.shape[0] // frame)
    padded = np.zeros((frames * frame, audio.shape[1]), dtype=np.float32)
    padded[: audio.shape[0]] = audio
    power = np.mean(padded.reshape(frames, frame, audio.shape[1]) ** 2, axis=1)
    return 10.0 * np.log10(power + 1e-10)


def _smoothed_seats(levels_db: np.ndarray, tuning: ChannelTuning) -> np.ndarray:
    """The seat per frame: Viterbi over seats, cost = dB below the loudest seat, plus a switching cost."""
    costs = np.minimum(levels_db.max(axis=1, keepdims=True) - levels_db, tuning.max_frame_cost_db)
    frames, seats = costs.shape
    total = costs[0].copy()
    came_from = np.zeros((frames, seats), dtype=np.int64)
    for t in range(1, frames):
        best = int(np.argmin(total))
        switch = total[best] + tuning.switch_cost_db
        stay_cheaper = total <= switch
        came_from[t] = np.where(stay_cheaper, np.arange(seats), best)
        total = np.where(stay_cheaper, total, switch) + costs[t]
    path = np.empty(frames, dtype=np.int64)
    path[-1] = int(np.argmin(total))
    for t in range(frames - 1, 0, -1):
        path[t - 1] = came_from[t, path[t]]
    return path


def _runs(seats: np.ndarray, *, start_s: float, frame_s: float, end_s: float) -> list[tuple[float, float, int]]:
    """Runs of the same seat as (start_s, end_s, seat) spans."""
    changes = np.flatnonzero(np.diff(seats)) + 1
    bounds = [0, *changes.tolist(), len(seats)]
    return [
        (start_s + a * frame_s, min(end_s, start_s + b * frame_s), int(seats[a]))
        for a, b in zip(bounds[:-1], bounds[1:])
    ]
