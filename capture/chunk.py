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

    def levels_db(self) -> list[float]:
        """Each channel's (seat's) level over the chunk: RMS in dB below full scale, floored at LEVEL_FLOOR_DB
        (digital silence), rounded to 0.1 dB: what a level meter shows."""
        if self.samples.shape[0] == 0:
            return [LEVEL_FLOOR_DB] * self.channels
        rms = np.sqrt(np.mean(np.square(self.samples, dtype=np.float64), axis=0))
        return [round(max(LEVEL_FLOOR_DB, 20 * float(np.log10(r))) if r > 0 else LEVEL_FLOOR_DB, 1) for r in rms]


LEVEL_FLOOR_DB = -90.0
