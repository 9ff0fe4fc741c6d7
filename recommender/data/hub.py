"""Fetch the public copy of the catalogue when a machine has none.

The Hugging Face dataset ``ashraq/fashion-product-images-small`` holds the
same Kaggle catalogue as parquet files: the ``styles.csv`` columns plus each
60x80 photo as ``image: struct<bytes, path>``.  :func:`fetch_public_catalogue`
downloads those files (``huggingface_hub``: resumable, with progress bars)
and :func:`convert_parquet` lays them out as this project reads a dataset,
``images/<id>.jpg`` + ``styles.csv``, in a per-user cache:

* every photo is decoded before it is written (a broken one is counted and
  left out), each file is written whole, then renamed;
* a run that stops half way resumes: photos already written are kept;
* ``styles.csv`` and the ``complete.json`` record (row counts) are written
  last, so a half-converted folder is never taken for a dataset.
"""

from __future__ import annotations

import csv
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from tqdm import tqdm

from ..atomic import write_atomic, write_json_atomic
from ..config import cache_dir, is_verbose, silent
from .catalogue import STYLE_COLUMNS
from .images import ImageError, decode_image

REPO_ID = "ashraq/fashion-product-images-small"
HUB_HOST = "huggingface.co"
COMPLETE = "complete.json"
# More undecodable photos than this share means a damaged download, not the catalogue's own quirks.
MAX_BROKEN_SHARE = 0.01


class DatasetUnavailable(RuntimeError):
    """The public catalogue could not be fetched; the message is one line and names the fix."""


def public_catalogue_dir() -> Path:
    """Where the converted public catalogue lives (``<cache>/fashion-product-images-small``)."""
    return cache_dir() / "fashion-product-images-small"


def is_complete(folder: Path) -> bool:
    """Whether ``folder`` holds a finished conversion (its ``complete.json`` record is there)."""
    return (Path(folder) / COMPLETE).is_file() and (Path(folder) / "styles.csv").is_file()


def fetch_public_catalogue(target: Path | None = None, *, progress: bool = True,
                           log: Callable[[str], None] = silent) -> Path:
    """Download and convert the public catalogue (once; later calls return at once).

    Raises
    ------
    DatasetUnavailable
        When the hub cannot be reached or the download is damaged.
    """
    target = Path(target or public_catalogue_dir())
    if is_complete(target):
        return target
    _check_reachable()
    log(f"Downloading the public catalogue {REPO_ID} from the Hugging Face hub (about 270 MB)...")
    files = _download(progress)
    return convert_parquet(files, target, progress=progress, log=log)


def convert_parquet(files: Sequence[Path], target: Path, *, progress: bool = True,
                    log: Callable[[str], None] = silent) -> Path:
    """Lay parquet files of the hub's schema out as ``images/<id>.jpg`` + ``styles.csv``.

    Returns
    -------
    Path
        ``target``, complete (see :func:`is_complete`).

    Raises
    ------
    DatasetUnavailable
        When the files do not hold the expected columns, or too many photos are broken.
    """
    import pyarrow.parquet as pq

    target = Path(target)
    images = target / "images"
    images.mkdir(parents=True, exist_ok=True)
    expected = 0
    for path in files:
        parquet = pq.ParquetFile(path)
        missing = [c for c in (*STYLE_COLUMNS, "image") if c not in parquet.schema_arrow.names]
        if missing:
            raise DatasetUnavailable(f"{Path(path).name} lacks the columns {missing}: not the {REPO_ID} layout.")
        expected += parquet.metadata.num_rows
    rows: list[list[str]] = []
    broken: list[str] = []
    written = 0
    bar = tqdm(total=expected, unit="photo", desc="Unpacking", disable=not progress, file=sys.stderr,
               dynamic_ncols=True)
    with bar:
        for path in files:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
                for record in batch.to_pylist():
                    item_id = str(record["id"])
                    photo = images / f"{item_id}.jpg"
                    data = (record["image"] or {}).get("bytes") or b""
                    if not photo.is_file():
                        try:
                            decode_image(data)
                        except ImageError:
                            broken.append(item_id)
                            bar.update(1)
                            continue
                        write_atomic(photo, lambda partial, data=data: partial.write_bytes(data))
                        written += 1
                    rows.append([_field(record[column]) for column in STYLE_COLUMNS])
                    bar.update(1)
    if len(rows) + len(broken) != expected:
        raise DatasetUnavailable(f"Read {len(rows) + len(broken):,} rows, the files declare {expected:,}: "
                                 "the download is damaged; delete it and run again.")
    if len(broken) > MAX_BROKEN_SHARE * expected:
        raise DatasetUnavailable(f"{len(broken):,} of {expected:,} photos do not decode: the download is damaged.")

    def write_styles(partial: Path) -> None:
        with open(partial, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(STYLE_COLUMNS)
            writer.writerows(rows)

    write_atomic(target / "styles.csv", write_styles)
    write_json_atomic(target / COMPLETE, {"source": REPO_ID, "rows": expected, "products": len(rows),
                                          "broken_photos": broken[:100], "files": [Path(p).name for p in files]})
    log(f"Public catalogue ready: {len(rows):,} products in {target} ({written:,} photos written now"
        + (f", {len(broken):,} broken photos left out" if broken else "") + ").")
    return target


def _field(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):  # the hub stores year as float64: 2012.0 -> "2012"
        return str(int(value)) if value.is_integer() else str(value)
    return " ".join(str(value).split())  # no newline may split a styles.csv line


def _check_reachable(timeout: float = 5.0) -> None:
    # One quick connection first: the hub client retries for half a minute before giving up.
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=timeout):
            pass
    except OSError as error:
        raise DatasetUnavailable(
            f"No dataset found and the Hugging Face hub cannot be reached ({error.strerror or error}): "
            "set RECOMMENDER_DATASET=/path/to/a/folder with images/<id>.jpg and styles.csv "
            "(the Kaggle \"Fashion Product Images (Small)\" layout)."
        ) from None


def _download(progress: bool) -> list[Path]:
    try:
        from huggingface_hub import HfApi, hf_hub_download
        from huggingface_hub.utils import disable_progress_bars
        from huggingface_hub.utils import logging as hub_logging
    except ImportError:
        raise DatasetUnavailable("huggingface_hub is not installed: pip install -r requirements.txt") from None
    if not is_verbose():
        hub_logging.set_verbosity_error()
    if not progress:
        disable_progress_bars()
    try:
        names = sorted(name for name in HfApi().list_repo_files(REPO_ID, repo_type="dataset")
                       if name.startswith("data/") and name.endswith(".parquet"))
        if not names:
            raise DatasetUnavailable(f"{REPO_ID} lists no parquet files under data/.")
        return [Path(hf_hub_download(REPO_ID, name, repo_type="dataset")) for name in names]
    except DatasetUnavailable:
        raise
    except Exception as error:  # the hub client raises many kinds (HTTP, network, disk)
        message = " ".join(str(error).split())[:200]
        raise DatasetUnavailable(f"Downloading {REPO_ID} failed ({message}); run again to resume, "
                                 "or set RECOMMENDER_DATASET=/path/to/a/dataset folder.") from None
