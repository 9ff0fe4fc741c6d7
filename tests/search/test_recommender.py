"""Searching a built catalogue: one self-exclusion rule, filters, colour, every metric (fast tier)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from recommender import METRICS, Recommender, exact_search
from recommender.evaluation.protocols import holdout_evaluation
from recommender.features.extractor import l2_normalise
from recommender.features.settings import FeatureSettings
from recommender.store.artifacts import load_artifacts, write_artifacts


def _catalogue(root, metric: str, n: int = 60, seed: int = 0) -> Recommender:
    """n random products in three types; product 3 (a T-shirt too) is an exact twin of product 0."""
    rng = np.random.default_rng(seed)
    vectors = l2_normalise(rng.normal(size=(n, 16)))
    vectors[3] = vectors[0]
    types = np.array(["Tshirts", "Jeans", "Shoes"])[np.arange(n) % 3]
    metadata = pd.DataFrame({"id": [str(100 + i) for i in range(n)], "articleType": types, "subCategory": types,
                             "masterCategory": "Apparel", "baseColour": "Red", "gender": "Men",
                             "productDisplayName": [f"P{i}" for i in range(n)],
                             "image": [f"images/{100 + i}.jpg" for i in range(n)]})
    write_artifacts(root, vectors=vectors, colours=l2_normalise(rng.random((n, 64))), metadata=metadata,
                    features=FeatureSettings("x", "explicit", dimension=16), n_trees=10, metric=metric,
                    catalogue={"dataset": str(root), "size": n, "fingerprint": "f"})
    return Recommender.load(root, with_model=False)


@pytest.mark.parametrize("metric", METRICS)
def test_a_product_is_never_its_own_neighbour_but_its_twin_is_first(tmp_path, metric):
    recommender = _catalogue(tmp_path, metric)
    vectors = np.asarray(load_artifacts(tmp_path).vectors)
    for options in ({}, {"filters": {"articleType": ["Tshirts"]}}, {"colour_weight": 0.3}):
        results = recommender.search(recommender.queries.from_id("100"), k=5, search_k=10_000, **options)
        assert "100" not in set(results["id"]) and len(results) == 5
        if metric != "dot" and not options.get("colour_weight"):
            assert results["id"].iloc[0] == "103"  # the identical twin is another product: it stays
    plain = recommender.search(recommender.queries.from_id("105"), k=5, search_k=10_000)
    exact = exact_search(vectors, vectors[5], 6, metric=metric)[0][0]
    assert plain["id"].tolist() == [str(100 + r) for r in exact if r != 5][:5]


@pytest.mark.parametrize("metric", METRICS)
def test_filtered_search_and_evaluation_work_for_every_metric(tmp_path, metric):
    recommender = _catalogue(tmp_path, metric)
    results = recommender.search(recommender.queries.from_id("104"), k=4, filters={"articleType": ["Jeans"]})
    assert set(results["articleType"]) == {"Jeans"} and len(results) == 4
    result = holdout_evaluation(load_artifacts(tmp_path), 0.2)
    assert result["n_queries"] == 12 and result["annoy_recall_at_k"]["1"] > 0.5


def test_colour_weight_one_ranks_by_colour_alone(tmp_path):
    recommender = _catalogue(tmp_path, "euclidean")
    query = recommender.queries.from_id("110")
    results = recommender.search(query, k=5, colour_weight=1.0)
    colours = np.asarray(load_artifacts(tmp_path).colours)
    distances = np.linalg.norm(colours[[recommender.catalogue.row_of(i) for i in results["id"]]] - query.colour, axis=1)
    np.testing.assert_allclose(results["distance"], distances, atol=1e-3)
    assert (np.diff(results["distance"]) >= 0).all()


@pytest.mark.parametrize("k", [0, 51])
def test_k_out_of_range_is_refused(tmp_path, k):
    recommender = _catalogue(tmp_path, "euclidean")
    with pytest.raises(ValueError, match="Expected 1 <= k <= 50"):
        recommender.search(recommender.queries.from_id("100"), k=k)


def test_a_small_product_on_a_plain_background_is_embedded_cut_out(synthetic_artifacts, random_weights):
    from PIL import Image

    from recommender import Recommender
    from recommender.data.images import trim_to_product
    from tests.factories import product_photo

    recommender = Recommender.load(synthetic_artifacts, weights=random_weights)
    canvas = Image.new("RGB", (200, 260), "white")
    canvas.paste(product_photo(), (130, 10))  # small and off-centre on a plain background
    assert recommender.queries.trim  # on by default
    trimmed = recommender.queries.from_image(canvas)
    recommender.queries.trim = False
    as_given = recommender.queries.from_image(canvas).vector
    cut_by_hand = recommender.queries.from_image(trim_to_product(canvas))
    np.testing.assert_allclose(trimmed.vector, cut_by_hand.vector, atol=1e-5)
    np.testing.assert_allclose(trimmed.colour, cut_by_hand.colour, atol=1e-6)
    assert not np.allclose(trimmed.vector, as_given, atol=1e-3)


def test_a_catalogue_photo_of_a_small_product_is_embedded_as_given_and_finds_itself(random_extractor, tmp_path):
    """Cutting only the query would move a catalogue product's own photo away from its stored vector."""
    from PIL import Image

    from recommender import Recommender
    from recommender.data.images import decode_image, trim_to_product
    from recommender.pipeline.build import build_catalogue
    from tests.factories import make_dataset

    dataset = make_dataset(tmp_path / "dataset", n=6)
    small = Image.new("RGB", (60, 80), "white")
    small.paste((200, 30, 30), (40, 5, 52, 21))  # a small product in a corner, as some catalogue shots are
    small.save(dataset / "images" / "1002.jpg", quality=95)
    build_catalogue(dataset, tmp_path / "artifacts", extractor=random_extractor, n_trees=5, progress=False,
                    log=lambda _: None)
    recommender = Recommender(load_artifacts(tmp_path / "artifacts"), random_extractor)
    photo = decode_image(dataset / "images" / "1002.jpg")
    assert trim_to_product(photo) is not photo  # a shopper's photo like it would be cut down
    query = recommender.queries.from_image(photo)
    stored = load_artifacts(recommender.catalogue.root).vectors
    np.testing.assert_allclose(query.vector, stored[recommender.catalogue.row_of("1002")], atol=1e-4)
    assert recommender.engine.exact_row(query.vector) == recommender.catalogue.row_of("1002")


