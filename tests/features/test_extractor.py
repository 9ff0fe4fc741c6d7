"""Extraction shapes and normalisation (random weights, fast) and the real ImageNet weights."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.features.extractor import FEATURE_DIM, Extractor
from recommender.features.weights import WeightsUnavailable, resolve_weights
from tests.factories import product_photo


@pytest.fixture(scope="module")
def small_batch_extractor(random_weights):
    return Extractor(random_weights, batch_size=3)  # batches of 3: a 7-photo call spans three


def test_vectors_are_unit_float32_2048(small_batch_extractor):
    images = [product_photo(seed=i) for i in range(7)]  # more than one batch, last one short
    vectors = small_batch_extractor.embed_images(images)
    assert vectors.shape == (7, FEATURE_DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_batching_does_not_change_vectors(small_batch_extractor):
    images = [product_photo(seed=i) for i in range(5)]
    one_by_one = np.concatenate([small_batch_extractor.embed_images([image]) for image in images])
    np.testing.assert_allclose(small_batch_extractor.embed_images(images), one_by_one, atol=1e-5)


def test_both_poolings_are_available(small_batch_extractor):
    size = small_batch_extractor.input_size
    pooled = small_batch_extractor.pooled(np.zeros((2, size, size, 3), np.uint8))
    assert pooled["avg"].shape == pooled["max"].shape == (2, FEATURE_DIM)


def test_unreadable_files_are_reported_per_file(small_batch_extractor, tmp_path):
    paths = []
    for i in range(4):
        path = tmp_path / f"{i}.jpg"
        product_photo(seed=i).save(path)
        paths.append(path)
    paths[2].write_bytes(b"garbage")
    batches = list(small_batch_extractor.embed_files(paths))
    errors = [error for batch in batches for error in batch.errors]
    vectors = np.concatenate([batch.vectors for batch in batches])
    assert [e is None for e in errors] == [True, True, False, True]
    assert "2.jpg" in errors[2] and np.isnan(vectors[2]).all() and not np.isnan(vectors[[0, 1, 3]]).any()


@pytest.mark.parametrize("kwargs, message", [
    ({"pooling": "sum"}, "Expected pooling"), ({"resize": "crop"}, "Expected resize"),
    ({"batch_size": 0}, "Expected batch_size"), ({"precision": "float16"}, "Expected precision"),
    ({"input_size": 100}, "Expected input_size"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Extractor(None, **kwargs)


def test_wrong_explicit_weights_path_is_an_error_not_a_fallback(tmp_path):
    with pytest.raises(WeightsUnavailable, match="does not exist"):
        resolve_weights(tmp_path / "missing.h5")


def test_no_source_says_what_was_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("RECOMMENDER_WEIGHTS", raising=False)
    with pytest.raises(WeightsUnavailable) as caught:
        resolve_weights(allow_download=False)
    message = str(caught.value)
    assert "- keras:" in message and "- npm:" in message and "RECOMMENDER_WEIGHTS" in message


def test_real_weights_classify_a_catalogue_tshirt(extractor, dataset_dir):
    """The converted ImageNet weights see a T-shirt as one: "jersey, T-shirt" in the top 5."""
    from recommender.data.catalogue import read_catalogue
    from recommender.data.images import decode_image

    items = read_catalogue(dataset_dir).items
    tshirts = items[(items["articleType"] == "Tshirts")].head(20)
    top5 = extractor.classify([decode_image(dataset_dir / rel) for rel in tshirts["image"]])
    hits = sum("jersey" in [label for label, _ in row] for row in top5)
    assert hits >= 10, top5  # most catalogue T-shirts, not just one lucky photo


def test_a_catalogue_made_with_other_weights_is_refused(synthetic_artifacts, tmp_path):
    """The manifest records the weights' hash: a model with any other weights cannot search it."""
    from recommender import ArtifactError, Recommender, import_tensorflow

    import_tensorflow()
    import keras

    keras.utils.set_random_seed(1)
    other = tmp_path / "other.weights.h5"
    keras.applications.ResNet50(weights=None).save_weights(other)
    with pytest.raises(ArtifactError, match="weights_sha256: built '[0-9a-f]{64}', now '[0-9a-f]{64}'"):
        Recommender.load(synthetic_artifacts, weights=other)


def test_bfloat16_compute_gives_nearly_the_same_vectors(extractor, weights):
    fast = Extractor(weights, precision="bfloat16")
    images = [product_photo(seed=i) for i in range(4)]
    cosines = (fast.embed_images(images) * extractor.embed_images(images)).sum(axis=1)
    assert cosines.min() > 0.999 and fast.settings.precision == "bfloat16"


def test_a_catalogue_built_at_a_smaller_input_is_searched_at_that_size(synthetic_dataset, random_weights, tmp_path):
    """The input size is a feature setting: recorded, used by queries and updates, refused when it differs."""
    from recommender import ArtifactError, Recommender
    from recommender.data.images import decode_image
    from recommender.features.settings import FeatureSettings
    from recommender.pipeline.build import build_catalogue
    from recommender.store.artifacts import load_artifacts

    out = tmp_path / "artifacts"
    build_catalogue(synthetic_dataset, out, weights=random_weights.path, input_size=160, n_trees=2, progress=False,
                    log=lambda _: None)
    recommender = Recommender.load(out, weights=random_weights.path)
    assert recommender.summary["input_size"] == 160
    photo = decode_image(synthetic_dataset / "images" / "1001.jpg")
    found = recommender.search(recommender.queries.from_image(photo), k=1, space="imagenet")
    assert found["id"].iloc[0] == "1001"  # a catalogue photo finds itself at its own size
    at_224 = FeatureSettings.of(random_weights, input_size=224)
    with pytest.raises(ArtifactError, match="input_size: built 160, now 224"):
        load_artifacts(out, expect_features=at_224)


