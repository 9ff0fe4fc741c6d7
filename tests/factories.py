"""Small made-up inputs for the tests: product photos and Kaggle-layout datasets (no shared data needed)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

# Products in the synthetic catalogue every fast app and CLI test runs on.
SYNTHETIC_SIZE = 24


def product_photo(size=(60, 80), colour=(200, 30, 30), background=(255, 255, 255), seed: int = 0) -> Image.Image:
    """A made-up product shot: a coloured blob on a plain background."""
    rng = np.random.default_rng(seed)
    width, height = size
    array = np.empty((height, width, 3), np.uint8)
    array[:] = background
    y0, x0 = rng.integers(0, height // 4), rng.integers(0, width // 4)
    array[y0:y0 + height // 2, x0:x0 + width // 2] = colour
    return Image.fromarray(array)


STYLES_HEADER = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName\n"


def make_dataset(root: Path, n: int = 12, *, styles_extra: str = "") -> Path:
    """A small Kaggle-layout dataset: ``n`` photos in two article types, plus quirks in styles.csv."""
    (root / "images").mkdir(parents=True)
    lines = [STYLES_HEADER]
    for i in range(n):
        kind = ("Tshirts", "Red") if i % 2 == 0 else ("Jeans", "Blue")
        colour = (200, 30, 30) if i % 2 == 0 else (30, 30, 200)
        product_photo(colour=colour, seed=i).save(root / "images" / f"{1000 + i}.jpg")
        lines.append(f"{1000 + i},Men,Apparel,Topwear,{kind[0]},{kind[1]},Summer,2012,Casual,Product {i}, with comma\n")
    (root / "styles.csv").write_text("".join(lines) + styles_extra)
    return root


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def exif_rotated_jpeg() -> bytes:
    """An 80x40 landscape photo, left half red, with EXIF orientation 6 (display rotated 90 degrees)."""
    array = np.full((40, 80, 3), 255, np.uint8)
    array[:, :40] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(Image.fromarray(array), "JPEG", exif=exif.tobytes(), quality=95)


def animated_gif() -> bytes:
    frames = [product_photo(colour=c).convert("P") for c in ((200, 0, 0), (0, 200, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


PHOTO = product_photo()
# The hostile-image corpus: photos every reader must take, and inputs it must refuse with a one-line message.
GOOD = {
    "jpeg": encode(PHOTO, "JPEG"),
    "png with alpha": encode(Image.new("RGBA", (60, 80), (255, 0, 0, 0)), "PNG"),
    "16-bit png": encode(Image.fromarray((np.arange(4800).reshape(60, 80) * 13).astype(np.uint16)), "PNG"),
    "cmyk jpeg": encode(PHOTO.convert("CMYK"), "JPEG"),
    "palette gif": encode(PHOTO.convert("P"), "GIF"),
    "animated gif": animated_gif(),
    "webp": encode(PHOTO, "WEBP"),
    "greyscale": encode(PHOTO.convert("L"), "JPEG"),
}
BAD = {
    "0-byte file": (b"", "empty"),
    "text named .jpg": (b"hello, I am not a photo\n" * 10, "not an image"),
    "truncated jpeg": (GOOD["jpeg"][: len(GOOD["jpeg"]) // 2], "truncated or corrupt"),
    "decompression bomb": (bomb_png(30000, 30000), "limit"),
    "svg": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "SVG"),
    "heic": (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 64, "HEIC"),
    "1x1 png": (encode(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG"), "too small"),
    "a 31-pixel-wide strip": (encode(Image.new("RGB", (31, 400), (10, 20, 30)), "PNG"), "too small"),
}
