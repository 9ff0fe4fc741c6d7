"""Search a built catalogue: photo or product in, ranked products out.

:class:`Recommender` joins the pieces a caller needs: the extractor (to embed
a photo the way the catalogue was embedded), the checked artifacts, and the
Annoy indexes per setting.  Every result is one table shape,
:data:`RESULT_COLUMNS`, so the CLI, the pages and the evaluation share it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..config import silent
from ..data.colour import colour_signature
from ..data.images import CropBox, crop, decode_image, trim_to_product
from ..features.extractor import Extractor
from ..features.head import Head
from ..features.runtimes import AUTO_RUNTIME, runtime_for
from ..features.weights import Weights
from ..index.annoy import VectorIndex
from ..index.exact import exact_search
from ..store.artifacts import Artifacts, backbone_weights, load_artifacts
from ..store.manifest import BACKBONE_SPACE, read_manifest
from .ranking import EXACT_MATCH_DISTANCE, Ranker, within_kinds

RESULT_COLUMNS = ("rank", "id", "distance", "productDisplayName", "articleType", "baseColour",
                  "masterCategory", "subCategory", "gender", "image_path")
FILTER_COLUMNS = ("gender", "masterCategory", "articleType", "baseColour")
# What a trained space predicts for a query photo, shown to the shopper and used to rank.
PREDICTED_LABELS = ("articleType", "baseColour")
DEFAULT_K = 5
MAX_K = 50
# Whether a photo whose product lies small on a plain background is cut down to it before embedding
# (data.images.trim_to_product). The catalogue's photos are embedded uncut, so a photo that is a catalogue
# product's own is always embedded as given: it finds itself first
# (docs/decisions/0003-small-products-cut-to-themselves.md).
TRIM_QUERIES = True
# Below this many allowed products an exact scan beats asking Annoy for more.
_EXACT_SCAN_LIMIT = 20_000


@dataclass(frozen=True)
class Query:
    """What a search needs of a photo: its backbone vector and colour signature."""

    vector: np.ndarray
    colour: np.ndarray
    row: int | None = None  # set when the query is a catalogue product
    # A garment worn by a person, cut from its photo, or that photo whole: searched in the manifest's worn space.
    worn: bool = False
    # The garment kinds the finder read it as (a garment cut from a photo): its type is kept within them.
    kinds: tuple[str, ...] = ()


class Recommender:
    """Nearest catalogue products for a photo or for a product.

    Parameters
    ----------
    artifacts : Artifacts
        From :func:`recommender.artifacts.load_artifacts`.
    extractor : Extractor, optional
        Needed to search by photo; searching by product id works without it.
    """

    def __init__(self, artifacts: Artifacts, extractor: Extractor | None = None) -> None:
        self.artifacts = artifacts
        self.extractor = extractor
        self._indexes: dict[tuple[str, str, int], VectorIndex] = {}
        self._row_of_id = {item_id: row for row, item_id in enumerate(artifacts.metadata["id"])}
        self._heads: dict[str, Head] = {}
        self._class_rows: dict[tuple[str, str], np.ndarray] = {}
        self._lock = threading.Lock()  # sessions share one Recommender: build each index once
        self.trim_queries = TRIM_QUERIES

    @classmethod
    def load(cls, root: str | os.PathLike = "artifacts", *, weights: Weights | str | os.PathLike | None = None,
             with_model: bool = True, compiled: bool = True, runtime: str = AUTO_RUNTIME,
             threads: int | None = None, log: Callable[[str], None] = silent) -> Recommender:
        """Load a built catalogue and, with ``with_model``, the matching extractor.

        The artifacts are refused when they were built with other weights or
        preprocessing than this extractor's, or from a dataset that changed
        since (see :func:`load_artifacts`), before the network is built.
        ``compiled=False`` suits a single query (see :class:`Extractor`). ``runtime`` is where the
        network runs (auto: the one the catalogue was built on, where installed; ``log`` hears of a fallback),
        on ``threads`` threads per call.
        """
        if not with_model:
            return cls(load_artifacts(root, expect_dataset=True))
        manifest = read_manifest(root)
        features = manifest.features
        extractor = Extractor.from_settings(
            features, backbone_weights(root, features, weights), dataset=manifest.dataset, compiled=compiled,
            runtime=runtime_for(runtime, features.precision, recorded=features.runtime, log=log), threads=threads,
            log=log)
        return cls(load_artifacts(root, expect_features=extractor.settings, expect_dataset=True), extractor)

    @property
    def metadata(self) -> pd.DataFrame:
        """The catalogue's products, in index row order."""
        return self.artifacts.metadata

    @property
    def dataset_root(self) -> Path:
        """The dataset folder the catalogue was built from (image paths are relative to it)."""
        return self.artifacts.manifest.dataset

    @property
    def spaces(self) -> list[str]:
        """Embedding spaces that can be searched: :data:`BACKBONE_SPACE` and trained ones."""
        return [BACKBONE_SPACE, *self.artifacts.spaces]

    @property
    def default_space(self) -> str:
        """The space searched by default: a trained one only where it measured better."""
        return self.artifacts.manifest.searched_space

    @property
    def worn_space(self) -> str:
        """The space garments worn by a person (and their photo whole) are searched in by default."""
        return self.artifacts.manifest.space_for(worn=True)

    def space_for(self, query: Query, space: str | None = None) -> str:
        """The space ``query`` is searched in: ``space`` where given, else its kind's default
        (:attr:`worn_space` for a worn garment, :attr:`default_space` otherwise)."""
        return space or self.artifacts.manifest.space_for(query.worn)

    @property
    def build_id(self) -> str:
        """The id of the loaded build (changes with every build, train or reindex of another catalogue)."""
        return self.artifacts.build_id

    @property
    def root(self) -> Path:
        """The artifacts folder."""
        return self.artifacts.root

    @property
    def n_trees(self) -> int:
        """The catalogue's default number of Annoy trees."""
        return self.artifacts.manifest.index.n_trees

    @property
    def summary(self) -> dict:
        """What a page shows about the loaded build: size, creation time, feature and index settings."""
        manifest = self.artifacts.manifest
        features = manifest.features
        return {"build_id": self.build_id, "created": manifest.created, "count": manifest.count,
                **features.knobs, "runtime": self.extractor.runtime if self.extractor else None,
                "built_on": features.runtime,
                "weights_sha256": features.weights_sha256, "metric": manifest.index.metric,
                "n_trees": self.n_trees, "default_space": self.default_space, "worn_space": self.worn_space,
                "search_k": self.tuned_search_k(),
                "backbone": "ImageNet" if features.backbone is None else "fine-tuned",
                "trained_holdout": min((space.training["holdout"] for space in manifest.spaces.values()),
                                       default=None)}

    def filter_options(self, column: str) -> list[str]:
        """The values a filter on ``column`` (one of :data:`FILTER_COLUMNS`) can take, sorted."""
        if column not in FILTER_COLUMNS:
            raise ValueError(f"Expected column in {FILTER_COLUMNS}, got {column!r}")
        return sorted(value for value in self.metadata[column].unique() if value)

    def image_path(self, item_id: str) -> Path:
        """The photo of a catalogue product."""
        return self.dataset_root / self.metadata["image"].iloc[self.row_of(item_id)]

    def product(self, item_id: str) -> pd.Series:
        """A catalogue product's metadata row."""
        return self.metadata.iloc[self.row_of(item_id)]

    def has_product(self, item_id: str | None) -> bool:
        """Whether the catalogue holds a product with this id."""
        return item_id is not None and str(item_id) in self._row_of_id

    def row_of(self, item_id: str) -> int:
        """Index row of a catalogue id; ``KeyError`` with a clear message if absent."""
        try:
            return self._row_of_id[str(item_id)]
        except KeyError:
            raise KeyError(f"No product with id {item_id!r} in this catalogue") from None

    def query_from_image(self, image: bytes | str | os.PathLike | Image.Image, *,
                         box: CropBox | None = None) -> Query:
        """Embed a photo (bytes, path or decoded image), optionally cropped to ``box``.

        Raises ``ImageError`` for bad input.
        """
        if not isinstance(image, Image.Image):
            image = decode_image(image)
        if box is not None:
            image = crop(image, box)
        return self.queries_from_images([image])[0]

    def queries_from_images(self, images: Sequence[Image.Image]) -> list[Query]:
        """Embed decoded RGB photos in one batch, the way :meth:`query_from_image` embeds one."""
        if self.extractor is None:
            raise RuntimeError("This Recommender was loaded without a model: load it with with_model=True")
        images = list(images)
        vectors = self.extractor.embed_images(images)
        if self.trim_queries:
            trimmed = {}  # row -> the photo cut down to its product, where it is no catalogue product's own
            for i, image in enumerate(images):
                cut = trim_to_product(image)
                if cut is not image and self._exact_row(vectors[i]) is None:
                    trimmed[i] = cut
            if trimmed:
                vectors[list(trimmed)] = self.extractor.embed_images(list(trimmed.values()))
                images = [trimmed.get(i, image) for i, image in enumerate(images)]
        return [Query(vector, colour_signature(image)) for vector, image in zip(vectors, images)]

    def query_from_id(self, item_id: str) -> Query:
        """A catalogue product as a query (it is left out of its own results)."""
        row = self.row_of(item_id)
        return Query(np.asarray(self.artifacts.vectors[row]), np.asarray(self.artifacts.colours[row]), row)

    def index(self, *, space: str = BACKBONE_SPACE, n_trees: int | None = None,
              metric: str | None = None) -> VectorIndex:
        """The Annoy index for these settings (built once from stored vectors, then cached)."""
        key = self._index_key(space, n_trees, metric)
        with self._lock:
            if key not in self._indexes:
                self._indexes[key] = self.artifacts.index(space=space, metric=key[1], n_trees=key[2])
            return self._indexes[key]

    def exact_match(self, query: Query) -> str | None:
        """The id of the catalogue product whose very photo ``query`` is (backbone distance within
        :data:`recommender.search.ranking.EXACT_MATCH_DISTANCE`), or None."""
        row = self._exact_row(query.vector)
        return None if row is None else str(self.metadata["id"].iloc[row])

    def _exact_row(self, vector: np.ndarray) -> int | None:
        rows, distances = self.index().query(vector, 1, search_k=self.tuned_search_k(BACKBONE_SPACE))
        return int(rows[0]) if len(rows) and distances[0] <= EXACT_MATCH_DISTANCE else None

    def has_index(self, *, space: str = BACKBONE_SPACE, n_trees: int | None = None, metric: str | None = None) -> bool:
        """Whether :meth:`index` for these settings is already loaded (so returns at once)."""
        return self._index_key(space, n_trees, metric) in self._indexes

    def _index_key(self, space: str, n_trees: int | None, metric: str | None) -> tuple[str, str, int]:
        settings = self.artifacts.manifest.index
        return space, metric or settings.metric, n_trees or settings.n_trees

    def space_vector(self, query: Query, space: str) -> np.ndarray:
        """The query's vector in an embedding space."""
        if space == BACKBONE_SPACE:
            return query.vector
        if query.row is not None:
            return np.asarray(self.artifacts.space_vectors(space)[query.row])
        return self._head(space).transform(query.vector[None], query.colour[None])[0]

    def _head(self, space: str) -> Head:
        if space not in self._heads:
            self._heads[space] = self.artifacts.head(space)
        return self._heads[space]

    def tuned_search_k(self, space: str | None = None) -> int:
        """The search_k measured at build time for this catalogue's index of ``space`` (recall@5 >= 0.99)."""
        return self.artifacts.tuned_search_k(space or self.default_space)

    def tuning(self, space: str | None = None) -> dict | None:
        """How :meth:`tuned_search_k` was measured (value, recall@5, queries), or None where it was not."""
        return self.artifacts.manifest.index.search_k.get(space or self.default_space)

    def type_first_weights(self, space: str | None = None) -> dict[str, float]:
        """The space's type-first penalty weights (label -> weight; empty where it has none)."""
        return self.artifacts.type_first_weights(space or self.default_space)

    def predictions(self, query: Query, *, space: str | None = None,
                    top: int = 4) -> dict[str, list[tuple[str, float]]]:
        """What the space's head takes the query for: label -> [(value, probability)], likeliest first.

        Covers articleType and baseColour; empty for the backbone space and for heads without classifiers. A
        garment's types of other kinds (:attr:`Query.kinds`) are left out.
        """
        space = self.space_for(query, space)
        if space == BACKBONE_SPACE:
            return {}
        head = self._head(space)
        probabilities = self.probabilities(self.space_vector(query, space), space, kinds=query.kinds)
        return {label: [(str(head.classes[label][i]), float(probabilities[label][i]))
                        for i in np.argsort(-probabilities[label], kind="stable")[:top] if probabilities[label][i] > 0]
                for label in PREDICTED_LABELS if label in probabilities}

    def search(self, query: Query, *, k: int = DEFAULT_K, search_k: int | None = None, n_trees: int | None = None,
               filters: Mapping[str, Sequence[str]] | None = None, colour_weight: float = 0.0,
               space: str | None = None, type_first: bool = True) -> pd.DataFrame:
        """The ``k`` products nearest to ``query``.

        Parameters
        ----------
        query : Query
            From :meth:`query_from_image` or :meth:`query_from_id`.
        k : int, default 5
            Number of results, 1 to 50.
        search_k : int, optional
            Annoy nodes to inspect; -1 is ``n_trees * k``.  Defaults to the value
            measured for this catalogue and space (:meth:`tuned_search_k`).
        n_trees : int, optional
            Annoy trees; defaults to the manifest's (an index for a new value is
            built from the stored vectors, once).
        filters : mapping, optional
            ``{column: allowed values}`` over :data:`FILTER_COLUMNS`, applied
            while searching: still ``k`` results where ``k`` products match.
        colour_weight : float, default 0
            Blend in [0, 1]: ranking distance^2 is ``(1 - w) * cnn^2 + w * colour^2``.
        space : str, optional
            Embedding space (see :attr:`spaces`); defaults to the query's (:meth:`space_for`).
        type_first : bool, default True
            In a trained space, rank by distance plus a penalty for types and colours the space's
            head finds unlikely for the query (weights chosen at training, see :meth:`type_first_weights`).

        Returns
        -------
        DataFrame
            Columns :data:`RESULT_COLUMNS`, nearest first.
        """
        rows, distances = self.neighbours(query, k=k, search_k=search_k, n_trees=n_trees, filters=filters,
                                          colour_weight=colour_weight, space=space, type_first=type_first)
        return self._results(rows, distances)

    def neighbours(self, query: Query, *, k: int = DEFAULT_K, search_k: int | None = None,
                   n_trees: int | None = None, filters: Mapping[str, Sequence[str]] | None = None,
                   colour_weight: float = 0.0, space: str | None = None,
                   type_first: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`search`'s answer as catalogue rows and distances (no table): for callers that rank many."""
        if not 1 <= k <= MAX_K:
            raise ValueError(f"Expected 1 <= k <= {MAX_K}, got {k}")
        space = self.space_for(query, space)
        search_k = self.tuned_search_k(space) if search_k is None else search_k
        vector = self.space_vector(query, space)
        ranker = self.ranker(space, colour_weight=colour_weight, type_first=type_first)
        rows, distances = self._candidates(vector, ranker.pool(k, exclude_self=query.row is not None),
                                           self._filter_mask(filters), search_k=search_k, n_trees=n_trees, space=space)
        rows, distances = ranker.rank(rows, distances, query_colour=query.colour, exclude=query.row,
                                      probabilities=self.probabilities(vector, space, kinds=query.kinds)
                                      if ranker.label_weights else None)
        return rows[:k], distances[:k]

    def ranker(self, space: str | None = None, *, colour_weight: float = 0.0, type_first: bool = True) -> Ranker:
        """The ranking rules :meth:`search` applies in ``space`` (see :func:`space_ranker`)."""
        return space_ranker(self.artifacts, space or self.default_space, colour_weight=colour_weight,
                            type_first=type_first, classes=self._classes)

    def probabilities(self, space_vector: np.ndarray, space: str, *,
                      kinds: Sequence[str] = ()) -> dict[str, np.ndarray]:
        """The space's head's predicted distributions for one query vector of that space: label -> (C,); the
        articleType kept within the garment ``kinds`` the finder read the query as (:func:`within_kinds`)."""
        head = self._head(space)
        probabilities = {label: p[0] for label, p in head.predict(space_vector[None]).items()}
        if kinds and "articleType" in probabilities:
            probabilities["articleType"] = within_kinds(probabilities["articleType"][None],
                                                        head.classes["articleType"], [kinds])[0]
        return probabilities

    def _classes(self, space: str, label: str) -> np.ndarray:
        """Each catalogue product's class under the space's ``label`` classifier (computed once)."""
        key = (space, label)
        if key not in self._class_rows:
            self._class_rows[key] = self._head(space).class_index(label, self.metadata[label].to_numpy())
        return self._class_rows[key]

    def _filter_mask(self, filters: Mapping[str, Sequence[str]] | None) -> np.ndarray | None:
        mask = None
        for column, values in (filters or {}).items():
            if column not in FILTER_COLUMNS:
                raise ValueError(f"Expected filter columns in {FILTER_COLUMNS}, got {column!r}")
            if values:
                match = self.metadata[column].isin([str(v) for v in values]).to_numpy()
                mask = match if mask is None else mask & match
        return mask

    def _candidates(self, vector: np.ndarray, count: int, allowed: np.ndarray | None, *, search_k: int,
                    n_trees: int | None, space: str) -> tuple[np.ndarray, np.ndarray]:
        index = self.index(space=space, n_trees=n_trees)
        total = index.n_items
        if allowed is None:
            return index.query(vector, min(count, total), search_k=search_k)
        n_allowed = int(allowed.sum())
        if n_allowed == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if n_allowed <= _EXACT_SCAN_LIMIT:
            # A filtered subset this small is scanned exactly: fast, and never short of results.
            subset = np.flatnonzero(allowed)
            rows, distances = exact_search(self.artifacts.space_vectors(space)[subset], vector, count,
                                           metric=index.metric)
            return subset[rows[0]], distances[0]
        wanted = min(total, int(count * total / n_allowed * 2) + count)
        while True:
            rows, distances = index.query(vector, wanted, search_k=max(search_k, index.n_trees * wanted))
            keep = allowed[rows]
            if keep.sum() >= count or wanted >= total:
                return rows[keep][:count], distances[keep][:count]
            wanted = min(total, wanted * 4)

    def products(self, rows: np.ndarray) -> pd.DataFrame:
        """Catalogue rows in the result layout (distance NaN), e.g. for browsing a region."""
        return self._results(np.asarray(rows, np.int64), np.full(len(rows), np.nan, np.float32))

    def _results(self, rows: np.ndarray, distances: np.ndarray) -> pd.DataFrame:
        table = self.metadata.iloc[rows].reset_index(drop=True)
        root = self.dataset_root
        return pd.DataFrame({
            "rank": np.arange(1, len(rows) + 1),
            "id": table["id"],
            "distance": np.round(distances.astype(float), 4),
            **{column: table[column] for column in RESULT_COLUMNS[3:9]},
            "image_path": [str(root / rel) for rel in table["image"]],
        })


def space_ranker(artifacts: Artifacts, space: str, rows: np.ndarray | None = None, *, colour_weight: float = 0.0,
                 type_first: bool = True, classes: Callable[[str, str], np.ndarray] | None = None) -> Ranker:
    """The ranking rules of ``space`` over the catalogue's ``rows`` (a mask or row numbers; all by default):
    the one place that decides which type-first weights apply (a trained space's, where asked for).

    ``classes(space, label)`` may give every catalogue product's class (a cache, for the whole catalogue only).
    """
    weights = artifacts.type_first_weights(space) if type_first and space != BACKBONE_SPACE else {}
    colours = artifacts.colours if rows is None else np.asarray(artifacts.colours)[rows]
    if not weights:
        return Ranker(colours, colour_weight=colour_weight)
    if classes is None or rows is not None:
        head = artifacts.head(space)
        labels = artifacts.metadata if rows is None else artifacts.metadata[rows] if np.asarray(rows).dtype == bool \
            else artifacts.metadata.iloc[rows]
        found = {label: head.class_index(label, labels[label].to_numpy()) for label in weights}
    else:
        found = {label: classes(space, label) for label in weights}
    return Ranker(colours, colour_weight=colour_weight, label_weights=weights, classes=found)
