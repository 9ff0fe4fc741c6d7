"""Shop the look: the garments of a photo, each searched as a catalogue-like query (CLI, app and API alike).

A photo whose garments the finder cannot tell apart, or in which one garment fills most of the
frame (a catalogue shot, a shirt on a bed), is searched whole, as a plain search is: an exact
catalogue photo still finds itself first. Otherwise each garment found becomes a query of its own
(:func:`recommender.garments.finder.garment_photo`), most prominent first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd
from PIL import Image

from ..data.images import FULL_FRAME, CropBox
from ..garments.finder import Garment, GarmentFinder, Survey, garment_colour, garment_photo
from .recommender import Query, Recommender

# One garment whose box covers this much of the photo: the photo is a product shot, searched whole.
WHOLE_PHOTO_BOX = 0.5
# The wearer's skin and hair on at least this share of the photo: a person wears the garments.
PERSON_SHARE = 0.02
BLANK_BACKGROUND = False  # see docs/evaluation.md: blanking around the coarse region measured no better


@dataclass(frozen=True)
class LookPart:
    """One searched part of a photo: a garment (``None``: the whole photo), its query and results."""

    number: int
    garment: Garment | None
    query: Query
    results: pd.DataFrame

    @property
    def box(self) -> CropBox:
        return self.garment.box if self.garment else FULL_FRAME

    @property
    def label(self) -> str:
        return self.garment.label if self.garment else "Whole photo"


def searched_whole(survey: Survey) -> bool:
    """Whether a photo is searched whole rather than garment by garment.

    Garment by garment only where a person wears them in a real scene: garments were found, the wearer
    covers at least :data:`PERSON_SHARE` of the photo, the background is not a studio's plain backdrop,
    and no single garment fills the frame. A catalogue shot (plain backdrop, with or without a model)
    and a garment on a bed (no wearer) are searched whole (docs/evaluation.md: cut into parts, phone photos
    lost 31 points and half the catalogue's own photos stopped finding themselves first).

    >>> import numpy as np
    >>> shirt = Garment((0.05, 0.1, 0.95, 0.9), "top", 0.8, 0.5, np.zeros((1, 1), bool))
    >>> bag = Garment((0.6, 0.5, 0.7, 0.6), "bag", 0.7, 0.01, np.zeros((1, 1), bool))
    >>> street = Survey([bag, shirt], 0.05, False)
    >>> [searched_whole(street), searched_whole(Survey([], 0.05, False)), searched_whole(Survey([shirt], 0.05, False))]
    [False, True, True]
    >>> searched_whole(Survey([bag, shirt], 0.0, False)), searched_whole(Survey([bag, shirt], 0.05, True))
    (True, True)
    """
    garments = survey.garments
    if not garments or survey.person < PERSON_SHARE or survey.plain_background:
        return True
    left, top, right, bottom = garments[0].box
    return len(garments) == 1 and (right - left) * (bottom - top) >= WHOLE_PHOTO_BOX


def garments_to_search(recommender: Recommender, finder: GarmentFinder | None, image: Image.Image, *,
                       whole: Query | None = None) -> list[Garment]:
    """The garments of ``image`` to search one by one, most prominent first; empty: search the photo whole.

    Empty without a finder, where :func:`searched_whole` says so, and where the photo is a catalogue product's
    own photo (``whole``, its query, is embedded here where not given): that product comes first, whole.
    """
    if finder is None:
        return []
    survey = finder.survey(image)
    if searched_whole(survey):
        return []
    if recommender.exact_match(whole or recommender.query_from_image(image)) is not None:
        return []
    return survey.garments


def garment_queries(recommender: Recommender, image: Image.Image, garments: list[Garment], *,
                    blank: bool = BLANK_BACKGROUND) -> list[Query]:
    """Each garment of ``image`` as a catalogue-like query, in one batch: the network sees its crop
    (:func:`~recommender.garments.finder.garment_photo`), the colour is its own pixels'
    (:func:`~recommender.garments.finder.garment_colour`), its type is kept within the kinds the finder read it as
    (:attr:`Query.kinds`)."""
    queries = recommender.queries_from_images([garment_photo(image, garment, blank=blank) for garment in garments])
    return [replace(query, colour=garment_colour(image, garment), worn=True, kinds=garment.kinds)
            for query, garment in zip(queries, garments)]


def first_query(recommender: Recommender, finder: GarmentFinder | None, image: Image.Image) -> Query:
    """The query an uploaded photo is searched with at once: its most prominent garment's
    (:func:`garment_queries`), or the whole photo's where :func:`garments_to_search` finds none to search
    (what the app's Search page searches at once, from the same two functions cached apart; the robustness
    table measures it)."""
    whole, garments = _whole_and_garments(recommender, finder, image)
    return garment_queries(recommender, image, garments[:1])[0] if garments else whole


def shop_the_look(recommender: Recommender, finder: GarmentFinder | None, image: Image.Image, *,
                  blank: bool = BLANK_BACKGROUND, **search) -> list[LookPart]:
    """The photo's parts, each with its results (``search``: the options of :meth:`Recommender.search`).

    The whole photo alone where :func:`garments_to_search` finds none to search; else each garment, most
    prominent first (:func:`garment_queries`), then the whole photo.
    """
    whole, garments = _whole_and_garments(recommender, finder, image)
    parts = [LookPart(number, garment, query, recommender.search(query, **search)) for number, (garment, query) in
             enumerate(zip(garments, garment_queries(recommender, image, garments, blank=blank)), start=1)]
    # The whole photo last: a catalogue shot the finder cut into parts still finds itself there.
    return [*parts, LookPart(len(parts) + 1, None, whole, recommender.search(whole, **search))]


def _whole_and_garments(recommender: Recommender, finder: GarmentFinder | None,
                        image: Image.Image) -> tuple[Query, list[Garment]]:
    """The whole photo's query (embedded once: it also tells a catalogue product's own photo) and the garments
    to search one by one; where there are some, the whole photo is a worn look (:attr:`Query.worn`)."""
    whole = recommender.query_from_image(image)
    garments = garments_to_search(recommender, finder, image, whole=whole)
    return (replace(whole, worn=True) if garments else whole), garments
