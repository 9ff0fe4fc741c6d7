"""A trained projection head: backbone vectors in, fashion-space vectors out (numpy only).

Training (:mod:`recommender.train`) writes a head; searching and evaluating
read it.  Both sides import this module, so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .artifacts import ArtifactError, Artifacts
from .atomic import write_atomic
from .features import l2_normalise


@dataclass
class Head:
    """A trained projection: ``transform`` maps backbone vectors into a trained space.

    Attributes
    ----------
    w1 : (2048 + 64, hidden) float32
    b1 : (hidden,) float32
    w2 : (hidden, dimension) float32
    b2 : (dimension,) float32
    """

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray

    def transform(self, vectors: np.ndarray, colours: np.ndarray) -> np.ndarray:
        """(n, 2048) vectors and (n, 64) colour signatures -> (n, dimension) unit vectors."""
        inputs = np.concatenate([np.asarray(vectors, np.float32), np.asarray(colours, np.float32)], axis=1)
        hidden = np.maximum(inputs @ self.w1 + self.b1, 0.0)
        return l2_normalise(hidden @ self.w2 + self.b2)

    def save(self, path: Path) -> None:
        """Write the arrays as ``.npz`` (no pickle), atomically."""
        write_atomic(path, lambda partial: np.savez(partial, w1=self.w1, b1=self.b1, w2=self.w2, b2=self.b2),
                     suffix=".npz")

    @classmethod
    def read(cls, path: Path) -> "Head":
        """Read a head saved by :meth:`save`."""
        with np.load(path, allow_pickle=False) as arrays:
            return cls(*(arrays[name].astype(np.float32) for name in ("w1", "b1", "w2", "b2")))


def load_head(artifacts: Artifacts, space: str) -> Head:
    """The head of a trained space of these artifacts.

    Raises
    ------
    ArtifactError
        When the space is not trained, or its file is corrupt.
    """
    trained = artifacts.manifest.get("spaces", {})
    if space not in trained:
        raise ArtifactError(f"Expected a trained space in {list(trained)}, got {space!r}")
    path = artifacts.root / trained[space]["head"]["name"]
    try:
        return Head.read(path)
    except (OSError, ValueError, KeyError) as error:
        raise ArtifactError(f"{path} is corrupt ({error}); retrain: python -m recommender train") from None
