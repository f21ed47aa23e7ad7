"""What an interview room may hear when nobody speaks, made with numpy (mono float32, 16 kHz).

Digital silence, low steady noise (a fan, a quiet line), music (synthesised chords: a tone generator, as
sox `synth` would make; espeak-ng would be speech), and TV-like speech under music (a real recording from
tests/data under those chords). Deterministic: the same seed gives the same samples.
"""
import numpy as np

RATE = 16000
# Triads (C, A minor, F, G major), two seconds each, each note with its octave, struck and decaying.
_CHORDS_HZ = ((261.63, 329.63, 392.00), (220.00, 261.63, 329.63), (174.61, 220.00, 261.63), (196.00, 246.94, 293.66))
_CHORD_S = 2.0


def digital_silence(duration_s: float) -> np.ndarray:
    return np.zeros(int(duration_s * RATE), dtype=np.float32)


def low_noise(duration_s: float, *, level_dbfs: float = -50.0, seed: int = 15) -> np.ndarray:
    """White noise at `level_dbfs` RMS (-50 dBFS: a quiet room's hiss heard by a desk microphone)."""
    rms = 10 ** (level_dbfs / 20)
    return np.random.default_rng(seed).normal(0.0, rms, int(duration_s * RATE)).astype(np.float32)


def music(duration_s: float, *, peak: float = 0.15) -> np.ndarray:
    """Chords changing every two seconds, struck and decaying, peaking at `peak`."""
    n = int(duration_s * RATE)
    out = np.zeros(n, dtype=np.float64)
    chord_n = int(_CHORD_S * RATE)
    t = np.arange(chord_n) / RATE
    envelope = np.minimum(1.0, t * 20) * np.exp(-0.8 * t)
    for index, start in enumerate(range(0, n, chord_n)):
        length = min(chord_n, n - start)
        tones = sum(np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t) for f in _CHORDS_HZ[index % 4])
        out[start : start + length] = (tones * envelope)[:length]
    return (peak * out / max(np.abs(out).max(), 1e-9)).astype(np.float32)


def speech_under_music(speech: np.ndarray, *, music_gain: float = 0.8, speech_gain: float = 0.6) -> np.ndarray:
    """A television in the room: `speech` mixed with music over the same span."""
    mixed = speech_gain * speech + music_gain * music(len(speech) / RATE + 1)[: len(speech)]
    return np.clip(mixed, -1.0, 1.0).astype(np.float32)
