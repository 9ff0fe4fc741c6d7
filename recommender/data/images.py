"""Decode any common image safely and fit it into the network's square input.

Uploads and catalogue files go through :func:`decode_image`, which enforces
byte and pixel limits (decompression bombs), honours EXIF rotation, flattens
alpha onto white and maps every mode (greyscale, 16-bit, CMYK, palette) to
8-bit RGB.  Failures raise :class:`ImageError` with a one-line message meant
for the person who sent the file.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

INPUT_SIZE = 224
MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000
# A photo's shorter side at the least: below it a search reads noise (benchmarks/tiny_photos.py: articleType
# P@5 by the query's size); a 1x1 PNG was read as "Shirts 39% · Red 96%".
MIN_SIDE = 32
SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
RESIZE_MODES = ("pad", "squash")

# Pillow checks its own limit while reading headers; ours is the stricter one.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class ImageError(ValueError):
    """An input that is not a usable image; ``str()`` is a one-line message."""


class ImageTooLarge(ImageError):
    """An input over the byte or pixel limit (a server answers it with 413)."""


def decode_image(source: bytes | str | os.PathLike, *, max_bytes: int = MAX_BYTES,
                 max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode a photo into an 8-bit RGB PIL image, upright.

    Parameters
    ----------
    source : bytes or path
        The encoded file (as uploaded) or a path to it.
    max_bytes, max_pixels : int
        Refuse larger files and images (width x height) with :class:`ImageError`.

    Raises
    ------
    ImageError
        Empty, truncated, unsupported, too large, too small (:data:`MIN_SIDE`) or otherwise undecodable input;
        the message names the file where ``source`` is a path.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _decode(bytes(source), max_bytes=max_bytes, max_pixels=max_pixels)
    try:
        return _decode(_read_bytes(source, max_bytes), max_bytes=max_bytes, max_pixels=max_pixels)
    except ImageError as error:
        raise type(error)(f"{source}: {error}") from None


def _decode(data: bytes, *, max_bytes: int, max_pixels: int) -> Image.Image:
    if len(data) > max_bytes:
        raise ImageTooLarge(f"The file is {len(data):,} bytes; the limit is {max_bytes:,}.")
    if not data:
        raise ImageError("The file is empty (0 bytes).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in SUPPORTED_FORMATS:
                raise ImageError(f"{image.format} images are not supported; use JPEG, PNG or WebP.")
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLarge(
                    f"The image is {width}x{height} pixels; the limit is {max_pixels:,} pixels in all."
                )
            if min(width, height) < MIN_SIDE:
                raise ImageError(f"The photo is {width}x{height} pixels, too small to tell what it shows; "
                                 f"use one at least {MIN_SIDE} pixels on each side.")
            image.seek(0)  # first frame of an animated GIF or WebP
            image.load()
            image = ImageOps.exif_transpose(image)
    except UnidentifiedImageError:
        raise ImageError(_unidentified_message(data)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge(f"The image is larger than the limit of {max_pixels:,} pixels.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        if isinstance(error, ImageError):
            raise
        raise ImageError(f"The image could not be decoded (truncated or corrupt: {error}).") from None
    return to_rgb(image)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB; transparency is flattened onto white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit greyscale: scale the full range into 8 bits rather than clipping.
        array = np.asarray(image, dtype=np.float64)
        top = array.max() or 1.0
        image = Image.fromarray(np.clip(array * (255.0 / top), 0, 255).astype(np.uint8), "L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(canvas, rgba)
    return image.convert("RGB")


def to_model_input(image: Image.Image, *, mode: str = "pad", size: int = INPUT_SIZE) -> np.ndarray:
    """Fit an RGB image into a ``size`` x ``size`` uint8 array.

    ``"pad"`` keeps the aspect ratio and fills the margins with the colour of
    the photo's border (white for catalogue shots); ``"squash"`` stretches it
    as the original design did.

    Returns
    -------
    ndarray of shape (size, size, 3), uint8
    """
    if mode == "squash":
        return np.asarray(image.resize((size, size), Image.Resampling.BICUBIC), dtype=np.uint8)
    if mode != "pad":
        raise ValueError(f"Expected mode in {RESIZE_MODES}, got {mode!r}")
    width, height = image.size
    scale = size / max(width, height)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = image.resize(new_size, Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", (size, size), border_colour(image))
    canvas.paste(resized, ((size - new_size[0]) // 2, (size - new_size[1]) // 2))
    return np.asarray(canvas, dtype=np.uint8)


CropBox = tuple[float, float, float, float]
"""(left, top, right, bottom) as fractions of the width and height, each in [0, 1]."""
FULL_FRAME: CropBox = (0.0, 0.0, 1.0, 1.0)


def crop(image: Image.Image, box: CropBox) -> Image.Image:
    """The part of ``image`` inside ``box`` (fractions of its size), at least one pixel each way.

    >>> crop(Image.new("RGB", (100, 80)), (0.25, 0.0, 0.75, 0.5)).size
    (50, 40)
    """
    left, top, right, bottom = (float(v) for v in box)
    if not (0.0 <= left < right <= 1.0 and 0.0 <= top < bottom <= 1.0):
        raise ValueError(f"Expected 0 <= left < right <= 1 and 0 <= top < bottom <= 1, got {box}")
    if (left, top, right, bottom) == FULL_FRAME:
        return image
    width, height = image.size
    x0, y0 = min(int(left * width), width - 1), min(int(top * height), height - 1)
    x1, y1 = max(round(right * width), x0 + 1), max(round(bottom * height), y0 + 1)
    return image.crop((x0, y0, x1, y1))


def box_iou(a: CropBox, b: CropBox) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes.

    >>> box_iou((0, 0, 0.5, 1), (0, 0, 1, 1)), box_iou((0, 0, 0.2, 0.2), (0.5, 0.5, 1, 1))
    (0.5, 0.0)
    """
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def border_colour(image: Image.Image) -> tuple[int, int, int]:
    """Median colour of the outermost pixels: the photo's background."""
    array = np.asarray(image, dtype=np.uint8)
    edge = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
    return tuple(int(v) for v in np.median(edge, axis=0))


