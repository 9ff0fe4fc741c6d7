"""Held-out splits that keep near-duplicates together, and the type-first ranking they tune."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.data.catalogue import COLOUR_FAMILIES
from recommender.evaluation.splits import make_splits, near_duplicate_groups, read_splits, save_splits
from recommender.features.extractor import l2_normalise

pytestmark = pytest.mark.unit


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







