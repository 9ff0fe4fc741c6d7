"""Where the catalogue's dataset is found: one setting, with defaults that work here."""

from __future__ import annotations

import os
from pathlib import Path

from ..config import DATASET_ENV, PROJECT_ROOT, REAL_PHOTOS_ENV
from .hub import is_complete, public_catalogue_dir

SHARED_DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"
SHARED_DATASET = SHARED_DATASETS / "fashion-product-images-small"
DATASET_HELP = (
    "No catalogue dataset was found. `python -m recommender serve` fetches the public copy from the Hugging Face "
    "hub where it can be reached; else download the Kaggle dataset \"Fashion Product Images (Small)\" "
    "(kaggle.com/datasets/paramaggarwal/fashion-product-images-small), unzip it so that the folder holds "
    "images/<id>.jpg and styles.csv, and set RECOMMENDER_DATASET=/path/to/that/folder."
)


def find_dataset(explicit: str | os.PathLike | None = None) -> Path | None:
    """The dataset folder: ``explicit``, else ``$RECOMMENDER_DATASET``, else the shared copy beside
    the project, else the public catalogue fetched earlier (:func:`recommender.data.hub.fetch_public_catalogue`).

    Returns ``None`` when none of them holds an ``images/`` folder.
    """
    for candidate in (explicit, os.environ.get(DATASET_ENV), SHARED_DATASET):
        if candidate and (Path(candidate) / "images").is_dir():
            return Path(candidate).resolve()
    fetched = public_catalogue_dir()
    return fetched if is_complete(fetched) else None


def real_photos(kind: str) -> Path:
    """Shoppers' real photos under ``$RECOMMENDER_REAL_PHOTOS`` (default: the shared datasets beside the
    project): ``"street"`` photos with per-pixel garment labels (the garment finder learns from them),
    ``"phone"`` photos with types (a fashion head learns from them), ``"dev"``: the development set that
    judges both and is never trained on. The folder may not exist: callers check.
    """
    root = Path(os.environ.get(REAL_PHOTOS_ENV) or SHARED_DATASETS)
    return root / {"street": "shopper-photos-train/street", "phone": "shopper-photos-train/phone",
                   "dev": "shopper-photos"}[kind]
