"""Shop the look: when a photo is searched garment by garment, and what each searched part of it is.

A photo whose garments the finder cannot tell apart, or in which one garment fills most of the
frame (a catalogue shot, a shirt on a bed), is searched whole, as a plain search is: an exact
catalogue photo still finds itself first. Otherwise each garment found becomes a query of its own
(:meth:`recommender.search.queries.QueryMaker.of_garments`), most prominent first, then the photo whole
(:meth:`recommender.search.recommender.Recommender.look`). :func:`part_record` is a part's one JSON form
(the API's ``/v1/look`` and ``query --garments --json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..data.images import FULL_FRAME, CropBox
from ..garments.finder import Garment, Survey
from .catalogue import result_records
from .engine import Query

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
    space: str = ""  # the space it was searched in

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


def part_record(part: LookPart, dataset_root: Path | None, *, read_as: dict | None = None) -> dict:
    """One searched part as JSON: its number, label, kinds, score, box, space and results (image paths
    relative to ``dataset_root``; None: as they are), with what the space's head read it as where given."""
    garment = part.garment
    record = {"number": part.number, "label": part.label, "kind": garment.kind if garment else None,
              "other_kinds": list(garment.other_kinds) if garment else [],
              "score": round(garment.score, 4) if garment else None, "box": [round(v, 4) for v in part.box],
              "space": part.space}
    if read_as is not None:
        record["read_as"] = read_as
    return record | {"results": result_records(part.results, dataset_root)}
