"""The first start: a catalogue that can be searched, made if there is none (the CLI's ``serve`` and the app's
first-start button both call :func:`ensure_catalogue`); what makes it search better is trained afterwards, in
the background (:mod:`recommender.pipeline.improve`)."""

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
from .build import build_catalogue
from .update import format_update_report, update_catalogue

# A demo build's pace on 2 cores of an AMD EPYC, OpenVINO float32 (12.3 photos/s measured; the runtime and
# precision measurement, the network's export and the index take about a minute besides): the plan's estimate.
DEMO_PHOTOS_PER_SECOND = 10
DEMO_OVERHEAD_SECONDS = 75


def demo_minutes(sample: int) -> int:
    """About how many minutes a first start's demo build of ``sample`` products takes on 2 cores.

    >>> demo_minutes(2000)
    5
    """
    return round((DEMO_OVERHEAD_SECONDS + sample / DEMO_PHOTOS_PER_SECOND) / 60 + 0.49)


def ensure_catalogue(root: str | os.PathLike, *, dataset: str | os.PathLike | None = None, sample: int = DEMO_SAMPLE,
                     weights: Weights | str | os.PathLike | None = None,
                     progress: bool | Callable[[int, int], None] = True,
                     log: Callable[[str], None] = silent) -> Manifest:
    """The catalogue in ``root``, brought level with its dataset or built as a demo where there is none.

    * whole and current: returned as it is;
    * its dataset changed: updated (only what changed is embedded);
    * none, or one that cannot be used: a demo of ``sample`` products (stratified by articleType) is built
      from ``dataset`` (else :func:`recommender.data.locate.find_dataset`, else the public copy fetched
      from the hub), searched with the ImageNet features until the background trains better models
      (:func:`recommender.pipeline.improve.improve`).

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
            log(f"No catalogue in {root} yet: building a demo of {sample:,} products from {found}.")
        else:
            log(f"The catalogue in {root} cannot be used ({error}). Building a new demo of {sample:,} products "
                f"from {found} in its place.")
    build_catalogue(found, root, sample=sample, weights=weights, progress=progress, log=log)
    return read_manifest(root)
