"""Who spoke when, in a room with one microphone per seat: the seat whose microphone is loudest.

Each person's voice reaches their own microphone 10-20 dB louder than the others', so within speech
(Silero VAD on the mixdown) every short frame goes to the loudest channel. A Viterbi pass with a cost
for switching seats smooths that: a cough or a chair scraping for a moment does not flip the speaker,
while a one-word answer, which stands in its own speech region, starts unopposed.
"""
import logging
from dataclasses import dataclass, field

import numpy as np

from diarize.errors import DiarizationError
from diarize.signal import MODEL_RATE, checked_audio, mixdown, report_progress, to_model_rate
from diarize.turns import merge_spans, to_turns
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
        audio = checked_audio(audio, sample_rate)
        if audio.shape[1] < 2:
            raise DiarizationError(
                f"the channel diarizer needs one microphone per seat (2 or more channels), got "
                f"{audio.shape[1]} channel; use the voice diarizer for a single room microphone"
            )
        audio = to_model_rate(audio, sample_rate)
        duration_s = audio.shape[0] / MODEL_RATE
        report_progress(progress, 0.0)
        regions = speech_regions(mixdown(audio), tuning=self.tuning.vad)
        report_progress(progress, 0.5)
        frame = MODEL_RATE * self.tuning.frame_ms // 1000
        spans: list[tuple[float, float, int]] = []
        for start, end in regions:
            levels_db = _frame_levels_db(audio[start:end], frame)
            seats = _smoothed_seats(levels_db, self.tuning)
            spans.extend(_runs(seats, start_s=start / MODEL_RATE, frame_s=frame / MODEL_RATE, end_s=end / MODEL_RATE))
        turns = to_turns(merge_spans(spans, max_gap_s=self.tuning.max_gap_s), use_channel=True, duration_s=duration_s)
        report_progress(progress, 1.0)
        log.debug("channel diarizer: %d regions -> %d turns on %d seats", len(regions), len(turns), audio.shape[1])
        return turns


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
