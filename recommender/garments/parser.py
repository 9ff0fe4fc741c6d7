"""The garment parser: a small network over ResNet50's stride-16 map, one garment kind per cell (numpy only).

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


@dataclass(frozen=True)
class GarmentParser:
    """Cell features (1024) -> hidden (ReLU) -> :data:`KINDS` probabilities.

    Attributes
    ----------
    hidden_weights, hidden_bias, out_weights, out_bias : arrays
        (1024, h), (h,), (h, len(KINDS)), (len(KINDS),).
    record : dict
        What it was trained on and how it measured (shown by the CLI and the docs).
    """

    hidden_weights: np.ndarray
    hidden_bias: np.ndarray
    out_weights: np.ndarray
    out_bias: np.ndarray
    record: dict

    def probabilities(self, feature_map: np.ndarray) -> np.ndarray:
        """Per-cell probabilities of each kind, shape (h, w, len(KINDS)), for a map of shape (h, w, 1024)."""
        hidden = np.maximum(feature_map @ self.hidden_weights + self.hidden_bias, 0.0)
        logits = hidden @ self.out_weights + self.out_bias
        logits -= logits.max(axis=-1, keepdims=True)
        exp = np.exp(logits)
        return (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)

    def save(self, path: str | os.PathLike) -> None:
        """Write the arrays (``path``) and the record (``path`` with ``.json``), each atomically."""
        path = Path(path)
        arrays = {"hidden_weights": self.hidden_weights, "hidden_bias": self.hidden_bias,
                  "out_weights": self.out_weights, "out_bias": self.out_bias, "kinds": np.array(KINDS)}
        write_atomic(path, lambda partial: np.savez(partial, **arrays), suffix=".npz")
        write_json_atomic(path.with_suffix(".json"), self.record)

    @classmethod
    def load(cls, path: str | os.PathLike) -> GarmentParser:
        """Read a saved parser; refuses one trained on other kinds."""
        path = Path(path)
        with np.load(path, allow_pickle=False) as arrays:
            if tuple(arrays["kinds"]) != KINDS:
                raise ValueError(f"{path} was trained on other garment kinds: train the finder again")
            parts = {name: arrays[name] for name in ("hidden_weights", "hidden_bias", "out_weights", "out_bias")}
        return cls(**parts, record=json.loads(path.with_suffix(".json").read_text()))
