"""Two people talking at once, heard by one microphone: which pieces of speech are both speakers.

The voice diarizer (diarize.voice) labels each piece of speech (about 0.75 s) with the nearest voice. People
talk over each other mostly at a change of speaker: the next one starts before the previous one has
finished. So only the pieces on either side of a change inside continuous speech (one speech region: a
pause of 0.3 s or more in between means one stopped before the other began) are looked at, and those whose
embedding is a blend of the two voices get both speakers.

A blend is told from its scores against the two centroids: scores (s_A, s_B) = G (alpha, beta), with G the
centroids' Gram matrix, give the weights of the blend alpha * A + beta * B nearest the piece's embedding; the
lesser weight over the greater is 0 for a clean piece and 1 for an even blend.
"""
from collections.abc import Sequence

import numpy as np

from diarize.turns import merge_spans

Span = tuple[float, float, int]
"""(start_s, end_s, speaker label)"""

__all__ = ["Span", "blend_partners", "blend_ratio", "heard_spans", "mixture_partners"]


def blend_ratio(scores: np.ndarray, centroids: np.ndarray, first: int, second: int) -> float:
    """The lesser weight over the greater of the blend of centroids `first` and `second` that explains a
    piece's `scores` (its similarity to every centroid); 0 or less when one voice explains it alone."""
    rho = float(centroids[first] @ centroids[second])
    gram = np.array([[1.0, rho], [rho, 1.0]])
    alpha, beta = np.linalg.solve(gram, np.array([scores[first], scores[second]], dtype=np.float64))
    greater = max(alpha, beta)
    return float(min(alpha, beta) / greater) if greater > 0 else 0.0


def mixture_partners(
    times_s: Sequence[tuple[float, float]],
    labels: np.ndarray,
    piece_scores: np.ndarray,
    centroids: np.ndarray,
    regions: Sequence[int],
    one_window: Sequence[bool],
    *,
    min_ratio: float,
    max_reach_s: float,
    max_gap_s: float,
    each_heard_alone: bool,
) -> list[set[int]]:
    """For each piece, the speakers heard in it besides its own label. At every change of label between
    neighbouring pieces of one speech region, the pieces next to the change (walking away from it while
    the label holds, at most `max_reach_s` from it) are both speakers as long as they blend them by at
    least `min_ratio` (`blend_ratio`); the walk stops at the first clean piece, and before a piece marked
    in `one_window` (scored by a single window it shares with the piece beside it, at a region's edge).

    With `each_heard_alone` (to be asked for when the labels may include one voice split in two: with
    three voices or more) only a change between two people each heard alone too counts: each side's turn
    (its label's pieces, joined over pauses up to `max_gap_s`) must hold a piece that is not such a blend.
    The pieces of a voice split in two clusters blend the halves all through, and no overlap is made of
    that. (With two voices, the check would only lose overlaps where a short turn is heard over whole.)"""
    partners: list[set[int]] = [set() for _ in times_s]
    turn_of = _turn_ids(times_s, labels, max_gap_s=max_gap_s)
    pieces_of_turn: dict[int, list[int]] = {}
    for q, turn in enumerate(turn_of):
        pieces_of_turn.setdefault(turn, []).append(q)
    for p in range(len(times_s) - 1):
        first, second = int(labels[p]), int(labels[p + 1])
        if first == second or regions[p] != regions[p + 1]:
            continue
        ratios = {q: blend_ratio(piece_scores[q], centroids, first, second)
                  for side in (p, p + 1) for q in pieces_of_turn[turn_of[side]]}
        heard_alone = [any(ratios[q] < min_ratio for q in pieces_of_turn[turn_of[side]]) for side in (p, p + 1)]
        if each_heard_alone and not all(heard_alone):
            continue
        change_s = times_s[p + 1][0]
        for start, step, other in ((p, -1, second), (p + 1, 1, first)):
            q = start
            while 0 <= q < len(times_s) and labels[q] == labels[start] and regions[q] == regions[start]:
                near_edge_s = times_s[q][1] if step < 0 else times_s[q][0]
                # A piece at the edge of its region is scored by one window, shared with the piece beside
                # it: its blend may be all that neighbour's, so it says nothing of its own.
                if abs(near_edge_s - change_s) >= max_reach_s or ratios[q] < min_ratio or one_window[q]:
                    break
                partners[q].add(other)
                q += step
    return partners


def _turn_ids(times_s: Sequence[tuple[float, float]], labels: np.ndarray, *, max_gap_s: float) -> list[int]:
    """A number per piece, shared by the neighbouring pieces of one label with pauses up to `max_gap_s`
    between them: the pieces that make up one turn."""
    ids: list[int] = []
    for q in range(len(times_s)):
        same = q > 0 and labels[q] == labels[q - 1] and times_s[q][0] - times_s[q - 1][1] <= max_gap_s
        ids.append(ids[-1] if same else (ids[-1] + 1 if ids else 0))
    return ids


def blend_partners(
    times_s: Sequence[tuple[float, float]], labels: np.ndarray, blended: np.ndarray, *, max_gap_s: float
) -> list[set[int]]:
    """For each piece, the speakers heard in it besides its own label, where `blended` marks the pieces
    of a "voice" found to be two others talking at once (diarize.voice._overlap_voices): each run of
    such pieces is both the voice just before it and the one just after it (pauses up to `max_gap_s`)."""
    partners: list[set[int]] = [set() for _ in times_s]
    p = 0
    while p < len(times_s):
        if not blended[p]:
            p += 1
            continue
        last = p
        while last + 1 < len(times_s) and blended[last + 1] and times_s[last + 1][0] - times_s[last][1] <= max_gap_s:
            last += 1
        around = set()
        if p > 0 and times_s[p][0] - times_s[p - 1][1] <= max_gap_s:
            around.add(int(labels[p - 1]))
        if last + 1 < len(times_s) and times_s[last + 1][0] - times_s[last][1] <= max_gap_s:
            around.add(int(labels[last + 1]))
        for q in range(p, last + 1):
            partners[q] = around - {int(labels[q])}
        p = last + 1
    return partners


def heard_spans(turns: Sequence[Span], also: Sequence[Span]) -> list[Span]:
    """Spans by start (ties by end): `turns` (one speaker at a time, already joined over pauses) with each
    speaker's `also` spans (where they talk under someone else) added to that speaker's turns, joined where
    they touch or overlap. One speaker's spans never overlap each other; different speakers' may."""
    per_speaker: dict[int, list[Span]] = {}
    for span in [*turns, *also]:
        per_speaker.setdefault(span[2], []).append(span)
    spans: list[Span] = []
    for own in per_speaker.values():
        spans.extend(merge_spans(sorted(own), max_gap_s=0.0))
    return sorted(spans, key=lambda s: (s[0], s[1], s[2]))