@pytest.fixture
def type_first_artifacts(synthetic_artifacts, tmp_path):
    """The synthetic catalogue with a strong articleType weight, so that type first must change the order."""
    from dataclasses import replace

    from recommender.store.manifest import commit_manifest, frozen, read_manifest

    root = tmp_path / "artifacts"
    shutil.copytree(synthetic_artifacts, root)
    manifest = read_manifest(root)
    entry = manifest.spaces["fashion"]
    ranking = {**entry.ranking, "weights": {"articleType": 3.0, "baseColour": 0.0}}
    commit_manifest(root, manifest.with_space("fashion", replace(entry, ranking=frozen(ranking))))
    return root


def test_search_ranks_type_first_only_where_asked(type_first_artifacts):
    recommender = Recommender.load(type_first_artifacts, with_model=False)
    assert recommender.engine.ranker("fashion", type_first=False).label_weights == {}
    assert recommender.engine.ranker("imagenet", type_first=True).label_weights == {}
    changed = 0
    for item in recommender.catalogue.metadata["id"]:
        query = recommender.queries.from_id(item)
        plain = recommender.search(query, k=6, space="fashion", type_first=False)
        first = recommender.search(query, k=6, space="fashion", type_first=True)
        assert plain["distance"].is_monotonic_increasing
        predicted = recommender.predictions(query, space="fashion")["articleType"][0][0]
        # With a weight of 3 (distances are at most 2), every product of the predicted type comes first.
        kinds = first["articleType"].tolist()
        assert kinds == sorted(kinds, key=lambda kind: kind != predicted)
        assert recommender.engine.predict([query], "fashion")["articleType"].shape == (1, 2)
        changed += plain["id"].tolist() != first["id"].tolist()
    assert changed > 0  # the rule changed some answers: the assertions above were not vacuous


def test_a_batch_is_ranked_as_its_queries_one_by_one(type_first_artifacts):
    """One search engine: the whole catalogue searched as one batch (as ``similar`` and the evaluation search)
    answers each product as searching it alone does (as the app and the API search)."""
    recommender = Recommender.load(type_first_artifacts, with_model=False)
    ids = recommender.catalogue.metadata["id"].tolist()
    queries = [recommender.queries.from_id(item) for item in ids]
    for colour_weight in (0.0, 0.4):
        batch = recommender.search_batch(queries, k=5, space="fashion", colour_weight=colour_weight)
        for query, answer in zip(queries, batch):
            alone = recommender.search(query, k=5, space="fashion", colour_weight=colour_weight)
            pd.testing.assert_frame_equal(alone, answer)


def test_a_catalogue_photo_is_recognised_as_its_product_and_another_photo_is_not(synthetic_artifacts,
                                                                                  random_weights):
    from recommender.data.images import decode_image
    from tests.factories import product_photo

    recommender = Recommender.load(synthetic_artifacts, weights=random_weights)
    item = recommender.catalogue.metadata.iloc[4]
    photo = decode_image(recommender.catalogue.dataset_root / item["image"])
    assert recommender.engine.exact_row(recommender.queries.from_image(photo).vector) == 4
    assert recommender.engine.exact_row(recommender.queries.from_image(product_photo(seed=99)).vector) is None
