"""Feature settings as one type: recorded, read back (old manifests too), compared."""

from __future__ import annotations

from dataclasses import replace

import pytest

from recommender.features.settings import INPUT_SIZES, FeatureSettings

pytestmark = pytest.mark.unit


def test_settings_round_trip_and_old_manifests_get_the_values_they_were_built_with():
    settings = FeatureSettings("a" * 64, "npm", input_size=192, precision="bfloat16")
    assert FeatureSettings.from_json(settings.to_json()) == settings
    old = {key: value for key, value in settings.to_json().items() if key not in ("input_size", "precision")}
    assert FeatureSettings.from_json(old).knobs == {"input_size": 224, "resize": "pad", "pooling": "avg",
                                                    "precision": "float32"}


def test_differences_name_what_makes_vectors_incomparable_and_only_that():
    built = FeatureSettings("a" * 64, "npm")
    assert built.differences(replace(built, weights_source="keras")) == []  # the same file from elsewhere
    assert built.differences(replace(built, pooling="max", input_size=160)) == [
        "input_size: built 224, now 160", "pooling: built 'avg', now 'max'"]


@pytest.mark.parametrize(("knob", "value"), [("pooling", "sum"), ("resize", "crop"), ("precision", "int4"),
                                             ("input_size", 200)])
def test_bad_settings_are_refused(knob, value):
    with pytest.raises(ValueError, match=f"Expected {knob}"):
        FeatureSettings("a" * 64, "npm", **{knob: value})
    assert 200 not in INPUT_SIZES
