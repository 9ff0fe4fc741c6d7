"""Held-out splits that keep near-duplicates together, and the type-first ranking they tune."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.catalogue import COLOUR_FAMILIES
from recommender.features import l2_normalise
from recommender.head import Head
from recommender.ranking import label_rerank
from recommender.splits import make_splits, near_duplicate_groups, read_splits, save_splits


def _catalogue(n_groups: int = 60, twins: int = 3, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """``n_groups`` products shot ``twins`` times each (near-identical vectors), four article types."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_groups, 32))
    vectors = l2_normalise(np.repeat(centres, twins, axis=0) + rng.normal(scale=0.02, size=(n_groups * twins, 32)))
    group = np.repeat(np.arange(n_groups), twins)
    metadata = pd.DataFrame({"id": [str(1000 + i) for i in range(len(group))],
                             "articleType": [f"type{g % 4}" for g in group],
                             "productDisplayName": [f"product {i}" for i in range(len(group))]})
    return metadata, vectors


def test_near_duplicates_and_same_names_share_a_group():
    metadata, vectors = _catalogue()
    groups = near_duplicate_groups(vectors, metadata["productDisplayName"])
    assert len(set(groups)) == 60 and (groups.reshape(60, 3) == groups.reshape(60, 3)[:, :1]).all()
    names = metadata["productDisplayName"].copy()
    names.iloc[[0, 3]] = ["Nike Men Purple  Hoodie", "nike men purple hoodie"]  # same name, other photos
    joined = near_duplicate_groups(vectors, names)
    assert joined[0] == joined[3] and len(set(joined)) == 59


def test_the_grouped_split_never_separates_twins_and_nothing_trains_on_a_test_product(tmp_path):
    metadata, vectors = _catalogue()
    splits = make_splits(metadata, vectors, 0.2, seed=0)
    by_group = splits.grouped.reshape(60, 3)
    assert (by_group.all(axis=1) | ~by_group.any(axis=1)).all()  # whole groups in or out
    assert splits.grouped.any() and splits.random.any() and splits.validation.any()
    assert not (splits.train & (splits.random | splits.grouped | splits.validation)).any()
    assert not (splits.validation & (splits.random | splits.grouped)).any()
    # The random split does leave twins of its queries in the index: what the grouped split corrects.
    random_by_group = splits.random.reshape(60, 3)
    assert (random_by_group.any(axis=1) & ~random_by_group.all(axis=1)).any()
    save_splits(tmp_path / "split.json", metadata, splits, fraction=0.2, seed=0)
    read, settings = read_splits(tmp_path / "split.json", metadata)
    assert settings["fraction"] == 0.2 and (read.grouped == splits.grouped).all()
    assert (read.validation == splits.validation).all()


def test_colour_families_cover_every_catalogue_colour():
    colours = ["Navy Blue", "Blue", "Charcoal", "Grey", "Off White", "Cream", "White", "Lime Green"]
    assert [COLOUR_FAMILIES[c] for c in colours] == ["Blue", "Blue", "Grey", "Grey", "White", "White", "White",
                                                      "Green"]


def test_a_head_keeps_its_classifiers_and_predicts_distributions(tmp_path):
    rng = np.random.default_rng(0)
    centres = l2_normalise(rng.normal(size=(3, 8))).T
    head = Head(*(rng.normal(size=shape).astype(np.float32) for shape in [(10, 6), (6,), (6, 8), (8,)]),
                centres={"articleType": centres}, classes={"articleType": np.array(["Shirts", "Shoes", "Bags"])})
    head.save(tmp_path / "head.npz")
    read = Head.read(tmp_path / "head.npz")
    assert list(read.classes["articleType"]) == ["Shirts", "Shoes", "Bags"]
    predicted = read.predict(centres.T)  # each class centre is most likely its own class
    assert predicted["articleType"].argmax(axis=1).tolist() == [0, 1, 2]
    np.testing.assert_allclose(predicted["articleType"].sum(axis=1), 1.0, rtol=1e-5)
    assert read.class_index("articleType", np.array(["Bags", "Hats"])).tolist() == [2, -1]


def test_type_first_puts_the_predicted_type_ahead_of_a_nearer_other_type():
    rows, distances = np.array([10, 11, 12, 13]), np.array([0.30, 0.31, 0.40, 0.42])
    classes = {"articleType": np.array([1, 1, 0, 0])}  # the two nearest are kurtas, the query is a hoodie
    probabilities = {"articleType": np.array([0.9, 0.1])}
    ranked, _ = label_rerank(rows, distances, classes, probabilities, {"articleType": 0.5})
    assert ranked.tolist() == [12, 13, 10, 11]
    unchanged, _ = label_rerank(rows, distances, classes, probabilities, {"articleType": 0.0})
    assert unchanged.tolist() == rows.tolist()


@pytest.mark.parametrize("type_first", [True, False])
def test_search_ranks_type_first_only_where_asked(synthetic_artifacts, type_first):
    from recommender import Recommender

    recommender = Recommender.load(synthetic_artifacts, with_model=False)
    query = recommender.query_from_id(recommender.metadata["id"].iloc[0])
    predictions = recommender.predictions(query, space="fashion")
    assert set(predictions) == {"articleType", "baseColour"}
    assert sum(p for _, p in predictions["articleType"]) <= 1.0 + 1e-6
    assert recommender.predictions(query, space="imagenet") == {}
    results = recommender.search(query, k=5, space="fashion", type_first=type_first)
    assert len(results) == 5


def test_a_recommender_that_trims_queries_embeds_the_product_cut_out(synthetic_artifacts, random_weights):
    from PIL import Image

    from recommender import Recommender
    from recommender.images import trim_to_product
    from tests.conftest import product_photo

    recommender = Recommender.load(synthetic_artifacts, weights=random_weights)
    canvas = Image.new("RGB", (200, 260), "white")
    canvas.paste(product_photo(), (130, 10))  # small and off-centre on a plain background
    assert not recommender.trim_queries  # off by default: the catalogue's photos are embedded uncut
    as_given = recommender.query_from_image(canvas).vector
    recommender.trim_queries = True
    trimmed = recommender.query_from_image(canvas).vector
    recommender.trim_queries = False
    cut_by_hand = recommender.query_from_image(trim_to_product(canvas)).vector
    np.testing.assert_allclose(trimmed, cut_by_hand, atol=1e-5)
    assert not np.allclose(trimmed, as_given, atol=1e-3)
