"""The networks that read photos for a built catalogue, assembled in one place for every caller.

Search, ``update``, ``train``, the API, the app and the evaluation all embed a photo the way the catalogue's
photos were embedded, and find garments with the one finder there is: they call these two functions, so the
weights, runtime and calibration a catalogue needs are decided here only.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from ..config import silent
from ..features.extractor import DEFAULT_BATCH_SIZE, Extractor
from ..features.runtimes import AUTO_RUNTIME, runtime_for
from ..features.weights import Weights, resolve_weights
from ..garments.finder import GarmentFinder, finder_path, load_finder
from .artifacts import backbone_weights
from .manifest import Manifest, read_manifest
from .names import MANIFEST


def catalogue_extractor(root: str | os.PathLike, manifest: Manifest, *,
                        weights: Weights | str | os.PathLike | None = None, runtime: str = AUTO_RUNTIME,
                        compiled: bool = True, threads: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                        log: Callable[[str], None] = silent) -> Extractor:
    """The extractor that embeds photos the way the catalogue in ``root`` embedded its own.

    Its settings and weights are the manifest's (a fine-tuned backbone's file beside the vectors, else the
    ImageNet weights, ``weights`` where given); ``runtime`` ``"auto"`` is the one the catalogue was built on
    where installed (``log`` hears of a fallback). ``compiled=False`` suits a single query.
    """
    features = manifest.features
    return Extractor.from_settings(
        features, backbone_weights(root, features, weights, log=log), dataset=manifest.dataset, compiled=compiled,
        runtime=runtime_for(runtime, features.precision, recorded=features.runtime, log=log), threads=threads,
        batch_size=batch_size, log=log)


def catalogue_finder(extractor: Extractor, *, weights: Weights | str | os.PathLike | None = None,
                     threads: int | None = None, log: Callable[[str], None] = silent) -> GarmentFinder | None:
    """The garment finder beside ``extractor`` (on its runtime), or None where none is trained.

    The finder reads the ImageNet network's maps it was trained on (``weights``, else found as
    :func:`recommender.features.weights.resolve_weights` finds them), whatever backbone the catalogue's
    vectors came from: a fine-tuned catalogue keeps its finder.
    """
    return load_finder(resolve_weights(weights, log=log), extractor.runtime, threads=threads, log=log)


def served_version(root: str | os.PathLike, finder_weights_sha256: str) -> str:
    """What a recommender loaded from ``root`` depends on, as one key: the build, its manifest's content (a
    space trained, a default changed) and whether the garment finder over those ImageNet weights is trained.

    A reader that loads by this key (the app) picks up each model the background training commits, at its next
    rerun and without a restart. Raises what :func:`recommender.store.manifest.read_manifest` raises.
    """
    manifest = read_manifest(root)
    content = hashlib.sha256((Path(root) / MANIFEST).read_bytes()).hexdigest()[:12]
    finder = "finder" if finder_path(finder_weights_sha256).is_file() else "no-finder"
    return f"{manifest.build_id}.{content}.{finder}"
