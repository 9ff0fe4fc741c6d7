"""Search a built catalogue: the facade the pages, the CLI and the API hold.

:class:`Recommender` joins three parts and adds only what a caller asks of them together:

* :attr:`Recommender.catalogue` (:class:`~recommender.search.catalogue.CatalogueView`): products, photos, filters;
* :attr:`Recommender.queries` (:class:`~recommender.search.queries.QueryMaker`): photos and products as queries;
* :attr:`Recommender.engine` (:class:`~recommender.search.engine.SearchEngine`): queries to ranked rows, in
  batches.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from PIL import Image

from ..config import silent
from ..features.extractor import Extractor
from ..features.runtimes import AUTO_RUNTIME
from ..features.weights import Weights
from ..garments.finder import GarmentFinder
from ..store.artifacts import Artifacts, load_artifacts
from ..store.manifest import read_manifest
from ..store.predictor import catalogue_extractor, catalogue_finder
from .ask import Asked, Asker
from .catalogue import CatalogueView
from .engine import DEFAULT_K, Query, SearchEngine
from .look import LookPart
from .queries import QueryMaker

# What a trained space predicts for a query photo, shown to the shopper and used to rank.
PREDICTED_LABELS = ("articleType", "baseColour")
# A photo whose ImageNet vector lies farther than this from every product shows no fashion product, most likely:
# no photo of the shoppers' development set lies beyond 1.10 (demo catalogues of 1,500 and 3,000 products),
# half of scikit-image's sample photos do (grass, bricks, coins, the moon, a cat; benchmarks/unfamiliar_photos.py).
UNFAMILIAR_DISTANCE = 1.12
UNFAMILIAR_WARNING = ("This photo looks like none of the catalogue's products: it may show no garment, shoe or "
                      "accessory, and the results may not be what you look for.")


@dataclass(frozen=True)
class Answer:
    """A search as a page shows it: the results, what the head read the query as (label -> [(value,
    probability)]), the space searched, what words or likes asked for (None: a plain search), and a warning
    where the photo seems to show no fashion product (:meth:`Recommender.unfamiliar`)."""

    results: pd.DataFrame
    predictions: dict[str, list[tuple[str, float]]]
    space: str
    asked: Asked | None = None
    warning: str | None = None


class Recommender:
    """Nearest catalogue products for photos or for products.

    Parameters
    ----------
    artifacts : Artifacts
        From :func:`recommender.store.artifacts.load_artifacts`.
    extractor : Extractor, optional
        Needed to search by photo; searching by product id works without it.
    weights : Weights or path, optional
        The ImageNet weights the garment finder reads maps with (default: found as usual).
    finder : GarmentFinder, optional
        A garment finder to use instead of the one trained on this machine
        (:func:`recommender.store.predictor.catalogue_finder`, loaded on first use).
    """

    def __init__(self, artifacts: Artifacts, extractor: Extractor | None = None, *,
                 weights: Weights | str | os.PathLike | None = None, finder: GarmentFinder | None = None,
                 threads: int | None = None, log: Callable[[str], None] = silent) -> None:
        self._manifest = artifacts.manifest
        self.catalogue = CatalogueView(artifacts)
        self.engine = SearchEngine(artifacts)
        if finder is not None or extractor is None:
            load_finder = None if finder is None else lambda: finder
        else:
            load_finder = lambda: catalogue_finder(extractor, weights=weights, threads=threads, log=log)  # noqa: E731
        self.queries = QueryMaker(artifacts, self.catalogue, extractor, self.engine.exact_row, load_finder)
        self.asker = Asker(artifacts, self.catalogue, self.engine)

    @classmethod
    def load(cls, root: str | os.PathLike = "artifacts", *, weights: Weights | str | os.PathLike | None = None,
             with_model: bool = True, compiled: bool = True, runtime: str = AUTO_RUNTIME,
             finder: GarmentFinder | None = None, threads: int | None = None,
             log: Callable[[str], None] = silent) -> Recommender:
        """Load a built catalogue and, with ``with_model``, the matching extractor.

        The artifacts are refused when they were built with other weights or
        preprocessing than this extractor's, or from a dataset that changed
        since (see :func:`load_artifacts`), before the network is built.
        ``compiled=False`` suits a single query (see :class:`Extractor`). ``runtime`` is where the
        network runs (auto: the one the catalogue was built on, where installed; ``log`` hears of a fallback),
        on ``threads`` threads per call. ``finder``: as :class:`Recommender` takes it.
        """
        if not with_model:
            return cls(load_artifacts(root, expect_dataset=True))
        extractor = catalogue_extractor(root, read_manifest(root), weights=weights, compiled=compiled,
                                        runtime=runtime, threads=threads, log=log)
        return cls(load_artifacts(root, expect_features=extractor.settings, expect_dataset=True), extractor,
                   weights=weights, finder=finder, threads=threads, log=log)

    @property
    def summary(self) -> dict:
        """What a page shows about the loaded build: size, creation time, feature and index settings."""
        manifest, catalogue = self._manifest, self.catalogue
        features = manifest.features
        return {"build_id": manifest.build_id, "created": manifest.created, "count": manifest.count,
                **features.knobs, "runtime": self.queries.runtime, "built_on": features.runtime,
                "weights_sha256": features.weights_sha256, "metric": manifest.index.metric,
                "n_trees": manifest.index.n_trees, "default_space": catalogue.default_space,
                "worn_space": catalogue.worn_space, "search_k": self.engine.tuned_search_k(catalogue.default_space),
                "backbone": "ImageNet" if features.backbone is None else "fine-tuned",
                "trained_holdout": manifest.trained_holdout}

    def search(self, query: Query, **options) -> pd.DataFrame:
        """The products nearest to one query (:meth:`search_batch` of one)."""
        return self.search_batch([query], **options)[0]

    def search_batch(self, queries: Sequence[Query], *, k: int = DEFAULT_K, search_k: int | None = None,
                     n_trees: int | None = None, filters: Mapping[str, Sequence[str]] | None = None,
                     colour_weight: float = 0.0, space: str | None = None, type_first: bool = True,
                     probabilities: Mapping[str, np.ndarray] | None = None,
                     allowed: np.ndarray | None = None) -> list[pd.DataFrame]:
        """Each query's ``k`` nearest products as a result table, nearest first.

        ``filters`` is ``{column: allowed values}`` over
        :data:`~recommender.search.catalogue.FILTER_COLUMNS`, applied while searching (still ``k`` results
        where ``k`` products match; ``allowed``, a row mask, instead); the other options are
        :meth:`~recommender.search.engine.SearchEngine.kneighbors`'.
        """
        found = self.engine.kneighbors(queries, k=k, search_k=search_k, n_trees=n_trees, space=space,
                                       allowed=self.catalogue.filter_mask(filters) if allowed is None else allowed,
                                       colour_weight=colour_weight,
                                       type_first=type_first, probabilities=probabilities)
        return [self.catalogue.results(*found.of(i)) for i in range(len(queries))]

    def predictions(self, query: Query, *, space: str | None = None,
                    top: int = 4) -> dict[str, list[tuple[str, float]]]:
        """What the space's head takes the query for: label -> [(value, probability)], likeliest first.

        Covers :data:`PREDICTED_LABELS`; empty for the backbone space. A garment's types of other kinds
        (:attr:`Query.kinds`) are left out.
        """
        space = self.engine.space_for(query, space)
        return self._named(self.engine.predict([query], space), space, top)

    def answer(self, query: Query | None = None, *, text: str = "", like: Sequence[str] = (),
               dislike: Sequence[str] = (), drop: Sequence[str] = (), top: int = 4, **options) -> Answer:
        """What a page shows of a search: the results (:meth:`search_batch`'s ``options``) and what the space's
        head read the query as, from one head pass, for a photo or product ``query``, words (``text``, its
        read labels less those in ``drop``) or both, moved by ``like`` and ``dislike`` (product ids)
        (:mod:`recommender.search.ask`).

        Raises :class:`~recommender.search.ask.NothingToSearch` for words with nothing to search.
        """
        space = options.pop("space", None)
        warning = self.unfamiliar(query)
        if query is not None and not (text.strip() or like or dislike):
            asked = None
            space = self.engine.space_for(query, space)
        else:
            asked = self.asker.ask(text=text, query=query, like=like, dislike=dislike, drop=drop, space=space,
                                   k=options.get("k", DEFAULT_K))
            query, space, allowed = asked.query, asked.space, asked.allowed
            filtered = self.catalogue.filter_mask(options.pop("filters", None))
            options["allowed"] = allowed if filtered is None else filtered if allowed is None else allowed & filtered
        probabilities = self.engine.predict([query], space)
        results = self.search_batch([query], space=space, probabilities=probabilities or None, **options)[0]
        return Answer(results, self._named(probabilities, space, top), space, asked, warning)

    def unfamiliar(self, query: Query | None) -> str | None:
        """:data:`UNFAMILIAR_WARNING` where ``query`` is a photo (not a catalogue product, not words) whose
        ImageNet vector lies farther than :data:`UNFAMILIAR_DISTANCE` from every product, else None."""
        if query is None or query.vector is None or query.row is not None:
            return None
        return UNFAMILIAR_WARNING if self.engine.nearest(query.vector)[1] > UNFAMILIAR_DISTANCE else None

    def _named(self, probabilities: Mapping[str, np.ndarray], space: str,
               top: int) -> dict[str, list[tuple[str, float]]]:
        if not probabilities:
            return {}
        classes = self.engine.head(space).classes
        return {label: [(str(classes[label][i]), float(p[0][i])) for i in np.argsort(-p[0], kind="stable")[:top]
                        if p[0][i] > 0]
                for label, p in probabilities.items() if label in PREDICTED_LABELS}

    def look(self, image: Image.Image, **search) -> list[LookPart]:
        """Shop the look: the photo's garments found by the finder, each with its results, then the photo whole
        (the photo whole alone where it is searched whole; ``search``: :meth:`search_batch`'s options)."""
        photo = self.queries.photo(image)
        queries = [*photo.garment_queries, photo.whole]
        garments = [*photo.garments, None]
        results = self.search_batch(queries, **search)
        return [LookPart(number, garment, query, table, self.engine.space_for(query, search.get("space")))
                for number, (garment, query, table) in enumerate(zip(garments, queries, results), start=1)]
