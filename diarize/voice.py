"""Who spoke when, from one microphone for the room: voices told apart by their embeddings.

Silero VAD finds speech; each speech region is cut into pieces of about 0.75 s, and every two neighbouring
pieces make a window of about 1.5 s (so windows overlap by half) with a resemblyzer embedding
(diarize.embed). Windows long enough to trust are grouped into voices (diarize.cluster: a spectral split,
centroids from each voice's clear windows only, so that windows of two people talking at once neither
blur the voices nor merge them; the number of voices found unless given). Every piece, short answers
included, then goes to the nearest voice by the windows that hold it, so a one-word answer between two
long turns is judged against whole voices, not against other fragments.

Two people talking at once (diarize.voice_overlap): overlap happens at changes of speaker, a second person
starting before the first has finished. Around each change inside continuous speech, the pieces whose
embedding is a blend of both voices (scored against the two centroids), and the pieces of a short
"voice" squeezed between two others (their blend taken for a third person), are given to both speakers.
`diarize_overlapping` returns those turns as heard (turns of different speakers may overlap); `diarize`
returns them made exclusive (diarize.turns.exclusive_turns), for assigning words.

Long recordings go through in chunks of 10 minutes (also given as an iterator of chunks, so that the whole
recording need not be in memory); a diarize.speaker_ledger keeps each voice's name across chunks.
"""
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from diarize.cluster import speaker_clusters
from diarize.embed import HOP_SAMPLES, SpeakerEncoder, mel_frames, normalized_level
from diarize.errors import DiarizationError
from diarize.speaker_ledger import SpeakerLedger
from diarize.signal import MODEL_RATE, check_num_speakers, checked_audio, mixdown, report_progress, to_model_rate
from diarize.turns import exclusive_turns, merge_spans, to_turns
from diarize.types import ProgressCallback, SpeakerTurn
from diarize.vad import VadTuning, speech_regions
from diarize.voice_overlap import Span, blend_partners, heard_spans, mixture_partners

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VoiceTuning:
    """Tuning values of the voice diarizer (data: measured on the mixes under shared/audio/mixes)."""

    # Speech is cut into pieces of about hop_s; each window of two neighbouring pieces (about 1.5 s, what
    # the encoder needs for a usable embedding) is embedded, and each piece is labelled from the windows
    # that hold it, so a change of speaker is placed to within a hop.
    hop_s: float = 0.75
    # Windows shorter than this are labelled but do not shape the clusters: a short stretch of
    # speech gives a noisy embedding.
    min_cluster_window_s: float = 1.0
    # Two voices whose centroids are at least this similar are one person (merged within a chunk, matched
    # across chunks). Measured on the shared clips: 5 s pieces of one voice score 0.79-0.94 against each
    # other, 3 s pieces 0.74 and up; whole clips of different people 0.38-0.75 (median 0.58, nine in ten
    # below 0.67). Splitting a 5 s clip of one voice into halves gave 0.70-0.73: the margin is thin.
    min_centroid_similarity: float = 0.70
    # With the count found automatically, a "speaker" with less long speech than this is taken for a
    # stray sound (a laugh, a door) and its windows go to the nearest real voice.
    min_speaker_s: float = 2.0
    # A pause up to this long inside one person's speech keeps the turn open.
    max_gap_s: float = 1.0
    # A "voice" heard only in runs up to this long, each between two other voices with no pause, is
    # those two talking at once (overlaps run 0.5-2 s), not a third person: its pieces go to both others.
    # Also how far from a change of speaker a blended piece is looked for.
    max_overlap_run_s: float = 2.5
    # A piece at a change of speaker A -> B is both of them when its scores, written as a blend
    # alpha * A + beta * B of the two centroids, give the lesser share at least this part of the greater.
    # Why 0.4: a piece is scored by its two windows; at a clean change one of them holds half of the
    # other voice, so the piece next to it blends 1/4 : 3/4 (ratio 1/3, measured 0.31-0.32); overlap
    # pushes both windows towards half and half (measured 0.4-0.95), clean pieces away from a change -0.1-0.2.
    min_blend_ratio: float = 0.4
    # Long recordings go through in chunks of this length (speakers matched across chunks by their
    # centroids, diarize.speaker_ledger), so that time and memory per hour stay flat.
    chunk_s: float = 600.0
    vad: VadTuning = field(default_factory=VadTuning)