# RGB distance from the background colour beyond which a pixel belongs to the product.
BACKGROUND_DISTANCE = 40.0


def plain_background(image: Image.Image, *, share: float = 0.9) -> bool:
    """Whether the photo has a studio's backdrop: at least ``share`` of the pixels along at least two of its four
    edges are the border colour.

    Two edges, not all four: a catalogue shot of a model is often cut by the frame at the feet or the
    shoulders, or cropped by the shopper, while a street scene meets every edge with something else (of 300
    training street photos, 0.3% have two plain edges; of catalogue photos cropped to 70% of their frame,
    90%; docs/evaluation.md).

    >>> plain_background(Image.new("RGB", (40, 30), (250, 250, 250)))
    True
    >>> model = Image.new("RGB", (40, 30), (250, 250, 250))
    >>> model.paste((20, 20, 120), (10, 5, 30, 30))  # cut by the bottom edge: the three others are plain
    >>> plain_background(model), plain_background(Image.effect_noise((40, 30), 80).convert("RGB"))
    (True, False)
    """
    array = np.asarray(image, dtype=np.float32)
    colour = np.asarray(border_colour(image), np.float32)
    plain_edges = sum(float((np.linalg.norm(edge - colour, axis=1) <= BACKGROUND_DISTANCE).mean()) >= share
                      for edge in (array[0], array[-1], array[:, 0], array[:, -1]))
    return plain_edges >= 2


def foreground_mask(image: Image.Image) -> np.ndarray:
    """(height, width) bool: the pixels that differ from the photo's background (its border colour)."""
    pixels = np.asarray(image, dtype=np.float32)
    return np.linalg.norm(pixels - np.asarray(border_colour(image), np.float32), axis=2) > BACKGROUND_DISTANCE


def _read_bytes(path: str | os.PathLike, max_bytes: int) -> bytes:
    path = Path(path)
    try:
        if path.stat().st_size > max_bytes:
            raise ImageTooLarge(f"The file is {path.stat().st_size:,} bytes; the limit is {max_bytes:,}.")
        return path.read_bytes()
    except OSError as error:
        raise ImageError(f"The file could not be read: {error.strerror or error}.") from None


def _unidentified_message(data: bytes) -> str:
    head = data[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "SVG drawings are not supported; upload a photo (JPEG, PNG or WebP)."
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypheif", b"ftyphevc"):
        return "HEIC/HEIF photos are not supported; export the photo as JPEG or PNG."
    return "This file is not an image that can be read; use JPEG, PNG or WebP."


# Margin kept around the product when a photo is trimmed, as a share of the product's size
# (catalogue shots leave about this much).
TRIM_MARGIN = 0.05
# Photos whose product box (with its margin) fills less than this share of the frame are trimmed: a
# fifth leaves 96% of catalogue-style shots untouched (docs/decisions/0003-small-products-cut-to-themselves.md).
TRIM_BELOW = 0.2
_TRIM_THUMBNAIL = 256


def trim_to_product(image: Image.Image, *, margin: float = TRIM_MARGIN) -> Image.Image:
    """The photo cut down to its product (the pixels unlike its border) plus a small margin.

    A shopper's photo often shows the product small, off-centre, on a plain
    table or wall; the catalogue's shots are tight.  Photos where the product
    already fills a fifth of the frame or more, and photos without a plain
    background (no clear product region), are returned as they are (the same object).

    >>> photo = Image.new("RGB", (100, 100), "white")
    >>> photo.paste((200, 0, 0), (60, 10, 80, 40))
    >>> trim_to_product(photo, margin=0.0).size
    (20, 30)
    >>> photo.paste((200, 0, 0), (5, 5, 95, 95))  # a tight shot stays as it is
    >>> trim_to_product(photo).size
    (100, 100)
    """
    small = image.copy()
    small.thumbnail((_TRIM_THUMBNAIL, _TRIM_THUMBNAIL))  # the box, found on a thumbnail: fast for phone photos
    mask = foreground_mask(small)
    share = mask.mean()
    if share < 0.01 or share > 0.9:  # nothing found, or no background to cut away
        return image
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, columns[0], columns[-1] + 1
    pad_y, pad_x = (bottom - top) * margin, (right - left) * margin
    if (bottom - top + 2 * pad_y) * (right - left + 2 * pad_x) >= TRIM_BELOW * mask.size:
        return image  # already a tight shot: trimming it only loses context (benchmarks/robustness.py)
    scale_x, scale_y = image.width / small.width, image.height / small.height
    return image.crop((max(0, int((left - pad_x) * scale_x)), max(0, int((top - pad_y) * scale_y)),
                       min(image.width, round((right + pad_x) * scale_x)),
                       min(image.height, round((bottom + pad_y) * scale_y))))
