from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class SpeakerTurn:
    """`speaker` talks from `start_s` to `end_s` (seconds from session start).

    `channel` is the seat microphone (0-based) for the channel diarizer, None for the voice diarizer.
    """

    start_s: float
    end_s: float
    speaker: str
    channel: int | None = None


ProgressCallback = Callable[[float], None]
"""Called with the fraction done, 0.0 to 1.0."""


class Diarizer(Protocol):
    """Who spoke when. `audio` is float32 [frames, channels] at `sample_rate` (16 kHz in practice)."""

    name: str

    def diarize(
        self,
        audio: np.ndarray,
        sample_rate: int,
        *,
        num_speakers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SpeakerTurn]: ...