class VoiceDiarizer:
    """Diarization by voice, for a single room microphone (all channels are mixed down first)."""

    name = "voice"

    def __init__(self, *, max_speakers: int = 8, tuning: VoiceTuning = VoiceTuning()) -> None:
        if isinstance(max_speakers, bool) or not isinstance(max_speakers, int) or max_speakers < 1:
            raise DiarizationError(f"max_speakers must be a whole number of at least 1, got {max_speakers!r}")
        if not tuning.chunk_s >= 10.0:
            raise DiarizationError(f"chunk_s must be at least 10 seconds, got {tuning.chunk_s!r}")
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
        """Turns labelled S1, S2, ... in order of first appearance, `channel=None`, never overlapping (in
        an overlap the speaker who started later holds the floor: diarize.turns.exclusive_turns).

        `num_speakers`, when given, is the exact number of speakers to find (1 to max_speakers) in a
        recording of one chunk (`VoiceTuning.chunk_s`), and the most there can be in a longer one;
        otherwise the number is chosen from the voices. Empty or silent audio gives [].
        """
        return exclusive_turns(self.diarize_overlapping(audio, sample_rate, num_speakers=num_speakers,
                                                        progress=progress))

    def diarize_overlapping(
        self,
        audio: np.ndarray,
        sample_rate: int,
        *,
        num_speakers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SpeakerTurn]:
        """Like `diarize`, but where two people talk at once both are reported: turns of different speakers
        may overlap (sorted by start; one speaker's turns never overlap each other)."""
        audio = checked_audio(audio, sample_rate)
        step = max(1, int(self.tuning.chunk_s * sample_rate))
        # Views of the caller's array, one chunk at a time: memory follows the chunk, not the recording.
        chunks = (audio[start : start + step] for start in range(0, audio.shape[0], step))
        return self.diarize_chunks_overlapping(chunks, sample_rate, num_speakers=num_speakers, progress=progress,
                                               total_s=audio.shape[0] / sample_rate)

    def diarize_chunks(
        self,
        chunks: Iterable[np.ndarray],
        sample_rate: int,
        *,
        num_speakers: int | None = None,
        progress: ProgressCallback | None = None,
        total_s: float | None = None,
    ) -> list[SpeakerTurn]:
        """As `diarize`, for a recording given as consecutive chunks ([frames, channels] or [frames] each,
        any lengths), so that a long one never has to be in memory whole. Each chunk is diarized on its
        own and its voices are matched to those of the chunks before by their centroids, so a speaker
        keeps one name throughout. `total_s`, the recording's length if known, lets progress be reported.
        """
        return exclusive_turns(self.diarize_chunks_overlapping(chunks, sample_rate, num_speakers=num_speakers,
                                                               progress=progress, total_s=total_s))

    def diarize_chunks_overlapping(
        self,
        chunks: Iterable[np.ndarray],
        sample_rate: int,
        *,
        num_speakers: int | None = None,
        progress: ProgressCallback | None = None,
        total_s: float | None = None,
    ) -> list[SpeakerTurn]:
        """As `diarize_chunks`, with overlapping speech reported as two turns at once (`diarize_overlapping`)."""
        check_num_speakers(num_speakers, most=self.max_speakers)
        report_progress(progress, 0.0)
        ledger = SpeakerLedger(min_similarity=self.tuning.min_centroid_similarity,
                               max_speakers=num_speakers or self.max_speakers)
        spans: list[Span] = []
        also: list[Span] = []  # the second speaker over overlapping speech
        offset_s, chunk_count = 0.0, 0
        for chunk in _at_most(chunks, max(1, int(self.tuning.chunk_s * sample_rate))):
            chunk = checked_audio(chunk, sample_rate)
            mono = to_model_rate(mixdown(chunk), sample_rate)
            # The exact count holds for the recording; a chunk of a longer one may hold fewer of them.
            exact = num_speakers if chunk_count == 0 and _is_last(total_s, offset_s, chunk, sample_rate) else None
            local, local_also, centroids, weights_s = self._chunk_spans(mono, num_speakers=exact, most=num_speakers)
            if local:
                ids = ledger.assign(centroids, weights_s)
                spans.extend((offset_s + a, offset_s + b, ids[label]) for a, b, label in local)
                also.extend((offset_s + a, offset_s + b, ids[label]) for a, b, label in local_also)
            offset_s += chunk.shape[0] / sample_rate
            chunk_count += 1
            if total_s:
                report_progress(progress, min(0.99, offset_s / total_s))
        heard = heard_spans(merge_spans(sorted(spans), max_gap_s=self.tuning.max_gap_s), also)
        turns = to_turns(heard, use_channel=False, duration_s=offset_s)
        report_progress(progress, 1.0)
        log.debug("voice diarizer: %.1f s in %d chunk(s) -> %d speakers, %d turns, %.1f s heard as overlap",
                  offset_s, chunk_count, ledger.count, len(turns), sum(b - a for a, b, _ in also))
        return turns

    def _chunk_spans(
        self, mono: np.ndarray, *, num_speakers: int | None, most: int | None
    ) -> tuple[list[Span], list[Span], np.ndarray, np.ndarray]:
        """(spans (start_s, end_s, local speaker) from the chunk's start, one speaker per piece; spans of
        the second speaker where two talk at once; centroid per local speaker; seconds of speech per local
        speaker) of one chunk of 16 kHz mono audio."""
        regions = speech_regions(mono, tuning=self.tuning.vad)
        if not regions:
            return [], [], np.zeros((0, 256)), np.zeros(0)
        pieces, windows, covering = _pieces_and_windows(regions, hop_s=self.tuning.hop_s)
        mels = [mel_frames(normalized_level(mono[start:end])) for start, end in windows]
        embeddings = self._encoder.embed(mels)
        lengths_s = np.array([(end - start) / MODEL_RATE for start, end in windows])
        # Overlapping windows count each stretch of speech twice; weigh them by the time they add.
        weights_s = np.array([sum((pieces[p][1] - pieces[p][0]) / MODEL_RATE / len(covering[p]) for p in own)
                              for own in _pieces_of(covering, len(windows))])
        centroids = self._centroids(embeddings, lengths_s, weights_s, num_speakers=num_speakers, most=most)
        window_scores = embeddings @ centroids.T
        # A piece is judged by every window that holds it: a boundary between voices lands within a hop.
        piece_scores = np.stack([window_scores[list(c)].mean(axis=0) for c in covering])
        labels = np.argmax(piece_scores, axis=1)
        times_s = [(a / MODEL_RATE, b / MODEL_RATE) for a, b in pieces]
        partners: list[set[int]] = [set() for _ in pieces]
        if num_speakers is None and centroids.shape[0] >= 3:
            blends = _overlap_voices(pieces, labels, max_run_s=self.tuning.max_overlap_run_s,
                                     max_gap_s=self.tuning.max_gap_s)
            if blends and centroids.shape[0] - len(blends) >= 2:
                kept = np.array([c for c in range(centroids.shape[0]) if c not in blends])
                blended = np.isin(labels, list(blends))
                centroids, piece_scores = centroids[kept], piece_scores[:, kept]
                labels = np.argmax(piece_scores, axis=1)
                partners = blend_partners(times_s, labels, blended, max_gap_s=self.tuning.max_gap_s)
        if centroids.shape[0] >= 2:
            # The speech region of each piece: a change across a pause is a hand-over, never an overlap.
            region_of = np.searchsorted([end for _, end in regions], [a for a, _ in pieces], side="right")
            one_window = [len(c) == 1 for c in covering]
            found = mixture_partners(times_s, labels, piece_scores, centroids, region_of, one_window,
                                     min_ratio=self.tuning.min_blend_ratio,
                                     max_reach_s=self.tuning.max_overlap_run_s / 2,
                                     max_gap_s=self.tuning.max_gap_s,
                                     # One voice split in two clusters takes a third cluster at least.
                                     each_heard_alone=centroids.shape[0] >= 3)
            partners = [a | b for a, b in zip(partners, found)]
        spans = [(a, b, int(label)) for (a, b), label in zip(times_s, labels)]
        also = [(a, b, other) for (a, b), others in zip(times_s, partners) for other in sorted(others)]
        seconds = np.bincount(labels, weights=[(b - a) / MODEL_RATE for a, b in pieces], minlength=len(centroids))
        log.debug("voice chunk: %d regions, %d windows -> %d speakers, %d pieces heard as overlap",
                  len(regions), len(windows), len(centroids), sum(1 for p in partners if p))
        return spans, also, centroids, seconds

    def _centroids(self, embeddings: np.ndarray, lengths_s: np.ndarray, weights_s: np.ndarray, *,
                   num_speakers: int | None, most: int | None) -> np.ndarray:
        """One unit centroid per speaker found among the windows."""
        tuning = self.tuning
        reliable = lengths_s >= tuning.min_cluster_window_s
        if not reliable.any():
            # Only short bursts of speech: cluster them all, there is nothing better to go on.
            reliable = np.ones_like(reliable)
        return speaker_clusters(
            embeddings[reliable],
            weights_s[reliable],
            max_similarity=tuning.min_centroid_similarity,
            min_speaker_s=tuning.min_speaker_s,
            num_clusters=num_speakers,
            max_clusters=most or self.max_speakers,
        )


