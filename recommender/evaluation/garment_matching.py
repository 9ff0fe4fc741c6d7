"""The garment finder's boxes matched to annotated garments: each garment as a shopper who picks it among the
finder's boxes searches it, and the finder's recall per kind of garment.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from ..data.colour import colour_signature
from ..data.images import CropBox, box_iou
from ..features.extractor import Extractor
from ..garments.finder import GarmentFinder, garment_colour, garment_photo
from ..garments.kinds import kind_of_article_type
from .query_folders import (
    FINDER_CROP,
    FINDER_PICK,
    PhotoFolder,
    annotated_garments,
    annotated_photos,
    embedded_crops,
    fraction_box,
    garment_row,
)

MATCH_IOU = 0.5  # a found box this close to an annotated garment's is that garment


def garment_crops(root: Path, table: Path, finder: GarmentFinder, *, progress: bool = False
                  ) -> tuple[list[Image.Image], pd.DataFrame, np.ndarray]:
    """Every annotated garment as a shopper who picks it among the finder's boxes searches it, two ways.

    :data:`FINDER_CROP`: the found garment of its kind (among its :attr:`~recommender.garments.finder.Garment.kinds`:
    a jacket the parser read partly as a top is a jacket's box) that overlaps its annotated box most, at IoU >=
    0.5 (the detection benchmarks' match). :data:`FINDER_PICK`: of the found garments of its kind whose box is
    centred within its annotated box (the chip a shopper would click for it: a bag's box without its strap),
    the one that overlaps it most. Each is queried as :func:`recommender.search.queries.QueryMaker.of_garments` makes
    it (its crop, its own pixels' colour, its kinds: ``garment_kinds``); where none is found, the whole photo.
    Returns the photos, rows (``query_kind``, the garment's ``kind``, whether a box of its kind and of any kind
    matched it at IoU >= 0.5: ``found_same``, ``found_any``) and the colour signatures.
    """
    images, rows, colours = [], [], []
    photos = annotated_photos(root, table)
    for photo_id, image, annotated in tqdm(photos, desc="Finding the garments", unit="photo", disable=not progress,
                                           total=annotated_garments(table)["id"].nunique()):
        found = finder.find(image)
        for number, garment in enumerate(annotated.itertuples(), start=1):
            kind = kind_of_article_type(garment.articleType)
            box = fraction_box(garment, image)
            overlaps = [(box_iou(box, candidate.box), candidate) for candidate in found]
            same = [(value, candidate) for value, candidate in overlaps if kind in candidate.kinds]
            matched = max(same, key=lambda pair: pair[0], default=(0.0, None))
            centred = max(((value, candidate) for value, candidate in same if _centred_in(candidate.box, box)),
                          key=lambda pair: pair[0], default=(0.0, None))
            row = garment_row(photo_id, number, garment.articleType) | {
                "kind": kind or "", "found_same": matched[0] >= MATCH_IOU,
                "found_any": any(value >= MATCH_IOU for value, _ in overlaps)}
            for query_kind, picked in ((FINDER_CROP, matched[1] if matched[0] >= MATCH_IOU else None),
                                       (FINDER_PICK, centred[1])):
                images.append(image if picked is None else garment_photo(image, picked))
                colours.append(colour_signature(image) if picked is None else garment_colour(image, picked))
                rows.append(row | {"query_kind": query_kind, "picked": picked is not None,
                                   "garment_kinds": "" if picked is None else "|".join(picked.kinds)})
    return images, pd.DataFrame(rows), np.stack(colours)


def _centred_in(inner: CropBox, outer: CropBox) -> bool:
    x, y = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return outer[0] <= x <= outer[2] and outer[1] <= y <= outer[3]


def finder_folder(extractor: Extractor, folder: str | os.PathLike, finder: GarmentFinder, *,
                  progress: bool = False) -> PhotoFolder | None:
    """The annotated garments of ``folder`` as the finder crops them (:func:`garment_crops`), embedded; None
    where the folder annotates no garment."""
    root = Path(folder)
    table = root / "garments.csv"
    if not table.is_file():
        return None
    return embedded_crops(extractor, root, garment_crops(root, table, finder, progress=progress), progress=progress,
                     what="garments the finder cut")


def finder_recall(items: pd.DataFrame) -> dict:
    """The finder's recall per garment kind and in all, from :func:`garment_crops`' rows: kind -> {"n",
    "same_kind", "any_kind"} (a found box of the garment's kind, or of any kind, at IoU >= 0.5)."""
    looked_for = items[(items["kind"] != "") & (items["query_kind"] == FINDER_CROP)]
    return {kind: {"n": len(group), "same_kind": float(group["found_same"].mean()),
                   "any_kind": float(group["found_any"].mean())}
            for kind, group in [*looked_for.groupby("kind"), ("all", looked_for)]}
