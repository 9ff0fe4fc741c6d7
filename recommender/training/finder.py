"""Train the garment parser on street photos with per-pixel labels (clothing-co-parsing's layout).

The folder holds ``images/<id>.jpg``, ``labels/<id>.png`` (each pixel a row of ``labels.csv``:
``value,name``) and ``labels.csv``. Every photo is fitted as the finder fits it, ResNet50's
stride-16 map is read once (and once more mirrored), and each map cell's target is the share of each garment
kind among its 16x16 pixels; a small convolutional network learns cell -> kind, each cell read alone and then
with its eight neighbours (a garment's context: the sleeve beside a torso is a top's). A tenth of the photos
is held out and the record says how well the parser labels their cells. Given a catalogue folder too, products
pasted onto real scenes (:mod:`recommender.training.composites`) teach it too (an option: docs/decisions/0011).
"""

from __future__ import annotations

import csv
import hashlib
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

from ..config import cache_dir, silent
from ..data.images import ImageError, decode_image
from ..features import quiet
from ..features.runtimes import AUTO_RUNTIME, load_map_network, runtime_for
from ..features.weights import Weights
from ..garments.finder import MAP_STRIDE, Garment, finder_input, finder_path, garment_photo
from ..garments.kinds import ARTICLE_TYPE_OF_SOURCE, KINDS, kind_of_source_label
from ..garments.parser import GarmentParser
from .augment import background_patches
from .composites import product_cutouts, scenes

HIDDEN = 256  # channels of the first layer (each cell alone)
CONTEXT = 128  # channels of the second, which sees each cell's eight neighbours
EPOCHS = 40  # 20 -> 40: held-out recall 0.622 -> 0.656 at FINDER_SIZE 512 (docs/evaluation.md)
VALIDATION_EVERY = 10  # every 10th photo is held out
SCENES = 1000  # pasted scenes, where a catalogue is given
SCENE_LOOKUP = np.arange(256) * (np.arange(256) < len(KINDS))  # a scene's label map holds KINDS indices already


