"""The ranking rules and the one order the Ranker applies them in."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.search.ranking import Ranker, label_rerank

pytestmark = pytest.mark.unit


def test_type_first_puts_the_predicted_type_ahead_of_a_nearer_other_type():
    rows, distances = np.array([10, 11, 12, 13]), np.array([0.30, 0.31, 0.40, 0.42])
    classes = {"articleType": np.array([1, 1, 0, 0])}  # the two nearest are kurtas, the query is a hoodie
    probabilities = {"articleType": np.array([0.9, 0.1])}
    ranked, _ = label_rerank(rows, distances, classes, probabilities, {"articleType": 0.5})
    assert ranked.tolist() == [12, 13, 10, 11]
    unchanged, _ = label_rerank(rows, distances, classes, probabilities, {"articleType": 0.0})
    assert unchanged.tolist() == rows.tolist()


def _ranker(**kwargs) -> Ranker:
    colours = np.array([[0.0], [1.0], [0.0], [1.0]], np.float32)
    return Ranker(colours, **kwargs)


def test_the_ranker_drops_the_query_itself_then_blends_colour_then_puts_the_type_first():
    rows, distances = np.array([0, 1, 2, 3]), np.array([0.0, 0.10, 0.20, 0.30])
    # Distance alone, the query (row 0) out.
    assert _ranker().rank(rows, distances, query_colour=np.zeros(1), exclude=0)[0].tolist() == [1, 2, 3]
    # Colour: rows 1 and 3 have the other colour, so row 2 comes first.
    coloured = _ranker(colour_weight=0.9).rank(rows, distances, query_colour=np.zeros(1), exclude=0)[0]
    assert coloured.tolist() == [2, 1, 3]
    # Type first, after colour: row 3 is of the predicted class.
    ranker = _ranker(colour_weight=0.9, label_weights={"articleType": 5.0},
                     classes={"articleType": np.array([0, 0, 0, 1])})
    ranked, shown = ranker.rank(rows, distances, query_colour=np.zeros(1), exclude=0,
                                probabilities={"articleType": np.array([0.0, 1.0])})
    assert ranked.tolist() == [3, 2, 1]
    assert shown[0] == pytest.approx(np.sqrt(0.1 * 0.3 ** 2 + 0.9))  # the blended distance, not the penalty


def test_the_ranker_asks_for_more_candidates_only_when_it_re_orders_them():
    assert _ranker().pool(5) == 5
    assert _ranker().pool(5, exclude_self=True) == 6
    assert _ranker(colour_weight=0.5).pool(5) == 50
    assert _ranker(label_weights={"articleType": 0.5}, classes={"articleType": np.zeros(4, int)}).pool(5) == 50


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"colour_weight": 1.5}, "colour_weight"),
    ({"label_weights": {"articleType": 0.5}}, "classes"),
])
def test_bad_rules_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _ranker(**kwargs)


def test_type_first_without_the_query_predictions_is_refused():
    ranker = _ranker(label_weights={"articleType": 0.5}, classes={"articleType": np.zeros(4, int)})
    with pytest.raises(ValueError, match="probabilities"):
        ranker.rank(np.array([1, 2]), np.array([0.1, 0.2]), query_colour=np.zeros(1))


def test_an_exact_match_comes_first_whatever_colour_and_type_first_say():
    # Row 0 is the very photo (distance 0) but of the other colour and a type the head finds unlikely.
    rows, distances = np.array([1, 0, 2, 3]), np.array([0.0, 0.10, 0.20, 0.30])
    ranker = _ranker(colour_weight=0.9, label_weights={"articleType": 5.0},
                     classes={"articleType": np.array([0, 1, 0, 0])})
    ranked, shown = ranker.rank(rows, distances, query_colour=np.zeros(1),
                                probabilities={"articleType": np.array([1.0, 0.0])})
    assert ranked[0] == 1 and shown[0] == pytest.approx(np.sqrt(0.9))
    assert ranked.tolist()[1:] == [0, 2, 3]
    # Nothing within EXACT_MATCH_DISTANCE: the rules alone decide.
    far = ranker.rank(rows, distances + 0.01, query_colour=np.zeros(1),
                      probabilities={"articleType": np.array([1.0, 0.0])})[0]
    assert far[0] != 1
