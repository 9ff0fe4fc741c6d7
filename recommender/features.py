"""ResNet50 features: images in, L2-normalised 2048-d float32 vectors out.

The network is Keras' ResNet50 with ImageNet weights; its last residual stage
gives a map of (input size / 32)^2 x 2048 (7x7 at 224x224), pooled over space
into one 2048-d vector.  The convolutions do not care about the input size, so
one set of weights serves every size in :data:`INPUT_SIZES`.  Inference runs
in a compiled ``tf.function`` over batches, while a small thread pool decodes
the next batch (decoding overlaps inference).
"""

from __future__ import annotations

import functools
import itertools
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from . import quiet
from .colour import COLOUR_DIM, colour_signature
from .images import INPUT_SIZE, ImageError, decode_image, to_model_input
from .weights import Weights, imagenet_labels

FEATURE_DIM = 2048
POOLINGS = ("avg", "max")
# Chosen on the real catalogue (README, "Choosing the defaults").
DEFAULT_POOLING = "avg"
DEFAULT_RESIZE = "pad"
DEFAULT_BATCH_SIZE = 32
# bfloat16 runs faster only where the machine has bfloat16 arithmetic (AMX, a GPU); elsewhere it is
# emulated and slower (benchmarks/extract.py). Its vectors differ from float32 ones by a cosine of
# ~0.99996, so the precision is recorded like every feature setting. "auto" measures (choose_precision).
PRECISIONS = ("float32", "bfloat16")
DEFAULT_PRECISION = "float32"
AUTO_PRECISION = "auto"
BFLOAT16_MIN_COSINE = 0.9999  # mean cosine to the float32 vectors for bfloat16 to be chosen
BFLOAT16_MIN_SPEEDUP = 1.05  # below this, measurement noise: float32 stays
# Square input sizes the network is run at (multiples of 32, its total stride).
INPUT_SIZES = (128, 160, 192, 224)
# 192 is the fastest size within 0.5 point of the best trained P@5 (benchmarks/input_size.py), but at
# 192 two real-photo regression tests fail (README, Performance, round two): the default stays 224 and
# `build --input-size 192` is 1.37x faster for the same P@5.
DEFAULT_INPUT_SIZE = INPUT_SIZE


@dataclass
class FileBatch:
    """One batch of embedded files, in input order.

    ``vectors`` and ``colours`` hold NaN rows where ``errors`` has a message.
    """

    start: int
    vectors: np.ndarray
    colours: np.ndarray
    errors: list[str | None]


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def feature_settings(weights: Weights | None, *, pooling: str, resize: str, precision: str,
                     input_size: int = DEFAULT_INPUT_SIZE) -> dict:
    """The settings an extractor with these arguments records (computed without building the network)."""
    return {
        "model": "keras.applications.ResNet50",
        "weights_sha256": weights.sha256 if weights else "random",
        "weights_source": weights.source if weights else "random",
        "input_size": input_size,
        "resize": resize,
        "pooling": pooling,
        "precision": precision,
        "preprocess": "keras.applications.resnet50.preprocess_input (caffe: BGR, ImageNet mean)",
        "normalisation": "l2",
        "dimension": FEATURE_DIM,
    }


def extractor_options(features: dict) -> dict:
    """The :class:`Extractor` arguments that reproduce a manifest's feature settings.

    Manifests written before a setting existed get the value they were built with.
    """
    return {"pooling": features["pooling"], "resize": features["resize"],
            "precision": features.get("precision", DEFAULT_PRECISION),
            "input_size": int(features.get("input_size", INPUT_SIZE))}


