"""Small made-up inputs for the tests: product photos and Kaggle-layout datasets (no shared data needed)."""

from __future__ import annotations

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
