"""Phone-like copies of catalogue photos: what a head must see to recognise the photos shoppers take.

A studio shot is turned into something a shopper might have taken: the product cut out and laid on
a real background (a patch of a street photo where no one stands), tilted, cropped, lit otherwise,
blurred, compressed, mirrored; each with its own chance and a random strength. A copy keeps its
product's labels and teaches the head beside the studio vector; none ever enters the index.
The ranges are wide and random, unlike the fixed perturbations of the robustness table
(:mod:`recommender.evaluation.robustness`), which therefore no longer measures an unseen change:
the shoppers' photos do.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps
from tqdm import tqdm

from ..data.colour import COLOUR_DIM, colour_signature
from ..data.images import ImageError, border_colour, decode_image, foreground_mask
from ..features.extractor import Extractor
from ..features.settings import FEATURE_DIM

BACKGROUND_VALUE = 0  # a street label map's "null": neither the wearer nor a garment
PATCH_BACKGROUND_SHARE = 0.95  # a patch may hold this little of a person: an elbow at its edge
PATCHES = 400
BATCH = 64
MIN_PRODUCT_SHARE = 0.05  # of the frame, for a product to be cut out of its photo


def background_patches(folder: str | Path, *, count: int = PATCHES, seed: int = 0) -> list[Image.Image]:
    """Up to ``count`` patches of real scenes: pieces of ``folder``'s street photos with no one in them.

    ``folder`` is laid out as ``train-finder`` reads it (``images/<id>.jpg``, ``labels/<id>.png``);
    a patch is at least a quarter of its photo wide and at least 95% background in its label map.
    """
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    photos = sorted((folder / "images").glob("*.jpg"))
    patches: list[Image.Image] = []
    for index in rng.permutation(len(photos)):
        photo = photos[index]
        label_path = folder / "labels" / f"{photo.stem}.png"
        try:
            image = decode_image(photo)
            labels = np.asarray(Image.open(label_path))
        except (ImageError, OSError):
            continue
        if labels.shape != (image.height, image.width):
            continue
        # Integral image of background pixels: any rectangle's share in four lookups.
        summed = np.pad((labels == BACKGROUND_VALUE).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        for _ in range(12):
            width = int(rng.integers(image.width // 4, image.width // 2 + 1))
            height = min(image.height, int(width * rng.uniform(1.0, 1.5)))
            x0, y0 = int(rng.integers(0, image.width - width + 1)), int(rng.integers(0, image.height - height + 1))
            x1, y1 = x0 + width, y0 + height
            share = (summed[y1, x1] - summed[y0, x1] - summed[y1, x0] + summed[y0, x0]) / (width * height)
            if share >= PATCH_BACKGROUND_SHARE:
                patches.append(image.crop((x0, y0, x1, y1)))
                break
        if len(patches) >= count:
            break
    return patches


def phone_like(image: Image.Image, rng: np.random.Generator,
               backgrounds: Sequence[Image.Image] = ()) -> Image.Image:
    """A random phone-like copy of a studio photo (RGB in, RGB out; the product keeps most of the frame)."""
    angle = float(rng.uniform(-20, 20)) if rng.random() < 0.5 else 0.0
    product = foreground_mask(image)
    # A white shirt on a white backdrop has no clear outline to cut out: it stays on its own backdrop.
    if backgrounds and rng.random() < 0.5 and product.mean() >= MIN_PRODUCT_SHARE:
        image = _on_background(image, product, backgrounds[int(rng.integers(len(backgrounds)))], angle, rng)
    elif angle:
        image = image.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=border_colour(image))
    if rng.random() < 0.4:
        side = np.sqrt(rng.uniform(0.6, 0.95))
        width, height = max(1, int(image.width * side)), max(1, int(image.height * side))
        left = int(rng.integers(0, image.width - width + 1))
        top = int(rng.integers(0, image.height - height + 1))
        image = image.crop((left, top, left + width, top + height))
    for enhance, low, high in ((ImageEnhance.Brightness, 0.6, 1.45), (ImageEnhance.Contrast, 0.55, 1.25),
                               (ImageEnhance.Color, 0.7, 1.3)):
        if rng.random() < 0.6:
            image = enhance(image).enhance(float(rng.uniform(low, high)))
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.0)) * max(image.size) / 100))
    if rng.random() < 0.5:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=int(rng.integers(12, 70)))
        image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return ImageOps.mirror(image) if rng.random() < 0.5 else image


def _on_background(image: Image.Image, product: np.ndarray, background: Image.Image, angle: float,
                   rng: np.random.Generator) -> Image.Image:
    """The product (its pixels, ``product``) laid on a real scene, filling 45-90% of its height."""
    mask = Image.fromarray(product.astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(0.6))
    if angle:
        image = image.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
        mask = mask.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    fill = float(rng.uniform(0.45, 0.9))
    size = (max(image.width, int(image.width / fill)), max(image.height, int(image.height / fill)))
    canvas = ImageOps.fit(background, size, method=Image.Resampling.BILINEAR)
    left = int(rng.integers(0, size[0] - image.width + 1))
    top = int(rng.integers(0, size[1] - image.height + 1))
    canvas.paste(image, (left, top), mask)
    return canvas


def embed_phone_like(extractor: Extractor, paths: Sequence[str | Path], copies: int, *,
                     backgrounds: Sequence[Image.Image] = (), seed: int = 0, progress: bool = False,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``copies`` phone-like copies of each photo, embedded by ``extractor`` (the catalogue's).

    Returns
    -------
    vectors : (m, 2048) float32
    colours : (m, 64) float32
    sources : (m,) int64
        The index in ``paths`` each copy was made from (a photo that cannot be read makes none).
    """
    rng = np.random.default_rng(seed)
    vectors, colours, sources = [], [], []
    images: list[Image.Image] = []
    made: list[int] = []

    def flush() -> None:
        vectors.append(extractor.embed_images(images))
        colours.append(np.stack([colour_signature(copy) for copy in images]))
        sources.append(np.array(made, np.int64))
        images.clear()
        made.clear()

    bar = tqdm(total=len(paths) * copies, desc="Phone-like copies", unit="photo", disable=not progress)
    with bar:
        for number, path in enumerate(paths):
            try:
                photo = decode_image(Path(path))
            except ImageError:
                continue
            for _ in range(copies):
                images.append(phone_like(photo, rng, backgrounds))
                made.append(number)
            if len(images) >= BATCH:
                bar.update(len(images))
                flush()
        if images:
            bar.update(len(images))
            flush()
    if not sources:
        return np.zeros((0, FEATURE_DIM), np.float32), np.zeros((0, COLOUR_DIM), np.float32), np.zeros(0, np.int64)
    return np.concatenate(vectors), np.concatenate(colours), np.concatenate(sources)
