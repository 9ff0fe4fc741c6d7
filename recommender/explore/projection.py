"""2-D maps of an embedding space, for the explorer.

PCA (the default) is exact and takes seconds on the whole catalogue; t-SNE
(scikit-learn, Barnes-Hut, on the first 50 principal components) shows local
clusters better and takes minutes, so its result is saved beside the
artifacts and computed once per build and space.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..atomic import save_npy_atomic
from ..store.artifacts import BACKBONE_SPACE, Artifacts
from ..store.names import map_file

METHODS = ("pca", "tsne")
# Seconds per n*log(n) of scikit-learn's Barnes-Hut t-SNE on 2 cores: 96 s for the 42,243-product
# catalogue (docs/performance.md); the estimate shown while a map is computed.
_TSNE_SECONDS_PER_NLOGN = 96 / (42_243 * math.log(42_243))


def pca_basis(vectors: np.ndarray, components: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and top principal directions (d, components) of the rows, signs fixed.

    Project with ``(x - mean) @ basis``.  Reads the rows block by block (a memory-mapped
    million-row catalogue is never copied whole).
    """
    n, dims = vectors.shape
    mean = np.zeros(dims, np.float64)
    for block in _blocks(vectors):
        mean += block.sum(axis=0, dtype=np.float64)
    mean /= max(n, 1)
    covariance = np.zeros((dims, dims), np.float64)
    for block in _blocks(vectors):
        centred = block - mean.astype(np.float32)
        covariance += centred.T.astype(np.float64) @ centred
    covariance /= max(n - 1, 1)
    values, directions = np.linalg.eigh(covariance)
    basis = directions[:, np.argsort(values)[::-1][:components]]
    # Fix each component's sign so that the map does not flip between runs.
    basis *= np.sign(basis[np.argmax(np.abs(basis), axis=0), np.arange(components)])
    return mean.astype(np.float32), basis.astype(np.float32)


def pca(vectors: np.ndarray, components: int = 2) -> np.ndarray:
    """Project rows onto their top principal components.

    Returns
    -------
    (n, components) float32
    """
    mean, basis = pca_basis(vectors, components)
    return np.concatenate([(block - mean) @ basis for block in _blocks(vectors)] or
                          [np.zeros((0, components))]).astype(np.float32)


def _blocks(vectors: np.ndarray, rows: int = 65_536):
    """Consecutive float32 row blocks of ``vectors``."""
    for start in range(0, len(vectors), rows):
        yield np.asarray(vectors[start:start + rows], dtype=np.float32)


def tsne(vectors: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """t-SNE of the first 50 principal components (scikit-learn, Barnes-Hut)."""
    from sklearn.manifold import TSNE

    reduced = pca(vectors, min(50, vectors.shape[1], len(vectors)))
    perplexity = float(min(30, max(2, (len(vectors) - 1) // 3)))
    return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(reduced).astype(np.float32)


def tsne_seconds(n: int) -> float:
    """Rough wall time of :func:`tsne` for ``n`` products on 2 cores (Barnes-Hut: O(n log n)).

    >>> round(tsne_seconds(42_243))
    96
    """
    return _TSNE_SECONDS_PER_NLOGN * n * math.log(max(n, 2))


def _map_path(artifacts: Artifacts, space: str, method: str) -> Path:
    return artifacts.root / map_file(artifacts.build_id, space, method)


def saved_map(artifacts: Artifacts, *, space: str = BACKBONE_SPACE, method: str = "pca") -> np.ndarray | None:
    """The saved 2-D map of a catalogue, or ``None`` when it was never computed (or is damaged)."""
    if method not in METHODS:
        raise ValueError(f"Expected method in {METHODS}, got {method!r}")
    path = _map_path(artifacts, space, method)
    try:
        points = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return points if points.shape == (len(artifacts.metadata), 2) else None


def catalogue_map(artifacts: Artifacts, *, space: str = BACKBONE_SPACE, method: str = "pca") -> np.ndarray:
    """The 2-D map of a catalogue, loaded from the artifacts folder or computed and saved there.

    Returns
    -------
    (n, 2) float32, rows in catalogue order
    """
    points = saved_map(artifacts, space=space, method=method)
    if points is not None:
        return points
    vectors = artifacts.space_vectors(space)
    points = pca(vectors) if method == "pca" else tsne(np.asarray(vectors))
    save_npy_atomic(_map_path(artifacts, space, method), points)
    return points
