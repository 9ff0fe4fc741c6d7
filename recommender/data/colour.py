"""Colour signatures of the product region, for colour-aware ranking.

ImageNet features care about shape and texture more than hue.  A coarse
colour histogram of the product's own pixels (the background, taken from the
photo's border, is left out) gives the ranker the colour a shopper sees.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .images import foreground_mask

BINS_PER_CHANNEL = 4
COLOUR_DIM = BINS_PER_CHANNEL ** 3
_THUMBNAIL = 64


def colour_signature(image: Image.Image) -> np.ndarray:
    """Histogram of the product's RGB colours, as a unit vector.

    The histogram is counted over the pixels that differ from the background,
    normalised to sum 1, then square-rooted so that Euclidean distance between
    two signatures is the Hellinger distance between the colour distributions.

    Returns
    -------
    ndarray of shape (64,), float32, unit L2 norm
    """
    small = image.copy()
    small.thumbnail((_THUMBNAIL, _THUMBNAIL))
    pixels = np.asarray(small, dtype=np.float32).reshape(-1, 3)
    foreground = foreground_mask(small).reshape(-1)
    if foreground.sum() >= 16:  # else a blank or plain image: use every pixel
        pixels = pixels[foreground]
    bins = np.minimum((pixels * (BINS_PER_CHANNEL / 256.0)).astype(np.int64), BINS_PER_CHANNEL - 1)
    flat = (bins[:, 0] * BINS_PER_CHANNEL + bins[:, 1]) * BINS_PER_CHANNEL + bins[:, 2]
    histogram = np.bincount(flat, minlength=COLOUR_DIM).astype(np.float32)
    signature = np.sqrt(histogram / histogram.sum())
    return signature / np.linalg.norm(signature)
