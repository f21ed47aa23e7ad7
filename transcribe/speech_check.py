"""The independent measure: is the audio under a recognised text speech at all?

Whisper's own figures cannot answer that (on silence or music it is often confident of text it invents),
so two measures that never see the text do: Silero VAD's speech probability over the utterance's span,
and the span's level above the recording's noise floor. Only when they say "not speech" is a line left
out of the written record (and shown struck through for an officer to confirm or restore); the text is
always stored.

Measured on the test clips (tests/data, all real speech): Silero's mean over a recognised utterance was
0.48-0.98 and its level 8-75 dB above the floor; over 60 s of digital silence, low noise and synthetic
chords the mean stayed below 0.01 and the level within 7 dB of the floor. The thresholds sit far from both.
"""
from dataclasses import dataclass, replace

import numpy as np

from transcribe.hallucination import NO_SPEECH_AUDIO
from transcribe.types import Utterance

SAMPLE_RATE = 16000
FRAME_SAMPLES = 512  # Silero's window at 16 kHz (32 ms); levels use the same frames
# Below this mean probability Silero is sure the span holds no speech, whatever its level.
SPEECH_PROBABILITY_MIN = 0.15
# Between the two, Silero is unsure: the span counts as speech unless its level is also near the floor.
UNSURE_PROBABILITY = 0.4
ENERGY_MIN_DB = 6.0
# The noise floor: the level that this share of the recording's frames stay under (the quiet between words).
NOISE_FLOOR_PERCENTILE = 10
SILENT_DB = -100.0  # the level given to digital silence (log of zero)
# Silero is a recurrent model: it hears this much audio before the span first, so its state has settled.
_CONTEXT_S = 0.5


@dataclass(frozen=True, slots=True)
class SpeechMeasure:
    speech_probability: float
    energy_db: float  # above the noise floor
    not_speech: bool


def frame_levels_db(samples: np.ndarray) -> np.ndarray:
    """The level (dBFS of the mean power) of each whole FRAME_SAMPLES frame."""
    frames = np.asarray(samples[: len(samples) // FRAME_SAMPLES * FRAME_SAMPLES], dtype=np.float64)
    power = np.mean(frames.reshape(-1, FRAME_SAMPLES) ** 2, axis=1)
    return np.maximum(10 * np.log10(np.maximum(power, 1e-30)), SILENT_DB)


def noise_floor_db(samples: np.ndarray) -> float:
    """The recording's noise floor in dBFS (SILENT_DB for digital silence or under one frame of audio)."""
    levels = frame_levels_db(samples)
    return float(np.percentile(levels, NOISE_FLOOR_PERCENTILE)) if len(levels) else SILENT_DB


def level_db(samples: np.ndarray) -> float:
    power = float(np.mean(np.asarray(samples, dtype=np.float64) ** 2)) if len(samples) else 0.0
    return max(10 * np.log10(power), SILENT_DB) if power > 0 else SILENT_DB


def measure_span(samples: np.ndarray, *, start_s: float, end_s: float, samples_start_s: float,
                 floor_db: float) -> SpeechMeasure | None:
    """The measure over [start_s, end_s] (session times) of mono 16 kHz `samples` that begin at
    `samples_start_s`; None when none of the span's audio is there."""
    first = int(round((start_s - samples_start_s) * SAMPLE_RATE))
    last = int(round((end_s - samples_start_s) * SAMPLE_RATE))
    if last - first < FRAME_SAMPLES:  # a word timed as a point: judge at least one frame around it
        middle = (first + last) // 2
        first, last = middle - FRAME_SAMPLES // 2, middle + FRAME_SAMPLES // 2
    first, last = max(0, first), min(len(samples), last)
    if last - first <= 0:
        return None
    probability = float(_speech_probability(samples, first, last))
    energy = float(level_db(samples[first:last]) - floor_db)
    # Plain Python values: they go into JSON (the live WebSocket, exports), which refuses numpy's bool.
    not_speech = bool(probability < SPEECH_PROBABILITY_MIN or (probability < UNSURE_PROBABILITY and energy < ENERGY_MIN_DB))
    return SpeechMeasure(round(probability, 3), round(energy, 1), not_speech)


def judged(utterance: Utterance, samples: np.ndarray, *, samples_start_s: float, floor_db: float) -> Utterance:
    """`utterance` with the measure of the audio under it; an utterance no filter suspected but whose audio
    is not speech is marked NO_SPEECH_AUDIO. Without its audio, the utterance is returned as it was."""
    found = measure_span(samples, start_s=utterance.start_s, end_s=utterance.end_s,
                         samples_start_s=samples_start_s, floor_db=floor_db)
    if found is None:
        return utterance
    suspect = utterance.suspect or (NO_SPEECH_AUDIO if found.not_speech else None)
    return replace(utterance, suspect=suspect, speech_probability=found.speech_probability,
                   energy_db=found.energy_db, not_speech=found.not_speech)


def _speech_probability(samples: np.ndarray, first: int, last: int) -> float:
    """Silero's mean speech probability over samples[first:last], after up to _CONTEXT_S of context."""
    from faster_whisper.vad import get_vad_model  # heavy import: only when judging

    context = min(first, int(_CONTEXT_S * SAMPLE_RATE)) // FRAME_SAMPLES * FRAME_SAMPLES
    audio = np.asarray(samples[first - context : last], dtype=np.float32)
    padded = np.pad(audio, (0, (-len(audio)) % FRAME_SAMPLES))
    probabilities = np.asarray(get_vad_model()(padded), dtype=np.float64).ravel()
    return float(np.mean(probabilities[context // FRAME_SAMPLES :]))
