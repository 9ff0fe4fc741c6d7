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

from ..atomic import write_atomic

METRICS = ("euclidean", "angular", "dot", "manhattan")
DEFAULT_METRIC = "euclidean"
# Chosen on the measured recall/latency curve of the full catalogue (benchmarks/annoy_tradeoff.py,
# docs/performance.md): the fastest setting with recall@5 >= 0.99 against exact search.
DEFAULT_N_TREES = 50
# Used where a catalogue has no tuned value (see tune_search_k).
DEFAULT_SEARCH_K = 5000
DEFAULT_SEED = 0


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

    def build(self, vectors: np.ndarray, path: str | os.PathLike, *, n_jobs: int = -1) -> VectorIndex:
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

    def load(self, path: str | os.PathLike, *, expected_items: int | None = None) -> VectorIndex:
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
