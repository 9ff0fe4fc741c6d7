"""search_k measured per catalogue: the smallest that finds what exact search finds."""

from __future__ import annotations

import numpy as np

from ..goals import TARGET_RECALL
from .annoy import DEFAULT_SEED, VectorIndex
from .exact import exact_search

# build and reindex measure, per catalogue, the smallest of these that reaches TARGET_RECALL.
SEARCH_K_CANDIDATES = (250, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000)
TUNING_QUERIES = 300


def tune_search_k(index: VectorIndex, vectors: np.ndarray, *, k: int = 5, target: float = TARGET_RECALL,
                  queries: int = TUNING_QUERIES, seed: int = DEFAULT_SEED) -> dict:
    """The smallest search_k of :data:`SEARCH_K_CANDIDATES` whose recall@k against exact search reaches ``target``.

    Measured on up to ``queries`` of the indexed vectors themselves (seeded
    choice), each left out of its own answer, as a product query is.  A
    result counts when it is no farther than the exact k-th neighbour (within
    0.1%, as ann-benchmarks counts), so products at equal distance are not
    misses.  Where no candidate reaches the target, the largest is returned.

    Returns
    -------
    dict
        ``value`` (the chosen search_k), ``recall_at_5`` (its recall), ``target``, ``queries``, and
        ``measured`` (search_k -> recall, for every value tried).
    """
    vectors = np.asarray(vectors, np.float32)
    rows = np.random.default_rng(seed).choice(len(vectors), size=min(queries, len(vectors)), replace=False)
    wanted = min(k, len(vectors) - 1)
    if wanted < 1:
        return {"value": SEARCH_K_CANDIDATES[0], "recall_at_5": 1.0, "target": target, "queries": 0, "measured": {}}
    exact_rows, exact_distances = exact_search(vectors, vectors[rows], wanted + 1, metric=index.metric)
    kth = np.array([d[r != row][wanted - 1] for row, r, d in zip(rows, exact_rows, exact_distances)])
    sign = -1.0 if index.metric == "dot" else 1.0  # dot: larger is nearer
    bound = sign * kth + 1e-3 * np.abs(kth) + 1e-6
    measured: dict[str, float] = {}
    for search_k in SEARCH_K_CANDIDATES:
        hits = 0
        for row, limit in zip(rows, bound):
            found, distances = index.query(vectors[row], wanted + 1, search_k=search_k)
            hits += int((sign * distances[found != row][:wanted] <= limit).sum())
        measured[str(search_k)] = hits / (wanted * len(rows))
        if measured[str(search_k)] >= target:
            break
    value = int(next(iter(reversed(measured))))
    return {"value": value, "recall_at_5": measured[str(value)], "target": target, "queries": int(len(rows)),
            "measured": measured}
