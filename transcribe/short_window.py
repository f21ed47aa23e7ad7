"""Whisper passes that cost what their audio needs: the encoder hears the audio, not a 30 s window.

faster-whisper pads every window's log-Mel features to 3000 frames (30 s) before the encoder, whatever the
audio's length: on 2 cores the encoder then costs about 0.65 s for 5 s of speech as for 30 s, and the
decoder attends over 1500 encoder frames at every token. A streaming pass hears 1-25 s of audio, so most of
that is padding. `short_window_model` gives a view of a loaded model (sharing its CTranslate2 model,
tokenizer and feature extractor, changing none of them) whose encoder input is cut after the audio's last
frame, rounded up to whole seconds. A per-call `chunk_length` is no way out: faster-whisper stores it in
the shared feature extractor (every later call, batch too, would see it) and still pads to 3000 frames.

Whisper was trained on 30 s windows. With a shorter one it more often ends its hypothesis at a pause as if
the audio stopped there (a lone timestamp at the end, which faster-whisper reads as "nothing after this"),
dropping the words after the pause; a 30 s window does it too, less often. When such an ending leaves more
than `resume_after_s` of audio unheard, the view goes on with a new window from that timestamp (what
faster-whisper does when a hypothesis ends mid-window), so no speech is skipped. Windows shorter than about
4 s make Whisper invent text (measured on 1-2 s buffers: up to 45 characters per character heard), hence
`min_window_s`.
"""
import dataclasses
import functools
import math
from dataclasses import asdict, dataclass

import numpy as np

from error_kinds import BadInput

__all__ = ["PassWindow", "PassWindowError", "content_frames", "short_window_model", "window_frames"]

FRAMES_PER_SECOND = 100  # log-Mel frames (10 ms hop); the encoder halves them
FULL_WINDOW_FRAMES = 3000
# Whisper writes Chinese at about 5 tokens a second of speech (measured on the test clips, timestamps
# included); a window gets room for 12 before its hypothesis is cut. A repetition loop (Whisper's way of
# failing at an abrupt window end: 也也也也…) then costs a bounded time instead of 224 tokens or more.
MAX_TOKENS_PER_S = 12


class PassWindowError(BadInput):
    """A window setting out of range; the message says what is allowed."""

    code = "window_setting_invalid"


@dataclass(frozen=True, slots=True)
class PassWindow:
    """How long each encoder window is: the audio plus `margin_s`, rounded up to `round_s`, at least
    `min_window_s`, at most 30 s; `resume_after_s`: see the module."""

    round_s: float = 1.0
    min_window_s: float = 4.0
    # Some audio-free frames after the audio: without them Whisper often drops a last word cut off by the
    # window's end (measured: the words of the last second of a 12 s buffer lost, kept with 1 s).
    margin_s: float = 1.0
    resume_after_s: float = 1.0

    def __post_init__(self) -> None:
        if not (0 < self.round_s <= 30 and 0 <= self.min_window_s <= 30 and 0 <= self.margin_s <= 30
                and self.resume_after_s > 0):
            raise PassWindowError(
                f"{self}: round_s must lie in (0, 30], min_window_s and margin_s in [0, 30], resume_after_s above 0"
            )

    def as_record(self) -> dict:
        return asdict(self)


def content_frames(features: np.ndarray) -> int:
    """How many leading frames hold audio. faster-whisper pads with frames that are exactly zero in every
    band; the log-Mel of audio ((log10 of a clipped power + 4) / 4) is never exactly zero in all 80 at once."""
    heard = np.flatnonzero(np.any(features.reshape(-1, features.shape[-1]) != 0, axis=0))
    return int(heard[-1]) + 1 if len(heard) else 0


def window_frames(content: int, window: PassWindow) -> int:
    """The encoder's input length (frames) for `content` frames of audio; even, as the encoder's stride is 2."""
    step = max(2, int(round(window.round_s * FRAMES_PER_SECOND)))
    wanted = max(content + window.margin_s * FRAMES_PER_SECOND, window.min_window_s * FRAMES_PER_SECOND)
    frames = min(FULL_WINDOW_FRAMES, math.ceil(wanted / step) * step)
    return frames + frames % 2


def short_window_model(model, window: PassWindow = PassWindow()):
    """A faster_whisper.WhisperModel over `model`'s weights whose windows are as long as their audio.

    Its `transcribe` is faster-whisper's own; only the encoder's input and the reading of an early ending
    change. Cheap (no weights are copied): make one per transcriber; one CTranslate2 model serves them all,
    from several threads at once. Its `windows_encoded`, `frames_encoded` and `last_window_frames` say what the
    encoder ran.
    """
    return _view_class()(model, window)


@functools.cache
def _view_class():
    from faster_whisper import WhisperModel  # heavy import: only when a pass runs

    class ShortWindowModel(WhisperModel):
        def __init__(self, model: WhisperModel, window: PassWindow) -> None:
            # No super().__init__ (it would load the weights again): the view shares the model's attributes.
            # The dictionary is copied, so an attribute set here never reaches `model`.
            self.__dict__.update(model.__dict__)
            self.window = window
            self.windows_encoded = 0
            self.frames_encoded = 0
            self.last_window_frames = 0

        def encode(self, features: np.ndarray):
            frames = min(features.shape[-1], window_frames(content_frames(features), self.window))
            self.windows_encoded += 1
            self.frames_encoded += frames
            self.last_window_frames = frames
            return super().encode(np.ascontiguousarray(features[..., :frames]))

        def generate_with_fallback(self, encoder_output, prompt, tokenizer, options):
            # Whisper knows timestamps up to 30 s; in a shorter window one past its end is a guess at audio
            # that is not there (seen: <|29.70|> in a 15 s window, then sampled text at every temperature).
            # Only timestamps inside the window may be written, and the hypothesis's length is bounded.
            last = self.last_window_frames // self.input_stride
            beyond = range(tokenizer.timestamp_begin + last + 1, tokenizer.timestamp_begin + FULL_WINDOW_FRAMES // 2 + 1)
            window_s = self.last_window_frames / FRAMES_PER_SECOND
            options = dataclasses.replace(
                options,
                suppress_tokens=[*(options.suppress_tokens or ()), *beyond],
                max_new_tokens=min(options.max_new_tokens or self.max_length, int(MAX_TOKENS_PER_S * window_s) + 8,
                                   self.max_length - len(prompt)),
            )
            return super().generate_with_fallback(encoder_output, prompt, tokenizer, options)

        def _split_segments_by_timestamps(self, tokenizer, tokens, time_offset, segment_size, segment_duration,
                                          seek):
            segments, next_seek, single_timestamp_ending = super()._split_segments_by_timestamps(
                tokenizer, tokens, time_offset, segment_size, segment_duration, seek)
            if single_timestamp_ending:
                ended_at = seek + (tokens[-1] - tokenizer.timestamp_begin) * self.input_stride
                unheard_s = (seek + segment_size - ended_at) / FRAMES_PER_SECOND
                # Only forward (an ending at 0 would loop), and only when a real stretch of audio is left.
                if ended_at > seek and unheard_s > self.window.resume_after_s:
                    return segments, ended_at, False
            return segments, next_seek, single_timestamp_ending

    return ShortWindowModel
