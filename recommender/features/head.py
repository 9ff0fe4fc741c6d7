"""A trained projection head: backbone vectors in, fashion-space vectors out (numpy only).

Training (:mod:`recommender.training.train`) writes a head; searching, evaluating and updating
read it (through :meth:`recommender.store.artifacts.Artifacts.head`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import write_atomic
from .extractor import l2_normalise

# Logits of the cosine classifiers: scale * cos(embedding, class centre).
COSINE_SCALE = 16.0


@dataclass
class Head:
    """A trained projection: ``transform`` maps backbone vectors into a trained space.

    Attributes
    ----------
    w1 : (2048 + 64, hidden) float32
    b1 : (hidden,) float32
    w2 : (hidden, dimension) float32
    b2 : (dimension,) float32
    centres : label -> (dimension, classes) float32
        Unit-norm class centres of each label's cosine classifier.
    classes : label -> (classes,) str
        The class names, in the centres' column order.
    """

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    centres: dict[str, np.ndarray] = field(default_factory=dict)
    classes: dict[str, np.ndarray] = field(default_factory=dict)

    def transform(self, vectors: np.ndarray, colours: np.ndarray) -> np.ndarray:
        """(n, 2048) vectors and (n, 64) colour signatures -> (n, dimension) unit vectors."""
        inputs = np.concatenate([np.asarray(vectors, np.float32), np.asarray(colours, np.float32)], axis=1)
        hidden = np.maximum(inputs @ self.w1 + self.b1, 0.0)
        return l2_normalise(hidden @ self.w2 + self.b2)

    def predict(self, space_vectors: np.ndarray) -> dict[str, np.ndarray]:
        """Each label's class probabilities for (n, dimension) vectors of this space: label -> (n, classes)."""
        predicted = {}
        for label, centres in self.centres.items():
            logits = COSINE_SCALE * (np.asarray(space_vectors, np.float32) @ centres)
            logits -= logits.max(axis=1, keepdims=True)
            odds = np.exp(logits)
            predicted[label] = odds / odds.sum(axis=1, keepdims=True)
        return predicted

    def class_index(self, label: str, values: np.ndarray) -> np.ndarray:
        """Each value's class number under this head's ``label`` classifier (-1 where it has none)."""
        return class_ids(values, self.classes[label])

    def save(self, path: Path) -> None:
        """Write the arrays as ``.npz`` (no pickle: class names as unicode arrays), atomically."""
        arrays = {"w1": self.w1, "b1": self.b1, "w2": self.w2, "b2": self.b2,
                  **{f"centres.{label}": value for label, value in self.centres.items()},
                  **{f"classes.{label}": np.asarray(value, str) for label, value in self.classes.items()}}
        write_atomic(path, lambda partial: np.savez(partial, **arrays), suffix=".npz")

    @classmethod
    def read(cls, path: Path) -> Head:
        """Read a head saved by :meth:`save`."""
        with np.load(path, allow_pickle=False) as arrays:
            labels = [name.split(".", 1)[1] for name in arrays.files if name.startswith("centres.")]
            return cls(*(arrays[name].astype(np.float32) for name in ("w1", "b1", "w2", "b2")),
                       centres={label: arrays[f"centres.{label}"].astype(np.float32) for label in labels},
                       classes={label: arrays[f"classes.{label}"] for label in labels})


def class_ids(values: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Each value's position in ``classes`` (-1 where absent).

    >>> class_ids(np.array(["b", "z", "a"]), np.array(["a", "b"])).tolist()
    [1, -1, 0]
    """
    lookup = {name: i for i, name in enumerate(classes)}
    return np.array([lookup.get(value, -1) for value in values], np.int64)
