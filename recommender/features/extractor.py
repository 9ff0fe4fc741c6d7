"""ResNet50 features: images in, L2-normalised 2048-d float32 vectors out.

The network (:mod:`recommender.features.network`) runs over batches on one of
the inference runtimes (:mod:`recommender.features.runtimes`: TensorFlow,
OpenVINO or ONNX Runtime), while a small thread pool decodes the next batch
(decoding overlaps inference); its last map is pooled over space into one
2048-d vector.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..config import silent
from ..data.colour import COLOUR_DIM, colour_signature
from ..data.images import ImageError, decode_image, to_model_input
from .export import Calibration
from .runtimes import load_network
from .settings import (
    DEFAULT_INPUT_SIZE,
    DEFAULT_POOLING,
    DEFAULT_PRECISION,
    DEFAULT_RESIZE,
    FEATURE_DIM,
    FeatureSettings,
)
from .weights import Weights, imagenet_labels

DEFAULT_BATCH_SIZE = 32


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


class Extractor:
    """Embed images with ImageNet ResNet50 and global pooling.

    Parameters
    ----------
    weights : Weights or None
        From :func:`recommender.features.weights.resolve_weights`.  ``None`` builds the
        network with random weights: only for tests of shapes, never for use.
    pooling : {"avg", "max"}, default DEFAULT_POOLING
        Global pooling of the last 7x7x2048 feature map.
    resize : {"pad", "squash"}, default DEFAULT_RESIZE
        How a photo is fitted into the square input (see :func:`recommender.data.images.to_model_input`).
    batch_size : int, default 32
        Images per forward pass; memory stays flat whatever the input size.
    precision : {"float32", "bfloat16", "int8"}, default "float32"
        Compute precision of the network (int8: the network quantised after training, on ``calibration``).
    input_size : int in INPUT_SIZES, default DEFAULT_INPUT_SIZE
        Side of the square the photo is fitted into; the work per photo grows with its square
        (128: a third of 224's).
    compiled : bool, default True
        Run the network as one traced ``tf.function`` (fast from the second call on). ``False`` runs it
        eagerly: a one-shot query then skips the 1-2 s trace (its vectors differ by ~1e-6). TensorFlow only.
    runtime : {"tensorflow", "openvino", "onnxruntime"}, default "tensorflow"
        Where the network runs (resolved: see :func:`recommender.features.runtimes.runtime_for`).
    calibration : Calibration, optional
        The photos an int8 network is calibrated on (int8 only).
    threads : int, optional
        The runtime's threads (default: its own choice, all cores).
    log : callable, optional
        Told when a network is exported or quantised (once per machine).
    """

    def __init__(self, weights: Weights | None, *, pooling: str = DEFAULT_POOLING,
                 resize: str = DEFAULT_RESIZE, batch_size: int = DEFAULT_BATCH_SIZE,
                 precision: str = DEFAULT_PRECISION, input_size: int = DEFAULT_INPUT_SIZE,
                 compiled: bool = True, runtime: str = "tensorflow", calibration: Calibration | None = None,
                 threads: int | None = None, log: Callable[[str], None] = silent) -> None:
        if batch_size < 1:
            raise ValueError(f"Expected batch_size >= 1, got {batch_size}")
        self.settings = FeatureSettings.of(weights, pooling=pooling, resize=resize, precision=precision,
                                           input_size=input_size, runtime=runtime,
                                           calibration=calibration.record if calibration else None)
        self.weights = weights
        self.batch_size = batch_size
        self.calibration = calibration
        self._forward = load_network(weights, precision, input_size, runtime, calibration=calibration,
                                     threads=threads, compiled=compiled, log=log)

    @property
    def pooling(self) -> str:
        return self.settings.pooling

    @property
    def resize(self) -> str:
        return self.settings.resize

    @property
    def precision(self) -> str:
        return self.settings.precision

    @property
    def input_size(self) -> int:
        return self.settings.input_size

    @property
    def runtime(self) -> str:
        return self.settings.runtime

    @classmethod
    def from_settings(cls, settings: FeatureSettings, weights: Weights, *, dataset: str | os.PathLike | None = None,
                      runtime: str = "tensorflow", batch_size: int = DEFAULT_BATCH_SIZE, compiled: bool = True,
                      threads: int | None = None, log: Callable[[str], None] = silent) -> Extractor:
        """The extractor that makes the vectors ``settings`` describe, with these weights (their file), on
        ``runtime``; ``dataset`` is the folder of an int8 catalogue's calibration photos."""
        calibration = None
        if settings.calibration:
            if dataset is None:
                raise ValueError("Expected the dataset folder of the int8 network's calibration photos")
            calibration = Calibration(Path(dataset), tuple(settings.calibration["images"]),
                                      tuple(settings.calibration["sha256"]), settings.resize)
        return cls(weights, batch_size=batch_size, compiled=compiled, runtime=runtime, calibration=calibration,
                   threads=threads, log=log, **settings.knobs)

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
            parts["avg"].append(avg)
            parts["max"].append(mx)
            parts["logits"].append(logits)
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
            return str(error)  # it names the file
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
