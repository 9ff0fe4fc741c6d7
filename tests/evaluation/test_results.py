"""The Evaluation page's tables, from saved records."""

from __future__ import annotations

import pytest

from recommender.evaluation.results import model_choice_table

pytestmark = pytest.mark.unit


def test_the_models_chosen_on_real_photos_are_shown_with_what_chose_them():
    """The page showed studio figures only, not the real-photo results that chose the default models."""
    judged = {"dev_photos": "shopper-photos",
              "product photos": {"against": "fashion", "queries": 462, "wins": True,
                                 "real_articleType": {"before": 0.55, "after": 0.62, "change": 0.07,
                                                      "interval": (0.03, 0.11)}},
              "worn garments": {"against": "fashion", "queries": 437, "wins": False,
                                "real_articleType": {"before": 0.45, "after": 0.46, "change": 0.01,
                                                     "interval": (-0.02, 0.04)}}}
    table = model_choice_table({"fashion-real": judged})
    assert table["photos of"].tolist() == ["product photos", "worn garments"]
    assert table["default"].tolist() == ["yes", "no"] and table["queries"].tolist() == [462, 437]
    assert table["change, points (95% interval)"].iloc[0] == "+7.0 (+3.0 to +11.0)"
