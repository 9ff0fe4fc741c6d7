"""Decoding hostile and unusual images: a correct image or a clear one-line message, never a traceback."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from recommender.data.images import ImageError, decode_image, to_model_input
from tests.factories import BAD, GOOD, PHOTO, exif_rotated_jpeg, product_photo

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("name", GOOD)
def test_supported_inputs_decode_to_rgb(name):
    image = decode_image(GOOD[name])
    assert image.mode == "RGB" and min(image.size) >= 1
    assert to_model_input(image).shape == (224, 224, 3)


@pytest.mark.parametrize("name", BAD)
def test_bad_inputs_get_a_one_line_message(name):
    data, expected = BAD[name]
    with pytest.raises(ImageError) as caught:
        decode_image(data)
    message = str(caught.value)
    assert expected in message and "\n" not in message and len(message) < 200


def test_transparency_is_flattened_onto_white():
    image = decode_image(GOOD["png with alpha"])
    assert image.getpixel((0, 0)) == (255, 255, 255)


def test_sixteen_bit_range_is_scaled_not_clipped():
    values = np.asarray(decode_image(GOOD["16-bit png"]))[..., 0]
    assert values.max() == 255 and len(np.unique(values)) > 100


def test_animated_gif_uses_its_first_frame():
    pixels = np.asarray(decode_image(GOOD["animated gif"])).reshape(-1, 3)
    assert pixels[:, 0].max() > 150  # the red product of frame 1
    assert not ((pixels[:, 1] > 150) & (pixels[:, 0] < 50)).any()  # no green product from frame 2


def test_exif_rotation_is_honoured():
    image = decode_image(exif_rotated_jpeg())
    assert image.size == (40, 80)  # portrait once rotated
    top, bottom = np.asarray(image)[10, 20], np.asarray(image)[70, 20]
    # Orientation 6 is a 90-degree clockwise turn: the red left half ends on top.
    assert top[1] < 60 and bottom[1] > 200


def test_size_limit_is_enforced_before_decoding():
    with pytest.raises(ImageError, match="limit"):
        decode_image(GOOD["jpeg"], max_bytes=100)


def test_missing_file_is_a_clear_message(tmp_path):
    with pytest.raises(ImageError, match="could not be read"):
        decode_image(tmp_path / "nope.jpg")


@pytest.mark.parametrize("mode", ["pad", "squash"])
def test_model_input_is_224_square(mode):
    array = to_model_input(product_photo(size=(60, 80)), mode=mode)
    assert array.shape == (224, 224, 3) and array.dtype == np.uint8


def test_padding_keeps_the_aspect_ratio_on_the_background_colour():
    array = to_model_input(Image.new("RGB", (60, 120), (250, 250, 250)))
    assert (array == 250).all()
    padded = to_model_input(product_photo(size=(60, 120), background=(240, 240, 240)))
    assert (padded[:, :50] == 240).all() and (padded[:, -50:] == 240).all()  # margins left and right


def test_unknown_resize_mode_is_refused():
    with pytest.raises(ValueError, match="Expected mode"):
        to_model_input(PHOTO, mode="crop")


def test_a_file_that_cannot_be_read_is_named_in_the_message(tmp_path):
    for path, why in ((tmp_path / "nonexistent.jpg", "could not be read"), (tmp_path / "notes.jpg", "not an image")):
        if path.name == "notes.jpg":
            path.write_text("not a photo")
        with pytest.raises(ImageError) as caught:
            decode_image(path)
        assert str(caught.value).startswith(f"{path}: ") and why in str(caught.value)
