"""Catalogue products pasted onto scenes for the garment finder (unit: made-up catalogue and backgrounds)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from recommender.garments.kinds import KINDS
from recommender.training.composites import SCENE_SIDE, product_cutouts, scene, scenes
from tests.factories import make_dataset, product_photo

pytestmark = pytest.mark.unit


def test_products_are_cut_out_along_their_backdrop_with_their_kind(tmp_path):
    folder = make_dataset(tmp_path / "catalogue", n=8)  # red Tshirts and blue Jeans on white
    product_photo(colour=(224, 172, 140), seed=9).save(folder / "images" / "1009.jpg")  # a skin tone: a model
    with open(folder / "styles.csv", "a") as styles:
        styles.write("1009,Men,Apparel,Topwear,Tshirts,Beige,Summer,2012,Casual,Worn by a model\n")
    cutouts = product_cutouts(folder, per_kind=10)
    assert sorted(KINDS[cutout.kind] for cutout in cutouts) == ["bottom"] * 4 + ["top"] * 4
    for cutout in cutouts:
        assert cutout.mask.shape == (cutout.image.height, cutout.image.width)
        assert 0.2 < cutout.mask.mean() < 0.3  # the blob is a quarter of its photo
    assert len(product_cutouts(folder, per_kind=1)) == 2  # one of each kind


def test_a_scene_labels_exactly_the_pasted_products_pixels_with_their_kind(tmp_path):
    cutouts = product_cutouts(make_dataset(tmp_path / "catalogue", n=6), per_kind=3)
    background = Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8))
    rng = np.random.default_rng(1)
    for _ in range(5):
        image, labels = scene(cutouts, [background], rng)
        assert max(image.size) == SCENE_SIDE and labels.size == image.size and labels.mode == "L"
        values = np.asarray(labels)
        kinds = set(np.unique(values)) - {0}
        assert kinds and kinds <= {KINDS.index("top"), KINDS.index("bottom")}
        pixels = np.asarray(image, np.int16)
        red = (np.abs(pixels - (200, 30, 30)).sum(axis=2) < 60) & (values > 0)
        assert (values[red] == KINDS.index("top")).mean() > 0.9  # a red Tshirt's pixels are a top's
    made = list(scenes(cutouts, [background], 3, seed=2))
    again = list(scenes(cutouts, [background], 3, seed=2))
    assert len(made) == 3 and all(np.array_equal(np.asarray(a[1]), np.asarray(b[1])) for a, b in zip(made, again))
    assert list(scenes([], [background], 3)) == []  # no products: no scenes
