"""Folders of other photos as queries: a Kaggle-layout folder's photos, and the garments its ``garments.csv``
annotates cut to their boxes, embedded as the catalogue's photos were (once per machine,
:mod:`recommender.evaluation.folder_cache`), each with the kind of query it is (:data:`QUERY_KINDS`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from ..data.catalogue import LABEL_COLUMNS, read_catalogue
from ..data.colour import colour_signature
from ..data.images import CropBox, ImageError, crop, decode_image
from ..features.extractor import Extractor
from ..garments.finder import Garment, query_box
from .folder_cache import folder_key, load_embedded, save_embedded

# What a query of a photo folder is (embed_folder's query_kind column).
PHOTO, WORN, GARMENT_BOX = "photo, whole", "worn look, whole photo", "garment, annotated box"
FINDER_CROP, FINDER_PICK = "garment, the finder's box at IoU >= 0.5", "garment, the finder's box centred on it"
QUERY_KINDS = (PHOTO, WORN, GARMENT_BOX, FINDER_CROP, FINDER_PICK)
# The kinds of query a product search meets as a garment worn by a person (Query.worn: searched in the worn space).
WORN_KINDS = (WORN, GARMENT_BOX, FINDER_CROP, FINDER_PICK)


@dataclass(frozen=True)
class PhotoFolder:
    """A folder of photos in the Kaggle layout, embedded: its readable photos' labels, vectors and colours."""

    folder: Path
    items: pd.DataFrame  # the readable photos' rows of styles.csv ("" where a label is unknown)
    vectors: np.ndarray  # (n, 2048) backbone vectors
    colours: np.ndarray  # (n, 64) colour signatures

    @staticmethod
    def joined(folders: Sequence[PhotoFolder]) -> PhotoFolder:
        """Several embedded folders as one (the first one's folder named)."""
        return PhotoFolder(folders[0].folder, pd.concat([f.items for f in folders], ignore_index=True),
                           np.concatenate([f.vectors for f in folders]), np.concatenate([f.colours for f in folders]))


def embed_folder(extractor: Extractor, folder: str | os.PathLike, *, styles: str | None = None,
                 labelled_only: bool = True, garments: bool = False, progress: bool = False) -> PhotoFolder:
    """Embed the photos of a Kaggle-layout folder with ``extractor`` (the catalogue's), unreadable ones left out.

    ``labelled_only`` keeps only photos with an articleType (queries need one to be scored). With
    ``garments``, every garment annotated in the folder's ``garments.csv`` (id, articleType, x0, y0, x1, y1 in
    the photo's pixels) is a query too, cut to its box with the finder's margin, as a shopper who picks it in
    the photo searches it. Each query's ``query_kind`` column says which it is (:data:`QUERY_KINDS`).
    ``progress``: a bar on stderr. Embedded once per machine (:mod:`recommender.evaluation.folder_cache`).
    """
    catalogue = read_catalogue(folder, styles=styles or "styles.csv")
    items = catalogue.items[catalogue.items["articleType"] != ""] if labelled_only else catalogue.items
    items = items.reset_index(drop=True)
    if items.empty:
        raise ValueError(f"No labelled photos in {folder} (is {styles or 'its styles.csv'} there?)")
    how = {"features": extractor.settings.to_json(), "labelled_only": labelled_only, "garments": garments}
    key = folder_key(catalogue.root, how, styles=str(styles or "styles.csv"))
    kept = load_embedded(key)
    if kept is not None:
        return PhotoFolder(catalogue.root, *kept)
    photos = _embed_photos(extractor, catalogue.root, items, garments=garments, progress=progress)
    save_embedded(key, photos.items, photos.vectors, photos.colours)
    return photos


