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
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

from ..atomic import partial_path
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
BATCH_SIZE = 16
MAP_CHANNELS = 1024  # ResNet50's conv4 block, the map the finder reads


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
    path = path or finder_path(weights.sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphaned_maps(path.parent)
    train, held_out = _Maps(partial_path(path, ".train-maps")), _Maps(partial_path(path, ".held-out-maps"))
    try:
        parser, record = _read_and_fit(folder, photos, lookup, train, held_out, map_network, products=products,
                                       scene_count=scene_count, epochs=epochs, seed=seed, progress=progress, log=log)
    finally:
        train.close()
        held_out.close()
    record.update(folder=str(folder), products=None if products is None else str(products),
                  weights_sha256=weights.sha256, seconds=round(time.perf_counter() - started, 1))
    parser = GarmentParser(parser.layers, record)
    parser.save(path)
    log(f"Garment parser saved to {path} (held-out cells: accuracy {record['held_out_cell_accuracy']:.3f}; IoU "
        + ", ".join(f"{kind} {iou:.2f}" for kind, iou in record["held_out_iou"].items()
                    if kind not in ("background", "person")) + ").")
    return parser


def _read_and_fit(folder: Path, photos: list[Path], lookup: np.ndarray, train: _Maps, held_out: _Maps,
                  map_network: Callable[[np.ndarray], np.ndarray], *, products: str | Path | None, scene_count: int,
                  epochs: int, seed: int, progress: bool, log: Callable[[str], None]) -> tuple[GarmentParser, dict]:
    """:func:`train_parser`'s work: every photo's maps read into ``train`` or ``held_out``, the parser fitted, and
    the record of what it learned from and how well it labels the held-out cells."""

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
    cells, held_cells = (sum(t.shape[0] * t.shape[1] for t in maps.targets) for maps in (train, held_out))
    log(f"{street_photos:,} photos (and each mirrored) and {pasted:,} pasted scenes, {cells + held_cells:,} map "
        f"cells ({held_cells:,} held out); training...")
    parser = _fit(train, epochs=epochs, seed=seed, progress=progress)
    predicted = np.concatenate([parser.probabilities(held_out.feature_map(n)).reshape(-1, len(KINDS))
                                for n in range(len(held_out))]).argmax(axis=1)
    truth = np.concatenate([t.reshape(-1, len(KINDS)) for t in held_out.targets]).argmax(axis=1)
    per_kind = {kind: float(((predicted == k) & (truth == k)).sum() / max(1, ((predicted == k) | (truth == k)).sum()))
                for k, kind in enumerate(KINDS)}
    return parser, {"photos": street_photos, "scenes": pasted, "cells": cells + held_cells, "epochs": epochs,
                    "held_out_cell_accuracy": float((predicted == truth).mean()), "held_out_iou": per_kind}


def train_finder(folder: str | Path, weights: Weights, *, products: str | Path | None = None,
                 scene_count: int = SCENES, runtime: str = AUTO_RUNTIME, epochs: int = EPOCHS, limit: int | None = None,
                 progress: bool = True, log: Callable[[str], None] = silent) -> GarmentParser:
    """:func:`train_parser` on ``weights``' feature map, run on ``runtime`` (auto: OpenVINO where installed)."""
    runtime = runtime_for(runtime, "float32", recorded="openvino", log=log)
    return train_parser(folder, load_map_network(weights, runtime, log=log), weights, products=products,
                        scene_count=scene_count, epochs=epochs, limit=limit, progress=progress, log=log)


def _remove_orphaned_maps(folder: Path) -> None:
    """Scratch maps of trainings whose process is gone (killed before it could remove them): gigabytes of disk."""
    for scratch in folder.glob(".*.partial.*-maps"):
        pid = scratch.name.rsplit(".partial", 1)[0].rsplit(".", 1)[-1].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            scratch.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class _Maps:
    """Photos' feature maps, written to a scratch file as they are read (float16, each at its own size), and their
    cells' targets (small, kept in memory): training reads one batch at a time, so memory stays flat whatever the
    number of photos (16 GB resident for 3,400 maps held in memory before; ``benchmarks/first_start.py``).
    """

    def __init__(self, scratch: Path) -> None:
        self.path = scratch
        self._file = open(scratch, "w+b")  # noqa: SIM115 - open for the store's life, closed by close()
        self.offsets: list[int] = []
        self.shapes: list[tuple[int, int]] = []
        self.targets: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self.offsets)

    def add(self, feature_map: np.ndarray, targets: np.ndarray) -> None:
        self.offsets.append(self._file.seek(0, 2))
        self.shapes.append(feature_map.shape[:2])
        self._file.write(np.ascontiguousarray(feature_map, np.float16).tobytes())
        self.targets.append(targets.astype(np.float32))

    def feature_map(self, n: int) -> np.ndarray:
        """The ``n``-th map, (rows, columns, MAP_CHANNELS) float32."""
        rows, columns = self.shapes[n]
        data = os.pread(self._file.fileno(), rows * columns * MAP_CHANNELS * 2, self.offsets[n])
        return np.frombuffer(data, np.float16).reshape(rows, columns, MAP_CHANNELS).astype(np.float32)

    def batch(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Maps and targets of ``rows``, padded to the batch's largest map (a street photo's 32x22 cells, not
        the 32x32 of any photo: 1.45x the convolutions for nothing); the targets' last channel is 1 on a photo's
        cells and 0 on the padding (which teaches nothing)."""
        height = max(self.shapes[n][0] for n in rows)
        width = max(self.shapes[n][1] for n in rows)
        x = np.zeros((len(rows), height, width, MAP_CHANNELS), np.float32)
        y = np.zeros((len(rows), height, width, len(KINDS) + 1), np.float32)
        for i, n in enumerate(rows):
            h, w = self.shapes[n]
            x[i, :h, :w], y[i, :h, :w, :-1], y[i, :h, :w, -1] = self.feature_map(n), self.targets[n], 1.0
        return x, y

    def close(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


def _fit(maps: _Maps, *, epochs: int, seed: int, progress: bool) -> GarmentParser:
    """Train the parser's layers on ``maps`` (read a batch at a time), a bar per epoch."""
    quiet.tensorflow()
    import keras
    from keras import ops

    keras.utils.set_random_seed(seed)
    # Garment cells are few next to background: each kind weighs by the inverse square root of its share.
    counts = sum(target.sum(axis=(0, 1)) for target in maps.targets)
    share = counts / sum(target.shape[0] * target.shape[1] for target in maps.targets) + 1e-6
    kind_weight = (1.0 / np.sqrt(share)).astype(np.float32)
    mean_weight = float(sum((target @ kind_weight).sum() for target in maps.targets)
                        / sum(target.shape[0] * target.shape[1] for target in maps.targets))
    kind_weight /= mean_weight

    def loss(target, logits):
        cells = ops.sum(target[..., -1])
        weight = ops.sum(target[..., :-1] * kind_weight, axis=-1) * target[..., -1]
        cross_entropy = -ops.sum(target[..., :-1] * ops.log_softmax(logits, axis=-1), axis=-1)
        return ops.sum(weight * cross_entropy) / ops.maximum(cells, 1.0)

    class Batches(keras.utils.PyDataset):
        """The maps in a new random order each epoch, :data:`BATCH_SIZE` at a time."""

        def __init__(self) -> None:
            super().__init__(workers=2)  # the next batch is read while this one trains
            self.random = np.random.default_rng(seed)
            self.order = self.random.permutation(len(maps))

        def __len__(self) -> int:
            return -(-len(maps) // BATCH_SIZE)

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            return maps.batch(np.sort(self.order[index * BATCH_SIZE:(index + 1) * BATCH_SIZE]))

        def on_epoch_end(self) -> None:
            self.order = self.random.permutation(len(maps))

    model = keras.Sequential([keras.Input((None, None, MAP_CHANNELS)),
                              keras.layers.Conv2D(HIDDEN, 1, activation="relu"), keras.layers.Dropout(0.2),
                              keras.layers.Conv2D(CONTEXT, 3, padding="same", activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Conv2D(len(KINDS), 1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    with tqdm(total=epochs, desc="Training the parser", unit="epoch", disable=not progress) as bar:
        epoch_done = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: bar.update())
        model.fit(Batches(), epochs=epochs, verbose=0, callbacks=[epoch_done])
    layers = tuple((kernel, bias) for kernel, bias in (layer.get_weights() for layer in model.layers if layer.weights))
    return GarmentParser(layers, {})


STREET_CROP_MIN_AREA = 0.01  # of the photo: smaller garments make crops of a few pixels


def street_garment_photos(folder: str | Path, *, progress: bool = False, log: Callable[[str], None] = silent) -> Path:
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
    for path in tqdm(photos, desc="Cutting garments out of street photos", unit="photo", disable=not progress):
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
