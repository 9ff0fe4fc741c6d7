"""The garment finder: its geometry and regions on made-up composites (unit), its training on a made-up
street folder (fast), and on real street photos with annotated boxes (slow, from ../shared)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from recommender.garments.finder import (
    MAP_STRIDE,
    Garment,
    GarmentFinder,
    finder_input,
    garment_photo,
)
from recommender.garments.kinds import KINDS
from recommender.garments.parser import GarmentParser
from recommender.search.look import searched_whole
from recommender.training.finder import cell_targets

RED, BLUE, WHITE = (200, 30, 30), (30, 30, 200), (255, 255, 255)


def composite() -> Image.Image:
    """A made-up street photo: a red top over blue trousers on white, 300 wide, 400 tall."""
    image = Image.new("RGB", (300, 400), WHITE)
    image.paste(RED, (80, 50, 220, 210))
    image.paste(BLUE, (100, 210, 200, 380))
    return image


def colour_map(batch: np.ndarray) -> np.ndarray:
    """A stand-in for the stride-16 map: each cell's mean colour in three of 1024 channels (deterministic)."""
    n, height, width, _ = batch.shape
    cells = batch.reshape(n, height // MAP_STRIDE, MAP_STRIDE, width // MAP_STRIDE, MAP_STRIDE, 3).mean(axis=(2, 4))
    out = np.zeros((n, height // MAP_STRIDE, width // MAP_STRIDE, 1024), np.float32)
    out[..., :3] = cells / 255.0
    return out


def colour_parser() -> GarmentParser:
    """Red cells are tops, blue cells bottoms, the rest background: a parser written by hand."""
    hidden = np.zeros((1024, 2), np.float32)
    hidden[0, 0], hidden[2, 0] = 1.0, -1.0  # red minus blue
    hidden[2, 1], hidden[0, 1] = 1.0, -1.0  # blue minus red
    out = np.zeros((2, len(KINDS)), np.float32)
    out[0, KINDS.index("top")] = out[1, KINDS.index("bottom")] = 20.0
    bias = np.zeros(len(KINDS), np.float32)
    bias[0] = 3.0  # background unless a colour says otherwise
    return GarmentParser(((hidden[None, None], np.array([-0.3, -0.3], np.float32)), (out[None, None], bias)),
                         {"by": "hand"})


def worn_parser() -> GarmentParser:
    """:func:`colour_parser`, and green cells are the wearer (skin and hair)."""
    (hidden_by_hand, _), (out_by_hand, out_bias) = colour_parser().layers
    hidden = np.zeros((1, 1, 1024, 3), np.float32)
    hidden[..., :2] = hidden_by_hand
    hidden[0, 0, 1, 2], hidden[0, 0, 0, 2] = 1.0, -1.0  # green minus red
    out = np.zeros((1, 1, 3, len(KINDS)), np.float32)
    out[:, :, :2] = out_by_hand
    out[0, 0, 2, KINDS.index("person")] = 20.0
    return GarmentParser(((hidden, np.full(3, -0.3, np.float32)), (out, out_bias)), {"by": "hand"})


def street_scene() -> bytes:
    """A made-up worn look in a real scene for :func:`worn_parser`, as PNG bytes: a green wearer in a red top
    (80, 60, 220, 210) and blue trousers (100, 210, 200, 380) on a noisy background, 300 wide, 400 tall."""
    import io

    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, size=(400, 300, 3), dtype=np.uint8))
    image.paste((30, 200, 30), (110, 0, 190, 60))  # the wearer's head
    image.paste(RED, (80, 60, 220, 210))
    image.paste(BLUE, (100, 210, 200, 380))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.unit
def test_the_finder_fits_a_photo_to_multiples_of_16_keeping_its_shape():
    from recommender.garments.finder import FINDER_SIZE

    array, (width, height) = finder_input(composite())  # 300 x 400
    assert (height, width) == (FINDER_SIZE, FINDER_SIZE * 3 // 4) and array.shape == (height, width, 3)
    array, (width, height) = finder_input(Image.new("RGB", (1000, 130)))
    assert width == FINDER_SIZE and height == round(130 * FINDER_SIZE / 1000)
    assert array.shape == (-(-height // 16) * 16, FINDER_SIZE, 3)  # padded below, not stretched


@pytest.mark.unit
def test_the_finder_boxes_each_garment_most_prominent_first():
    found = GarmentFinder(colour_map, colour_parser()).find(composite())
    assert [garment.kind for garment in found] == ["top", "bottom"]
    top, bottom = (garment.box for garment in found)
    assert top == pytest.approx((0.27, 0.125, 0.73, 0.525), abs=0.06)
    assert bottom == pytest.approx((0.33, 0.525, 0.67, 0.95), abs=0.06)
    assert all(0.5 < garment.score <= 1 for garment in found) and found[0].label == "Top"
    survey = GarmentFinder(colour_map, colour_parser()).survey(composite())
    assert survey.garments == found and survey.person == 0.0 and survey.plain_background
    assert searched_whole(survey)  # a made-up studio shot with no wearer: searched whole
    assert GarmentFinder(colour_map, colour_parser()).find(Image.new("RGB", (200, 200), WHITE)) == []


@pytest.mark.unit
def test_a_garment_becomes_a_catalogue_like_photo_with_a_margin_and_optionally_white_around_it():
    image = composite()
    garment = GarmentFinder(colour_map, colour_parser()).find(image)[0]
    photo = garment_photo(image, garment)
    left, top, right, bottom = garment.box
    assert photo.size[0] == pytest.approx(300 * (right - left) * 1.16, abs=3)
    blanked = np.asarray(garment_photo(image, garment, blank=True))
    assert tuple(blanked[-1, -1]) == WHITE  # the trousers below the top are painted out
    assert (blanked.reshape(-1, 3) == RED).all(axis=1).mean() > 0.4


@pytest.mark.unit
def test_cell_targets_are_each_cells_share_of_every_kind():
    labels = np.zeros((32, 48), np.uint8)
    labels[:16, :24] = 7  # value 7 names a garment of kind "bag" in this made-up table
    lookup = np.zeros(256, np.int64)
    lookup[7] = KINDS.index("bag")
    targets = cell_targets(Image.fromarray(labels), lookup, (48, 32), (32, 48))
    assert targets.shape == (2, 3, len(KINDS))
    assert targets[0, 0, KINDS.index("bag")] == 1.0 and targets[0, 1, KINDS.index("bag")] == 0.5
    assert targets[1, :, 0].tolist() == [1.0, 1.0, 1.0]
    np.testing.assert_allclose(targets.sum(axis=-1), 1.0)


@pytest.mark.unit
def test_a_saved_parser_loads_and_one_of_other_kinds_is_refused(tmp_path):
    parser = colour_parser()
    parser.save(tmp_path / "parser.npz")
    loaded = GarmentParser.load(tmp_path / "parser.npz")
    for (kernel, bias), (saved_kernel, saved_bias) in zip(loaded.layers, parser.layers, strict=True):
        np.testing.assert_array_equal(kernel, saved_kernel)
        np.testing.assert_array_equal(bias, saved_bias)
    assert loaded.record == {"by": "hand"}
    arrays = dict(np.load(tmp_path / "parser.npz"))
    np.savez(tmp_path / "other.npz", **{**arrays, "kinds": np.array(["background", "shirt"])})
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(ValueError, match="other garment kinds"):
        GarmentParser.load(tmp_path / "other.npz")
    # A parser of the earlier design (one layer of cells read alone, other names) is refused, not misread.
    np.savez(tmp_path / "earlier.npz", kinds=np.array(KINDS), hidden_weights=np.zeros((1024, 2)),
             out_weights=np.zeros((2, len(KINDS))))
    (tmp_path / "earlier.json").write_text("{}")
    with pytest.raises(ValueError, match="earlier version of the finder: train the finder again"):
        GarmentParser.load(tmp_path / "earlier.npz")


@pytest.mark.unit
def test_the_parser_reads_each_cell_with_its_neighbours_as_a_same_padded_convolution():
    """A 3x3 layer of the numpy parser computes what Keras' Conv2D(padding="same") computes (cross-correlation,
    zeros around the map), so a trained parser reads a map as it was trained."""
    rng = np.random.default_rng(0)
    feature_map = rng.normal(size=(4, 5, 1024)).astype(np.float32)
    kernel = rng.normal(size=(3, 3, 1024, len(KINDS))).astype(np.float32)
    parser = GarmentParser(((kernel, np.zeros(len(KINDS), np.float32)),), {})
    padded = np.pad(feature_map, ((1, 1), (1, 1), (0, 0)))
    expected = np.array([[np.tensordot(padded[y:y + 3, x:x + 3], kernel, axes=3) for x in range(5)]
                         for y in range(4)])
    expected = np.exp(expected - expected.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(parser.probabilities(feature_map), expected / expected.sum(-1, keepdims=True),
                               rtol=1e-4, atol=1e-6)


@pytest.mark.unit
def test_only_a_worn_look_in_a_real_scene_is_searched_garment_by_garment():
    from recommender.garments.finder import Survey

    shirt = Garment((0.05, 0.05, 0.95, 0.95), "top", 0.9, 0.6, np.zeros((1, 1), bool))
    bag = Garment((0.6, 0.5, 0.7, 0.6), "bag", 0.7, 0.01, np.zeros((1, 1), bool))
    assert searched_whole(Survey([shirt], 0.1, False)) and searched_whole(Survey([], 0.1, False))
    assert not searched_whole(Survey([shirt, bag], 0.1, False))
    assert searched_whole(Survey([shirt, bag], 0.0, False))  # nobody wears them: a garment on a bed
    assert searched_whole(Survey([shirt, bag], 0.1, True))  # a studio backdrop: a catalogue shot


def make_street_folder(root):
    """A made-up street folder in clothing-co-parsing's layout: composites and their label maps."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "labels.csv").write_text("value,name\n0,null\n1,skin\n2,shirt\n3,jeans\n")
    for i in range(4):
        image = composite().rotate(0, translate=(10 * i, 0), fillcolor=WHITE)
        image.save(root / "images" / f"{4000 + i}.jpg")
        labels = np.zeros((400, 300), np.uint8)
        labels[50:210, 80 + 10 * i:220 + 10 * i] = 2
        labels[210:380, 100 + 10 * i:200 + 10 * i] = 3
        Image.fromarray(labels).save(root / "labels" / f"{4000 + i}.png")
    return root


def test_the_parser_trains_on_a_street_folder_and_is_saved_where_the_finder_looks(random_weights, tmp_path,
                                                                                   monkeypatch):
    from recommender.features.runtimes import load_map_network
    from recommender.garments.finder import finder_path, load_finder
    from recommender.training.finder import train_parser

    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path / "cache"))
    street = make_street_folder(tmp_path / "street")
    before = sorted((path.name, path.read_bytes()) for path in street.rglob("*") if path.is_file())
    lines = []
    train_parser(street, load_map_network(random_weights, "tensorflow"), random_weights, epochs=2, progress=False,
                 log=lines.append)
    assert finder_path(random_weights.sha256).is_file() and lines[-1].startswith("Garment parser saved to")
    elsewhere = tmp_path / "elsewhere" / "parser.npz"
    elsewhere.parent.mkdir()
    orphan = elsewhere.parent / ".parser.npz.999999999-0a1b2c3d.partial.train-maps"  # a killed training's
    orphan.write_bytes(b"\0" * 64)
    train_parser(street, load_map_network(random_weights, "tensorflow"), random_weights, epochs=1, progress=False,
                 path=elsewhere)
    assert elsewhere.is_file()
    # The maps were streamed through scratch files beside the parser, removed once it is trained.
    assert sorted(path.name for path in elsewhere.parent.iterdir()) == ["parser.json", "parser.npz"]
    assert sorted((path.name, path.read_bytes()) for path in street.rglob("*") if path.is_file()) == before
    finder = load_finder(random_weights, "tensorflow")
    assert finder.parser.record["photos"] == 4 and finder.parser.record["folder"] == str(tmp_path / "street")
    assert all(garment.kind in KINDS[2:] for garment in finder.find(composite()))


def test_the_parser_also_learns_catalogue_products_pasted_onto_scenes(random_weights, tmp_path):
    from recommender.features.runtimes import load_map_network
    from recommender.training.finder import train_parser
    from tests.factories import make_dataset

    street = make_street_folder(tmp_path / "street")
    catalogue = make_dataset(tmp_path / "catalogue", n=6)
    lines = []
    parser = train_parser(street, load_map_network(random_weights, "tensorflow"), random_weights, products=catalogue,
                          scene_count=3, epochs=1, progress=False, path=tmp_path / "parser.npz", log=lines.append)
    assert parser.record["photos"] == 4 and parser.record["scenes"] == 3
    assert parser.record["products"] == str(catalogue)
    assert lines[0].startswith("4 photos (and each mirrored) and 3 pasted scenes, ")
    alone = train_parser(street, load_map_network(random_weights, "tensorflow"), random_weights, epochs=1,
                         progress=False, path=tmp_path / "alone.npz")
    assert alone.record["scenes"] == 0 and alone.record["products"] is None
    assert alone.record["cells"] < parser.record["cells"]


@pytest.fixture(scope="module")
def real_finder(weights, tmp_path_factory):
    """A finder trained on 150 of the shared street photos for 20 epochs (into a temporary file), or skip."""
    from recommender.data.locate import SHARED_DATASETS

    SHARED_STREET = SHARED_DATASETS / "shopper-photos-train" / "street"  # the shared copy, whatever the setting
    from recommender.features.runtimes import load_map_network
    from recommender.training.finder import train_parser

    if not (SHARED_STREET / "labels.csv").is_file():
        pytest.skip(f"no street photos with garment labels at {SHARED_STREET}")
    path = tmp_path_factory.mktemp("finder") / "garment-parser.npz"  # never the user's own finder
    map_network = load_map_network(weights, "openvino")
    train_parser(SHARED_STREET, map_network, weights, limit=150, epochs=20, progress=False, path=path)
    return GarmentFinder(map_network, GarmentParser.load(path))


@pytest.mark.slow
def test_the_trained_finder_boxes_the_big_garments_of_real_street_photos(real_finder):
    """Real street photos of the development set (never trained on) with annotated boxes: the finder finds most
    of their big garments (dresses, tops, trousers) at IoU >= 0.5, and boxes nothing on a plain studio shot."""
    import pandas as pd

    from benchmarks.garments import SHARED
    from recommender.data.images import box_iou, decode_image
    from recommender.garments.kinds import kind_of_article_type

    if not (SHARED / "garments.csv").is_file():
        pytest.skip(f"no annotated shoppers' photos at {SHARED}")
    garments = pd.read_csv(SHARED / "garments.csv", dtype={"id": str})
    big = garments[garments["area_fraction"] > 0.08].head(40)
    found = 0
    for _, garment in big.iterrows():
        image = decode_image(SHARED / "images" / f"{garment['id']}.jpg")
        width, height = image.size
        box = (garment["x0"] / width, garment["y0"] / height, garment["x1"] / width, garment["y1"] / height)
        kind = kind_of_article_type(garment["articleType"])
        found += any(kind in candidate.kinds and box_iou(box, candidate.box) >= 0.5
                     for candidate in real_finder.find(image))
    assert found >= 0.5 * len(big), f"{found} of {len(big)} big garments found"


def test_each_labelled_street_garment_is_cut_out_once_as_a_typed_photo(tmp_path, monkeypatch):
    import pandas as pd

    from recommender.training.finder import street_garment_photos

    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path / "cache"))
    street = make_street_folder(tmp_path / "street")
    lines = []
    out = street_garment_photos(street, log=lines.append)
    styles = pd.read_csv(out / "styles.csv")
    assert sorted(styles["articleType"]) == ["Jeans"] * 4 + ["Shirts"] * 4  # skin and null teach no type
    assert all((out / "images" / f"{item}.jpg").is_file() for item in styles["id"])
    assert lines == [f"8 garments cut out of 4 street photos into {out}."]
    assert street_garment_photos(street, log=lines.append) == out and len(lines) == 1  # made once


@pytest.mark.unit
def test_one_garment_cut_in_two_by_a_strap_is_one_garment():
    image = Image.new("RGB", (300, 400), WHITE)
    image.paste(RED, (80, 50, 220, 210))
    image.paste(WHITE, (80, 120, 220, 136))  # a strap across the top, one map cell high
    image.paste(BLUE, (100, 210, 200, 380))
    found = GarmentFinder(colour_map, colour_parser()).find(image)
    assert [garment.kind for garment in found] == ["top", "bottom"]


@pytest.mark.unit
def test_a_garments_colour_is_read_from_its_own_pixels_not_the_scene_around_it():
    import io

    from recommender.data.colour import colour_signature
    from recommender.garments.finder import garment_colour

    image = Image.open(io.BytesIO(street_scene())).convert("RGB")
    top = GarmentFinder(colour_map, worn_parser()).find(image)[0]
    red = colour_signature(Image.new("RGB", (60, 80), RED))
    assert top.kind == "top"
    own, cropped = float(garment_colour(image, top) @ red), float(colour_signature(garment_photo(image, top)) @ red)
    assert own > 0.93 and own - cropped > 0.05  # its crop holds some of the noisy scene too


@pytest.mark.unit
def test_one_garment_read_as_two_kinds_is_offered_once_and_keeps_both_kinds():
    from recommender.garments.finder import _one_per_garment

    cells = np.zeros((1, 1), bool)
    jacket = Garment((0.30, 0.20, 0.70, 0.50), "outerwear", 0.7, 0.10, cells)
    top = Garment((0.32, 0.20, 0.70, 0.48), "top", 0.6, 0.06, cells)  # the same garment, partly read as a top
    bag = Garment((0.60, 0.50, 0.75, 0.65), "bag", 0.8, 0.02, cells)
    found = _one_per_garment([top, bag, jacket])
    assert [garment.kind for garment in found] == ["outerwear", "bag"]
    assert found[0].kinds == ("outerwear", "top") and found[0].box == jacket.box and found[1].kinds == ("bag",)
