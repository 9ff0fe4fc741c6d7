"""What the API serves: the catalogue's current build, switched to a new one without a restart.

Every request takes the recommender of the build current when it starts
(:meth:`ServedBuild.current`) and finishes on it: an ``update`` or ``build``
committed meanwhile is picked up by the next request, and the old build's
files stay for their grace period.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..config import silent
from ..data.images import CropBox, crop
from ..features.weights import Weights, resolve_weights
from ..search.catalogue import FILTER_COLUMNS
from ..search.engine import Query, check_k
from ..search.recommender import PREDICTED_LABELS, Recommender
from ..store.predictor import served_version

# How often the manifest is read to see whether a new build was committed.
BUILD_CHECK_SECONDS = 1.0


class NotFound(LookupError):
    """No such product in the catalogue (the API answers 404)."""


class BadRequest(ValueError):
    """A request value out of range or unknown (the API answers 422)."""


@dataclass(frozen=True)
class SearchRequest:
    """A search's settings, checked against the catalogue by :meth:`ServedBuild.check`."""

    k: int = 5
    space: str | None = None
    type_first: bool = True
    filters: Mapping[str, Sequence[str]] | None = None


class ServedBuild:
    """The artifacts folder's current build, loaded once per version (a model trained in the background is a new
    one, :func:`recommender.store.predictor.served_version`) and shared by every request.

    Parameters
    ----------
    root : path
        The artifacts folder (as the app and the CLI read it).
    weights : Weights or path, optional
        The ImageNet weights file (default: as :func:`recommender.features.weights.resolve_weights` finds it).
    """

    def __init__(self, root: str | os.PathLike, *, weights: Weights | str | os.PathLike | None = None,
                 runtime: str = "auto", threads: int | None = None, log: Callable[[str], None] = silent) -> None:
        self.root = Path(root)
        self.weights = weights
        self.runtime = runtime
        self.threads = threads
        self._log = log
        self._lock = threading.Lock()
        self._recommender: Recommender | None = None
        self._version: str | None = None  # recommender.store.predictor.served_version of the one loaded
        self._finder_sha256: str | None = None
        self._checked = 0.0

    def current(self) -> Recommender:
        """The recommender of the current build (the next one is loaded the first time it is asked for)."""
        now = time.monotonic()
        loaded = self._recommender
        if loaded is not None and now - self._checked < BUILD_CHECK_SECONDS:
            return loaded
        with self._lock:
            if self._finder_sha256 is None:
                self._finder_sha256 = resolve_weights(self.weights, log=self._log).sha256
            version = served_version(self.root, self._finder_sha256)
            if self._recommender is None or self._version != version:
                self._recommender = Recommender.load(self.root, weights=self.weights, runtime=self.runtime,
                                                     threads=self.threads, log=self._log)
                self._version = version
            self._checked = time.monotonic()
            return self._recommender

    @property
    def ready(self) -> bool:
        """Whether a build is loaded (model and index)."""
        return self._recommender is not None


def check_request(recommender: Recommender, request: SearchRequest) -> None:
    """Refuse a k out of range, an unknown space, filter column or filter value (:class:`BadRequest`)."""
    catalogue = recommender.catalogue
    try:
        check_k(request.k)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    if request.space is not None and request.space not in catalogue.spaces:
        raise BadRequest(f"Expected space in {catalogue.spaces}, got {request.space!r}")
    for column, values in (request.filters or {}).items():
        if column not in FILTER_COLUMNS:
            raise BadRequest(f"Expected filters on {list(FILTER_COLUMNS)}, got {column!r}")
        unknown = sorted(set(values) - set(catalogue.filter_options(column)))
        if unknown:
            raise BadRequest(f"Unknown {column} value(s) {unknown}; GET /v1/catalogue lists them")


def product_id(recommender: Recommender, item_id: str) -> str:
    """``item_id`` where the catalogue holds it, else :class:`NotFound`."""
    if not recommender.catalogue.has_product(item_id):
        raise NotFound(f"No product with id {item_id!r} in this catalogue")
    return item_id


def embed_photos(recommender: Recommender, photos: Sequence[tuple[Image.Image, CropBox | None]]) -> list[Query]:
    """Queries of photos (each cropped to its box), embedded in one batch."""
    return recommender.queries.from_images([image if box is None else crop(image, box) for image, box in photos])


def read_as(recommender: Recommender, query: Query, space: str | None,
            predictions: dict[str, list[tuple[str, float]]] | None = None) -> dict[str, list[dict]]:
    """What a trained space takes the photo for: label -> [{"value", "probability"}], likeliest first
    (``predictions``: :meth:`recommender.search.recommender.Recommender.answer` made them, where given)."""
    predictions = recommender.predictions(query, space=space) if predictions is None else predictions
    return {label: [{"value": value, "probability": round(probability, 4)} for value, probability in options]
            for label, options in predictions.items() if label in PREDICTED_LABELS}
