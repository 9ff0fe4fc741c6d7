"""Photos and products made into queries: every rule of what a query is, in one place.

* A photo is embedded as the catalogue's photos were; one whose product lies small on a plain background is
  cut down to it first, unless it is a catalogue product's own photo (:data:`TRIM_QUERIES`).
* A photo of a person wearing garments in a real scene is searched garment by garment
  (:func:`recommender.search.look.searched_whole` says when): each garment is its crop, coloured by its own
  pixels, searched within the kinds the finder read it as, in the worn space; the photo whole is then a worn look.
* A catalogue product is its stored vectors, and never its own neighbour.

The CLI, the API, the app and shop the look all make their queries here (:class:`QueryMaker`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from ..data.colour import colour_signature
from ..data.images import CropBox, crop, decode_image, trim_to_product
from ..features.extractor import Extractor
from ..garments.finder import Garment, GarmentFinder, garment_colour, garment_photo
from ..store.artifacts import Artifacts
from .catalogue import CatalogueView
from .engine import Query
from .look import BLANK_BACKGROUND, searched_whole

# Whether a photo whose product lies small on a plain background is cut down to it before embedding
# (data.images.trim_to_product). The catalogue's photos are embedded uncut, so a photo that is a catalogue
# product's own is always embedded as given: it finds itself first
# (docs/decisions/0003-small-products-cut-to-themselves.md).
TRIM_QUERIES = True

Image_ = bytes | str | os.PathLike | Image.Image


@dataclass(frozen=True)
class PhotoQueries:
    """An uploaded photo read for search: the whole photo's query, and its garments to search one by one
    (most prominent first; empty: the photo is searched whole) with their queries."""

    whole: Query
    garments: tuple[Garment, ...] = ()
    garment_queries: tuple[Query, ...] = ()

    @property
    def first(self) -> Query:
        """What the photo is searched with at once: its most prominent garment, else the photo whole."""
        return self.garment_queries[0] if self.garment_queries else self.whole


class QueryMaker:
    """Photos and catalogue products as queries of one catalogue.

    Parameters
    ----------
    artifacts : Artifacts
        The catalogue (its stored vectors make a product's query).
    catalogue : CatalogueView
        Its products by id.
    extractor : Extractor, optional
        Embeds photos as the catalogue's were (:func:`recommender.store.predictor.catalogue_extractor`);
        without it only products can be queries.
    exact_row : callable
        A backbone vector's catalogue row where it is that product's very photo, else None
        (:meth:`recommender.search.engine.SearchEngine.exact_row`).
    finder : callable, optional
        Loads the garment finder (None where none is trained); called when a photo is first surveyed.
    """

    def __init__(self, artifacts: Artifacts, catalogue: CatalogueView, extractor: Extractor | None,
                 exact_row: Callable[[np.ndarray], int | None],
                 finder: Callable[[], GarmentFinder | None] | None = None) -> None:
        self._artifacts = artifacts
        self._catalogue = catalogue
        self._extractor = extractor
        self._exact_row = exact_row
        self._load_finder = finder
        self._finder: GarmentFinder | None = None
        self._lock = threading.Lock()
        self.trim = TRIM_QUERIES

    @property
    def runtime(self) -> str | None:
        """Where the network runs (None: no network loaded)."""
        return None if self._extractor is None else self._extractor.runtime

    @property
    def finder(self) -> GarmentFinder | None:
        """The garment finder, loaded on first use (None where none is trained: looked for again next time)."""
        with self._lock:
            if self._finder is None and self._load_finder is not None:
                self._finder = self._load_finder()
            return self._finder

    def from_id(self, item_id: str) -> Query:
        """A catalogue product as a query: its stored vectors; it is left out of its own results (``KeyError``
        for an id the catalogue lacks)."""
        row = self._catalogue.row_of(item_id)
        return Query(np.asarray(self._artifacts.vectors[row]), np.asarray(self._artifacts.colours[row]), row)

    def from_image(self, image: Image_, *, box: CropBox | None = None, garments: Sequence[Garment] = ()) -> Query:
        """A photo (bytes, path or decoded image) as a query, cropped to ``box`` where given; a worn look where
        its ``garments`` are searched one by one. Raises ``ImageError`` for bad input."""
        image = image if isinstance(image, Image.Image) else decode_image(image)
        query = self.from_images([image if box is None else crop(image, box)])[0]
        return replace(query, worn=True) if garments else query

    def from_images(self, images: Sequence[Image.Image]) -> list[Query]:
        """Decoded RGB photos as queries, embedded in one batch (each trimmed to its product where
        :data:`TRIM_QUERIES` says so)."""
        if self._extractor is None:
            raise RuntimeError("This catalogue was loaded without a model: load it with with_model=True")
        images = list(images)
        vectors = self._extractor.embed_images(images)
        if self.trim:
            trimmed = {}  # row -> the photo cut down to its product, where it is no catalogue product's own
            for i, image in enumerate(images):
                cut = trim_to_product(image)
                if cut is not image and self._exact_row(vectors[i]) is None:
                    trimmed[i] = cut
            if trimmed:
                vectors[list(trimmed)] = self._extractor.embed_images(list(trimmed.values()))
                images = [trimmed.get(i, image) for i, image in enumerate(images)]
        return [Query(vector, colour_signature(image)) for vector, image in zip(vectors, images)]

    def _garments(self, image: Image.Image, whole: Query) -> list[Garment]:
        """The garments of ``image`` to search one by one, most prominent first; empty: search it whole.

        Empty without a finder, where :func:`~recommender.search.look.searched_whole` says so, and where the
        photo is a catalogue product's own photo (``whole`` is its query): that product comes first, whole.
        """
        finder = self.finder
        if finder is None:
            return []
        survey = finder.survey(image)
        if searched_whole(survey) or self._exact_row(whole.vector) is not None:
            return []
        return survey.garments

    def of_garments(self, image: Image.Image, garments: Sequence[Garment], *,
                    blank: bool = BLANK_BACKGROUND) -> list[Query]:
        """Each garment of ``image`` as a catalogue-like query, in one batch: the network sees its crop
        (:func:`~recommender.garments.finder.garment_photo`), the colour is its own pixels'
        (:func:`~recommender.garments.finder.garment_colour`), it is worn, and its type is kept within the kinds
        the finder read it as (:attr:`Query.kinds`)."""
        if not garments:
            return []
        queries = self.from_images([garment_photo(image, garment, blank=blank) for garment in garments])
        return [replace(query, colour=garment_colour(image, garment), worn=True, kinds=garment.kinds)
                for query, garment in zip(queries, garments)]

    def photo(self, image: Image_, *, first_only: bool = False) -> PhotoQueries:
        """An uploaded photo read for search (:class:`PhotoQueries`): the photo whole (embedded once: it also
        tells a catalogue product's own photo), the garments to search one by one, and their queries (the most
        prominent one alone with ``first_only``)."""
        image = image if isinstance(image, Image.Image) else decode_image(image)
        whole = self.from_image(image)
        found = self._garments(image, whole)
        queries = self.of_garments(image, found[:1] if first_only else found)
        return PhotoQueries(replace(whole, worn=True) if found else whole, tuple(found), tuple(queries))