def _overlap_voices(pieces: list[tuple[int, int]], labels: np.ndarray, *, max_run_s: float,
                    max_gap_s: float) -> set[int]:
    """The labels heard only in short runs each squeezed between two other voices (one just before, a
    different one just after, no pause): two people talking at once at a change of speaker, whose
    blended windows can look like a third voice, rather than a third person."""
    runs: list[tuple[int, float, float]] = []  # (label, start_s, end_s) of each stretch of one label
    for (a, b), label in zip(pieces, labels):
        if runs and runs[-1][0] == label and a / MODEL_RATE - runs[-1][2] <= max_gap_s:
            runs[-1] = (int(label), runs[-1][1], b / MODEL_RATE)
        else:
            runs.append((int(label), a / MODEL_RATE, b / MODEL_RATE))
    blends = {int(label) for label in labels}
    for k, (label, start_s, end_s) in enumerate(runs):
        before, after = (runs[k - 1] if k else None), (runs[k + 1] if k + 1 < len(runs) else None)
        squeezed = (before is not None and after is not None and len({before[0], label, after[0]}) == 3
                    and start_s - before[2] <= max_gap_s and after[1] - end_s <= max_gap_s)
        if end_s - start_s > max_run_s or not squeezed:
            blends.discard(label)
    return blends


