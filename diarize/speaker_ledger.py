"""Keeping speaker identities across the windows of a long recording.

A recording is diarized window by window (so time and memory stay flat for hours); each window names its
speakers afresh. The ledger holds one running centroid per speaker found so far (the speaking-time-weighted
sum of that speaker's unit embeddings) and maps each window's speakers onto it: the best one-to-one
pairing by cosine similarity (Hungarian), a pair accepted only when similar enough, everyone else a new
speaker, unless the number of speakers is capped, in which case they join the nearest one.
"""
import numpy as np
from scipy.optimize import linear_sum_assignment


class SpeakerLedger:
    """Global speaker ids (0, 1, ...) for the local speakers of successive windows."""

    def __init__(self, *, min_similarity: float, max_speakers: int | None = None) -> None:
        if not -1.0 <= min_similarity <= 1.0:
            raise ValueError(f"min_similarity must lie in [-1, 1], got {min_similarity!r}")
        self.min_similarity = min_similarity
        self.max_speakers = max_speakers
        self._sums: list[np.ndarray] = []

    @property
    def count(self) -> int:
        return len(self._sums)

    def assign(self, centroids: np.ndarray, weights_s: np.ndarray) -> list[int]:
        """The global id of each local speaker.

        `centroids` [local speakers, dimension] are the window's speaker embeddings (any scale; a row of
        zeros means the window had no embedding for that speaker), `weights_s` their speaking time. The
        running centroids are updated with this window's speakers.
        """
        centroids = np.asarray(centroids, dtype=np.float64)
        weights_s = np.asarray(weights_s, dtype=np.float64)
        if centroids.ndim != 2 or weights_s.shape != (centroids.shape[0],):
            raise ValueError(f"centroids must be [speakers, dimension] with one weight each, got "
                             f"{centroids.shape} and {weights_s.shape}")
        units = _units(centroids)
        known = np.flatnonzero(np.linalg.norm(centroids, axis=1) > 0)
        ids: list[int | None] = [None] * centroids.shape[0]
        if self._sums and known.size:
            similarity = units[known] @ _units(np.stack(self._sums)).T
            rows, cols = linear_sum_assignment(-similarity)
            for row, col in zip(rows, cols):
                if similarity[row, col] >= self.min_similarity or self._full():
                    ids[int(known[row])] = int(col)
            # Left over when the cap is reached: the nearest speaker, even if already taken in this window.
            for row in range(known.size):
                if ids[int(known[row])] is None and self._full():
                    ids[int(known[row])] = int(np.argmax(similarity[row]))
        # Speak loudest first: when the cap bites, the speakers with more speech get the new slots.
        for local in sorted(range(len(ids)), key=lambda k: -weights_s[k]):
            if ids[local] is not None:
                continue
            if self._full():
                ids[local] = self._nearest(units[local])
            else:
                self._sums.append(np.zeros(centroids.shape[1]))
                ids[local] = len(self._sums) - 1
        for local, speaker in enumerate(ids):
            self._sums[speaker] = self._sums[speaker] + units[local] * weights_s[local]
        return [int(speaker) for speaker in ids]

    def _full(self) -> bool:
        return self.max_speakers is not None and len(self._sums) >= self.max_speakers

    def _nearest(self, unit: np.ndarray) -> int:
        if not np.any(unit):
            # No embedding to go on: the speaker with the most speech so far is the least bad guess.
            return int(np.argmax([np.linalg.norm(s) for s in self._sums]))
        return int(np.argmax(_units(np.stack(self._sums)) @ unit))


def _units(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.where(norms > 0, vectors / np.maximum(norms, 1e-12), 0.0)
