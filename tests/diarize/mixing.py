"""Room mixes built from real single-speaker clips, with their exact ground truth (used by tests and bench).

A mix places each speaker's (trimmed, gain-normalised) speech at chosen times and renders two recordings:
one microphone for the room (the sum of the voices) and one microphone per seat (the seat's own voice
plus every other voice 12-20 dB lower and a few milliseconds late, as a desk microphone hears the person
opposite). Low brown noise (room rumble) runs under both. The reference turns come from the construction,
so they are exact: a turn is the trimmed clip's span (pauses inside a clip count as that person's speech).

Three kinds, each seeded:
- `overlap_mix`: alternating turns, the next speaker starting 0.5-2 s before the previous one ends;
- `short_answer_mix`: long questions, each answered by 0.3-0.8 s cut from the other speaker's speech
  (a syllable or two at the start of a speech region), with one longer answer so the voice is known;
- `pause_mix`: A, then 60-120 s of room noise, A again, then B.
"""
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RATE = 16000
_LEVEL_DBFS = -26.0
_NOISE_DBFS = -55.0
_FADE_S = 0.02


@dataclass(frozen=True, slots=True)
class Voice:
    """A speaker's material: trimmed speech at 16 kHz, and its reference text (None when unknown)."""

    name: str
    speech: np.ndarray
    text: str | None = None


@dataclass(frozen=True, slots=True)
class MixTurn:
    start_s: float
    end_s: float
    speaker: str
    seat: int
    text: str | None = None


