"""Photo folders embedded once per machine: what a folder of photos embeds to, kept in the user's cache.

A folder of real photos (the shoppers' photos that teach or judge a head, the queries of ``evaluate --queries``)
is read again by every ``train`` and ``evaluate`` that names it, minutes of network time each, and the first
start trains two heads on the same photos. The cache keeps a folder's rows, vectors and colours in one ``.npz``
(no pickle) under a key of everything that decides them: the folder's photos and labels (as a catalogue's
fingerprint is taken), how it is read, and the extractor's settings (weights, input, pooling, precision,
runtime). Any change is a new key, so the folder is embedded anew; nothing stale is ever read.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import write_atomic
from ..config import cache_dir
from ..data.catalogue import dataset_fingerprint

FOLDER = "embedded-folders"


def folder_key(folder: Path, how: dict, *, styles: str = "styles.csv") -> str:
    """The cache key of ``folder`` read ``how`` (a JSON-able record): its photos and labels
    (:func:`~recommender.data.catalogue.dataset_fingerprint`) and its ``garments.csv``."""
    digest = hashlib.sha256(json.dumps(how, sort_keys=True).encode())
    digest.update(dataset_fingerprint(folder, styles=styles).encode())
    garments = folder / "garments.csv"
    if garments.is_file():
        digest.update(garments.read_bytes())
    return digest.hexdigest()[:24]


def load_embedded(key: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray] | None:
    """The rows, vectors and colours kept under ``key``, or None where none are (or the file is unreadable)."""
    path = cache_dir() / FOLDER / f"{key}.npz"
    try:
        with np.load(path, allow_pickle=False) as saved:
            columns, dtypes = ([str(value) for value in saved[field]] for field in ("columns", "dtypes"))
            items = pd.DataFrame({name: pd.Series(saved[f"column_{i}"], dtype=dtype)
                                  for i, (name, dtype) in enumerate(zip(columns, dtypes))}, columns=columns)
            return items, saved["vectors"], saved["colours"]
    except (OSError, KeyError, ValueError):
        return None


def save_embedded(key: str, items: pd.DataFrame, vectors: np.ndarray, colours: np.ndarray) -> None:
    """Keep a folder's rows (text columns, with their dtypes), vectors and colours under ``key``, atomically."""
    folder = cache_dir() / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {f"column_{i}": items[name].astype(str).to_numpy(dtype=str) for i, name in enumerate(items.columns)}

    def write(partial: Path) -> None:
        np.savez(partial, columns=np.array(list(items.columns), dtype=str), vectors=vectors, colours=colours,
                 dtypes=np.array([str(items[name].dtype) for name in items.columns], dtype=str), **arrays)

    write_atomic(folder / f"{key}.npz", write, suffix=".npz")
