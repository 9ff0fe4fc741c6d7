"""Incremental updates: only what changed is embedded, and the result equals a fresh build (fast tier)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from recommender import ArtifactError, Recommender, load_artifacts
from recommender.cli import main
from recommender.features.extractor import Extractor
from recommender.pipeline.build import build_catalogue
from recommender.pipeline.update import diff_catalogue, update_catalogue
from recommender.training.train import train_space
from tests.factories import STYLES_HEADER, make_dataset, product_photo


def _quiet(**kwargs):
    return {"progress": False, "log": lambda _: None, **kwargs}


def _change(dataset):
    """Add 3 photos, remove 2, re-photograph 2, relabel 1 (styles.csv edited, photo untouched)."""
    for i in range(3):
        product_photo(colour=(20, 160, 20), seed=50 + i).save(dataset / "images" / f"{3000 + i}.jpg")
    for item in ("1002", "1005"):
        (dataset / "images" / f"{item}.jpg").unlink()
    for item, seed in (("1003", 90), ("1006", 91)):
        product_photo(colour=(240, 200, 0), seed=seed).save(dataset / "images" / f"{item}.jpg")
    styles = (dataset / "styles.csv").read_text().replace("1007,Men,Apparel,Topwear,Jeans,Blue",
                                                           "1007,Women,Apparel,Topwear,Jeans,Black")
    styles += "".join(f"{3000 + i},Men,Apparel,Topwear,Shirts,Green,Summer,2013,Casual,New {i}\n" for i in range(3))
    (dataset / "styles.csv").write_text(styles)


@pytest.fixture(scope="module")
def built_once(tmp_path_factory, random_extractor):
    root = tmp_path_factory.mktemp("built")
    dataset = make_dataset(root / "dataset", n=16)
    build_catalogue(dataset, root / "artifacts", extractor=random_extractor, n_trees=5, chunk_size=4, **_quiet())
    return root


@pytest.fixture
def built(built_once, tmp_path):
    """A fresh copy of a 16-product dataset and its build, for each test to change."""
    shutil.copytree(built_once / "dataset", tmp_path / "dataset")
    shutil.copytree(built_once / "artifacts", tmp_path / "artifacts")
    manifest = json.loads((tmp_path / "artifacts" / "manifest.json").read_text())
    manifest["catalogue"]["dataset"] = str(tmp_path / "dataset")  # the copy's own dataset
    (tmp_path / "artifacts" / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path / "dataset", tmp_path / "artifacts"


def test_an_update_equals_a_fresh_build_and_embeds_only_what_changed(built, tmp_path, random_extractor,
                                                                     monkeypatch):
    dataset, artifacts = built
    _change(dataset)
    embedded = []
    real = Extractor.embed_files
    monkeypatch.setattr(Extractor, "embed_files",
                        lambda self, paths, **kw: embedded.extend(p.name for p in paths) or real(self, paths, **kw))
    report = update_catalogue(dataset, artifacts, extractor=random_extractor, chunk_size=4, **_quiet())
    assert {k: report[k] for k in ("added", "changed", "removed", "relabelled", "unchanged")} == {
        "added": 3, "changed": 2, "removed": 2, "relabelled": 1, "unchanged": 11}
    assert sorted(embedded) == ["1003.jpg", "1006.jpg", "3000.jpg", "3001.jpg", "3002.jpg"]
    fresh = tmp_path / "fresh"
    build_catalogue(dataset, fresh, extractor=random_extractor, n_trees=5, **_quiet())
    updated, scratch = load_artifacts(artifacts), load_artifacts(fresh)
    assert updated.build_id == report["build_id"] != report["previous_build_id"]
    assert updated.metadata.drop(columns=[]).equals(scratch.metadata)
    cosines = (np.asarray(updated.vectors) * np.asarray(scratch.vectors)).sum(axis=1)
    assert cosines.min() >= 0.99999
    np.testing.assert_allclose(updated.colours, scratch.colours, atol=1e-6)
    a, b = Recommender(updated), Recommender(scratch)
    for item in updated.metadata["id"]:
        assert a.search(a.queries.from_id(item), k=5, search_k=10_000)["id"].tolist() == \
            b.search(b.queries.from_id(item), k=5, search_k=10_000)["id"].tolist()


def test_trained_heads_are_applied_to_new_photos_without_retraining(built, random_extractor):
    dataset, artifacts = built
    train_space(artifacts, holdout=0.2, epochs=1, **_quiet())
    before = load_artifacts(artifacts)
    _change(dataset)
    report = update_catalogue(dataset, artifacts, extractor=random_extractor, **_quiet())
    after = load_artifacts(artifacts)
    assert after.manifest.default_space == before.manifest.default_space

    np.testing.assert_allclose(after.head("fashion").transform(after.vectors, after.colours),
                               after.space_vectors("fashion"), atol=1e-5)
    assert report["spaces"]["fashion"] == {"products_never_seen": 5, "retrain_due": True}  # 5 of 17 > 10%
    assert list(artifacts.glob(f"annoy-{after.build_id}-fashion-*.ann"))  # indexed now, not at the first query


def test_an_update_with_nothing_changed_embeds_nothing(built, monkeypatch):
    dataset, artifacts = built
    monkeypatch.setattr(Extractor, "embed_files", lambda *a, **k: pytest.fail("nothing should be embedded"))
    before = load_artifacts(artifacts).build_id
    (dataset / "notes.txt").write_text("not a photo")  # moves nothing a reader sees
    report = update_catalogue(dataset, artifacts, **_quiet())
    assert report["unchanged"] == 16 and report["added"] == report["changed"] == report["removed"] == 0
    assert report["build_id"] == before == load_artifacts(artifacts).build_id  # readers need not reload
    Recommender.load(artifacts, with_model=False)  # and the dataset check passes


def test_a_photo_that_became_unreadable_is_dropped_and_reported(built, random_extractor):
    dataset, artifacts = built
    (dataset / "images" / "1004.jpg").write_bytes(b"broken now")
    report = update_catalogue(dataset, artifacts, extractor=random_extractor, **_quiet())
    assert report["changed"] == 1 and report["unreadable"] == 1 and report["unreadable_ids"] == ["1004"]
    assert "1004" not in set(load_artifacts(artifacts).metadata["id"])


@pytest.mark.parametrize("damage, message", [
    ("missing", "images/ subfolder"),
    ("empty", "holds no product photo"),
    ("headerless", "styles.csv has no header line"),
])
def test_bad_input_is_one_line_and_changes_nothing(built, damage, message, capsys):
    dataset, artifacts = built
    before = json.loads((artifacts / "manifest.json").read_text())
    if damage == "missing":
        shutil.rmtree(dataset)
    elif damage == "empty":
        for photo in (dataset / "images").iterdir():
            photo.unlink()
    else:
        (dataset / "styles.csv").write_text((dataset / "styles.csv").read_text().replace(STYLES_HEADER, ""))
    assert main(["update", str(dataset), "--artifacts", str(artifacts), "--no-progress"]) == 1
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1
    assert json.loads((artifacts / "manifest.json").read_text()) == before


def test_an_empty_dataset_removes_everything_only_when_allowed(built, capsys):
    dataset, artifacts = built
    for photo in (dataset / "images").iterdir():
        photo.unlink()
    assert main(["update", str(dataset), "--artifacts", str(artifacts), "--allow-empty", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["removed"] == 16


def test_an_interrupted_update_leaves_the_old_build_and_resumes(built, random_extractor, interrupt_embedding):
    dataset, artifacts = built
    _change(dataset)
    old = load_artifacts(artifacts).build_id
    calls = interrupt_embedding(2)
    with pytest.raises(KeyboardInterrupt):
        update_catalogue(dataset, artifacts, extractor=random_extractor, chunk_size=2, **_quiet())
    assert load_artifacts(artifacts).build_id == old  # the previous build is whole and current
    calls["n"] = 10
    report = update_catalogue(dataset, artifacts, extractor=random_extractor, chunk_size=2, **_quiet())
    assert calls["n"] == 12  # 5 photos in chunks of 2: the first chunk was kept, two were left
    assert report["added"] == 3 and load_artifacts(artifacts).build_id == report["build_id"]


def test_a_build_without_content_hashes_is_asked_to_build_once_more(built):
    dataset, artifacts = built
    from dataclasses import replace

    import pandas as pd

    from recommender.store.manifest import FileEntry, commit_manifest, read_manifest

    manifest = read_manifest(artifacts)
    metadata = artifacts / manifest.files["metadata"].name
    pd.read_csv(metadata, dtype=str).drop(columns=["sha256"]).to_csv(metadata, index=False)
    commit_manifest(artifacts, replace(manifest, files={**manifest.files, "metadata": FileEntry.of(metadata)}))
    with pytest.raises(ArtifactError, match="before content hashes"):
        update_catalogue(dataset, artifacts, **_quiet())


def test_diff_sees_a_relabel_without_a_new_photo():
    import pandas as pd

    old = pd.DataFrame({"id": ["1"], "sha256": ["a"], "baseColour": ["Red"]})
    new = pd.DataFrame({"id": ["1"], "sha256": ["a"], "baseColour": ["Maroon"]})
    assert diff_catalogue(old, new).relabelled == ["1"]


def _app(artifacts, dataset, weights, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.app.test_app import APP

    monkeypatch.setenv("RECOMMENDER_ARTIFACTS", str(artifacts))
    monkeypatch.setenv("RECOMMENDER_WEIGHTS", str(weights.path))
    monkeypatch.setenv("RECOMMENDER_DATASET", str(dataset))
    return AppTest.from_file(APP, default_timeout=120).run()


def _sidebar_build(at) -> str:
    return next(c.value for c in at.sidebar.caption if "build" in c.value).split("build ")[1].split(" ")[0]


def test_the_running_app_switches_to_an_update_on_its_next_rerun(built, random_extractor, random_weights,
                                                                 monkeypatch):
    dataset, artifacts = built
    at = _app(artifacts, dataset, random_weights, monkeypatch)
    old = _sidebar_build(at)
    at.file_uploader(key="upload-0").set_value(("p.jpg", (dataset / "images" / "1001.jpg").read_bytes(),
                                                "image/jpeg")).run()
    _change(dataset)
    report = update_catalogue(dataset, artifacts, extractor=random_extractor, **_quiet())
    at.slider(key="k").set_value(6).run()  # the session goes on: same upload, next rerun
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _sidebar_build(at) == report["build_id"] != old
    assert sum(1 for b in at.button if b.label == "More like this") == 6
    assert (artifacts / f"vectors-{old}.npy").is_file()  # kept for the grace period


def test_the_app_offers_to_update_a_catalogue_whose_dataset_changed(built, random_weights, monkeypatch):
    dataset, artifacts = built
    _change(dataset)
    at = _app(artifacts, dataset, random_weights, monkeypatch)
    assert "changed since this catalogue was built" in at.error[0].value, (at.exception, at.info)
    at.button(key="update").click().run()
    assert not at.exception and not at.error
    assert "search 17 products" in at.info[0].value