@dataclass
class Mix:
    name: str
    seats: int
    duration_s: float = 0.0
    turns: list[MixTurn] = field(default_factory=list)
    _placed: list[tuple[int, int, np.ndarray]] = field(default_factory=list)  # (start frame, seat, speech)

    def place(self, voice: Voice, speech: np.ndarray, start_s: float, *, seat: int, text: str | None = None) -> float:
        """Put `speech` (a piece of `voice`) at `start_s` on `seat`; returns where it ends."""
        start = int(round(start_s * RATE))
        self._placed.append((start, seat, speech))
        end_s = (start + speech.size) / RATE
        self.turns.append(MixTurn(round(start / RATE, 3), round(end_s, 3), voice.name, seat, text))
        self.duration_s = max(self.duration_s, end_s)
        return end_s

    def render(self, *, seed: int, tail_s: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
        """(mono [frames], seats [frames, seats]) float32 at 16 kHz."""
        rng = np.random.default_rng(seed)
        frames = int(round((self.duration_s + tail_s) * RATE))
        mono = np.zeros(frames, dtype=np.float32)
        seats = np.zeros((frames, self.seats), dtype=np.float32)
        for start, seat, speech in self._placed:
            mono[start : start + speech.size] += speech
            for other in range(self.seats):
                if other == seat:
                    seats[start : start + speech.size, other] += speech
                    continue
                gain = 10 ** (-rng.uniform(12.0, 20.0) / 20)
                delay = int(rng.uniform(0.002, 0.008) * RATE)  # 0.7-2.7 m further away
                end = min(frames, start + delay + speech.size)
                seats[start + delay : end, other] += gain * speech[: end - start - delay]
        mono += brown_noise(frames, rng=rng)
        for seat in range(self.seats):
            seats[:, seat] += brown_noise(frames, rng=rng)
        return np.clip(mono, -1, 1), np.clip(seats, -1, 1)

    def rttm(self) -> str:
        return "".join(
            f"SPEAKER {self.name} 1 {t.start_s:.3f} {t.end_s - t.start_s:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
            for t in sorted(self.turns, key=lambda t: t.start_s)
        )

    def write_rttm(self, folder: Path) -> Path:
        path = Path(folder) / f"{self.name}.rttm"
        path.write_text(self.rttm(), encoding="utf-8")
        return path


def brown_noise(frames: int, *, rng: np.random.Generator, level_dbfs: float = _NOISE_DBFS) -> np.ndarray:
    """Low-frequency room rumble: integrated white noise, leaky so that it does not drift, at `level_dbfs`."""
    from scipy.signal import lfilter

    if frames == 0:
        return np.zeros(0, dtype=np.float32)
    noise = lfilter([1.0], [1.0, -0.995], rng.standard_normal(frames))
    noise *= 10 ** (level_dbfs / 20) / max(float(np.sqrt(np.mean(noise**2))), 1e-12)
    return noise.astype(np.float32)


def voice_from(samples: np.ndarray, name: str, *, text: str | None = None) -> Voice:
    """A Voice from a clip's 16 kHz mono samples: trimmed to its speech (Silero VAD) and normalised."""
    from diarize.vad import VadTuning, speech_regions

    regions = speech_regions(np.asarray(samples, dtype=np.float32), tuning=VadTuning(speech_pad_ms=30))
    if not regions:
        raise ValueError(f"{name}: no speech found in the clip")
    speech = samples[regions[0][0] : regions[-1][1]]
    return Voice(name, _normalised(speech), text)


def syllables(voice: Voice, *, rng: np.random.Generator, min_s: float = 0.3, max_s: float = 0.8) -> np.ndarray:
    """A short answer: 0.3-0.8 s from the start of one of the voice's speech regions, faded at both ends."""
    from diarize.vad import VadTuning, speech_regions

    regions = speech_regions(voice.speech, tuning=VadTuning(speech_pad_ms=30, min_silence_ms=100))
    usable = [r for r in regions if r[1] - r[0] >= int(min_s * RATE)] or regions
    start, end = usable[int(rng.integers(len(usable)))]
    length = min(end - start, int(rng.uniform(min_s, max_s) * RATE))
    return _faded(voice.speech[start : start + length])


def overlap_mix(name: str, first: Voice, second: Voice, *, seed: int, turns: int = 6,
                max_turn_s: float = 7.0) -> Mix:
    """Alternating turns (pieces of at most `max_turn_s` of each voice, in order), each next one starting
    0.5-2 s before the previous one ends. Seat 0 is `first`, seat 1 `second`."""
    rng = np.random.default_rng(seed)
    mix = Mix(name, seats=2)
    cursor = {first.name: 0, second.name: 0}
    at_s, end_s = 0.5, 0.5
    own_end_s = {first.name: 0.0, second.name: 0.0}
    for k in range(turns):
        voice, seat = (first, 0) if k % 2 == 0 else (second, 1)
        piece = _next_piece(voice, cursor, max_turn_s=max_turn_s)
        if k:
            # Into the other's turn, but never before this speaker's own previous turn has ended.
            at_s = max(end_s - rng.uniform(0.5, 2.0), own_end_s[voice.name] + 0.5)
        text = voice.text if piece.size == voice.speech.size else None
        end_s = mix.place(voice, piece, at_s, seat=seat, text=text)
        own_end_s[voice.name] = end_s
    return mix


def short_answer_mix(name: str, asker: Voice, answerer: Voice, *, seed: int, answers: int = 5,
                     question_s: float = 5.0) -> Mix:
    """A long answer by `answerer` first (so the voice is known), then questions of about `question_s`
    each answered by a syllable or two; 0.4-0.9 s of silence between turns."""
    rng = np.random.default_rng(seed)
    mix = Mix(name, seats=2)
    cursor = {asker.name: 0, answerer.name: 0}
    end_s = mix.place(answerer, _next_piece(answerer, cursor, max_turn_s=4.0), 0.5, seat=1)
    for _ in range(answers):
        end_s = mix.place(asker, _next_piece(asker, cursor, max_turn_s=question_s), end_s + rng.uniform(0.4, 0.9), seat=0)
        end_s = mix.place(answerer, syllables(answerer, rng=rng), end_s + rng.uniform(0.4, 0.9), seat=1)
    return mix


def pause_mix(name: str, first: Voice, second: Voice, *, seed: int, pause_s: tuple[float, float] = (60.0, 120.0),
              turn_s: float = 8.0) -> Mix:
    """`first` speaks, then a long pause with only room noise, `first` again, then `second`."""
    rng = np.random.default_rng(seed)
    mix = Mix(name, seats=2)
    cursor = {first.name: 0, second.name: 0}
    end_s = mix.place(first, _next_piece(first, cursor, max_turn_s=turn_s), 0.5, seat=0)
    end_s = mix.place(first, _next_piece(first, cursor, max_turn_s=turn_s), end_s + rng.uniform(*pause_s), seat=0)
    mix.place(second, _next_piece(second, cursor, max_turn_s=turn_s), end_s + rng.uniform(0.5, 1.0), seat=1)
    return mix


def render_all(mixes: Sequence[Mix], *, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {mix.name: mix.render(seed=seed + k) for k, mix in enumerate(mixes)}


def _next_piece(voice: Voice, cursor: dict[str, int], *, max_turn_s: float) -> np.ndarray:
    """The next piece of at most `max_turn_s` of the voice's speech, going round when it runs out."""
    length = min(voice.speech.size, int(max_turn_s * RATE))
    start = cursor[voice.name]
    if start + length > voice.speech.size:
        start = 0
    cursor[voice.name] = start + length
    if length == voice.speech.size:
        return voice.speech
    return _faded(_trimmed(voice.speech[start : start + length]))


def _trimmed(piece: np.ndarray) -> np.ndarray:
    """The piece from its first to its last speech (a cut may fall in a pause; the truth must not)."""
    from diarize.vad import VadTuning, speech_regions

    regions = speech_regions(piece, tuning=VadTuning(speech_pad_ms=30))
    return piece[regions[0][0] : regions[-1][1]] if regions else piece


def _normalised(speech: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(speech, dtype=np.float64))))
    return (speech * (10 ** (_LEVEL_DBFS / 20) / max(rms, 1e-9))).astype(np.float32)


def _faded(piece: np.ndarray) -> np.ndarray:
    fade = min(int(_FADE_S * RATE), piece.size // 2)
    out = piece.astype(np.float32, copy=True)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        out[:fade] *= ramp
        out[-fade:] *= ramp[::-1]
    return out
