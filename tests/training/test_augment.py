"""Phone-like copies of studio photos: real backgrounds cut from labelled street photos, and the copies."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from recommender.training.augment import PATCH_BACKGROUND_SHARE, background_patches, phone_like
from tests.garments.test_finder import make_street_folder


def _studio_shot() -> Image.Image:
    image = Image.new("RGB", (60, 80), (255, 255, 255))
    image.paste((200, 30, 30), (15, 10, 45, 70))
    return image


@pytest.mark.unit
def test_background_patches_are_pieces_of_the_street_photos_with_no_one_in_them(tmp_path):
    street = make_street_folder(tmp_path / "street")
    patches = background_patches(street, count=10, seed=0)
    assert 1 <= len(patches) <= 10
    for patch in patches:  # the made-up photos are white where the label map says background
        white = (np.asarray(patch) > 240).all(axis=2).mean()
        assert white >= PATCH_BACKGROUND_SHARE - 0.05 and patch.width >= 300 // 4
    assert [p.tobytes() for p in background_patches(street, count=10, seed=0)] == [p.tobytes() for p in patches]


@pytest.mark.unit
def test_a_phone_like_copy_keeps_the_product_and_is_the_same_for_the_same_seed():
    scene = Image.fromarray(np.random.default_rng(1).integers(0, 256, (120, 90, 3), dtype=np.uint8))
    copies = [phone_like(_studio_shot(), np.random.default_rng(seed), [scene]) for seed in range(20)]
    assert all(copy.mode == "RGB" and min(copy.size) >= 20 for copy in copies)
    reddish = [((np.asarray(copy)[..., 0].astype(int) - np.asarray(copy)[..., 2]) > 60).mean() for copy in copies]
    assert min(reddish) > 0.05  # the product is still there, whatever was done to it
    assert len({copy.tobytes() for copy in copies}) == 20  # each copy its own
    again = phone_like(_studio_shot(), np.random.default_rng(3), [scene])
    assert again.tobytes() == copies[3].tobytes()
    # Some copies lie on the real background: their border is the scene's, not the studio white.
    assert any(np.asarray(copy)[0].mean() < 200 for copy in copies)


@pytest.mark.unit
def test_a_white_product_on_white_is_never_cut_out():
    blank = Image.new("RGB", (60, 80), (255, 255, 255))
    scene = Image.new("RGB", (90, 120), (10, 10, 10))
    copies = [phone_like(blank, np.random.default_rng(seed), [scene]) for seed in range(10)]
    assert all(np.asarray(copy).mean() > 100 for copy in copies)  # never a black scene with nothing on it
