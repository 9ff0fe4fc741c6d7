"""Real weights on real catalogue photos: build, query, CLI (a few hundred products)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from recommender.search.catalogue import RESULT_COLUMNS
from recommender.search.recommender import Recommender


@pytest.fixture(scope="module")
def recommender(real_artifacts, weights):
    return Recommender.load(real_artifacts, weights=weights.path)


def test_neighbours_share_the_article_type_far_above_chance(recommender):
    metadata = recommender.catalogue.metadata
    shares = metadata["articleType"].value_counts(normalize=True)
    chance = float((shares ** 2).sum())
    hits = []
    for item_id in metadata["id"]:
        results = recommender.search(recommender.queries.from_id(item_id), k=5)
        assert item_id not in set(results["id"])  # nothing is its own neighbour
        hits.append((results["articleType"] == metadata.set_index("id").loc[item_id, "articleType"]).mean())
    precision = float(np.mean(hits))
    # 300 products over ~140 types: many types have one or two products, so 10x chance is a high bar.
    assert precision > 10 * chance, (precision, chance)


def test_a_photo_of_a_catalogue_product_finds_it_first(recommender, dataset_dir):
    row = recommender.catalogue.metadata.iloc[17]
    results = recommender.search(recommender.queries.from_image(dataset_dir / row["image"]), k=5)
    assert list(results.columns) == list(RESULT_COLUMNS)
    assert results["id"].iloc[0] == row["id"] and results["distance"].iloc[0] < 0.05


def test_filters_apply_while_searching(recommender, dataset_dir):
    query = recommender.queries.from_image(dataset_dir / recommender.catalogue.metadata["image"].iloc[0])
    women = recommender.search(query, k=10, filters={"gender": ["Women"], "masterCategory": ["Accessories"]})
    metadata = recommender.catalogue.metadata
    expected = (metadata["gender"] == "Women") & (metadata["masterCategory"] == "Accessories")
    assert len(women) == min(10, int(expected.sum()))
    assert set(women["gender"]) == {"Women"} and set(women["masterCategory"]) == {"Accessories"}


def test_colour_weight_reranks_towards_the_query_colour(recommender):
    metadata = recommender.catalogue.metadata
    black = metadata.index[metadata["baseColour"] == "Black"][:20]
    plain, coloured = [], []
    for row in black:
        query = recommender.queries.from_id(metadata["id"].iloc[row])
        plain.append((recommender.search(query, k=5)["baseColour"] == "Black").mean())
        coloured.append((recommender.search(query, k=5, colour_weight=0.6)["baseColour"] == "Black").mean())
    assert np.mean(coloured) > np.mean(plain)


def test_cli_query_prints_k_real_neighbours_as_json(real_artifacts, dataset_dir, weights):
    photo = dataset_dir / "images" / f"{_first_id(real_artifacts)}.jpg"
    env = {**os.environ, "RECOMMENDER_WEIGHTS": str(weights.path), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "recommender", "query", str(photo), "--artifacts",
                           str(real_artifacts), "-k", "5", "--json"], capture_output=True, text=True, env=env,
                          check=True)
    results = json.loads(done.stdout)
    assert len(results) == 5 and results[0]["id"] == _first_id(real_artifacts)
    assert {"id", "distance", "productDisplayName", "articleType", "baseColour", "image_path"} <= set(results[0])


def test_cli_bad_photo_is_one_clear_line(real_artifacts, tmp_path, weights):
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a photo")
    env = {**os.environ, "RECOMMENDER_WEIGHTS": str(weights.path), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "recommender", "query", str(bad), "--artifacts",
                           str(real_artifacts)], capture_output=True, text=True, env=env)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (f"error: {bad}: This file is not an image that can be read; "
                                                    "use JPEG, PNG or WebP.")
    assert "Traceback" not in done.stderr


def test_cli_reindex_changes_trees_without_reembedding(real_artifacts, tmp_path):
    import shutil

    copy = tmp_path / "a"
    shutil.copytree(real_artifacts, copy)
    vectors_before = json.loads((copy / "manifest.json").read_text())["files"]["vectors"]
    done = subprocess.run([sys.executable, "-m", "recommender", "reindex", "--artifacts", str(copy),
                           "--n-trees", "20"], capture_output=True, text=True, check=True)
    manifest = json.loads((copy / "manifest.json").read_text())
    assert "20 trees" in done.stdout and manifest["index"]["n_trees"] == 20
    assert manifest["files"]["vectors"] == vectors_before
    assert (copy / manifest["index"]["file"]).is_file()


def _first_id(root) -> str:
    from recommender.store.artifacts import load_artifacts

    return load_artifacts(root).metadata["id"].iloc[0]


def test_a_photo_of_no_fashion_product_is_answered_with_a_warning_and_a_product_photo_without(recommender,
                                                                                              dataset_dir):
    """Five products came back for a photo of a lawn with no word of doubt (benchmarks/unfamiliar_photos.py)."""
    skimage = pytest.importorskip("skimage", reason="scikit-image ships the non-fashion sample photos")
    from pathlib import Path

    from recommender.search.recommender import UNFAMILIAR_WARNING

    samples = Path(skimage.__file__).parent / "data"
    for name in ("grass.png", "brick.png", "gravel.png"):
        answer = recommender.answer(recommender.queries.from_image(samples / name), k=5)
        assert answer.warning == UNFAMILIAR_WARNING and len(answer.results) == 5, name  # warned, still answered
    built = set(recommender.catalogue.metadata["image"])
    others = [path for path in sorted((dataset_dir / "images").glob("*.jpg"))[:400]
              if f"images/{path.name}" not in built][:20]
    assert others and all(recommender.answer(recommender.queries.from_image(path), k=5).warning is None
                          for path in others)
