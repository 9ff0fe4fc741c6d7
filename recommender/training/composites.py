"""Catalogue products pasted onto real scenes, each with its label map: what teaches the garment finder that a
product lying anywhere (on a bed, a floor, a busy table) is a garment of its kind and the rest is background.

Cut, Paste and Learn (Dwibedi et al., 2017): a studio shot's product is cut out along its backdrop
(:func:`recommender.data.images.foreground_mask`), scaled, and laid on a patch of a street photo where no
one stands (:func:`recommender.training.augment.background_patches`) or on a plain colour, one to three
products a scene; its pixels take its kind (:func:`recommender.garments.kinds.kind_of_article_type`), later
products covering earlier ones. The street photos teach garments as they are worn; these, garments as they
lie.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..data.catalogue import read_styles
from ..data.images import ImageError, decode_image, foreground_mask
from ..garments.kinds import GARMENT_KINDS, KINDS, kind_of_article_type

SCENE_SIDE = 512  # the finder's own size: a scene's longer side
PRODUCTS_PER_KIND = 150
MIN_SHARE, MAX_SHARE = 0.05, 0.9  # of its photo, for a product to be cut out cleanly along its backdrop
PLAIN_SCENES = 0.25  # the rest lie on real scenes
MAX_SKIN = 0.03  # of a product's pixels: more is a model wearing it


@dataclass(frozen=True)
class Cutout:
    """A product cut out of its studio shot: the photo, its pixels (``mask``) and its :data:`KINDS` index."""

    image: Image.Image
    mask: np.ndarray
    kind: int


def product_cutouts(folder: str | Path, *, per_kind: int = PRODUCTS_PER_KIND, seed: int = 0) -> list[Cutout]:
    """Up to ``per_kind`` products of each garment kind from a Kaggle-layout catalogue folder, cut out.

    Equal numbers per kind, so bags and accessories (few in street photos) are taught as much as tops.
    Skipped: a product whose backdrop does not leave a clean outline (a white shirt on white), and one worn by
    a model (skin in its outline), whose pixels would teach that skin is the garment; the street photos teach
    worn garments.
    """
    folder = Path(folder)
    styles, _ = read_styles(folder / "styles.csv")
    kinds = styles["articleType"].map(kind_of_article_type)
    rng = np.random.default_rng(seed)
    cutouts: list[Cutout] = []
    for kind in GARMENT_KINDS:
        ids = styles.loc[kinds == kind, "id"].to_numpy()
        taken = 0
        for item in ids[rng.permutation(len(ids))]:
            if taken >= per_kind:
                break
            try:
                image = decode_image(folder / "images" / f"{item}.jpg")
            except ImageError:
                continue
            mask = foreground_mask(image)
            if MIN_SHARE <= mask.mean() <= MAX_SHARE and skin_share(image, mask) <= MAX_SKIN:
                cutouts.append(Cutout(image, mask, KINDS.index(kind)))
                taken += 1
    return cutouts


def skin_share(image: Image.Image, mask: np.ndarray) -> float:
    """The share of ``mask``'s pixels whose colour is a skin tone (the usual YCbCr box: Cb 77-127, Cr 133-173).

    >>> photo = Image.new("RGB", (4, 1), (224, 172, 140))  # a skin tone
    >>> photo.paste((30, 30, 200), (0, 0, 3, 1))  # three blue pixels
    >>> skin_share(photo, np.ones((1, 4), bool))
    0.25
    """
    ycbcr = np.asarray(image.convert("YCbCr"), np.int16)[mask]
    if not len(ycbcr):
        return 0.0
    skin = (ycbcr[:, 1] >= 77) & (ycbcr[:, 1] <= 127) & (ycbcr[:, 2] >= 133) & (ycbcr[:, 2] <= 173)
    return float(skin.mean())


def scene(cutouts: Sequence[Cutout], backgrounds: Sequence[Image.Image],
          rng: np.random.Generator) -> tuple[Image.Image, Image.Image]:
    """One made-up scene and its label map (mode ``L``, each pixel a :data:`KINDS` index): one to three
    random products, each 25-80% of the scene's height, on a real scene or a plain colour."""
    portrait = rng.random() < 0.6
    short = int(SCENE_SIDE * rng.uniform(0.6, 1.0))
    size = (short, SCENE_SIDE) if portrait else (SCENE_SIDE, short)
    if backgrounds and rng.random() >= PLAIN_SCENES:
        canvas = ImageOps.fit(backgrounds[int(rng.integers(len(backgrounds)))], size, Image.Resampling.BILINEAR)
    else:
        colour = rng.integers(0, 256, 3)
        noise = rng.normal(0, 6, (size[1], size[0], 3))
        canvas = Image.fromarray(np.clip(colour + noise, 0, 255).astype(np.uint8))
    labels = np.zeros((size[1], size[0]), np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        cutout = cutouts[int(rng.integers(len(cutouts)))]
        scale = rng.uniform(0.25, 0.8) * size[1] / cutout.image.height
        width = max(8, min(size[0], round(cutout.image.width * scale)))
        height = max(8, min(size[1], round(cutout.image.height * scale)))
        image = cutout.image.resize((width, height), Image.Resampling.BICUBIC)
        mask = Image.fromarray(cutout.mask.astype(np.uint8) * 255).resize((width, height), Image.Resampling.NEAREST)
        left, top = int(rng.integers(0, size[0] - width + 1)), int(rng.integers(0, size[1] - height + 1))
        canvas.paste(image, (left, top), mask)
        region = labels[top:top + height, left:left + width]
        region[np.asarray(mask) > 0] = cutout.kind
    return canvas, Image.fromarray(labels)


def scenes(cutouts: Sequence[Cutout], backgrounds: Sequence[Image.Image], count: int, *,
           seed: int = 0) -> Iterator[tuple[Image.Image, Image.Image]]:
    """``count`` scenes (:func:`scene`), seeded; none where there are no cutouts."""
    rng = np.random.default_rng(seed)
    for _ in range(count if cutouts else 0):
        yield scene(cutouts, backgrounds, rng)
