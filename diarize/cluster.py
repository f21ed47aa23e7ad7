"""Grouping window embeddings into speakers, with the number of speakers found from the data.

`speaker_clusters` partitions the windows spectrally for each candidate number of speakers, cleans each
split (merging voices too alike, dissolving stray sounds) and keeps the split whose windows sit most
clearly nearer their own voice than any other. (It replaced agglomerative merging by centroid, which on
overlapping speech merged everything: the blended windows bridged the two voices.)

Spectral: each window keeps only its most similar neighbours in the affinity graph, so a window where
two people talk at once (its embedding a blend of both voices) links weakly to both sides instead of
pulling them together, as it does when clusters are merged by centroid. For each candidate count the
windows are split by k-means in the graph's spectral embedding; each speaker's centroid is then taken
from its "core" windows only (those clearly nearer their own centroid than any other), so the blends
neither shape the voices nor hide their difference. Then clusters at least `max_similarity` alike are
merged (one voice split in two) and clusters with too little core speech dissolved (a cough, a laugh).

Which split: the one with the best silhouette (each window's margin between its own voice and the next
nearest, weighted by its speech), not the one leaving the most voices. Taking the most voices made every
threshold a one-sided bet: one voice's centroids landing just under `max_similarity` in any of the
candidate splits (they score 0.69-0.73 when a voice's speech is split in two halves of a few seconds)
was enough to report a third speaker; a spurious split leaves many windows between its two halves, and
the silhouette prefers the split without it. And the best split must still reach `_MIN_SILHOUETTE`:
one voice heard again after a long pause can split by what is said into halves whose centroids score just
under `max_similarity`, yet the windows of such halves sit nearly as close to the other half as to their
own (silhouette 0.30 measured, against 0.44 and up for two people), which the silhouette shows and the
centroids alone do not.
Heavy overlap: when no split leaves two voices, the splits are judged again with the core-speech test
relaxed (two clear windows and `min_speaker_s` in all): in a short recording where two people talk over
each other most of the time, the second voice can have under 2 s of clear speech and still be a person.
Single 1.5 s windows of one voice score only 0.6-0.8 against each other, centroids of several seconds of
one voice 0.74 and more: the decision is made between centroids, never between single windows.
"""
import numpy as np
from scipy.linalg import eigh

# The part of each window's neighbours kept in the affinity graph (at least 2).
_NEIGHBOUR_SHARE = 0.2
# A window belongs to the core of its cluster when its similarity to that centroid beats every other
# centroid's by at least this much (windows of two voices at once score about the same against both).
# Measured on our overlap mixes: with 0.05 the blends kept two voices' centroids at 0.73-0.76, above the
# 0.66 of their clean windows; with 0.15 they came down to 0.66-0.68.
_CORE_MARGIN = 0.15
_KMEANS_RESTARTS = 10
# Rounds of k-means on the embeddings (cores only) after the spectral split.
_REFINE_ROUNDS = 4
# A split into several voices is kept only if its silhouette (`_silhouette`) reaches this; otherwise the
# windows are one voice. Chosen on the recipe mixes of tests/data (tests/diarize/mixing.py: 504 two-voice
# mixes, 21 of one voice twice with 60-120 s between): the best count is had from 0.30 to 0.43 (a one-voice
# split scored 0.30, the lowest two-voice one 0.44); 0.45 loses one two-voice mix, 0.55 nine more.
# Checked apart from them: no split kept on the bench mixes of six seeds, the single clips or the 3-4 voice
# sequences scored under 0.53. (Kaufman and Rousseeuw read a silhouette under 0.5 as weak structure,
# under 0.25 as none.)
_MIN_SILHOUETTE = 0.4


