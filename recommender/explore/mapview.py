"""What a 2-D catalogue map shows at a given zoom: products, or their density.

A browser draws a few thousand marks at once, not a million.  So a view of
the map holds either every product inside it (when there are at most
:data:`MAX_POINTS`), with photos once there are at most :data:`MAX_PHOTOS`,
or a grid of bins coloured by each bin's most common label and shaded by its
count, with a fixed sample of the products inside drawn over it to pick from.
Everything here is numpy over the whole map: O(n) per view, ~0.1 s at a
million products.
"""

from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.images import ImageError, decode_image

MAX_POINTS = 5_000  # products drawn one by one when the view holds at most this many
MAX_PHOTOS = 150  # ...and as photos when it holds at most this many
SAMPLE = 2_000  # products drawn over the density, to pick from
GRID = 80  # bins across the view (fewer down, to keep bins square)
PHOTO_SIDE = 64  # pixels of a photo's longer side (drawn at most this large)
MARGIN = 0.02  # of the map's extent, around the whole map

Bounds = tuple[float, float, float, float]
"""(x0, x1, y0, y1) of a view, in map coordinates."""


@dataclass
class MapView:
    """One view of a catalogue map.

    Attributes
    ----------
    bounds : Bounds
    inside : int
        Products inside the view.
    rows : ndarray of int
        Products drawn one by one: all inside, or a sample of :data:`SAMPLE` of them.
    density : DataFrame or None
        Non-empty bins (``x0, x1, y0, y1, count, label``) when the view holds more than
        :data:`MAX_POINTS` products; ``None`` when every product inside is drawn.
    photos : bool
        Whether ``rows`` are few enough to be drawn as photos.
    """

    bounds: Bounds
    inside: int
    rows: np.ndarray
    density: pd.DataFrame | None
    photos: bool


def full_bounds(points: np.ndarray) -> Bounds:
    """The bounds of the whole map, with a small margin."""
    low, high = points.min(axis=0), points.max(axis=0)
    pad = np.maximum(high - low, 1e-6) * MARGIN
    return (float(low[0] - pad[0]), float(high[0] + pad[0]), float(low[1] - pad[1]), float(high[1] + pad[1]))


def zoomed(bounds: Bounds, centre: tuple[float, float], factor: float) -> Bounds:
    """``bounds`` scaled by ``factor`` (0.25: four times closer) around ``centre``."""
    x0, x1, y0, y1 = bounds
    half_x, half_y = (x1 - x0) * factor / 2, (y1 - y0) * factor / 2
    return (centre[0] - half_x, centre[0] + half_x, centre[1] - half_y, centre[1] + half_y)


def inside_mask(points: np.ndarray, bounds: Bounds) -> np.ndarray:
    """Which points lie within ``bounds`` (edges included)."""
    x0, x1, y0, y1 = bounds
    return (points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1)


def sample_order(n: int, seed: int = 0) -> np.ndarray:
    """A fixed random order of the products: a view's sample is the first of them inside it, so
    zooming keeps the products already drawn."""
    return np.random.default_rng(seed).permutation(n)


def map_view(points: np.ndarray, labels: np.ndarray, order: np.ndarray, bounds: Bounds, *,
             max_points: int = MAX_POINTS, max_photos: int = MAX_PHOTOS, sample: int = SAMPLE,
             grid: int = GRID) -> MapView:
    """What to draw of ``points`` within ``bounds``.

    Parameters
    ----------
    points : (n, 2) array
        The map.
    labels : (n,) int array
        Each product's label code (e.g. ``pd.Categorical.codes``), for a bin's most common label.
    order : (n,) int array
        From :func:`sample_order`.
    bounds : Bounds
    """
    x0, x1, y0, y1 = bounds
    x, y = points[:, 0], points[:, 1]
    mask = inside_mask(points, bounds)
    inside = int(mask.sum())
    if inside <= max_points:
        rows = np.flatnonzero(mask)
        return MapView(bounds, inside, rows, None, photos=inside <= max_photos)
    rows = order[mask[order]][:sample]
    across = grid
    down = max(1, round(grid * (y1 - y0) / max(x1 - x0, 1e-12)))
    down = min(down, 2 * grid)
    ix = np.minimum(((x[mask] - x0) / (x1 - x0) * across).astype(np.int64), across - 1)
    iy = np.minimum(((y[mask] - y0) / (y1 - y0) * down).astype(np.int64), down - 1)
    cell = iy * across + ix
    codes = np.asarray(labels)[mask].astype(np.int64)
    n_labels = int(codes.max()) + 2 if len(codes) else 1
    # One bincount over (cell, label) pairs gives every bin's count and its most common label.
    by_label = np.bincount(cell * n_labels + (codes + 1), minlength=across * down * n_labels)
    by_label = by_label.reshape(across * down, n_labels)
    counts = by_label.sum(axis=1)
    filled = np.flatnonzero(counts)
    width, height = (x1 - x0) / across, (y1 - y0) / down
    density = pd.DataFrame({
        "x0": x0 + (filled % across) * width, "x1": x0 + (filled % across + 1) * width,
        "y0": y0 + (filled // across) * height, "y1": y0 + (filled // across + 1) * height,
        "count": counts[filled], "label": by_label[filled].argmax(axis=1) - 1,
    })
    return MapView(bounds, inside, rows, density, photos=False)


def photo_uri(path: str | os.PathLike, side: int = PHOTO_SIDE) -> str | None:
    """A small JPEG of a photo as a ``data:`` URI (for a map mark), or ``None`` if it cannot be read."""
    try:
        image = decode_image(Path(path))
    except (ImageError, OSError):
        return None
    image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")

