"""The Annoy wrapper against brute force, and the recall / precision functions on hand-worked cases."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from recommender.evaluation.metrics import recall_at_k
from recommender.features.extractor import l2_normalise
from recommender.index.annoy import METRICS, VectorIndex
from recommender.index.exact import exact_search

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(0)
    return l2_normalise(rng.normal(size=(500, 32)))


def _brute_force(vectors, query, metric):
    """Distances written the plainest way, one product at a time: the reference for both searches."""
    if metric == "euclidean":
        return np.array([np.sqrt(((v - query) ** 2).sum()) for v in vectors])
    if metric == "manhattan":
        return np.array([np.abs(v - query).sum() for v in vectors])
    if metric == "angular":
        cos = np.array([v @ query / np.linalg.norm(v) / np.linalg.norm(query) for v in vectors])
        return np.sqrt(np.maximum(2 - 2 * cos, 0))
    return -np.array([v @ query for v in vectors])  # dot: larger is nearer


@pytest.mark.parametrize("metric", METRICS)
def test_exact_search_equals_brute_force_for_every_metric_offered(vectors, metric):
    queries = l2_normalise(np.random.default_rng(2).normal(size=(5, 32)))
    rows, distances = exact_search(vectors, queries, 7, metric=metric)
    for q, query in enumerate(queries):
        reference = _brute_force(vectors, query, metric)
        np.testing.assert_array_equal(rows[q], np.argsort(reference, kind="stable")[:7])
        expected = -reference[rows[q]] if metric == "dot" else reference[rows[q]]
        np.testing.assert_allclose(distances[q], expected, atol=1e-4)


@pytest.mark.parametrize("metric", METRICS)
def test_index_equals_exact_search_at_high_search_k(vectors, tmp_path, metric):
    index = VectorIndex(32, metric=metric, n_trees=10).build(vectors, tmp_path / "i.ann")
    queries = l2_normalise(np.random.default_rng(1).normal(size=(20, 32)))
    exact_rows, exact_distances = exact_search(vectors, queries, 10, metric=metric)
    for q, query in enumerate(queries):
        rows, distances = index.query(query, 10, search_k=len(vectors) * 10)
        np.testing.assert_array_equal(rows, exact_rows[q])
        np.testing.assert_allclose(distances, exact_distances[q], atol=1e-4)


def test_low_search_k_trades_recall(vectors, tmp_path):
    index = VectorIndex(32, n_trees=2).build(vectors, tmp_path / "i.ann")
    queries = vectors[:50] + 0.01
    exact = exact_search(vectors, queries, 10)[0]
    low = np.stack([index.query(q, 10, search_k=10)[0] for q in queries])
    high = np.stack([index.query(q, 10, search_k=5000)[0] for q in queries])
    assert recall_at_k(low, exact, 10).mean() < recall_at_k(high, exact, 10).mean() == 1.0


def test_a_loaded_index_answers_like_exact_search_without_reading_the_file_into_memory(vectors, tmp_path):
    VectorIndex(32, n_trees=5, seed=7).build(vectors, tmp_path / "i.ann")
    loaded = VectorIndex(32, n_trees=5).load(tmp_path / "i.ann", expected_items=500)
    exact = exact_search(vectors, vectors[:20] + 0.01, 5)[0]
    found = np.stack([loaded.query(v + 0.01, 5, search_k=5000)[0] for v in vectors[:20]])
    np.testing.assert_array_equal(found, exact)
    maps = Path(f"/proc/{os.getpid()}/maps").read_text()
    assert str(tmp_path / "i.ann") in maps  # memory-mapped, not copied
    assert not list(tmp_path.glob(".*partial"))


def test_same_seed_same_file(vectors, tmp_path):
    # Byte-identical with one build thread; parallel builds interleave trees in any order.
    VectorIndex(32, n_trees=5, seed=7).build(vectors, tmp_path / "a.ann", n_jobs=1)
    VectorIndex(32, n_trees=5, seed=7).build(vectors, tmp_path / "b.ann", n_jobs=1)
    assert (tmp_path / "a.ann").read_bytes() == (tmp_path / "b.ann").read_bytes()


def test_truncated_index_is_refused(vectors, tmp_path):
    VectorIndex(32).build(vectors, tmp_path / "i.ann")
    data = (tmp_path / "i.ann").read_bytes()
    (tmp_path / "i.ann").write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError, match="truncated"):
        VectorIndex(32).load(tmp_path / "i.ann", expected_items=500)


@pytest.mark.parametrize("kwargs, message", [
    ({"metric": "cosine"}, "Expected metric"), ({"n_trees": 0}, "Expected n_trees"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VectorIndex(8, **kwargs)






def test_tuning_picks_the_smallest_search_k_that_reaches_the_recall_goal(tmp_path):
    from recommender.index.tuning import SEARCH_K_CANDIDATES, tune_search_k

    vectors = np.random.default_rng(0).normal(size=(3000, 32)).astype(np.float32)
    index = VectorIndex(32, n_trees=3).build(vectors, tmp_path / "i.ann")  # few trees: small search_k misses
    tuned = tune_search_k(index, vectors, queries=100)
    measured = {int(k): v for k, v in tuned["measured"].items()}
    assert tuned["recall_at_5"] >= 0.99 and measured[tuned["value"]] == tuned["recall_at_5"]
    assert all(v < 0.99 for k, v in measured.items() if k < tuned["value"])
    assert SEARCH_K_CANDIDATES[0] < tuned["value"]  # the smallest candidate was measured and was not enough
    # Checked against a recall computed here, for the chosen value.
    rows = np.random.default_rng(1).choice(3000, 50, replace=False)
    exact = exact_search(vectors, vectors[rows], 6)[0][:, 1:]
    found = [index.query(vectors[r], 6, search_k=tuned["value"])[0][1:] for r in rows]
    assert np.mean([len(set(f) & set(e)) / 5 for f, e in zip(found, exact)]) >= 0.97


@pytest.mark.parametrize("metric", ["euclidean", "angular", "dot", "manhattan"])
def test_exact_search_block_by_block_over_a_memory_map_is_the_same(metric, tmp_path, monkeypatch):
    import recommender.index.exact as index

    rng = np.random.default_rng(3)
    vectors, queries = rng.normal(size=(1_000, 8)).astype(np.float32), rng.normal(size=(4, 8)).astype(np.float32)
    whole = exact_search(vectors, queries, 6, metric=metric)
    np.save(tmp_path / "v.npy", vectors)
    monkeypatch.setattr(index, "_EXACT_BLOCK", 97)  # blocks of uneven size, the last one short
    blocked = exact_search(np.load(tmp_path / "v.npy", mmap_mode="r"), queries, 6, metric=metric)
    assert (blocked[0] == whole[0]).all()
    np.testing.assert_allclose(blocked[1], whole[1], rtol=1e-5, atol=1e-5)
