"""What the pages draw, as plain functions: colours that can be told apart, boxes that stand out."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.components.layout import BOX_COLOURS, OTHER_COLOUR, PALETTE, contrasting_colour, legend_labels

pytestmark = pytest.mark.unit


def _distance(a: str, b: str) -> float:
    rgb = [np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], float) for colour in (a, b)]
    return float(np.linalg.norm(rgb[0] - rgb[1]))


def test_the_map_gives_each_label_in_its_legend_a_colour_of_its_own_and_groups_the_rest():
    """Topwear and Socks were both blue: a 20-colour palette paired light and dark shades."""
    names = [f"label {i}" for i in range(25)]
    labels, scale = legend_labels(np.arange(25), names)
    colours = scale.to_dict()["range"]
    assert len(set(colours)) == len(colours) == len(PALETTE) + 1 and colours[-1] == OTHER_COLOUR
    assert min(_distance(a, b) for i, a in enumerate(colours) for b in colours[i + 1:]) > 60
    assert labels[-1] == "other (15 more)" and labels[0] == "label 0"


@pytest.mark.parametrize("garment", [(200, 30, 30), (30, 60, 200), (250, 250, 250), (20, 20, 20), (240, 210, 0)])
def test_a_garments_box_is_drawn_in_the_colour_farthest_from_the_garment(garment):
    """The selected box was drawn in red over red trousers."""
    photo = Image.new("RGB", (100, 200), (128, 128, 128))
    photo.paste(garment, (20, 50, 80, 190))
    colour = contrasting_colour(photo, (20, 50, 80, 190))
    assert colour in BOX_COLOURS
    assert np.linalg.norm(np.subtract(colour, garment)) == max(np.linalg.norm(np.subtract(c, garment))
                                                               for c in BOX_COLOURS)
    assert np.linalg.norm(np.subtract(colour, garment)) > 150


def test_the_page_icon_is_a_file_of_the_app_not_a_cdn_address():
    """A Material icon as page icon made the browser fetch it from fonts.gstatic.com: an error offline."""
    from pathlib import Path

    project = Path(__file__).resolve().parents[2]
    entry = (project / "streamlit_app.py").read_text()
    assert 'page_icon=str(Path(__file__).parent / "app" / "icon.png")' in entry and ":material/checkroom:" not in entry
    with Image.open(project / "app" / "icon.png") as icon:
        assert icon.format == "PNG" and min(icon.size) >= 32