def speaker_clusters(
    embeddings: np.ndarray,
    weights_s: np.ndarray,
    *,
    max_similarity: float,
    min_speaker_s: float,
    num_clusters: int | None = None,
    max_clusters: int = 8,
) -> np.ndarray:
    """Unit centroids [speakers, dimension] of the voices among `embeddings` (unit rows, each standing
    for `weights_s` seconds of speech). With `num_clusters` exactly that many (or as many as there are
    rows); otherwise, of the splits into 2..`max_clusters` once clusters at least `max_similarity` alike
    are merged and those under `min_speaker_s` of core speech dissolved, the one leaving two voices or
    more with the best silhouette (`_silhouette`) if that reaches `_MIN_SILHOUETTE`; one voice when none
    does, even with the core-speech test relaxed for heavy overlap."""
    count = embeddings.shape[0]
    if count == 0:
        return np.zeros((0, embeddings.shape[1] if embeddings.ndim == 2 else 0))
    x = embeddings.astype(np.float64)
    weights_s = np.asarray(weights_s, dtype=np.float64)
    if num_clusters is not None:
        candidates = [min(num_clusters, count)]
    else:
        # At least two windows per speaker on average: fewer cannot show a voice apart from noise.
        candidates = list(range(min(max_clusters, count // 2), 1, -1))
    if candidates and candidates[0] > 1:
        spectral = _spectral_embedding(x, candidates[0])
        rng = np.random.default_rng(0)  # seeded: the same recording always gives the same speakers
        splits = [(_kmeans(_row_units(spectral[:, :k]), k, rng=rng), k) for k in candidates]
        if num_clusters is not None:
            labels, k = splits[0]
            return _core_centroids(x, weights_s, labels, k)[0]
        for relaxed in (False, True):
            found = [_separated_voices(x, weights_s, labels, k, max_similarity=max_similarity,
                                       min_speaker_s=min_speaker_s, relaxed=relaxed) for labels, k in splits]
            several = [centroids for centroids in found if centroids.shape[0] > 1]
            if several:
                scores = [_silhouette(x, weights_s, centroids) for centroids in several]
                best = int(np.argmax(scores))  # the first of equals, as max() took it
                if scores[best] >= _MIN_SILHOUETTE:
                    return several[best]
                break  # the clearest split is no better than one voice cut in pieces
    return _units((x * weights_s[:, None]).sum(axis=0, keepdims=True))


def _silhouette(x: np.ndarray, weights_s: np.ndarray, centroids: np.ndarray) -> float:
    """Speech-weighted mean of each window's silhouette against the centroids: (b - a) / max(a, b), a
    the cosine distance to its nearest centroid, b to the next nearest. 1 when every window sits on its
    own voice, about 0 when windows lie between voices (one voice cut in two)."""
    ranked = np.sort(x @ centroids.T, axis=1)
    own, other = 1.0 - ranked[:, -1], 1.0 - ranked[:, -2]
    scores = (other - own) / np.maximum(np.maximum(own, other), 1e-12)
    return float((scores * weights_s).sum() / max(float(weights_s.sum()), 1e-12))


def _separated_voices(x: np.ndarray, weights_s: np.ndarray, labels: np.ndarray, k: int, *,
                      max_similarity: float, min_speaker_s: float, relaxed: bool = False) -> np.ndarray:
    """The centroids left of a k-way split once clusters too alike are merged (one voice split in two)
    and clusters with too little core speech are dissolved (a cough, a laugh: their windows go to the
    nearest voice). `relaxed`: a cluster needs only two clear windows and `min_speaker_s` in all (its
    windows nearest to it), not `min_speaker_s` of clear ones."""
    while True:
        centroids, core_s = _core_centroids(x, weights_s, labels, k)
        similarity = centroids @ centroids.T
        np.fill_diagonal(similarity, -1.0)
        if k > 1 and similarity.max() >= max_similarity:
            a, b = np.unravel_index(int(np.argmax(similarity)), similarity.shape)
            labels = _renumbered(np.where(labels == max(a, b), min(a, b), labels))
            k -= 1
            continue
        if relaxed and k > 1:
            scores = x @ centroids.T
            ranked = np.sort(scores, axis=1)
            clear = ranked[:, -1] - ranked[:, -2] >= _CORE_MARGIN
            nearest = np.argmax(scores, axis=1)
            clear_windows = np.bincount(nearest[clear], minlength=k)
            total_s = np.bincount(nearest, weights=weights_s, minlength=k)
            weak = (clear_windows < 2) | (total_s < min_speaker_s)
        else:
            weak = core_s < min_speaker_s
        small = np.flatnonzero(weak)
        if k > 1 and small.size:
            keep = np.setdiff1d(np.arange(k), small[np.argsort(core_s[small])[:1]])
            labels = _renumbered(keep[np.argmax(x @ centroids[keep].T, axis=1)])
            k -= 1
            continue
        return centroids


def _renumbered(labels: np.ndarray) -> np.ndarray:
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)


def _spectral_embedding(x: np.ndarray, dimensions: int) -> np.ndarray:
    """The first `dimensions` eigenvectors of the normalised Laplacian of the pruned affinity graph."""
    count = x.shape[0]
    affinity = np.clip(x @ x.T, 0.0, 1.0)
    keep = min(count, max(2, int(np.ceil(_NEIGHBOUR_SHARE * count))))
    nearest = np.argpartition(-affinity, keep - 1, axis=1)[:, :keep]
    pruned = np.zeros_like(affinity)
    rows = np.arange(count)[:, None]
    pruned[rows, nearest] = affinity[rows, nearest]
    pruned = (pruned + pruned.T) / 2
    np.fill_diagonal(pruned, 0.0)
    degree = np.maximum(pruned.sum(axis=1), 1e-9)
    laplacian = np.eye(count) - pruned / np.sqrt(degree[:, None] * degree[None, :])
    # Only the smallest few eigenpairs are needed: far cheaper than all of them for a 10-minute chunk.
    _, vectors = eigh(laplacian, subset_by_index=[0, dimensions - 1])
    return vectors


def _kmeans(points: np.ndarray, k: int, *, rng: np.random.Generator, iterations: int = 50) -> np.ndarray:
    """Labels of the best of several k-means runs (k-means++ starts) by within-cluster squared distance."""
    best_cost, best = np.inf, np.zeros(points.shape[0], dtype=np.int64)
    for _ in range(_KMEANS_RESTARTS):
        centres = _kmeans_pp(points, k, rng=rng)
        for _ in range(iterations):
            labels = np.argmin(((points[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
            sizes = np.bincount(labels, minlength=k)
            sums = np.zeros_like(centres)
            np.add.at(sums, labels, points)
            # An emptied cluster keeps its centre.
            moved = np.where(sizes[:, None] > 0, sums / np.maximum(sizes, 1)[:, None], centres)
            if np.allclose(moved, centres):
                break
            centres = moved
        cost = float(((points - centres[labels]) ** 2).sum())
        if cost < best_cost:
            best_cost, best = cost, labels
    return best


def _kmeans_pp(points: np.ndarray, k: int, *, rng: np.random.Generator) -> np.ndarray:
    centres = [points[int(rng.integers(points.shape[0]))]]
    for _ in range(1, k):
        distance = np.min(((points[:, None, :] - np.stack(centres)[None]) ** 2).sum(axis=2), axis=1)
        total = float(distance.sum())
        pick = int(rng.choice(points.shape[0], p=distance / total)) if total > 0 else int(rng.integers(points.shape[0]))
        centres.append(points[pick])
    return np.stack(centres)


def _core_centroids(x: np.ndarray, weights_s: np.ndarray, labels: np.ndarray,
                    k: int) -> tuple[np.ndarray, np.ndarray]:
    """(unit centroids, core seconds) per cluster, each centroid from the windows clearly its own,
    after a few rounds of moving every window to its nearest centroid."""
    centroids = np.stack([_cluster_centroid(x, weights_s, labels == c) for c in range(k)])
    core_s = np.zeros(k)
    for _ in range(_REFINE_ROUNDS):
        similarity = x @ centroids.T
        if k > 1:
            ranked = np.sort(similarity, axis=1)
            clear = ranked[:, -1] - ranked[:, -2] >= _CORE_MARGIN
        else:
            clear = np.ones(x.shape[0], dtype=bool)
        nearest = np.argmax(similarity, axis=1)
        for c in range(k):
            core = (nearest == c) & clear
            # A cluster with no clear window keeps its centroid (it will fail the core-speech test).
            if core.any():
                centroids[c] = _cluster_centroid(x, weights_s, core)
            core_s[c] = float(weights_s[core].sum())
    return centroids, core_s


def _cluster_centroid(x: np.ndarray, weights_s: np.ndarray, members: np.ndarray) -> np.ndarray:
    if not members.any():
        return np.zeros(x.shape[1])
    total = (x[members] * weights_s[members, None]).sum(axis=0)
    return total / max(float(np.linalg.norm(total)), 1e-12)


def _row_units(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _units(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
