"""The numpy head of a trained space: saved without pickle, read back, predicting distributions."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.features.extractor import l2_normalise
from recommender.features.head import Head

pytestmark = pytest.mark.unit


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
