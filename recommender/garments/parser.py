"""The garment parser: a small convolutional network over ResNet50's stride-16 map, one garment kind per cell
(numpy only).

Trained by :func:`recommender.training.finder.train_parser` on street photos with per-pixel
garment labels; saved as plain arrays (``.npz``, no pickle) with a JSON record of what it was
trained on.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import write_atomic, write_json_atomic
from .kinds import KINDS

Layer = tuple[np.ndarray, np.ndarray]  # kernel (k, k, in, out) with k odd, bias (out,)


@dataclass(frozen=True)
class GarmentParser:
    """Cell features (1024 channels) -> convolutions ('same' padding, ReLU between) -> :data:`KINDS` probabilities.

    Attributes
    ----------
    layers : tuple of (kernel, bias)
        Each kernel (k, k, in, out), k odd (1: each cell alone; 3: each cell with its eight neighbours, a
        garment's context), bias (out,); the last layer's ``out`` is ``len(KINDS)``.
    record : dict
        What it was trained on and how it measured (shown by the CLI and the docs).
    """

    layers: tuple[Layer, ...]
    record: dict

    def probabilities(self, feature_map: np.ndarray) -> np.ndarray:
        """Per-cell probabilities of each kind, shape (h, w, len(KINDS)), for a map of shape (h, w, 1024)."""
        x = np.asarray(feature_map, np.float32)
        for number, (kernel, bias) in enumerate(self.layers):
            x = _convolve(x, kernel) + bias
            if number < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        x -= x.max(axis=-1, keepdims=True)
        exp = np.exp(x)
        return (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)

    def save(self, path: str | os.PathLike) -> None:
        """Write the arrays (``path``) and the record (``path`` with ``.json``), each atomically."""
        path = Path(path)
        arrays = {"kinds": np.array(KINDS)}
        for number, (kernel, bias) in enumerate(self.layers):
            arrays[f"kernel{number}"], arrays[f"bias{number}"] = kernel, bias
        write_atomic(path, lambda partial: np.savez(partial, **arrays), suffix=".npz")
        write_json_atomic(path.with_suffix(".json"), self.record)

    @classmethod
    def load(cls, path: str | os.PathLike) -> GarmentParser:
        """Read a saved parser; refuses one trained on other kinds or saved by an earlier version."""
        path = Path(path)
        with np.load(path, allow_pickle=False) as arrays:
            if tuple(arrays["kinds"]) != KINDS:
                raise ValueError(f"{path} was trained on other garment kinds: train the finder again")
            count = sum(1 for name in arrays.files if name.startswith("kernel"))
            if count == 0:
                raise ValueError(f"{path} was saved by an earlier version of the finder: train the finder again")
            layers = tuple((arrays[f"kernel{n}"], arrays[f"bias{n}"]) for n in range(count))
        return cls(layers, json.loads(path.with_suffix(".json").read_text()))


def _convolve(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """A 'same'-padded (zeros) stride-1 convolution of an (h, w, in) map with a (k, k, in, out) kernel."""
    size = kernel.shape[0]
    if size == 1:
        return x @ kernel[0, 0]
    pad = size // 2
    padded = np.pad(x, ((pad, pad), (pad, pad), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size), axis=(0, 1))  # (h, w, in, k, k)
    return np.einsum("hwcij,ijco->hwo", windows, kernel, optimize=True)