class Extractor:
    """Embed images with ImageNet ResNet50 and global pooling.

    Parameters
    ----------
    weights : Weights or None
        From :func:`recommender.weights.resolve_weights`.  ``None`` builds the
        network with random weights: only for tests of shapes, never for use.
    pooling : {"avg", "max"}, default DEFAULT_POOLING
        Global pooling of the last 7x7x2048 feature map.
    resize : {"pad", "squash"}, default DEFAULT_RESIZE
        How a photo is fitted into the square input (see :func:`recommender.images.to_model_input`).
    batch_size : int, default 32
        Images per forward pass; memory stays flat whatever the input size.
    precision : {"float32", "bfloat16"}, default "float32"
        Compute precision of the network (weights stay float32).
    input_size : int in INPUT_SIZES, default DEFAULT_INPUT_SIZE
        Side of the square the photo is fitted into; the work per photo grows with its square
        (128: a third of 224's).
    compiled : bool, default True
        Run the network as one traced ``tf.function`` (fast from the second call on). ``False`` runs it
        eagerly: a one-shot query then skips the 1-2 s trace (its vectors differ by ~1e-6).
    """

    def __init__(self, weights: Weights | None, *, pooling: str = DEFAULT_POOLING,
                 resize: str = DEFAULT_RESIZE, batch_size: int = DEFAULT_BATCH_SIZE,
                 precision: str = DEFAULT_PRECISION, input_size: int = DEFAULT_INPUT_SIZE,
                 compiled: bool = True) -> None:
        if pooling not in POOLINGS:
            raise ValueError(f"Expected pooling in {POOLINGS}, got {pooling!r}")
        if resize not in ("pad", "squash"):
            raise ValueError(f"Expected resize in ('pad', 'squash'), got {resize!r}")
        if batch_size < 1:
            raise ValueError(f"Expected batch_size >= 1, got {batch_size}")
        if precision not in PRECISIONS:
            raise ValueError(f"Expected precision in {PRECISIONS}, got {precision!r}")
        if input_size not in INPUT_SIZES:
            raise ValueError(f"Expected input_size in {INPUT_SIZES}, got {input_size!r}")
        self.weights = weights
        self.pooling = pooling
        self.resize = resize
        self.batch_size = batch_size
        self.precision = precision
        self.input_size = input_size
        network = (_compile_network(weights, precision, input_size) if weights
                   else _compile_network.__wrapped__(None, precision, input_size))
        self._forward = network if compiled else network.python_function

    @property
    def options(self) -> dict:
        """The arguments that make an extractor with the same vectors (see :func:`extractor_options`)."""
        return {"pooling": self.pooling, "resize": self.resize, "precision": self.precision,
                "input_size": self.input_size}

    @property
    def settings(self) -> dict:
        """What decides the vectors, as recorded in the artifacts' manifest."""
        return feature_settings(self.weights, **self.options)

    def prepare(self, image: Image.Image) -> np.ndarray:
        """An RGB image as this extractor's square uint8 input (input_size x input_size x 3)."""
        return to_model_input(image, mode=self.resize, size=self.input_size)

    def pooled(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Both poolings of a uint8 batch of shape (n, input_size, input_size, 3).

        Returns ``{"avg": (n, 2048), "max": (n, 2048)}``, each L2-normalised.
        """
        inputs = np.asarray(inputs, dtype=np.uint8)
        size = self.input_size
        if inputs.ndim != 4 or inputs.shape[1:] != (size, size, 3):
            raise ValueError(f"Expected inputs of shape (n, {size}, {size}, 3), got {inputs.shape}")
        parts: dict[str, list[np.ndarray]] = {"avg": [], "max": [], "logits": []}
        for start in range(0, len(inputs), self.batch_size):
            avg, mx, logits = self._forward(inputs[start:start + self.batch_size])
            parts["avg"].append(avg.numpy())
            parts["max"].append(mx.numpy())
            parts["logits"].append(logits.numpy())
        out = {key: np.concatenate(value) if value else np.zeros((0, FEATURE_DIM), np.float32)
               for key, value in parts.items()}
        return {"avg": l2_normalise(out["avg"]), "max": l2_normalise(out["max"]), "logits": out["logits"]}

    def embed(self, inputs: np.ndarray) -> np.ndarray:
        """Vectors of shape (n, 2048), float32, unit norm, for a uint8 batch."""
        return self.pooled(inputs)[self.pooling]

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Vectors for decoded RGB images."""
        if not images:
            return np.zeros((0, FEATURE_DIM), np.float32)
        return self.embed(np.stack([self.prepare(image) for image in images]))

    def classify(self, images: Sequence[Image.Image], *, top: int = 5) -> list[list[tuple[str, float]]]:
        """ImageNet's ``top`` classes and probabilities for each image."""
        logits = self.pooled(np.stack([self.prepare(image) for image in images]))["logits"]
        labels = imagenet_labels()
        best = np.argsort(-logits, axis=1)[:, :top]
        return [[(labels[j], float(row[j])) for j in order] for row, order in zip(logits, best)]

    def embed_files(self, paths: Sequence[str | os.PathLike], *, workers: int = 2,
                    prefetch: int = 2) -> Iterator[FileBatch]:
        """Embed image files batch by batch, decoding ahead of the network.

        A file that cannot be decoded yields a NaN row and its message in
        ``errors``; the other files of its batch are unaffected.

        Yields
        ------
        FileBatch
            In input order, ``batch_size`` files each (the last may be shorter).
        """
        starts = range(0, len(paths), self.batch_size)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pending: deque = deque()
            next_starts = iter(starts)

            def submit() -> None:
                start = next(next_starts, None)
                if start is not None:
                    chunk = paths[start:start + self.batch_size]
                    pending.append((start, [pool.submit(self._load, path) for path in chunk]))

            for _ in range(prefetch):
                submit()
            while pending:
                start, futures = pending.popleft()
                submit()  # keeps `prefetch` batches decoding while this one runs
                loaded = [future.result() for future in futures]
                yield self._embed_loaded(start, loaded)

    def _load(self, path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray] | str:
        try:
            image = decode_image(Path(path))
        except ImageError as error:
            return f"{Path(path).name}: {error}"
        return self.prepare(image), colour_signature(image)

    def _embed_loaded(self, start: int, loaded: list) -> FileBatch:
        n = len(loaded)
        vectors = np.full((n, FEATURE_DIM), np.nan, np.float32)
        colours = np.full((n, COLOUR_DIM), np.nan, np.float32)
        good = [i for i, item in enumerate(loaded) if not isinstance(item, str)]
        if good:
            vectors[good] = self.embed(np.stack([loaded[i][0] for i in good]))
            colours[good] = np.stack([loaded[i][1] for i in good])
        errors = [item if isinstance(item, str) else None for item in loaded]
        return FileBatch(start, vectors, colours, errors)


def bfloat16_hardware() -> str | None:
    """What runs bfloat16 natively here ("GPU", "AMX", "AVX512-BF16"), or None where it would be emulated."""
    tf = quiet.tensorflow()
    if tf.config.list_physical_devices("GPU"):
        return "GPU"
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return "unknown CPU"  # not Linux: measure rather than guess
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.read_text().splitlines()
                  if line.startswith("flags")), [])
    return "AMX" if "amx_bf16" in flags else "AVX512-BF16" if "avx512_bf16" in flags else None


