"""Who is speaking, live: each committed utterance is labelled as it comes, without seeing the future.

- By channel (one microphone per seat): the channel diarizer runs on the utterance's own stretch of audio,
  and its words follow the seat that hears them loudest (an utterance spanning two seats is split).
- By voice (one microphone for the room): online clustering. Each utterance's embedding is compared with the
  running centroid of every voice heard so far: close enough, it is that speaker (whose centroid moves
  towards it); otherwise a new voice becomes a new speaker, S1, S2, ... in order of appearance. An
  utterance too short for a trustworthy embedding goes to the nearest known voice and does not move it.
"""
from typing import Protocol

import numpy as np

from diarize.assign import assign_speakers
from diarize.channel import ChannelDiarizer
from diarize.embed import SpeakerEncoder, mel_frames, normalized_level
from diarize.signal import MODEL_RATE
from diarize.types import SpeakerTurn
from transcribe.types import Utterance

# Audio on either side of an utterance given to the channel diarizer: Whisper's word times are loose.
_CHANNEL_MARGIN_S = 0.3


class OnlineLabeller(Protocol):
    name: str

    def warm_up(self) -> None:
        """Do once, before the first utterance, what would otherwise make the first label slow."""
        ...

    def label(self, utterance: Utterance, audio: np.ndarray, audio_start_s: float) -> list[Utterance]:
        """`audio`: float32 [frames, channels] at 16 kHz starting at `audio_start_s`, covering the utterance."""
        ...


class OnlineChannelLabeller:
    name = "channel"

    def __init__(self) -> None:
        self._diarizer = ChannelDiarizer()

    def warm_up(self) -> None:
        pass  # signal processing only: nothing to load

    def label(self, utterance: Utterance, audio: np.ndarray, audio_start_s: float) -> list[Utterance]:
        first = max(0, int((utterance.start_s - _CHANNEL_MARGIN_S - audio_start_s) * MODEL_RATE))
        last = max(first, int((utterance.end_s + _CHANNEL_MARGIN_S - audio_start_s) * MODEL_RATE))
        span = audio[first:last]
        offset_s = audio_start_s + first / MODEL_RATE
        turns = [] if span.shape[0] == 0 or span.shape[1] < 2 else self._diarizer.diarize(span, MODEL_RATE)
        shifted = [SpeakerTurn(t.start_s + offset_s, t.end_s + offset_s, t.speaker, t.channel) for t in turns]
        if not shifted:  # silence on every seat (VAD heard nothing): the loudest seat over the span decides
            channel = int(np.argmax(np.sqrt(np.mean(np.square(span), axis=0)))) if span.size else 0
            shifted = [SpeakerTurn(utterance.start_s, utterance.end_s, f"S{channel + 1}", channel)]
        return list(assign_speakers([utterance], shifted))


class OnlineVoiceLabeller:
    name = "voice"

    def __init__(self, *, min_similarity: float = 0.70, min_embed_s: float = 1.0, max_speakers: int = 8) -> None:
        # 0.70: the voice diarizer's threshold between centroids of one voice and of two (diarize.voice).
        self.min_similarity = min_similarity
        self.min_embed_s = min_embed_s
        self.max_speakers = max_speakers
        self._encoder = SpeakerEncoder()
        self._sums: list[np.ndarray] = []

    def warm_up(self) -> None:
        # The encoder's first call costs about a second (torch sets up its kernels): spend it on a second
        # of faint noise at the start of the session, not on the first person's first line.
        noise = np.random.default_rng(0).normal(0.0, 0.01, MODEL_RATE).astype(np.float32)
        self._encoder.embed([mel_frames(normalized_level(noise))])

    def label(self, utterance: Utterance, audio: np.ndarray, audio_start_s: float) -> list[Utterance]:
        first = max(0, int((utterance.start_s - audio_start_s) * MODEL_RATE))
        last = max(first, int((utterance.end_s - audio_start_s) * MODEL_RATE))
        mono = audio[first:last].mean(axis=1) if audio.ndim == 2 else audio[first:last]
        speaker = self._speaker_of(mono.astype(np.float32))
        return [utterance.with_speaker(f"S{speaker + 1}", None)]

    def _speaker_of(self, mono: np.ndarray) -> int:
        duration_s = mono.shape[0] / MODEL_RATE
        mels = mel_frames(normalized_level(mono))
        if mels.shape[0] == 0:
            return self._fallback()
        unit = self._encoder.embed([mels])[0]
        if not self._sums:
            self._sums.append(unit * duration_s)
            return 0
        similarities = np.array([float(unit @ (s / np.linalg.norm(s))) for s in self._sums])
        best = int(np.argmax(similarities))
        if duration_s < self.min_embed_s:
            return best  # too short to trust: nearest voice, centroid untouched
        if similarities[best] >= self.min_similarity or len(self._sums) >= self.max_speakers:
            self._sums[best] = self._sums[best] + unit * duration_s
            return best
        self._sums.append(unit * duration_s)
        return len(self._sums) - 1

    def _fallback(self) -> int:
        return int(np.argmax([np.linalg.norm(s) for s in self._sums])) if self._sums else 0


def make_online_labeller(name: str) -> OnlineLabeller:
    if name == "channel":
        return OnlineChannelLabeller()
    if name == "voice":
        return OnlineVoiceLabeller()
    from diarize.errors import DiarizationError

    raise DiarizationError(f"no live diarizer {name!r}: use channel or voice")
