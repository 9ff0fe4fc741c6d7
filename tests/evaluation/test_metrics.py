"""Precision, mAP and recall on hand-worked cases; bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.evaluation.metrics import average_precision_at_k, precision_at_k, recall_at_k

pytestmark = pytest.mark.unit


def test_precision_and_map_hand_worked():
    relevant = np.array([[True, False, True, False], [False, False, False, False], [True, True, True, True]])
    np.testing.assert_allclose(precision_at_k(relevant, 1), [1, 0, 1])
    np.testing.assert_allclose(precision_at_k(relevant, 4), [0.5, 0, 1])
    # AP@4 over R relevant in the catalogue: (1/1 + 2/3) / 2, 0, (1 + 1 + 1 + 1) / 4
    np.testing.assert_allclose(average_precision_at_k(relevant, 4, np.array([2, 3, 10])),
                               [(1 + 2 / 3) / 2, 0, 1])
    # With R = 5 relevant items but only 2 found, AP is penalised: (1 + 2/3) / 4
    np.testing.assert_allclose(average_precision_at_k(relevant[:1], 4, np.array([5])), [(1 + 2 / 3) / 4])


def test_recall_hand_worked():
    np.testing.assert_allclose(recall_at_k(np.array([[1, 2, 3], [4, 5, 6]]), np.array([[3, 2, 1], [7, 8, 4]]), 3),
                               [1.0, 1 / 3])
