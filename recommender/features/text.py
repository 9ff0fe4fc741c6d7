"""A shopper's words as a vector of a trained space: the text model, numpy only at query time.

The words are weighed as TF-IDF over the catalogue's names and labels (words and pairs of words, the log of
each count, then unit length), then mapped linearly into the space (:mod:`recommender.training.words` learns
the map from the products' own names, labels and vectors), so "floral summer dress" lands among floral dresses
whose names never say floral, near the products whose names and labels share its words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import write_atomic
from .extractor import l2_normalise


def terms(words: Sequence[str]) -> list[str]:
    """The terms a text model weighs: each word, and each pair of neighbouring words.

    >>> terms(["navy", "check", "shirt"])
    ['navy', 'check', 'shirt', 'navy check', 'check shirt']
    """
    return [*words, *(f"{a} {b}" for a, b in zip(words, words[1:]))]


@dataclass(frozen=True)
class TextModel:
    """Words to unit vectors of one trained space.

    Attributes
    ----------
    vocabulary : mapping of term -> column
    idf : (V,) float32
        Each term's inverse document frequency over the catalogue's names and labels.
    weights : (V, d) float32
        The linear map from a text's TF-IDF into the space.
    """

    vocabulary: Mapping[str, int]
    idf: np.ndarray
    weights: np.ndarray

    @property
    def dimension(self) -> int:
        return int(self.weights.shape[1])

    def weigh(self, words: Sequence[str]) -> np.ndarray:
        """A text's (V,) TF-IDF over the known terms (1 + log of each count, times its idf, unit length)."""
        counts = Counter(term for term in terms(words) if term in self.vocabulary)
        row = np.zeros(len(self.idf), np.float32)
        for term, count in counts.items():
            column = self.vocabulary[term]
            row[column] = (1.0 + np.log(count)) * self.idf[column]
        norm = np.linalg.norm(row)
        return row / norm if norm > 0 else row

    def embed(self, words: Sequence[str]) -> np.ndarray | None:
        """The text's unit vector in the space, or None where it holds no known term."""
        row = self.weigh(words)
        if not row.any():
            return None
        return l2_normalise((row @ self.weights)[None])[0]

    def save(self, path: Path) -> None:
        """Write the arrays as ``.npz`` (the vocabulary as a unicode array: no pickle), atomically."""
        order = sorted(self.vocabulary, key=self.vocabulary.get)
        arrays = {"terms": np.array(order, dtype=str), "idf": self.idf, "weights": self.weights}
        write_atomic(path, lambda partial: _save(partial, arrays), suffix=".npz")

    @classmethod
    def read(cls, path: Path) -> TextModel:
        with np.load(path, allow_pickle=False) as data:
            names = [str(term) for term in data["terms"]]
            idf, weights = data["idf"].astype(np.float32), data["weights"].astype(np.float32)
        if len(names) != len(idf) or weights.shape[0] != len(idf):
            raise ValueError(f"{len(names)} terms, {len(idf)} idf values and {weights.shape[0]} weight rows differ")
        return cls({term: i for i, term in enumerate(names)}, idf, weights)


def _save(partial: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(partial, "wb") as handle:
        np.savez(handle, **arrays)

