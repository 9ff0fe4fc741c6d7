"""The dashboard, page by page, with Streamlit's AppTest on the synthetic catalogue (fast tier).

The catalogue holds red T-shirts and blue jeans, embedded by ResNet50 with
random weights, plus a trained fashion space and its saved evaluations.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from recommender import load_artifacts
from tests.factories import BAD, SYNTHETIC_SIZE, make_dataset

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
TIMEOUT = 120


@pytest.fixture
def app(synthetic_env):
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def _photo(root: Path, row: int = 0) -> bytes:
    artifacts = load_artifacts(root)
    return (artifacts.manifest.dataset / artifacts.metadata["image"].iloc[row]).read_bytes()


def _upload(at: AppTest, data: bytes, name: str = "photo.jpg") -> AppTest:
    uploader = next(u for u in at.get("file_uploader") if u.key.startswith("upload-"))
    return uploader.set_value((name, data, "image/jpeg")).run()


def _image_captions(at: AppTest) -> list[str]:
    return [caption for element in at.get("image") for caption in element.captions]


def _result_count(at: AppTest) -> int:
    return sum(1 for button in at.button if button.label == "More like this")


def test_upload_shows_k_results_and_the_slider_changes_k(app, synthetic_env):
    assert not app.exception and "Upload a JPEG" in app.info[0].value
    _upload(app, _photo(synthetic_env))
    assert not app.exception and not app.error
    assert _result_count(app) == 5 and app.subheader[0].value == "5 most similar products"
    app.slider(key="k").set_value(10).run()
    assert _result_count(app) == 10


def test_the_sidebar_names_the_build_shown(app, synthetic_env):
    build_id = load_artifacts(synthetic_env).build_id
    assert any(build_id in caption.value and f"{SYNTHETIC_SIZE} products" in caption.value
               for caption in app.sidebar.caption)


def test_the_model_box_reads_whole_and_says_which_model_each_kind_of_photo_gets(synthetic_env, tmp_path,
                                                                             monkeypatch):
    """"Automatic: fashion-real, wor..." was cut by the sidebar's width."""
    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_env, root)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest.update(default_space="fashion", worn_space="imagenet")  # two models, one per kind of photo
    (root / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("RECOMMENDER_ARTIFACTS", str(root))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    box = at.sidebar.selectbox(key="space")
    assert box.value is None and len(box.format_func(None)) <= 20  # fits the sidebar
    assert any("Photos of a product: **fashion**" in caption.value and "Garments people wear: **imagenet**"
               in caption.value for caption in at.sidebar.caption)


def test_a_non_image_upload_is_a_message_and_the_next_upload_works(app, synthetic_env):
    _upload(app, b"just text", "notes.jpg")
    assert not app.exception
    assert "cannot be used" in app.error[0].value and _result_count(app) == 0
    _upload(app, _photo(synthetic_env, 3))
    assert not app.exception and not app.error and _result_count(app) == 5


def test_a_photo_too_small_to_read_is_refused_with_its_size(app):
    """A 1x1 PNG was read as "Shirts 39% · Red 96%"."""
    _upload(app, BAD["1x1 png"][0], "pixel.png")
    assert not app.exception and _result_count(app) == 0
    assert "1x1 pixels, too small to tell what it shows" in app.error[0].value


def test_more_like_this_searches_with_that_product_and_empties_the_uploader(app, synthetic_env):
    _upload(app, _photo(synthetic_env))
    first = next(button for button in app.button if button.label == "More like this")
    first.click().run()
    assert not app.exception and app.session_state["query_id"]
    assert _result_count(app) == 5
    uploader = next(u for u in app.get("file_uploader") if u.key.startswith("upload-"))
    assert uploader.key == "upload-1" and not uploader.value  # a fresh, empty uploader
    assert app.button(key="clear-query").label == "Clear"


def test_a_crop_changes_the_query_and_is_cached_with_it(app, synthetic_env):
    # A wide photo: a red T-shirt on the left half, a blue one on the right.
    left = Image.open(io.BytesIO(_photo(synthetic_env, 0))).convert("RGB")
    right = Image.open(io.BytesIO(_photo(synthetic_env, 1))).convert("RGB")
    wide = Image.new("RGB", (left.width * 2, left.height), "white")
    wide.paste(left, (0, 0))
    wide.paste(right, (left.width, 0))
    buffer = io.BytesIO()
    wide.save(buffer, "JPEG", quality=95)
    _upload(app, buffer.getvalue(), "street.jpg")
    whole = app.caption.values
    app.slider(key="crop-upload-x").set_value((0, 50)).run()
    assert not app.exception and _result_count(app) == 5
    left_half = app.caption.values
    app.slider(key="crop-upload-x").set_value((50, 100)).run()
    right_half = app.caption.values
    assert left_half != right_half and whole != left_half
    assert sum("Tshirts" in c for c in left_half) >= sum("Tshirts" in c for c in right_half)


def test_an_empty_crop_is_a_warning_not_a_crash(app, synthetic_env):
    _upload(app, _photo(synthetic_env))
    app.slider(key="crop-upload-y").set_value((40, 40)).run()
    assert not app.exception and "crop is empty" in app.warning[0].value and _result_count(app) == 5


def test_changing_trees_and_filters_searches_again(app, synthetic_env):
    _upload(app, _photo(synthetic_env))
    app.select_slider(key="n_trees").set_value(10).run()
    assert not app.exception and _result_count(app) == 5
    assert list(synthetic_env.glob("annoy-*-t10.ann"))
    app.multiselect(key="filter-articleType").set_value(["Jeans"]).run()
    assert not app.exception and _result_count(app) == 5
    kinds = [c.split(" · ")[0] for c in app.caption.values if " · d = " in c]
    assert kinds == ["Jeans"] * 5


def test_the_tradeoff_chart_marks_the_current_setting(app, synthetic_env):
    _upload(app, _photo(synthetic_env))
    space = app.selectbox(key="space").value
    tuned = load_artifacts(synthetic_env).manifest.tuned_search_k(space)
    assert app.number_input(key=f"search_k-{space}").value == tuned  # the catalogue's own default
    assert any(c.startswith(f"For this catalogue, search_k {tuned:,} is the smallest") for c in app.caption.values)
    app.select_slider(key="n_trees").set_value(50).run()
    app.number_input(key=f"search_k-{space}").set_value(5000).run()
    assert app.get("vega_lite_chart")
    assert any("Your setting (50 trees, search_k 5,000) is the black diamond" in c for c in app.caption.values)


def test_explorer_draws_the_map_and_a_pick_shows_neighbours(app, synthetic_env):
    app.switch_page("app/pages/explorer.py").run()
    assert not app.exception
    assert app.get("vega_lite_chart")
    picked = load_artifacts(synthetic_env).metadata["id"].iloc[5]
    app.text_input(key="pick-id").input(picked).run()
    assert not app.exception
    assert any(header.value.startswith("Nearest to") for header in app.subheader)
    app.selectbox(key="colour-by").set_value("baseColour").run()
    assert not app.exception


def test_explorer_a_name_search_then_a_dragged_rectangle_lists_the_region(app, synthetic_env):
    """The region's listing after a name search (the page once indexed the name matches as label names)."""
    from recommender import catalogue_map

    artifacts = load_artifacts(synthetic_env)
    space = artifacts.manifest.searched_space
    points = catalogue_map(artifacts, space=space, method="pca")
    app.switch_page("app/pages/explorer.py").run()
    app.text_input(key="pick-name").input("Product 1").run()
    assert not app.exception and any(h.value.startswith("Nearest to") for h in app.subheader)
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    app.session_state[f"map-{space}-pca-0"] = {"selection": {"region": {"x": [x0 - 1, x1 + 1], "y": [y0 - 1, y1 + 1]}}}
    app.run()
    assert not app.exception
    assert any(h.value.startswith(f"{SYNTHETIC_SIZE} products in the selected region") for h in app.subheader)
    counts = app.dataframe[0].value
    assert counts.sum().iloc[0] == SYNTHETIC_SIZE and set(counts.index) <= {"Topwear", "(unknown)"}


def test_explorer_zoomed_in_draws_photos_and_the_whole_map_comes_back(app, synthetic_env):
    from recommender import catalogue_map, resolve_weights, served_version

    artifacts = load_artifacts(synthetic_env)
    space = artifacts.manifest.searched_space
    x, y = catalogue_map(artifacts, space=space, method="pca")[0]
    app.switch_page("app/pages/explorer.py").run()
    assert any(f"space: {SYNTHETIC_SIZE} products. Each drawn as its photo." in c.value for c in app.caption)
    # A zoom as the "Zoom in to the rectangle" button leaves it: a tight box around one product.
    version = served_version(synthetic_env, resolve_weights(None).sha256)  # what the pages key their state by
    app.session_state[f"map-zoom-{version}-{space}-pca"] = [(x - 1e-3, x + 1e-3, y - 1e-3, y + 1e-3)]
    app.run()
    assert not app.exception
    assert any(f"zoomed in: 1 product of {SYNTHETIC_SIZE} here. Each drawn as its photo." in c.value
               for c in app.caption)
    assert app.get("vega_lite_chart") and "data:image/jpeg;base64," in str(app.get("vega_lite_chart")[0].proto)
    app.button(key="whole-map").click().run()
    assert any(f"space: {SYNTHETIC_SIZE} products." in c.value for c in app.caption)


def test_explorer_tsne_is_computed_in_the_background_and_saved(app, synthetic_env):
    app.switch_page("app/pages/explorer.py").run()
    app.radio(key="method").set_value("tsne").run()
    assert not app.exception and app.get("vega_lite_chart")  # a map at once (PCA while t-SNE runs)
    for _ in range(60):
        if list(synthetic_env.glob("map-*-tsne.npy")):
            break
        import time

        time.sleep(0.5)
    assert list(synthetic_env.glob("map-*-tsne.npy"))


def test_evaluation_page_shows_the_saved_comparison_and_both_models(app):
    app.switch_page("app/pages/evaluation.py").run()
    assert not app.exception and not app.info
    goals = app.dataframe[0].value
    assert set(goals["met"]) <= {"met", "not met"} and len(goals) == 3  # one row per P@5 goal
    headline = app.dataframe[1].value
    assert set(headline.columns) >= {"ImageNet features, 20% held out", "fashion model, 20% held out"}
    assert "articleType P@5" in headline.index and headline.notna().all().all()
    assert set(app.dataframe[2].value.index) == {"Tshirts", "Jeans"}
    assert [h.value for h in app.subheader][-2:] == ["Model: imagenet", "Model: fashion"]


def test_evaluation_page_shows_the_robustness_table_of_an_evaluation(synthetic_env, random_weights, tmp_path,
                                                                      monkeypatch):
    from recommender import Recommender
    from recommender.evaluation.protocols import evaluation_splits, holdout_evaluation
    from recommender.evaluation.results import save_evaluation
    from recommender.evaluation.robustness import PERTURBATIONS, robustness_evaluation

    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_env, root)
    monkeypatch.setenv("RECOMMENDER_ARTIFACTS", str(root))
    recommender, artifacts = Recommender.load(root, weights=random_weights), load_artifacts(root)
    result = holdout_evaluation(artifacts, 0.2, space="fashion")
    queries = evaluation_splits(artifacts, 0.2, space="fashion").random
    result["robustness"] = robustness_evaluation(artifacts, recommender.queries, queries, ~queries, space="fashion",
                                                 count=4)
    save_evaluation(root, recommender.catalogue.build_id, result)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("app/pages/evaluation.py").run()
    assert not at.exception and "Photos shoppers take" in [h.value for h in at.subheader]
    table = next(frame.value for frame in at.dataframe if "drop (points)" in frame.value.columns)
    assert len(table) == len(PERTURBATIONS) + 1 and table["drop (points)"].iloc[0] == 0


