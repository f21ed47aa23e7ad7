"""Where people speak: Silero VAD, the copy shipped inside faster-whisper (no download, no network)."""
import logging
from dataclasses import dataclass

import numpy as np

from diarize.signal import MODEL_RATE

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VadTuning:
    """Tuning values for speech detection (data, not code: change them without touching the pipeline)."""

    threshold: float = 0.5
    # Pauses shorter than this stay inside one region: people pause between phrases without
    # handing over the floor, and a region is what the diarizers split and label.
    min_silence_ms: int = 300
    # Silero marks speech a little late and ends it a little early (soft onsets, trailing finals); pad
    # regions by this much. 100 ms left word edges outside their turn on the shared mixes, 400 ms merged gaps.
    speech_pad_ms: int = 200


def speech_regions(mono: np.ndarray, *, tuning: VadTuning = VadTuning()) -> list[tuple[int, int]]:
    """Speech in 16 kHz mono audio as sorted, non-overlapping [start, end) sample ranges."""
    if mono.ndim != 1:
        raise ValueError(f"speech_regions takes 1-D mono audio, got shape {mono.shape}")
    # Silero works on 512-sample windows; anything shorter cannot hold a word.
    if mono.shape[0] < 512 or not np.any(mono):
        return []
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(
        threshold=tuning.threshold,
        min_silence_duration_ms=tuning.min_silence_ms,
        speech_pad_ms=tuning.speech_pad_ms,
    )
    stamps = get_speech_timestamps(np.ascontiguousarray(mono, dtype=np.float32), options, MODEL_RATE)
    regions = [(int(s["start"]), int(s["end"])) for s in stamps if s["end"] > s["start"]]
    log.debug("VAD: %d speech regions, %.1f s of speech", len(regions), sum(e - s for s, e in regions) / MODEL_RATE)
    return regions
