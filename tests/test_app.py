"""The dashboard, page by page, with Streamlit's AppTest on a real ~300-product catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
TIMEOUT = 180


@pytest.fixture
def app(real_artifacts, weights, monkeypatch):
    monkeypatch.setenv("RECOMMENDER_ARTIFACTS", str(real_artifacts))
    monkeypatch.setenv("RECOMMENDER_WEIGHTS", str(weights.path))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    return at.run()


def _photo(real_artifacts, row: int = 0) -> bytes:
    from recommender.artifacts import load_artifacts

    artifacts = load_artifacts(real_artifacts)
    return (Path(artifacts.manifest["catalogue"]["dataset"]) / artifacts.metadata["image"].iloc[row]).read_bytes()


def _result_count(at: AppTest) -> int:
    return sum(1 for button in at.button if button.label == "More like this")


def test_upload_shows_k_results_and_the_slider_changes_k(app, real_artifacts):
    assert not app.exception and "Upload a JPEG" in app.info[0].value
    app.file_uploader(key="upload").set_value(("shoe.jpg", _photo(real_artifacts), "image/jpeg")).run()
    assert not app.exception and not app.error
    assert _result_count(app) == 5 and app.subheader[0].value == "5 most similar products"
    app.slider(key="k").set_value(10).run()
    assert _result_count(app) == 10


def test_a_non_image_upload_is_a_message_and_the_next_upload_works(app, real_artifacts):
    app.file_uploader(key="upload").set_value(("notes.jpg", b"just text", "image/jpeg")).run()
    assert not app.exception
    assert "cannot be used" in app.error[0].value and _result_count(app) == 0
    app.file_uploader(key="upload").set_value(("photo.jpg", _photo(real_artifacts, 3), "image/jpeg")).run()
    assert not app.exception and not app.error and _result_count(app) == 5


def test_more_like_this_searches_with_that_product(app, real_artifacts):
    app.file_uploader(key="upload").set_value(("photo.jpg", _photo(real_artifacts), "image/jpeg")).run()
    first = next(button for button in app.button if button.label == "More like this")
    first.click().run()
    assert not app.exception and app.session_state["query_id"]
    assert _result_count(app) == 5


def test_changing_trees_and_filters_searches_again(app, real_artifacts):
    app.file_uploader(key="upload").set_value(("photo.jpg", _photo(real_artifacts), "image/jpeg")).run()
    app.select_slider(key="n_trees").set_value(10).run()
    assert not app.exception and _result_count(app) == 5
    app.multiselect(key="filter-masterCategory").set_value(["Footwear"]).run()
    assert not app.exception and _result_count(app) == 5
    captions = " ".join(caption.value for caption in app.caption)
    assert any(kind in captions for kind in ("Shoes", "Sandals", "Flip Flops", "Heels", "Flats"))


def test_explorer_draws_the_map_and_a_pick_shows_neighbours(app, real_artifacts):
    from recommender.artifacts import load_artifacts

    app.switch_page("pages/explorer.py").run()
    assert not app.exception
    assert app.get("vega_lite_chart")
    picked = load_artifacts(real_artifacts).metadata["id"].iloc[5]
    app.text_input(key="pick-id").input(picked).run()
    assert not app.exception
    assert any(header.value.startswith("Nearest to") for header in app.subheader)
    app.selectbox(key="colour-by").set_value("masterCategory").run()
    assert not app.exception


def test_evaluation_and_about_pages_render(app):
    app.switch_page("pages/evaluation.py").run()
    assert not app.exception and any(h.value.startswith("Model: imagenet") for h in app.subheader)
    app.switch_page("pages/about.py").run()
    assert not app.exception and "Annoy" in app.markdown[0].value


def test_without_a_catalogue_the_app_says_how_to_build_one(tmp_path, monkeypatch, weights):
    monkeypatch.setenv("RECOMMENDER_ARTIFACTS", str(tmp_path / "empty"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "No catalogue is built" in at.error[0].value
    assert "python -m recommender build" in at.info[0].value


def test_a_corrupt_catalogue_is_named_and_the_app_rebuilds_it(real_artifacts, weights, tmp_path, monkeypatch):
    import json
    import shutil

    from tests.conftest import make_dataset

    copy = tmp_path / "artifacts"
    shutil.copytree(real_artifacts, copy)
    vectors = copy / json.loads((copy / "manifest.json").read_text())["files"]["vectors"]["name"]
    vectors.write_bytes(vectors.read_bytes()[:1000])
    monkeypatch.setenv("RECOMMENDER_ARTIFACTS", str(copy))
    monkeypatch.setenv("RECOMMENDER_WEIGHTS", str(weights.path))
    monkeypatch.setenv("RECOMMENDER_DATASET", str(make_dataset(tmp_path / "small", n=8)))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert vectors.name in at.error[0].value and "truncated or corrupt" in at.error[0].value
    at.button(key="rebuild").click().run()
    assert not at.exception and not at.error
    assert "search 8 products" in at.info[0].value
