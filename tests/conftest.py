"""Shared fixtures, in three tiers.

Unit (``pytest -m unit``, seconds): pure numpy, data, file and code-shape
tests; TensorFlow is never imported (the session fails if it is).

Fast (``pytest -m "not slow"``, a couple of minutes, anywhere): a synthetic
catalogue of made-up product photos, embedded by the real ResNet50 with
random weights saved to a file, with a trained fashion head, so every page
and command runs without the shared data or the ImageNet weights.

Slow (marked ``slow`` here, automatically): real-data tests find the shared
catalogue through one setting, ``RECOMMENDER_DATASET`` (default:
``../shared/datasets/fashion-product-images-small``), and skip with the reason
when it is absent; real-weight tests skip when no ImageNet weights can be had
(see ``recommender.weights``); browser and SIGKILL tests mark themselves.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.data.locate import find_dataset
from tests.factories import SYNTHETIC_SIZE, make_dataset

REAL_SAMPLE = 300
# Tests using any of these need the shared catalogue or the real weights: the slow tier.
SLOW_FIXTURES = {"dataset_dir", "weights", "extractor", "real_artifacts"}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)



@pytest.fixture(scope="session", autouse=True)
def no_real_photos(tmp_path_factory):
    """First starts in tests do not train on the shared shoppers' photos (minutes): a test that wants real
    photos names its own folder in RECOMMENDER_REAL_PHOTOS."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RECOMMENDER_REAL_PHOTOS", str(tmp_path_factory.mktemp("no-real-photos")))
        yield


@pytest.fixture(scope="session")
def dataset_dir() -> Path:
    """The real catalogue (Kaggle layout), or skip."""
    found = find_dataset()
    if found is None:
        pytest.skip("real catalogue not found: set RECOMMENDER_DATASET to a folder with images/ and styles.csv")
    return found


@pytest.fixture(scope="session")
def weights():
    """Real ImageNet ResNet50 weights, or skip."""
    from recommender.features.weights import WeightsUnavailable, resolve_weights

    try:
        return resolve_weights()
    except WeightsUnavailable as error:
        pytest.skip(f"ImageNet weights unavailable: {error}")


@pytest.fixture(scope="session")
def extractor(weights):
    """An extractor with the real weights, shared by the session."""
    from recommender.features.extractor import Extractor

    return Extractor(weights)


@pytest.fixture(scope="session")
def real_artifacts(dataset_dir, extractor, tmp_path_factory) -> Path:
    """A real catalogue of ~300 products, stratified by articleType, built once per session."""
    from recommender.pipeline.build import build_catalogue

    out = tmp_path_factory.mktemp("real-artifacts")
    build_catalogue(dataset_dir, out, sample=REAL_SAMPLE, extractor=extractor, progress=False, log=lambda _: None)
    return out


@pytest.fixture(scope="session")
def random_weights(tmp_path_factory):
    """ResNet50 with seeded random weights, saved as a weights file (the app and CLI load it by path)."""
    from recommender import Weights, import_tensorflow
    from recommender.features.weights import file_sha256

    import_tensorflow()
    import keras

    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("weights") / "random-resnet50.weights.h5"
    keras.applications.ResNet50(weights=None).save_weights(path)
    return Weights(path, "explicit", file_sha256(path))


@pytest.fixture(scope="session")
def random_extractor(random_weights):
    """The real network with random weights: for tests of the pipeline, not of quality."""
    from recommender import Extractor

    return Extractor(random_weights, batch_size=8)


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory) -> Path:
    """24 made-up products in two article types, Kaggle layout with its quirks."""
    return make_dataset(tmp_path_factory.mktemp("synthetic") / "dataset", n=SYNTHETIC_SIZE)


@pytest.fixture(scope="session")
def synthetic_artifacts(synthetic_dataset, random_extractor, tmp_path_factory) -> Path:
    """A built synthetic catalogue with a trained fashion space and its saved evaluations (built once)."""
    from recommender.pipeline.build import build_catalogue
    from recommender.training.train import train_space

    out = tmp_path_factory.mktemp("synthetic-artifacts")
    build_catalogue(synthetic_dataset, out, extractor=random_extractor, n_trees=5, progress=False,
                    log=lambda _: None)
    train_space(out, holdout=0.2, epochs=1, progress=False, log=lambda _: None)
    return out


@pytest.fixture
def synthetic_env(synthetic_artifacts, random_weights, synthetic_dataset, monkeypatch) -> Path:
    """The environment of an app or CLI run on the synthetic catalogue."""
    monkeypatch.setenv("RECOMMENDER_ARTIFACTS", str(synthetic_artifacts))
    monkeypatch.setenv("RECOMMENDER_WEIGHTS", str(random_weights.path))
    monkeypatch.setenv("RECOMMENDER_DATASET", str(synthetic_dataset))
    return synthetic_artifacts


@pytest.fixture
def interrupt_embedding(monkeypatch):
    """``interrupt_embedding(n)``: Ctrl-C on the n-th chunk the extractor is given; returns the call counter.

    Setting ``counter["n"]`` past n afterwards lets the next run go through while still counting chunks.
    """
    from recommender.features.extractor import Extractor

    def arm(on_call: int) -> dict:
        calls = {"n": 0}
        real = Extractor.embed_files

        def embed_files(self, paths, **kwargs):
            calls["n"] += 1
            if calls["n"] == on_call:
                raise KeyboardInterrupt
            return real(self, paths, **kwargs)

        monkeypatch.setattr(Extractor, "embed_files", embed_files)
        return calls

    return arm