def test_smaller_inputs_run_the_same_imagenet_weights(weights, dataset_dir):
    """At 192x192 the converted weights still see catalogue T-shirts as "jersey, T-shirt" (the network is
    the 224 one, layer for layer, only its input is smaller)."""
    from recommender.data.catalogue import read_catalogue
    from recommender.data.images import decode_image

    items = read_catalogue(dataset_dir).items
    tshirts = items[(items["articleType"] == "Tshirts")].head(20)
    top5 = Extractor(weights, input_size=192).classify([decode_image(dataset_dir / rel) for rel in tshirts["image"]])
    assert sum("jersey" in [label for label, _ in row] for row in top5) >= 10, top5


def _labelled(_precision, count):
    return [product_photo(seed=i) for i in range(min(count, 300))], {"articleType": [], "baseColour": []}


def test_auto_precision_stays_float32_without_bfloat16_hardware(monkeypatch):
    import recommender.features.precision as precision

    monkeypatch.setattr(precision, "bfloat16_hardware", lambda: None)
    monkeypatch.setattr(precision, "measure_precision", None)  # nothing is measured: no network is built
    assert precision.choose_precision(None, _labelled)[0] == "float32"


@pytest.mark.parametrize(("precision_name", "speedup", "losses", "chosen"), [
    ("bfloat16", 1.30, {"articleType": 0.0, "baseColour": 0.001}, "bfloat16"),
    ("bfloat16", 1.04, {"articleType": 0.0, "baseColour": 0.0}, "float32"),  # not faster beyond noise
    ("bfloat16", 1.30, {"articleType": 0.006, "baseColour": 0.0}, "float32"),  # more than half a point lost
    ("int8", 3.0, {"articleType": 0.004, "baseColour": -0.002}, "int8"),
    ("int8", 3.0, {"articleType": 0.005, "baseColour": 0.0}, "float32"),  # half a point lost: refused
    ("int8", 3.0, {"articleType": 0.0, "baseColour": 0.012}, "float32"),
    ("int8", 1.02, {"articleType": 0.0, "baseColour": 0.0}, "float32"),
])
def test_bfloat16_and_int8_are_taken_by_one_rule_faster_and_under_half_a_point_of_p5_lost(
        monkeypatch, precision_name, speedup, losses, chosen):
    """bfloat16 was judged by a cosine threshold, int8 by the P@5 it loses: now both by the P@5 rule."""
    import recommender.features.precision as precision

    monkeypatch.setattr(precision, "bfloat16_hardware", lambda: "AMX" if precision_name == "bfloat16" else None)
    monkeypatch.setattr(precision, "installed", lambda name: precision_name == "int8")
    monkeypatch.setattr(precision, "_nncf_installed", lambda: True)
    monkeypatch.setattr(precision, "INT8_SAMPLE", 300)  # the photos _labelled gives
    measured = []
    monkeypatch.setattr(precision, "measure_precision",
                        lambda weights, name, photos, labels, **kwargs: measured.append((name, len(photos)))
                        or (speedup, losses))
    picked, why = precision.choose_precision(None, _labelled, calibration=object(), runtime="tensorflow")
    assert picked == chosen and measured == [(precision_name, 300)]
    assert f"{precision_name} {'accepted' if chosen != 'float32' else 'refused'}: {speedup:.2f}x float32" in why


def test_a_precision_is_not_tried_without_enough_labelled_photos_to_judge_it_on(monkeypatch):
    import recommender.features.precision as precision

    monkeypatch.setattr(precision, "bfloat16_hardware", lambda: "AMX")
    monkeypatch.setattr(precision, "installed", lambda name: True)
    monkeypatch.setattr(precision, "_nncf_installed", lambda: True)
    monkeypatch.setattr(precision, "measure_precision", None)  # never called
    picked, why = precision.choose_precision(None, lambda name, count: ([product_photo()] * 150, {}),
                                             calibration=object())
    assert picked == "float32"
    assert "bfloat16 not tried (200 labelled photos" in why and "int8 not tried (4,000 labelled photos" in why


def test_a_precision_is_measured_on_the_real_network_by_the_p5_it_loses(random_weights):
    from recommender.features.precision import measure_precision

    photos = [product_photo(seed=i, colour=(200, 30, 30) if i % 2 else (30, 30, 200)) for i in range(8)]
    labels = {"articleType": ["Tshirts", "Jeans"] * 4, "baseColour": ["Red", "Blue"] * 4}
    speedup, losses = measure_precision(random_weights, "bfloat16", photos, labels, input_size=128, repeats=1)
    assert speedup > 0 and set(losses) == {"articleType", "baseColour"}
    assert all(abs(loss) <= 0.1 for loss in losses.values())  # bfloat16 barely moves a neighbour
