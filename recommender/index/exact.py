"""Exact nearest neighbours by brute force, block by block: the ground truth for Annoy's answers."""

from __future__ import annotations

import numpy as np

from .annoy import DEFAULT_METRIC, METRICS


def exact_search(vectors: np.ndarray, queries: np.ndarray, k: int, *,
                 metric: str = DEFAULT_METRIC) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force k nearest neighbours, the ground truth for Annoy's answers.

    Parameters
    ----------
    vectors : (n, d) array
    queries : (m, d) array
    k : int
    metric : one of :data:`METRICS`

    Returns
    -------
    rows : (m, k) int64, distances : (m, k) float32, nearest first; distances
    in Annoy's convention (angular: sqrt(2 - 2 cos); dot: the dot product,
    largest first; manhattan: the L1 distance).

    >>> rows, distances = exact_search(np.eye(3), [[0.9, 0.1, 0.0]], 2, metric="manhattan")
    >>> rows.tolist(), [round(float(d), 2) for d in distances[0]]
    ([[0, 1]], [0.2, 1.8])
    """
    if metric not in METRICS:
        raise ValueError(f"Expected metric in {METRICS}, got {metric!r}")
    queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    k = min(k, len(vectors))
    rows = np.zeros((len(queries), 0), np.int64)
    scores = np.zeros((len(queries), 0), np.float32)
    # Block by block, keeping the best k so far: memory stays bounded by the block, not the catalogue
    # (a million 2048-d vectors are 8 GB; a memory map is read once, in order).
    for start in range(0, len(vectors), _EXACT_BLOCK):
        block = np.asarray(vectors[start:start + _EXACT_BLOCK], dtype=np.float32)
        score = _similarity(block, queries, metric).astype(np.float32)
        top = np.argpartition(-score, min(k, block.shape[0]) - 1, axis=1)[:, :k]
        rows = np.concatenate([rows, top + start], axis=1)
        scores = np.concatenate([scores, np.take_along_axis(score, top, 1)], axis=1)
        if rows.shape[1] > k:
            keep = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            rows, scores = np.take_along_axis(rows, keep, 1), np.take_along_axis(scores, keep, 1)
    order = np.lexsort((rows, -scores), axis=1)  # nearest first; ties by row
    order, best = np.take_along_axis(rows, order, 1), np.take_along_axis(scores, order, 1)
    if metric == "euclidean":
        distances = np.sqrt(np.maximum(-best, 0))
    elif metric == "angular":
        distances = np.sqrt(np.maximum(2 - 2 * best, 0))
    elif metric == "manhattan":
        distances = -best
    else:
        distances = best
    return order.astype(np.int64), distances.astype(np.float32)


# Catalogue rows scored at once by exact search: 256 MB of a 2048-d float32 block.
_EXACT_BLOCK = 32_768
# Rows of the catalogue compared at once by the L1 scan: bounds its temporary to ~64 MB at d = 2048.
_L1_BLOCK = 8192


def _similarity(vectors: np.ndarray, queries: np.ndarray, metric: str) -> np.ndarray:
    """(m, n) scores, larger is nearer: -squared L2, cosine, dot or -L1."""
    if metric == "euclidean":
        return -((queries ** 2).sum(1)[:, None] - 2 * queries @ vectors.T + (vectors ** 2).sum(1)[None, :])
    if metric == "angular":
        qn = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        vn = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return qn @ vn.T
    if metric == "dot":
        return queries @ vectors.T
    score = np.empty((len(queries), len(vectors)), np.float32)
    for q, query in enumerate(queries):
        for start in range(0, len(vectors), _L1_BLOCK):
            block = vectors[start:start + _L1_BLOCK]
            score[q, start:start + len(block)] = -np.abs(block - query).sum(axis=1)
    return score