def test_evaluation_page_shows_a_folder_of_photos_by_kind_of_query(synthetic_env, random_weights, tmp_path,
                                                                   monkeypatch):
    from recommender.evaluation.protocols import photo_queries_evaluation
    from recommender.evaluation.query_folders import PHOTO, embed_folder
    from recommender.evaluation.results import save_evaluation
    from recommender.store.manifest import read_manifest
    from recommender.store.predictor import catalogue_extractor
    from tests.factories import make_dataset

    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_env, root)
    monkeypatch.setenv("RECOMMENDER_ARTIFACTS", str(root))
    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path / "cache"))
    artifacts = load_artifacts(root)
    photos = embed_folder(catalogue_extractor(root, read_manifest(root), weights=random_weights),
                          make_dataset(tmp_path / "phone", n=6))
    save_evaluation(root, artifacts.build_id, photo_queries_evaluation(artifacts, photos, space="fashion"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("app/pages/evaluation.py").run()
    assert not at.exception and "Shoppers' photos, by kind of query" in [h.value for h in at.subheader]
    table = next(frame.value for frame in at.dataframe if "95% interval" in frame.value.columns)
    assert table.index.tolist() == [PHOTO] and table.loc[PHOTO, "queries"] == 6
    assert table.loc[PHOTO, "space"] == "fashion"


def test_about_page_takes_its_figures_from_the_code(app, synthetic_env):
    from recommender import DEFAULT_N_TREES, DEFAULT_SEARCH_K, TARGET_RECALL, load_artifacts

    app.switch_page("app/pages/about.py").run()
    text = app.markdown[0].value
    assert not app.exception and f"({DEFAULT_SEARCH_K:,} where it was never measured)" in text
    assert f"default {DEFAULT_N_TREES})" in text and f"finds {TARGET_RECALL:.0%} of the exact" in text
    tuned = load_artifacts(synthetic_env).tuned_search_k(load_artifacts(synthetic_env).manifest.searched_space)
    assert any(f"search_k {tuned:,}." in caption for caption in app.caption.values)


def test_without_a_catalogue_the_app_says_how_to_build_one(tmp_path, monkeypatch, random_weights, synthetic_dataset):
    monkeypatch.setenv("RECOMMENDER_ARTIFACTS", str(tmp_path / "empty"))
    monkeypatch.setenv("RECOMMENDER_WEIGHTS", str(random_weights.path))
    monkeypatch.setenv("RECOMMENDER_DATASET", str(synthetic_dataset))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "No catalogue is built" in at.error[0].value
    assert "python -m recommender build" in at.info[0].value


def test_a_corrupt_catalogue_is_named_and_the_app_rebuilds_it(synthetic_artifacts, random_weights, tmp_path,
                                                              monkeypatch):
    copy = tmp_path / "artifacts"
    shutil.copytree(synthetic_artifacts, copy)
    vectors = copy / json.loads((copy / "manifest.json").read_text())["files"]["vectors"]["name"]
    vectors.write_bytes(vectors.read_bytes()[:1000])
    monkeypatch.setenv("RECOMMENDER_ARTIFACTS", str(copy))
    monkeypatch.setenv("RECOMMENDER_WEIGHTS", str(random_weights.path))
    monkeypatch.setenv("RECOMMENDER_DATASET", str(make_dataset(tmp_path / "small", n=8)))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert vectors.name in at.error[0].value and "truncated or corrupt" in at.error[0].value
    at.button(key="rebuild").click().run()
    assert not at.exception and not at.error
    assert "search 8 products" in at.info[0].value


def test_the_photo_is_read_as_a_type_and_another_type_is_one_click_away(app, synthetic_env):
    app.selectbox(key="space").set_value("fashion").run()
    _upload(app, _photo(synthetic_env))
    line = next(m.value for m in app.markdown if m.value.startswith("**Looks like:**"))
    assert line.count("%") == 2  # the likeliest type and colour
    alternatives = [b for b in app.button if b.key.startswith("search-within-") and b.key != "search-within-all"]
    assert len(alternatives) == 2  # the synthetic catalogue's two types
    other = alternatives[1]
    chosen = other.label.rsplit(" ", 1)[0]
    other.click().run()
    assert not app.exception and app.subheader[0].value.endswith(f"among {chosen}")
    assert all(caption.value.startswith(chosen) for caption in app.caption if " · d = " in caption.value)
    app.button(key="search-within-all").click().run()
    assert not app.subheader[0].value.endswith(f"among {chosen}")


def test_a_street_photo_shows_numbered_garments_and_each_chip_searches_its_own(synthetic_env, monkeypatch):
    from app.components import loaders
    from recommender.garments.finder import GarmentFinder
    from recommender.search import recommender as facade
    from tests.garments.test_finder import colour_map, street_scene, worn_parser

    monkeypatch.setattr(facade, "catalogue_finder", lambda *args, **kwargs: GarmentFinder(colour_map, worn_parser()))
    loaders.get_recommender.clear()  # a recommender of an earlier test loads its finder the usual way
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    uploader = next(u for u in at.get("file_uploader") if u.key.startswith("upload-"))
    uploader.set_value(("street.png", street_scene(), "image/png")).run()
    assert not at.exception and not at.error
    [chips] = at.pills
    assert chips.options == ["1 Top", "2 Trousers or skirt", "Whole photo"] and chips.value == 1
    assert chips.proto.HasField("wrap") and chips.proto.wrap  # six garments' chips were cut at the column's edge
    assert _image_captions(at)[0] == "Searching 1: Top"
    top_results = [caption.value for caption in at.caption]
    chips.set_value(2).run()
    assert not at.exception and _result_count(at) == 5
    assert _image_captions(at)[0] == "Searching 2: Trousers or skirt"
    assert [caption.value for caption in at.caption] != top_results  # another query, other results
    # The chip's query is searched within its kind, as the CLI's.
    build = (str(synthetic_env), load_artifacts(synthetic_env).build_id)
    assert [loaders.garment_query(street_scene(), n, *build).kinds for n in (1, 2)] == [("top",), ("bottom",)]
    loaders.get_recommender.clear()  # the next test's recommender finds no finder, as this machine has none


def test_a_search_rerun_decodes_the_upload_once_and_runs_the_head_once(synthetic_env, monkeypatch):
    """The Search page asks the package once per rerun: one decode of a new upload, one head pass for what
    it shows (the type read and the ranking); a rerun that changes k decodes nothing and embeds nothing."""
    from app.components import loaders
    from recommender.data import images
    from recommender.features.head import Head
    from recommender.search import queries

    for cached in (loaders.decoded, loaders.read_photo, loaders.crop_query, loaders.garment_query):
        cached.clear()  # an earlier test may have read this photo in this process

    decodes, passes = [], []
    decode, predict = images.decode_image, Head.predict
    monkeypatch.setattr(queries, "decode_image", lambda *args, **kwargs: decodes.append(1) or decode(*args, **kwargs))
    monkeypatch.setattr("app.components.loaders.decode_image",
                        lambda *args, **kwargs: decodes.append(1) or decode(*args, **kwargs))
    monkeypatch.setattr(Head, "predict", lambda self, vectors: passes.append(len(vectors)) or predict(self, vectors))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.selectbox(key="space").set_value("fashion").run()
    decodes.clear(), passes.clear()
    _upload(at, _photo(synthetic_env, row=3))
    assert not at.exception and _result_count(at) == 5
    assert len(decodes) == 1 and passes == [1]
    decodes.clear(), passes.clear()
    at.slider(key="k").set_value(7).run()
    assert not at.exception and _result_count(at) == 7 and decodes == [] and passes == [1]


def test_words_search_alone_show_their_reading_and_likes_move_the_results(app):
    app.text_input(key="words").set_value("red tshirts for men, cheaper").run()
    assert not app.exception and _result_count(app) == 5
    [chips] = [pills for pills in app.pills if pills.key.startswith("read-")]
    assert chips.options == ["Tshirts", "Red", "Men"] and chips.value == ["Tshirts", "Red", "Men"]
    assert any("records no prices" in caption.value for caption in app.caption)
    assert all(caption.value.startswith("Tshirts · Red") for caption in app.caption if " · d = " in caption.value)
    chips.set_value(["Red", "Men"]).run()  # the type dropped: red products of any type
    assert not app.exception and _result_count(app) == 5
    like = next(button for button in app.button if button.key.startswith("search-like-"))  # "Like"
    like.click().run()
    assert not app.exception and any("Moved by 1 like(s)" in caption.value for caption in app.caption)
    app.text_input(key="words").set_value("velvet").run()
    assert not app.exception and any("Nothing to search" in warning.value for warning in app.warning)


def test_a_type_read_under_one_percent_is_no_button():
    def page():
        import streamlit as st

        from app.components.layout import prediction_line
        prediction_line({"articleType": [("Kurtas", 0.98), ("Tops", 0.015), ("Nail Polish", 0.004)],
                         "baseColour": [("Pink", 1.0)]}, within=None, key="t")
        st.stop()

    at = AppTest.from_function(page).run()
    assert [button.label for button in at.button] == ["Kurtas 98%", "Tops 2%"]


def test_the_sidebar_shows_what_the_background_is_training_and_what_is_ready(synthetic_env):
    """The first start trains its models after the dashboard starts: the sidebar says how far it is."""
    from recommender.pipeline.improve import training_lock

    record = {"build_id": load_artifacts(synthetic_env).build_id, "order": ["fashion", "finder"],
              "steps": {"fashion": {"state": "done", "title": "the fashion model", "minutes": 2,
                                    "said": "Ready: the fashion model; it now searches photos of a product."},
                        "finder": {"state": "running", "title": "the garment finder", "minutes": 14}}}
    (synthetic_env / "training.json").write_text(json.dumps(record))
    (synthetic_env / "training.log").write_text("Training the parser:  25%|##5 | 10/40\r")
    try:
        with training_lock(synthetic_env):  # a worker holds it
            at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
            assert not at.exception
            shown = [caption.value for caption in at.sidebar.caption]
            assert "Ready: the fashion model; it now searches photos of a product." in shown
            assert "Training now: the garment finder (about 14 min)." in shown
            assert any("10/40" in line for line in shown)
        at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()  # the worker was stopped
        shown = [caption.value for caption in at.sidebar.caption]
        assert any(line.startswith("Stopped before the end") for line in shown)
    finally:
        (synthetic_env / "training.json").unlink()
        (synthetic_env / "training.log").unlink()
