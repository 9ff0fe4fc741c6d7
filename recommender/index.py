"""A small Annoy wrapper: build from vectors, save, memory-map, query.

Annoy numbers items 0..n-1; callers keep the id map (the catalogue's row
order).  Tradeoffs, as Annoy puts them: ``n_trees`` is fixed at build time,
more trees give better recall and a bigger file; ``search_k`` is chosen per
query, a larger value inspects more nodes (better recall, slower); ``-1``
means ``n_trees * k``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from annoy import AnnoyIndex

from .atomic import write_atomic

METRICS = ("euclidean", "angular", "dot", "manhattan")
DEFAULT_METRIC = "euclidean"
# Chosen on the measured recall/latency curve of the full catalogue (benchmarks/annoy_tradeoff.py,
# README): the fastest setting with recall@5 >= 0.99 against exact search.
DEFAULT_N_TREES = 50
# Used where a catalogue has no tuned value (see tune_search_k).
DEFAULT_SEARCH_K = 5000
DEFAULT_SEED = 0
# build and reindex measure, per catalogue, the smallest of these that reaches TARGET_RECALL.
SEARCH_K_CANDIDATES = (250, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000)
TARGET_RECALL = 0.99
TUNING_QUERIES = 300


class VectorIndex:
    """Approximate nearest neighbours over a fixed set of vectors.

    Parameters
    ----------
    dimension : int
        Length of every vector.
    metric : {"euclidean", "angular", "dot", "manhattan"}, default "euclidean"
    n_trees : int, default 50
    seed : int, default 0
        Annoy's random seed: the same vectors and settings give the same file.
    """

    def __init__(self, dimension: int, *, metric: str = DEFAULT_METRIC, n_trees: int = DEFAULT_N_TREES,
                 seed: int = DEFAULT_SEED) -> None:
        if metric not in METRICS:
            raise ValueError(f"Expected metric in {METRICS}, got {metric!r}")
        if n_trees < 1:
            raise ValueError(f"Expected n_trees >= 1, got {n_trees}")
        if dimension < 1:
            raise ValueError(f"Expected dimension >= 1, got {dimension}")
        self.dimension = dimension
        self.metric = metric
        self.n_trees = n_trees
        self.seed = seed
        self._annoy: AnnoyIndex | None = None

    def build(self, vectors: np.ndarray, path: str | os.PathLike, *, n_jobs: int = -1) -> "VectorIndex":
        """Build the index over ``vectors`` (n, dimension) straight into ``path``, then map it.

        The file is built under a temporary name (Annoy's on-disk build, so
        RAM holds no second copy) and renamed into place when complete.
        ``n_jobs=1`` gives a byte-identical file for the same seed; with more
        threads the trees are the same kind but built in any order.
        """
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"Expected vectors of shape (n, {self.dimension}), got {vectors.shape}")
        path = Path(path)

        def write(partial: Path) -> None:
            annoy = AnnoyIndex(self.dimension, self.metric)
            annoy.set_seed(self.seed)
            annoy.on_disk_build(str(partial))
            for i, vector in enumerate(vectors):
                annoy.add_item(i, vector)
            annoy.build(self.n_trees, n_jobs)
            annoy.unload()

        write_atomic(path, write)
        return self.load(path, expected_items=len(vectors))

    def load(self, path: str | os.PathLike, *, expected_items: int | None = None) -> "VectorIndex":
        """Memory-map a saved index (pages are read on demand, shared between processes).

        Raises
        ------
        ValueError
            When the file is missing, unreadable, or does not hold ``expected_items``.
        """
        path = Path(path)
        item_bytes = 4 * self.dimension + 16  # lower bound of one Annoy node
        if not path.is_file():
            raise ValueError(f"Annoy index {path} does not exist")
        if expected_items is not None and path.stat().st_size < expected_items * item_bytes:
            raise ValueError(f"Annoy index {path} is truncated ({path.stat().st_size:,} bytes)")
        annoy = AnnoyIndex(self.dimension, self.metric)
        try:
            annoy.load(str(path), prefault=False)
        except OSError as error:
            raise ValueError(f"Annoy index {path} could not be loaded: {error}") from None
        if expected_items is not None and annoy.get_n_items() != expected_items:
            raise ValueError(f"Annoy index {path} holds {annoy.get_n_items()} items, expected {expected_items}")
        self._annoy = annoy
        return self

    @property
    def n_items(self) -> int:
        """Number of indexed vectors."""
        return self._require().get_n_items()

    def query(self, vector: np.ndarray, k: int, *, search_k: int = -1) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest items to ``vector``: (rows int64, distances float32), nearest first."""
        if k < 1:
            raise ValueError(f"Expected k >= 1, got {k}")
        rows, distances = self._require().get_nns_by_vector(
            np.asarray(vector, dtype=np.float32).tolist(), k, search_k=search_k, include_distances=True)
        return np.asarray(rows, dtype=np.int64), np.asarray(distances, dtype=np.float32)

    def _require(self) -> AnnoyIndex:
        if self._annoy is None:
            raise RuntimeError("The index is neither built nor loaded: call build() or load() first")
        return self._annoy


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
