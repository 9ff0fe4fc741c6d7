"""Which products train, which choose settings and which measure.

A catalogue holds the same product photographed twice, and colourways shot
identically: a held-out query whose twin sits in the index (or in the training
set) finds it, and precision reads higher than a shopper will see.  So besides
the stratified random split (:func:`recommender.data.catalogue.holdout_split`) a
*grouped* split keeps near-duplicates together: products whose backbone
vectors are almost parallel, or whose names are the same, form one group, and
whole groups are held out.

Training leaves out both test splits and a validation split (for choosing
ranking settings); the three id lists are saved beside the build
(``split-<build>.json``) so that every later evaluation, and a fine-tuned
backbone's build, measure on exactly the same products.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import write_json_atomic
from ..data.catalogue import holdout_split
from ..features.extractor import l2_normalise

# Cosine of ResNet50 (ImageNet, average-pooled) vectors above which two photos are one shot:
# chosen by looking at pairs on the shared catalogue (docs/decisions/0006-grouped-split.md).
NEAR_DUPLICATE_COSINE = 0.95
SPLIT_NAMES = ("random", "grouped", "validation")
_NEIGHBOURS = 10
_CHUNK = 1024


@dataclass(frozen=True)
class Splits:
    """Row masks over a build's products: two test splits, a validation split, and what may train."""

    random: np.ndarray
    grouped: np.ndarray
    validation: np.ndarray

    @property
    def train(self) -> np.ndarray:
        """Rows no evaluation uses."""
        return ~(self.random | self.grouped | self.validation)

    def test(self, name: str) -> np.ndarray:
        """The query rows of a test split ("random" or "grouped")."""
        if name not in ("random", "grouped"):
            raise ValueError(f"Expected split 'random' or 'grouped', got {name!r}")
        return getattr(self, name)


def near_duplicate_groups(vectors: np.ndarray, names: pd.Series, *,
                          threshold: float = NEAR_DUPLICATE_COSINE) -> np.ndarray:
    """A group number per row: near-identical photos and same-name products share one.

    Parameters
    ----------
    vectors : (n, d) backbone vectors
    names : (n,) product names (compared case- and space-insensitively; empty names match nothing)
    threshold : cosine at or above which two photos are near-duplicates

    >>> v = np.array([[1, 0], [0.999, 0.04], [0, 1]], np.float32)
    >>> near_duplicate_groups(v, pd.Series(["a", "b", "c"])).tolist()
    [0, 0, 2]
    """
    n = len(vectors)
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    unit = l2_normalise(np.asarray(vectors, np.float32))
    k = min(_NEIGHBOURS + 1, n)
    for start in range(0, n, _CHUNK):
        cosine = unit[start:start + _CHUNK] @ unit.T
        nearest = np.argpartition(-cosine, k - 1, axis=1)[:, :k]
        for offset, row in enumerate(nearest):
            for j in row[cosine[offset, row] >= threshold]:
                join(start + offset, int(j))
    key = names.fillna("").str.lower().str.split().str.join(" ").to_numpy()
    first_of_name: dict[str, int] = {}
    for i, name in enumerate(key):
        if name:
            join(i, first_of_name.setdefault(name, i))
    return np.array([root(i) for i in range(n)])


def make_splits(metadata: pd.DataFrame, vectors: np.ndarray, fraction: float, *, seed: int = 0) -> Splits:
    """Random and grouped test splits of ``fraction`` each, and a validation split of the rest.

    The grouped split holds out whole near-duplicate groups, stratified by the
    articleType of each group's first product.  Validation is a stratified
    ``fraction`` of what neither test split holds.
    """
    names = metadata["productDisplayName"] if "productDisplayName" in metadata else pd.Series([""] * len(metadata))
    groups = near_duplicate_groups(vectors, names)
    roots = np.unique(groups)  # each group's first row
    grouped = np.isin(groups, roots[holdout_split(metadata.iloc[roots], fraction, seed=seed)])
    random = holdout_split(metadata, fraction, seed=seed)
    rest = ~(random | grouped)
    validation = np.zeros(len(metadata), bool)
    validation[np.flatnonzero(rest)[holdout_split(metadata[rest], fraction, seed=f"validation-{seed}")]] = True
    return Splits(random, grouped, validation)


def save_splits(path: Path, metadata: pd.DataFrame, splits: Splits, *, fraction: float, seed: int) -> None:
    """Write the three id lists (and how they were made) as JSON."""
    ids = metadata["id"].to_numpy()
    write_json_atomic(path, {"fraction": fraction, "seed": seed, "near_duplicate_cosine": NEAR_DUPLICATE_COSINE,
                             **{name: ids[getattr(splits, name)].tolist() for name in SPLIT_NAMES}})


def read_splits(path: Path, metadata: pd.DataFrame) -> tuple[Splits, dict]:
    """Masks over ``metadata`` from a saved split file (products added since are in none), and its settings."""
    saved = json.loads(Path(path).read_text())
    masks = {name: metadata["id"].isin(set(saved[name])).to_numpy() for name in SPLIT_NAMES}
    return Splits(**masks), {key: saved[key] for key in ("fraction", "seed", "near_duplicate_cosine")}