def _at_most(chunks: Iterable[np.ndarray], frames: int) -> Iterator[np.ndarray]:
    """The caller's chunks, each longer than `frames` cut into pieces of that length (views): clustering
    costs the square of a chunk's windows, and a caller's windows may be longer than `chunk_s`
    (BILU_FILE_WINDOW_S above 600)."""
    for chunk in chunks:
        if not hasattr(chunk, "__len__") or len(chunk) <= frames:
            yield chunk  # checked (and refused, if not audio) by the caller
            continue
        for first in range(0, len(chunk), frames):
            yield chunk[first : first + frames]


def _is_last(total_s: float | None, offset_s: float, chunk: np.ndarray, sample_rate: int) -> bool:
    """Whether `chunk` (starting at `offset_s`) ends the recording, as far as `total_s` tells."""
    return total_s is not None and offset_s + chunk.shape[0] / sample_rate >= total_s - 1e-6


def _pieces_and_windows(
    regions: list[tuple[int, int]], *, hop_s: float
) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[tuple[int, ...]]]:
    """(pieces, windows, covering): each region cut into equal pieces of about `hop_s` (on mel-frame
    boundaries); a window is two neighbouring pieces (a region of one piece is its own window);
    covering[p] lists the windows that hold piece p."""
    pieces: list[tuple[int, int]] = []
    windows: list[tuple[int, int]] = []
    covering: list[tuple[int, ...]] = []
    for start, end in regions:
        count = max(1, round((end - start) / MODEL_RATE / hop_s))
        bounds = np.linspace(start, end, count + 1)
        bounds = [start, *(int(round(b / HOP_SAMPLES)) * HOP_SAMPLES for b in bounds[1:-1]), end]
        own = [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        first_window = len(windows)
        if len(own) == 1:
            windows.append(own[0])
            covering.append((first_window,))
        else:
            windows.extend((own[k][0], own[k + 1][1]) for k in range(len(own) - 1))
            last = first_window + len(own) - 2
            covering.extend(tuple(w for w in (first_window + k - 1, first_window + k) if first_window <= w <= last)
                            for k in range(len(own)))
        pieces.extend(own)
    return pieces, windows, covering


def _pieces_of(covering: list[tuple[int, ...]], window_count: int) -> list[list[int]]:
    """For each window, the pieces it holds (the inverse of `covering`)."""
    held: list[list[int]] = [[] for _ in range(window_count)]
    for piece, windows in enumerate(covering):
        for window in windows:
            held[window].append(piece)
    return held
