"""Checking the audio handed to a diarizer, and bringing it to the 16 kHz the models expect."""
import math
from collections.abc import Callable

import numpy as np
from scipy.signal import resample_poly

from diarize.errors import DiarizationError

MODEL_RATE = 16000
"""Silero VAD and the resemblyzer encoder both listen at 16 kHz."""


def checked_audio(audio: object, sample_rate: object) -> np.ndarray:
    """Return `audio` as float32 [frames, channels]; a 1-D array counts as one channel.

    Raises DiarizationError for anything else: wrong type or shape, NaN or infinity, a bad sample rate.
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise DiarizationError(f"sample_rate must be a positive integer in Hz, got {sample_rate!r}")
    if not isinstance(audio, np.ndarray):
        raise DiarizationError(f"audio must be a numpy array [frames, channels], got {type(audio).__name__}")
    if audio.ndim == 1:
        audio = audio[:, None]
    if audio.ndim != 2:
        raise DiarizationError(f"audio must be shaped [frames, channels] (or [frames]), got shape {audio.shape}")
    if audio.shape[1] == 0:
        raise DiarizationError("audio has 0 channels; at least 1 is needed")
    if not np.issubdtype(audio.dtype, np.floating):
        raise DiarizationError(f"audio must hold float samples in [-1, 1], got dtype {audio.dtype}")
    audio = np.asarray(audio, dtype=np.float32)
    if not np.isfinite(audio).all():
        raise DiarizationError("audio holds NaN or infinite samples; only finite values in [-1, 1] are allowed")
    return audio


def to_model_rate(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Resample [frames, channels] (or [frames]) audio to MODEL_RATE along the first axis."""
    if sample_rate == MODEL_RATE or audio.shape[0] == 0:
        return audio
    divisor = math.gcd(MODEL_RATE, int(sample_rate))
    resampled = resample_poly(audio, MODEL_RATE // divisor, int(sample_rate) // divisor, axis=0)
    return np.ascontiguousarray(resampled, dtype=np.float32)


def mixdown(audio: np.ndarray) -> np.ndarray:
    """The mono mix of [frames, channels] audio: what one microphone for the room would hear."""
    if audio.shape[1] == 1:
        return np.ascontiguousarray(audio[:, 0])
    return audio.mean(axis=1, dtype=np.float32)


def loudest_seat(audio: np.ndarray, seats: np.ndarray, frame: int) -> np.ndarray:
    """Mono from [frames, channels] seat microphones: frame k (`frame` samples; the last may be partial) taken
    from channel `seats[k]`, the loudest there (what a room's automatic microphone mixer does). For finding
    speech: each voice comes from its own microphone, with one microphone's noise. The mixdown (their mean)
    halves each voice while the noises add up, and Silero then missed the soft first syllables of a turn
    after a long silence (0.4-1.1 s of speech in the long-pause mixes of bench/mixes.py)."""
    per_sample = np.repeat(np.asarray(seats, dtype=np.int64), frame)[: audio.shape[0]]
    return np.ascontiguousarray(audio[np.arange(per_sample.size), per_sample], dtype=np.float32)


def report_progress(progress: Callable[[float], None] | None, fraction: float) -> None:
    """Tell the caller how far the work has got (0.0 to 1.0), if it asked to know."""
    if progress is not None:
        progress(fraction)


def check_num_speakers(num_speakers: object, *, most: int) -> None:
    """Refuse a speaker count that is neither None (find out) nor a whole number from 1 to `most`."""
    if num_speakers is not None and (
        isinstance(num_speakers, bool) or not isinstance(num_speakers, int) or not 1 <= num_speakers <= most
    ):
        raise DiarizationError(f"num_speakers must be None (find out) or a whole number from 1 to {most}, "
                               f"got {num_speakers!r}")
