"""Who spoke when, from one microphone for the room: voices told apart by their embeddings.

Silero VAD finds speech; each speech region is cut into windows of about 1.5 s with no overlap; each
window gets a resemblyzer embedding (diarize.embed); windows long enough to trust are clustered
(agglomerative, by centroid similarity, see diarize.cluster, stopping at a threshold unless the number
of speakers is given); every window, short ones included, then goes to the nearest speaker centroid, so
a one-word answer between two long turns is judged against whole voices, not against other fragments.
"""
import logging
from dataclasses import dataclass, field

import numpy as np

from diarize.cluster import cluster_by_centroid
from diarize.embed import HOP_SAMPLES, SpeakerEncoder, mel_frames, normalized_level
from diarize.errors import DiarizationError
from diarize.signal import MODEL_RATE, checked_audio, mixdown, report_progress, to_model_rate
from diarize.turns import merge_spans, to_turns
from diarize.types import ProgressCallback, SpeakerTurn
from diarize.vad import VadTuning, speech_regions

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VoiceTuning:
    """Tuning values of the voice diarizer (data: measured on the mixes under shared/audio/mixes)."""

    window_s: float = 1.5
    # Windows shorter than this are labelled but do not shape the clusters: a short stretch of
    # speech gives a noisy embedding.
    min_cluster_window_s: float = 1.0
    # Two clusters whose centroids are less similar than this are different people (centroids of one
    # voice scored 0.72-0.93 on our mixes, of different voices 0.44-0.66).
    min_centroid_similarity: float = 0.70
    # With the count found automatically, a "speaker" with less long speech than this is taken for a
    # stray sound (a laugh, a door) and its windows go to the nearest real voice.
    min_speaker_s: float = 2.0
    # A pause up to this long inside one person's speech keeps the turn open.
    max_gap_s: float = 1.0
    vad: VadTuning = field(default_factory=VadTuning)


class VoiceDiarizer:
    """Diarization by voice, for a single room microphone (all channels are mixed down first)."""

    name = "voice"

    def __init__(self, *, max_speakers: int = 8, tuning: VoiceTuning = VoiceTuning()) -> None:
        if isinstance(max_speakers, bool) or not isinstance(max_speakers, int) or max_speakers < 1:
            raise DiarizationError(f"max_speakers must be a whole number of at least 1, got {max_speakers!r}")
        self.max_speakers = max_speakers
        self.tuning = tuning
        self._encoder = SpeakerEncoder()  # loads its weights on first use, once per diarizer

    def diarize(
        self,
        audio: np.ndarray,
        sample_rate: int,
        *,
        num_speakers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SpeakerTurn]:
        """Turns labelled S1, S2, ... in order of first appearance, `channel=None`.

        `num_speakers`, when given, is the exact number of speakers to find (1 to max_speakers); otherwise
        the number is chosen from the voices. Empty or silent audio gives [].
        """
        audio = checked_audio(audio, sample_rate)
        if num_speakers is not None and (
            isinstance(num_speakers, bool) or not isinstance(num_speakers, int)
            or not 1 <= num_speakers <= self.max_speakers
        ):
            raise DiarizationError(
                f"num_speakers must be None (find out) or a whole number from 1 to {self.max_speakers}, "
                f"got {num_speakers!r}"
            )
        mono = to_model_rate(mixdown(audio), sample_rate)
        duration_s = mono.shape[0] / MODEL_RATE
        report_progress(progress, 0.0)
        regions = speech_regions(mono, tuning=self.tuning.vad)
        report_progress(progress, 0.3)
        if not regions:
            report_progress(progress, 1.0)
            return []
        windows = _windows(regions, window_s=self.tuning.window_s)
        mels = [mel_frames(normalized_level(mono[start:end])) for start, end in windows]
        embeddings = self._encoder.embed(mels)
        report_progress(progress, 0.8)
        lengths_s = np.array([(end - start) / MODEL_RATE for start, end in windows])
        labels = self._labels(embeddings, lengths_s, num_speakers)
        spans = [(start / MODEL_RATE, end / MODEL_RATE, int(label)) for (start, end), label in zip(windows, labels)]
        turns = to_turns(merge_spans(spans, max_gap_s=self.tuning.max_gap_s), use_channel=False, duration_s=duration_s)
        report_progress(progress, 1.0)
        log.debug(
            "voice diarizer: %d regions, %d windows -> %d speakers, %d turns",
            len(regions), len(windows), len(set(labels)), len(turns),
        )
        return turns

    def _labels(self, embeddings: np.ndarray, lengths_s: np.ndarray, num_speakers: int | None) -> np.ndarray:
        """A speaker label per window."""
        tuning = self.tuning
        reliable = lengths_s >= tuning.min_cluster_window_s
        if not reliable.any():
            # Only short bursts of speech: cluster them all, there is nothing better to go on.
            reliable = np.ones_like(reliable)
        clusters = cluster_by_centroid(
            embeddings[reliable],
            lengths_s[reliable],
            min_similarity=tuning.min_centroid_similarity,
            num_clusters=num_speakers,
            max_clusters=self.max_speakers,
        )
        sizes_s = np.bincount(clusters, weights=lengths_s[reliable])
        kept = np.flatnonzero(sizes_s >= tuning.min_speaker_s) if num_speakers is None else np.arange(len(sizes_s))
        if kept.size == 0:
            kept = np.array([int(np.argmax(sizes_s))])
        centroids = np.stack([
            _unit((embeddings[reliable][clusters == c] * lengths_s[reliable][clusters == c, None]).sum(axis=0))
            for c in kept
        ])
        # Every window, short ones and those of dissolved tiny clusters included, goes to the nearest voice.
        return np.argmax(embeddings @ centroids.T, axis=1)


def _windows(regions: list[tuple[int, int]], *, window_s: float) -> list[tuple[int, int]]:
    """Each region cut into equal windows as close to `window_s` as possible, on mel-frame boundaries."""
    windows = []
    for start, end in regions:
        count = max(1, round((end - start) / MODEL_RATE / window_s))
        bounds = np.linspace(start, end, count + 1)
        bounds = [start, *(int(round(b / HOP_SAMPLES)) * HOP_SAMPLES for b in bounds[1:-1]), end]
        windows.extend((a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a)
    return windows


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)
