from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True, eq=False)
class AudioChunk:
    """A block of audio on the session clock.

    `samples` is float32 shaped [frames, channels] in [-1, 1]; `start_s` is the time of the first frame
    in seconds from the start of the session.
    """

    samples: np.ndarray
    sample_rate: int
    start_s: float

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.sample_rate
