"""The catalogue as a search shows it: its products by id and row, their photos, the filters, the result table.

Every result is one table shape, :data:`RESULT_COLUMNS`, so the CLI, the pages, the API and the evaluation
share it; :func:`result_records` is the one JSON form of it (image paths relative to the dataset).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..store.artifacts import Artifacts
from ..store.manifest import BACKBONE_SPACE

RESULT_COLUMNS = ("rank", "id", "distance", "productDisplayName", "articleType", "baseColour",
                  "masterCategory", "subCategory", "gender", "image_path")
FILTER_COLUMNS = ("gender", "masterCategory", "articleType", "baseColour")


class CatalogueView:
    """A loaded build's products: lookups by id, photos, filter values and masks, result tables.

    Parameters
    ----------
    artifacts : Artifacts
        From :func:`recommender.store.artifacts.load_artifacts`.
    """

    def __init__(self, artifacts: Artifacts) -> None:
        self._artifacts = artifacts
        self._row_of_id = {item_id: row for row, item_id in enumerate(artifacts.metadata["id"])}

    @property
    def metadata(self) -> pd.DataFrame:
        """The catalogue's products, in index row order."""
        return self._artifacts.metadata

    @property
    def dataset_root(self) -> Path:
        """The dataset folder the catalogue was built from (image paths are relative to it)."""
        return self._artifacts.manifest.dataset

    @property
    def root(self) -> Path:
        """The artifacts folder."""
        return self._artifacts.root

    @property
    def build_id(self) -> str:
        """The id of the loaded build (changes with every build, train or reindex of another catalogue)."""
        return self._artifacts.build_id

    @property
    def spaces(self) -> list[str]:
        """Embedding spaces that can be searched: :data:`BACKBONE_SPACE` and trained ones."""
        return [BACKBONE_SPACE, *self._artifacts.spaces]

    @property
    def default_space(self) -> str:
        """The space product photos are searched in by default: a trained one only where it measured better."""
        return self._artifacts.manifest.searched_space

    @property
    def worn_space(self) -> str:
        """The space garments worn by a person (and their photo whole) are searched in by default."""
        return self._artifacts.manifest.space_for(worn=True)

    def real_photo_judgements(self) -> dict[str, dict]:
        """Each space trained with real photos -> how it was judged on them against each kind's default
        (:func:`recommender.training.train.judge_on_real_photos`'s record): what chose the default models."""
        return {name: dict(entry.comparison["real_photos"]) for name, entry in self._artifacts.manifest.spaces.items()
                if entry.comparison and "real_photos" in entry.comparison}

    def tuning(self, space: str | None = None) -> dict | None:
        """How the space's search_k was measured at build time (value, recall@5, queries), or None."""
        return self._artifacts.manifest.index.search_k.get(space or self.default_space)

    def type_first_weights(self, space: str | None = None) -> dict[str, float]:
        """The space's type-first penalty weights (label -> weight; empty where it has none)."""
        return self._artifacts.type_first_weights(space or self.default_space)

    def filter_options(self, column: str) -> list[str]:
        """The values a filter on ``column`` (one of :data:`FILTER_COLUMNS`) can take, sorted."""
        if column not in FILTER_COLUMNS:
            raise ValueError(f"Expected column in {FILTER_COLUMNS}, got {column!r}")
        return sorted(value for value in self.metadata[column].unique() if value)

    def filter_mask(self, filters: Mapping[str, Sequence[str]] | None) -> np.ndarray | None:
        """The rows ``{column: allowed values}`` keeps (None: no filter)."""
        mask = None
        for column, values in (filters or {}).items():
            if column not in FILTER_COLUMNS:
                raise ValueError(f"Expected filter columns in {FILTER_COLUMNS}, got {column!r}")
            if values:
                match = self.metadata[column].isin([str(v) for v in values]).to_numpy()
                mask = match if mask is None else mask & match
        return mask

    def has_product(self, item_id: str | None) -> bool:
        """Whether the catalogue holds a product with this id."""
        return item_id is not None and str(item_id) in self._row_of_id

    def row_of(self, item_id: str) -> int:
        """Index row of a catalogue id; ``KeyError`` with a clear message if absent."""
        try:
            return self._row_of_id[str(item_id)]
        except KeyError:
            raise KeyError(f"No product with id {item_id!r} in this catalogue") from None

    def product(self, item_id: str) -> pd.Series:
        """A catalogue product's metadata row."""
        return self.metadata.iloc[self.row_of(item_id)]

    def image_path(self, item_id: str) -> Path:
        """The photo of a catalogue product."""
        return self.dataset_root / self.metadata["image"].iloc[self.row_of(item_id)]

    def products(self, rows: np.ndarray) -> pd.DataFrame:
        """Catalogue rows in the result layout (distance NaN), e.g. for browsing a region."""
        return self.results(np.asarray(rows, np.int64), np.full(len(rows), np.nan, np.float32))

    def results(self, rows: np.ndarray, distances: np.ndarray) -> pd.DataFrame:
        """Ranked rows and their distances as a result table (:data:`RESULT_COLUMNS`, absolute image paths)."""
        table = self.metadata.iloc[rows].reset_index(drop=True)
        return pd.DataFrame({
            "rank": np.arange(1, len(rows) + 1),
            "id": table["id"],
            "distance": np.round(np.asarray(distances).astype(float), 4),
            **{column: table[column] for column in RESULT_COLUMNS[3:9]},
            "image_path": [str(self.dataset_root / rel) for rel in table["image"]],
        })


def result_records(results: pd.DataFrame, dataset_root: str | os.PathLike | None) -> list[dict]:
    """A result table as JSON records: image paths relative to ``dataset_root`` (None: as they are), a
    missing distance as null (the API's and ``query --json``'s one form)."""
    table = results.assign(image_path=[str(path) if dataset_root is None else os.path.relpath(path, dataset_root)
                                       for path in results["image_path"]])
    table["distance"] = [None if np.isnan(value) else float(value) for value in table["distance"]]
    return table.to_dict(orient="records")