def choose_precision(weights: Weights, images: Iterable[Image.Image], *, input_size: int = DEFAULT_INPUT_SIZE,
                     batch_size: int = DEFAULT_BATCH_SIZE, repeats: int = 3) -> tuple[str, str]:
    """The precision to build with on this machine, and why (one line).

    bfloat16 only where the hardware has it, runs the network at least
    :data:`BFLOAT16_MIN_SPEEDUP` times faster on a batch of ``images`` (the
    catalogue's own photos, read only where measured) and gives vectors whose mean cosine to float32's is at
    least :data:`BFLOAT16_MIN_COSINE`; else float32.  Measures nothing where the
    CPU has no bfloat16 instructions (emulated bfloat16 is always slower).
    """
    hardware = bfloat16_hardware()
    if hardware is None:
        return "float32", "float32: this CPU has no bfloat16 arithmetic (AMX or AVX512-BF16)"
    images = list(itertools.islice(images, batch_size))
    if not images:
        return "float32", "float32: no readable photo to measure bfloat16 on"
    extractors = {name: Extractor(weights, precision=name, input_size=input_size, batch_size=batch_size)
                  for name in PRECISIONS}
    batch = np.stack([extractors["float32"].prepare(image) for image in images])
    vectors, seconds = {}, {}
    for name, extractor in extractors.items():
        vectors[name] = extractor.embed(batch)  # the first call traces the network
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            extractor.embed(batch)
            timings.append(time.perf_counter() - started)
        seconds[name] = min(timings)
    speedup = seconds["float32"] / seconds["bfloat16"]
    cosine = float((vectors["float32"] * vectors["bfloat16"]).sum(axis=1).mean())
    measured = f"bfloat16 {speedup:.2f}x float32's speed on {hardware}, mean cosine {cosine:.5f}"
    if speedup >= BFLOAT16_MIN_SPEEDUP and cosine >= BFLOAT16_MIN_COSINE:
        return "bfloat16", f"bfloat16: {measured}"
    return "float32", f"float32: {measured}"


def resnet50(weights: Weights | None, input_size: int = INPUT_SIZE):
    """Keras' ResNet50 with these weights, for ``input_size`` x ``input_size`` photos.

    Returns ``(trunk, top)``: the network up to ``conv5_block3_out`` at that size, and its
    ImageNet classifier (the Dense ``predictions`` layer, applied to the average-pooled map).
    The weights file holds the 224x224 network with its top; other sizes get the same
    weights layer by layer (the convolutions are size-free).
    """
    import keras

    network = keras.applications.ResNet50(weights=str(weights.path) if weights else None)
    top = network.get_layer("predictions")
    if input_size == network.input_shape[1]:
        return keras.Model(network.inputs, network.get_layer("conv5_block3_out").output), top
    trunk = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(input_size, input_size, 3))
    for layer in trunk.layers:
        if layer.weights:
            layer.set_weights(network.get_layer(layer.name).get_weights())
    return trunk, top


@functools.lru_cache(maxsize=4)
def _compile_network(weights: Weights | None, precision: str, input_size: int = INPUT_SIZE):
    """ResNet50 wrapped in one compiled function: uint8 batch -> (avg, max, logits), float32.

    Cached per weights file, precision and input size: extractors that differ only in pooling,
    resize or batch size share one network (a process that rebuilds a catalogue while serving
    holds one model, not two). Random weights (``None``) are never shared.
    """
    tf = quiet.tensorflow()
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
    try:
        trunk, top = resnet50(weights, input_size)
    finally:
        keras.config.set_dtype_policy(previous)
    preprocess = keras.applications.resnet50.preprocess_input

    @tf.function(input_signature=[tf.TensorSpec([None, input_size, input_size, 3], tf.uint8)])
    def forward(batch):
        fmap = tf.cast(trunk(preprocess(tf.cast(batch, tf.float32)), training=False), tf.float32)
        avg = tf.reduce_mean(fmap, axis=[1, 2])
        return avg, tf.reduce_max(fmap, axis=[1, 2]), tf.cast(top(avg), tf.float32)

    return forward
