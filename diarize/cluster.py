"""Grouping window embeddings into speakers, with the number of speakers found from the data.

Agglomerative clustering where two clusters are compared by the cosine similarity of their centroids
(the duration-weighted mean of their members' embeddings). Single 1.5 s windows of one voice score only
0.6-0.8 against each other, but centroids of several windows of one voice score 0.9 and more, while
centroids of different voices stayed at or below 0.66 on our mixes: so merging by centroid stops
cleanly between voices, where average linkage over single windows blurs them.
"""
import numpy as np


def cluster_by_centroid(
    embeddings: np.ndarray,
    weights: np.ndarray,
    *,
    min_similarity: float,
    num_clusters: int | None = None,
    max_clusters: int | None = None,
) -> np.ndarray:
    """0-based cluster id per row of `embeddings` (unit vectors), each row weighted by `weights`.

    Merges the most similar pair of clusters until no pair reaches `min_similarity`; with
    `num_clusters`, until exactly that many remain (or as many as there are rows); never stops above
    `max_clusters`.
    """
    count = embeddings.shape[0]
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    sums = embeddings.astype(np.float64) * weights[:, None]
    centroids = _units(sums)
    sims = centroids @ centroids.T
    np.fill_diagonal(sims, -np.inf)
    alive = np.ones(count, dtype=bool)
    owner = np.arange(count)
    best = sims.argmax(axis=1)
    clusters = count
    target = num_clusters if num_clusters is not None else (max_clusters or 1)
    while clusters > 1:
        rows = np.flatnonzero(alive)
        row_best = sims[rows, best[rows]]
        pick = int(np.argmax(row_best))
        i, j = int(rows[pick]), int(best[rows[pick]])
        similarity = float(row_best[pick])
        if num_clusters is not None:
            if clusters <= target:
                break
        elif similarity < min_similarity and (max_clusters is None or clusters <= max_clusters):
            break
        # Merge j into i: new centroid, row and column i recomputed, j retired.
        sums[i] += sums[j]
        alive[j] = False
        owner[owner == j] = i
        clusters -= 1
        centroid = sums[i] / max(float(np.linalg.norm(sums[i])), 1e-12)
        centroids[i] = centroid
        new_sims = centroids @ centroid
        new_sims[~alive] = -np.inf
        new_sims[i] = -np.inf
        sims[i, :] = new_sims
        sims[:, i] = new_sims
        sims[j, :] = -np.inf
        sims[:, j] = -np.inf
        best[i] = int(np.argmax(sims[i]))
        stale = alive & ((best == i) | (best == j))
        for k in np.flatnonzero(stale):
            best[k] = int(np.argmax(sims[k]))
        improved = alive & (sims[:, i] > sims[np.arange(count), best])
        best[improved] = i
    _, ids = np.unique(owner, return_inverse=True)
    return ids.astype(np.int64)


def _units(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
