"""A build's network, tuned by measuring on the catalogue's own photos: the fastest installed runtime whose
vectors agree with TensorFlow's, the precision (bfloat16 or int8 only where it measures as good), and the
photos an int8 network is calibrated on. :func:`recommender.pipeline.build.build_catalogue` calls
:func:`measured_extractor`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..config import silent
from ..data.catalogue import stratified_sample
from ..data.images import ImageError, decode_image, to_model_input
from .export import CALIBRATION_PHOTOS, Calibration
from .extractor import DEFAULT_BATCH_SIZE, Extractor
from .precision import AUTO_PRECISION, JUDGED_LABELS, choose_precision
from .runtimes import AUTO_RUNTIME, RUNTIME_PRECISIONS, choose_runtime, installed, runtime_for
from .settings import DEFAULT_INPUT_SIZE, DEFAULT_POOLING, DEFAULT_RESIZE, PRECISIONS, FeatureSettings
from .weights import Weights

# Photos each runtime is timed on: 16 tell OpenVINO (1.4x TensorFlow on 2 cores) from the rest as 32 did,
# in half the time of a first start's wait.
RUNTIME_TIMING_PHOTOS = 16


def measured_extractor(weights: Weights, root: Path, items: pd.DataFrame, *, runtime: str = AUTO_RUNTIME,
                       precision: str = AUTO_PRECISION, pooling: str = DEFAULT_POOLING,
                       resize: str = DEFAULT_RESIZE, input_size: int = DEFAULT_INPUT_SIZE,
                       batch_size: int = DEFAULT_BATCH_SIZE, seed: int = 0,
                       started: Callable[[FeatureSettings], bool] = lambda settings: False,
                       log: Callable[[str], None] = silent) -> Extractor:
    """The extractor a build of the catalogue's ``items`` (photos under ``root``) embeds with, its ``"auto"``
    runtime and precision chosen by measuring on those photos, each choice said in one line.

    ``started(settings)`` tells whether an interrupted build with these settings can be resumed: it keeps the
    precision it chose, as a new measurement could differ.
    """
    knobs = dict(pooling=pooling, resize=resize, input_size=input_size)
    if runtime == AUTO_RUNTIME:
        batch = np.stack([to_model_input(photo, mode=resize, size=input_size)
                          for photo in itertools.islice(_readable_photos(root, items), RUNTIME_TIMING_PHOTOS)])
        runtime, why = choose_runtime(weights, batch, log=log) if len(batch) else ("tensorflow", "no readable photo")
        log(f"Runtime {why}.")
    int8_possible = precision in ("int8", AUTO_PRECISION) and installed("openvino")
    calibration = calibration_photos(root, items, resize=resize, seed=seed) if int8_possible else None
    if precision == AUTO_PRECISION:
        # An interrupted build resumes with the precision it chose: a new measurement could differ.
        resumed = [name for name in PRECISIONS if (name != "int8" or calibration) and started(
            FeatureSettings.of(weights, precision=name, **knobs, calibration=(
                calibration.record if name == "int8" else None)))]
        if resumed:
            precision, why = resumed[0], f"{resumed[0]}: as chosen by the interrupted build being resumed"
        else:
            precision, why = choose_precision(
                weights, lambda name, count: _labelled_sample(root, items, calibration if name == "int8" else None,
                                                              count, seed=seed),
                input_size=input_size, batch_size=batch_size, runtime=runtime, calibration=calibration,
                progress=True)
        log(f"Precision {why}.")
    elif precision == "int8" and calibration is None:
        raise ValueError("--precision int8 needs OpenVINO and NNCF: pip install openvino nncf")
    if precision not in RUNTIME_PRECISIONS[runtime]:
        runtime = runtime_for(runtime, precision, log=log)
    return Extractor(weights, batch_size=batch_size, precision=precision, runtime=runtime,
                     calibration=calibration if precision == "int8" else None, log=log, **knobs)


def calibration_photos(root: Path, items: pd.DataFrame, *, resize: str = DEFAULT_RESIZE,
                       count: int = CALIBRATION_PHOTOS, seed: int = 0) -> Calibration:
    """The photos an int8 network of this catalogue is calibrated on: ``count`` decodable ones, stratified by
    articleType (the same catalogue and seed give the same photos, hence the same network)."""
    pool = stratified_sample(items, min(len(items), 2 * count), seed=seed) if len(items) > count else items
    chosen = []
    for rel, sha in zip(pool["image"], pool["sha256"]):
        try:
            decode_image(root / rel)
        except ImageError:
            continue
        chosen.append((rel, sha))
        if len(chosen) == count:
            break
    return Calibration(root, tuple(rel for rel, _ in chosen), tuple(sha for _, sha in chosen), resize)


def _labelled_sample(root: Path, items: pd.DataFrame, calibration: Calibration | None, count: int, *,
                     seed: int) -> tuple[list[Image.Image], dict[str, list]]:
    """Up to ``count`` decodable labelled photos, stratified by articleType, none of them one of ``calibration``'s
    (an int8 network is not judged on the photos it was calibrated on), to judge a precision on
    (:func:`recommender.features.precision.choose_precision`)."""
    labelled = items[(items[list(JUDGED_LABELS)] != "").all(axis=1) & items[list(JUDGED_LABELS)].notna().all(axis=1)]
    if calibration is not None:
        labelled = labelled[~labelled["image"].isin(set(calibration.images))]
    photos, labels = [], {label: [] for label in JUDGED_LABELS}
    chosen = stratified_sample(labelled, count, seed=seed + 1) if len(labelled) > count else labelled
    for _, item in chosen.iterrows():
        try:
            photos.append(decode_image(root / item["image"]))
        except ImageError:
            continue
        for label in JUDGED_LABELS:
            labels[label].append(item[label])
    return photos, labels


def _readable_photos(root: Path, items: pd.DataFrame) -> Iterator[Image.Image]:
    """The catalogue's decodable photos, read lazily (a precision is tried on the first few, if at all)."""
    for rel in items["image"]:
        try:
            yield decode_image(root / rel)
        except ImageError:
            continue