def _embed_photos(extractor: Extractor, root: Path, items: pd.DataFrame, *, garments: bool,
                  progress: bool) -> PhotoFolder:
    """:func:`embed_folder`'s work: the folder's photos (``items``, its rows), then its annotated garments."""
    vectors, colours, good = [], [], []
    bar = tqdm(total=len(items), desc="Embedding photos", unit="photo", disable=not progress)
    for batch in extractor.embed_files([root / rel for rel in items["image"]]):
        bar.update(len(batch.errors))
        for i, error in enumerate(batch.errors):
            if error is None:
                vectors.append(batch.vectors[i])
                colours.append(batch.colours[i])
                good.append(batch.start + i)
    bar.close()
    if not good:
        raise ValueError(f"No readable photo in {root}")
    photos = PhotoFolder(root, items.iloc[good].reset_index(drop=True), np.stack(vectors), np.stack(colours))
    table = root / "garments.csv"
    worn = set(annotated_garments(table)["id"]) if table.is_file() else set()
    photos.items["query_kind"] = np.where(photos.items["id"].astype(str).isin(worn), WORN, PHOTO)
    if not (garments and worn):
        return photos
    boxes = embedded_crops(extractor, root, _box_crops(root, table), GARMENT_BOX, progress=progress,
                      what="annotated garments")
    joined = PhotoFolder.joined([photos, boxes])
    return replace(joined, items=joined.items.fillna(""))  # a garment's row knows no season: "", as unknown


def annotated_garments(table: str | os.PathLike) -> pd.DataFrame:
    """A ``garments.csv``: one row per garment a shopper might pick (id of its photo, articleType, x0..y1)."""
    return pd.read_csv(table, dtype={"id": str, "articleType": str}, keep_default_na=False)


def worn_queries(items: pd.DataFrame) -> np.ndarray:
    """Which of a photo folder's queries (:func:`embed_folder`'s rows) are garments worn by a person, or their
    photo whole (:data:`WORN_KINDS`): a mask."""
    return items["query_kind"].isin(WORN_KINDS).to_numpy() if "query_kind" in items else np.zeros(len(items), bool)


def _box_crops(root: Path, table: Path) -> tuple[list[Image.Image], pd.DataFrame, np.ndarray]:
    images, rows = [], []
    for photo_id, image, annotated in annotated_photos(root, table):
        for number, garment in enumerate(annotated.itertuples(), start=1):
            box = fraction_box(garment, image)
            images.append(crop(image, query_box(Garment(box, "top", 1.0, 0.0, np.zeros((1, 1), bool)))))
            rows.append(garment_row(photo_id, number, garment.articleType))
    return images, pd.DataFrame(rows), np.stack([colour_signature(image) for image in images])


def annotated_photos(root: Path, table: Path):
    for photo_id, annotated in annotated_garments(table).groupby("id", sort=True):
        try:
            yield photo_id, decode_image(root / "images" / f"{photo_id}.jpg"), annotated
        except ImageError:
            continue


def fraction_box(garment, image: Image.Image) -> CropBox:
    return garment.x0 / image.width, garment.y0 / image.height, garment.x1 / image.width, garment.y1 / image.height


def garment_row(photo_id: str, number: int, article_type: str) -> dict:
    return {column: "" for column in LABEL_COLUMNS} | {"id": f"{photo_id}-{number}", "image": "",
                                                       "articleType": article_type}


def embedded_crops(extractor: Extractor, root: Path, crops: tuple[list[Image.Image], pd.DataFrame, np.ndarray],
              kind: str | None = None, *, progress: bool = False, what: str = "crops") -> PhotoFolder:
    """Crops embedded as queries of ``kind`` (None: the rows say theirs); ``what`` names them on the bar."""
    images, rows, colours = crops
    step = extractor.batch_size
    vectors = [extractor.embed_images(images[start:start + step])
               for start in tqdm(range(0, len(images), step), desc=f"Embedding the {what}", unit="batch",
                                 disable=not progress)]
    return PhotoFolder(root, rows if kind is None else rows.assign(query_kind=kind),
                       np.concatenate(vectors) if vectors else extractor.embed_images([]), colours)
