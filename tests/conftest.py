"""Shared fixtures.

Real-data tests find the shared catalogue through one setting,
``RECOMMENDER_DATASET`` (default: ``../shared/datasets/fashion-product-images-small``),
and skip with the reason when it is absent.  Real-weight tests skip when no
ImageNet weights can be had (see ``recommender.weights``).  Everything else
makes its own small images.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from recommender.settings import find_dataset  # noqa: E402

REAL_SAMPLE = 300


@pytest.fixture(scope="session")
def dataset_dir() -> Path:
    """The real catalogue (Kaggle layout), or skip."""
    found = find_dataset()
    if found is None:
        pytest.skip("real catalogue not found: set RECOMMENDER_DATASET to a folder with images/ and styles.csv")
    return found


@pytest.fixture(scope="session")
def weights():
    """Real ImageNet ResNet50 weights, or skip."""
    from recommender.weights import WeightsUnavailable, resolve_weights

    try:
        return resolve_weights()
    except WeightsUnavailable as error:
        pytest.skip(f"ImageNet weights unavailable: {error}")


@pytest.fixture(scope="session")
def extractor(weights):
    """An extractor with the real weights, shared by the session."""
    from recommender.features import Extractor

    return Extractor(weights)


@pytest.fixture(scope="session")
def real_artifacts(dataset_dir, extractor, tmp_path_factory) -> Path:
    """A real catalogue of ~300 products, stratified by articleType, built once per session."""
    from recommender.build import build_catalogue

    out = tmp_path_factory.mktemp("real-artifacts")
    build_catalogue(dataset_dir, out, sample=REAL_SAMPLE, extractor=extractor, progress=False, log=lambda _: None)
    return out


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