def cell_targets(labels: Image.Image, lookup: np.ndarray, size: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """Each map cell's share of every kind: (rows, columns, len(KINDS)), from a per-pixel label map.

    ``size`` is the fitted photo's (width, height), ``shape`` the padded array's (height, width);
    padding counts as background.
    """
    kinds = lookup[np.asarray(labels.resize(size, Image.Resampling.NEAREST), dtype=np.int64)]
    padded = np.zeros(shape, np.int64)
    padded[:kinds.shape[0], :kinds.shape[1]] = kinds
    one_hot = np.eye(len(KINDS), dtype=np.float32)[padded]
    rows, columns = shape[0] // MAP_STRIDE, shape[1] // MAP_STRIDE
    return one_hot.reshape(rows, MAP_STRIDE, columns, MAP_STRIDE, len(KINDS)).mean(axis=(1, 3))


def train_parser(folder: str | Path, map_network: Callable[[np.ndarray], np.ndarray], weights: Weights, *,
                 products: str | Path | None = None, scene_count: int = SCENES, epochs: int = EPOCHS,
                 limit: int | None = None, progress: bool = True, seed: int = 0, path: Path | None = None,
                 log: Callable[[str], None] = silent) -> GarmentParser:
    """Train the parser on ``folder``'s photos (at most ``limit``) and, where ``products`` names a catalogue
    folder, on ``scene_count`` scenes (at most one per product cut out) of its products pasted onto patches of
    those photos (:func:`recommender.training.composites.scenes`; never held out); save it to ``path``
    (default: where the finder looks, :func:`recommender.garments.finder.finder_path`), and return it."""
    folder = Path(folder)
    table = folder / "labels.csv"
    if not table.is_file():
        raise FileNotFoundError(f"No labels.csv in {folder}: expected images/, labels/ and labels.csv")
    with open(table, newline="") as handle:
        names = {int(row["value"]): row["name"] for row in csv.DictReader(handle)}
    lookup = np.array([kind_of_source_label(names.get(value, "")) for value in range(256)], np.int64)
    photos = sorted((folder / "images").glob("*.jpg"))[:limit]
    if not photos:
        raise FileNotFoundError(f"No photos in {folder / 'images'}")
    started = time.perf_counter()
    train, held_out = _Maps(), _Maps()

    def add(image: Image.Image, labels: Image.Image, values: np.ndarray, into: _Maps, *, mirrored: bool) -> None:
        array, size = finder_input(image)
        target = cell_targets(labels, values, size, array.shape[:2])
        into.add(map_network(array[None])[0], target)
        if mirrored:  # the photo mirrored: its map is not the map mirrored (the network is not symmetric)
            array, size = finder_input(ImageOps.mirror(image))
            into.add(map_network(array[None])[0], cell_targets(ImageOps.mirror(labels), values, size, array.shape[:2]))

    street_photos = 0
    for number, photo in enumerate(tqdm(photos, desc="Reading street photos", unit="photo", disable=not progress)):
        label_path = folder / "labels" / f"{photo.stem}.png"
        try:
            image = decode_image(photo)
        except ImageError:
            continue
        if not label_path.is_file():
            continue
        held = number % VALIDATION_EVERY == 0
        add(image, Image.open(label_path), lookup, held_out if held else train, mirrored=not held)
        street_photos += 1
    pasted = 0
    if products is not None:
        cutouts = product_cutouts(products, seed=seed)
        wanted = min(scene_count, len(cutouts))  # more scenes than products only repeat them (a demo's few)
        made = scenes(cutouts, background_patches(folder, seed=seed), wanted, seed=seed)
        for image, labels in tqdm(made, total=wanted, desc="Reading pasted scenes",
                                  unit="scene", disable=not progress):
            add(image, labels, SCENE_LOOKUP, train, mirrored=False)
            pasted += 1
    (x, y), (x_held, y_held) = train.arrays(), held_out.arrays()
    cells, held_cells = int(y[..., -1].astype(bool).sum()), int(y_held[..., -1].astype(bool).sum())
    log(f"{street_photos:,} photos (and each mirrored) and {pasted:,} pasted scenes, {cells + held_cells:,} map "
        f"cells ({held_cells:,} held out); training...")
    parser = _fit(x, y, epochs=epochs, seed=seed, progress=progress)
    real = y_held[..., -1] > 0
    predicted = np.stack([parser.probabilities(m.astype(np.float32)) for m in x_held])[real].argmax(axis=1)
    truth = y_held[..., :-1][real].argmax(axis=1)
    per_kind = {kind: float(((predicted == k) & (truth == k)).sum() / max(1, ((predicted == k) | (truth == k)).sum()))
                for k, kind in enumerate(KINDS)}
    record = {"folder": str(folder), "photos": street_photos, "products": None if products is None else str(products),
              "scenes": pasted, "cells": cells + held_cells, "weights_sha256": weights.sha256,
              "epochs": epochs, "seconds": round(time.perf_counter() - started, 1),
              "held_out_cell_accuracy": float((predicted == truth).mean()), "held_out_iou": per_kind}
    parser = GarmentParser(parser.layers, record)
    path = path or finder_path(weights.sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    parser.save(path)
    log(f"Garment parser saved to {path} (held-out cells: accuracy {record['held_out_cell_accuracy']:.3f}; IoU "
        + ", ".join(f"{kind} {iou:.2f}" for kind, iou in per_kind.items() if kind not in ("background", "person"))
        + ").")
    return parser


def train_finder(folder: str | Path, weights: Weights, *, products: str | Path | None = None,
                 scene_count: int = SCENES, runtime: str = AUTO_RUNTIME, epochs: int = EPOCHS, limit: int | None = None,
                 progress: bool = True, log: Callable[[str], None] = silent) -> GarmentParser:
    """:func:`train_parser` on ``weights``' feature map, run on ``runtime`` (auto: OpenVINO where installed)."""
    runtime = runtime_for(runtime, "float32", recorded="openvino", log=log)
    return train_parser(folder, load_map_network(weights, runtime, log=log), weights, products=products,
                        scene_count=scene_count, epochs=epochs, limit=limit, progress=progress, log=log)


class _Maps:
    """Photos' feature maps (kept as float16: half the memory, ample for a parser) and their cells' targets."""

    def __init__(self) -> None:
        self.maps: list[np.ndarray] = []
        self.targets: list[np.ndarray] = []

    def add(self, feature_map: np.ndarray, targets: np.ndarray) -> None:
        self.maps.append(feature_map.astype(np.float16))
        self.targets.append(targets.astype(np.float32))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Maps (n, rows, columns, channels) and targets (n, rows, columns, len(KINDS) + 1), padded to the largest
        map; the targets' last channel is 1 on a photo's cells and 0 on the padding (which teaches nothing)."""
        rows = max((m.shape[0] for m in self.maps), default=1)
        columns = max((m.shape[1] for m in self.maps), default=1)
        x = np.zeros((len(self.maps), rows, columns, 1024), np.float16)
        y = np.zeros((len(self.maps), rows, columns, len(KINDS) + 1), np.float32)
        for n, (feature_map, target) in enumerate(zip(self.maps, self.targets)):
            h, w = target.shape[:2]
            x[n, :h, :w], y[n, :h, :w, :-1], y[n, :h, :w, -1] = feature_map, target, 1.0
        self.maps, self.targets = [], []  # the joined arrays replace the parts
        return x, y


def _fit(x: np.ndarray, y: np.ndarray, *, epochs: int, seed: int, progress: bool) -> GarmentParser:
    """Train the parser's layers on padded maps ``x`` and targets ``y`` (:meth:`_Maps.arrays`), a bar per epoch."""
    quiet.tensorflow()
    import keras
    from keras import ops

    keras.utils.set_random_seed(seed)
    # Garment cells are few next to background: each kind weighs by the inverse square root of its share.
    real = y[..., -1:]
    share = (y[..., :-1] * real).sum(axis=(0, 1, 2)) / real.sum() + 1e-6
    kind_weight = (1.0 / np.sqrt(share)).astype(np.float32)
    mean_weight = float(((y[..., :-1] @ kind_weight) * real[..., 0]).sum() / real.sum())
    kind_weight /= mean_weight

    def loss(target, logits):
        cells = ops.sum(target[..., -1])
        weight = ops.sum(target[..., :-1] * kind_weight, axis=-1) * target[..., -1]
        cross_entropy = -ops.sum(target[..., :-1] * ops.log_softmax(logits, axis=-1), axis=-1)
        return ops.sum(weight * cross_entropy) / ops.maximum(cells, 1.0)

    model = keras.Sequential([keras.Input((None, None, x.shape[-1])),
                              keras.layers.Conv2D(HIDDEN, 1, activation="relu"), keras.layers.Dropout(0.2),
                              keras.layers.Conv2D(CONTEXT, 3, padding="same", activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Conv2D(len(KINDS), 1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    with tqdm(total=epochs, desc="Training the parser", unit="epoch", disable=not progress) as bar:
        epoch_done = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: bar.update())
        model.fit(x, y, epochs=epochs, batch_size=16, shuffle=True, verbose=0, callbacks=[epoch_done])
    layers = tuple((kernel, bias) for kernel, bias in (layer.get_weights() for layer in model.layers if layer.weights))
    return GarmentParser(layers, {})


STREET_CROP_MIN_AREA = 0.01  # of the photo: smaller garments make crops of a few pixels


def street_garment_photos(folder: str | Path, *, log: Callable[[str], None] = silent) -> Path:
    """Each labelled garment of the street photos cut out (its box with the finder's margin), as a Kaggle-layout
    folder whose articleType is the garment's (:data:`~recommender.garments.kinds.ARTICLE_TYPE_OF_SOURCE`).

    Made once per folder in the cache (the folder's photos and labels digest names it) and returned; a
    head trained with it learns what garments look like on people, as shoppers search them.
    """
    folder = Path(folder)
    with open(folder / "labels.csv", newline="") as handle:
        names = {int(row["value"]): row["name"] for row in csv.DictReader(handle)}
    photos = sorted((folder / "images").glob("*.jpg"))
    digest = hashlib.sha256()
    for path in photos:
        digest.update(f"{path.name}:{path.stat().st_size}:{path.stat().st_mtime_ns}\n".encode())
    out = cache_dir() / "street-garments" / digest.hexdigest()[:16]
    if (out / "styles.csv").is_file():
        return out
    scratch = out.with_name(out.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "images").mkdir(parents=True)
    rows = []
    for path in photos:
        label_path = folder / "labels" / f"{path.stem}.png"
        if not label_path.is_file():
            continue
        try:
            image = decode_image(path)
        except ImageError:
            continue
        labels = np.asarray(Image.open(label_path).resize(image.size, Image.Resampling.NEAREST))
        for value in np.unique(labels):
            article_type = ARTICLE_TYPE_OF_SOURCE.get(names.get(int(value), ""))
            mask = labels == value
            if article_type is None or mask.mean() < STREET_CROP_MIN_AREA:
                continue
            ys, xs = np.nonzero(mask)
            box = (xs.min() / image.width, ys.min() / image.height, (xs.max() + 1) / image.width,
                   (ys.max() + 1) / image.height)
            garment = Garment(box, "top", 1.0, float(mask.mean()), np.zeros((1, 1), bool))  # kind unused here
            item = f"{path.stem}{int(value):03d}"
            garment_photo(image, garment).save(scratch / "images" / f"{item}.jpg", quality=92)
            rows.append(f"{item},,,,{article_type},,,,,street garment: {names[int(value)]}\n")
    (scratch / "styles.csv").write_text("id,gender,masterCategory,subCategory,articleType,baseColour,season,year,"
                                        "usage,productDisplayName\n" + "".join(rows))
    shutil.rmtree(out, ignore_errors=True)
    scratch.rename(out)  # whole or not at all
    log(f"{len(rows):,} garments cut out of {len(photos):,} street photos into {out}.")
    return out
