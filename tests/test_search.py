"""Searching a built catalogue: one self-exclusion rule, filters, colour, every metric (fast tier)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender import METRICS, Recommender, exact_search
from recommender.artifacts import write_artifacts
from recommender.evaluate import holdout_evaluation
from recommender.features import l2_normalise


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
                    features={"dimension": 16, "weights_sha256": "x"}, n_trees=10, metric=metric,
                    catalogue={"dataset": str(root), "size": n, "fingerprint": "f"})
    return Recommender.load(root, with_model=False)


@pytest.mark.parametrize("metric", METRICS)
def test_a_product_is_never_its_own_neighbour_but_its_twin_is_first(tmp_path, metric):
    recommender = _catalogue(tmp_path, metric)
    vectors = np.asarray(recommender.artifacts.vectors)
    for options in ({}, {"filters": {"articleType": ["Tshirts"]}}, {"colour_weight": 0.3}):
        results = recommender.search(recommender.query_from_id("100"), k=5, search_k=10_000, **options)
        assert "100" not in set(results["id"]) and len(results) == 5
        if metric != "dot" and not options.get("colour_weight"):
            assert results["id"].iloc[0] == "103"  # the identical twin is another product: it stays
    plain = recommender.search(recommender.query_from_id("105"), k=5, search_k=10_000)
    exact = exact_search(vectors, vectors[5], 6, metric=metric)[0][0]
    assert plain["id"].tolist() == [str(100 + r) for r in exact if r != 5][:5]


@pytest.mark.parametrize("metric", METRICS)
def test_filtered_search_and_evaluation_work_for_every_metric(tmp_path, metric):
    recommender = _catalogue(tmp_path, metric)
    results = recommender.search(recommender.query_from_id("104"), k=4, filters={"articleType": ["Jeans"]})
    assert set(results["articleType"]) == {"Jeans"} and len(results) == 4
    result = holdout_evaluation(recommender.artifacts, 0.2)
    assert result["n_queries"] == 12 and result["annoy_recall_at_k"]["1"] > 0.5


def test_colour_weight_one_ranks_by_colour_alone(tmp_path):
    recommender = _catalogue(tmp_path, "euclidean")
    query = recommender.query_from_id("110")
    results = recommender.search(query, k=5, colour_weight=1.0)
    colours = np.asarray(recommender.artifacts.colours)
    distances = np.linalg.norm(colours[[recommender.row_of(i) for i in results["id"]]] - query.colour, axis=1)
    np.testing.assert_allclose(results["distance"], distances, atol=1e-3)
    assert (np.diff(results["distance"]) >= 0).all()


@pytest.mark.parametrize("k", [0, 51])
def test_k_out_of_range_is_refused(tmp_path, k):
    recommender = _catalogue(tmp_path, "euclidean")
    with pytest.raises(ValueError, match="Expected 1 <= k <= 50"):
        recommender.search(recommender.query_from_id("100"), k=k)
