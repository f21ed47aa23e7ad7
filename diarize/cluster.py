"""Grouping window embeddings into speakers, with the number of speakers found from the data.

`speaker_clusters` partitions the windows spectrally and takes the largest number of speakers whose
voices stay apart. (It replaced agglomerative merging by centroid, which on overlapping speech merged
everything: the blended windows bridged the two voices.)

Spectral: each window keeps only its most similar neighbours in the affinity graph, so a window where
two people talk at once (its embedding a blend of both voices) links weakly to both sides instead of
pulling them together, as it does when clusters are merged by centroid. For each candidate count the
windows are split by k-means in the graph's spectral embedding; each speaker's centroid is then taken
from its "core" windows only (those clearly nearer their own centroid than any other), so the blends
neither shape the voices nor hide their difference. Then clusters at least `max_similarity` alike are
merged (one voice split in two) and clusters with too little core speech dissolved (a cough, a laugh); of
all candidate counts, the split leaving the most voices wins.
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
    rows); otherwise the most voices that any split into 2..`max_clusters` leaves once clusters at least
    `max_similarity` alike are merged and those under `min_speaker_s` of core speech dissolved, or one
    voice when none leaves two."""
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
        best = None
        for k in candidates:
            labels = _kmeans(_row_units(spectral[:, :k]), k, rng=rng)
            if num_clusters is not None:
                return _core_centroids(x, weights_s, labels, k)[0]
            centroids = _separated_voices(x, weights_s, labels, k, max_similarity=max_similarity,
                                          min_speaker_s=min_speaker_s)
            if best is None or centroids.shape[0] > best.shape[0]:
                best = centroids
        if best is not None and best.shape[0] > 1:
            return best
    return _units((x * weights_s[:, None]).sum(axis=0, keepdims=True))


def _separated_voices(x: np.ndarray, weights_s: np.ndarray, labels: np.ndarray, k: int, *,
                      max_similarity: float, min_speaker_s: float) -> np.ndarray:
    """The centroids left of a k-way split once clusters too alike are merged (one voice split in two)
    and clusters with too little core speech are dissolved (a cough, a laugh: their windows go to the
    nearest voice)."""
    while True:
        centroids, core_s = _core_centroids(x, weights_s, labels, k)
        similarity = centroids @ centroids.T
        np.fill_diagonal(similarity, -1.0)
        if k > 1 and similarity.max() >= max_similarity:
            a, b = np.unravel_index(int(np.argmax(similarity)), similarity.shape)
            labels = _renumbered(np.where(labels == max(a, b), min(a, b), labels))
            k -= 1
            continue
        small = np.flatnonzero(core_s < min_speaker_s)
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
