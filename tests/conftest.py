"""Shared fixtures, in two tiers.

Fast (``pytest -m "not slow"``, under a minute, anywhere): a synthetic
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

import numpy as np
import pytest
from PIL import Image

from recommender.settings import find_dataset

REAL_SAMPLE = 300
# Tests using any of these need the shared catalogue or the real weights: the slow tier.
SLOW_FIXTURES = {"dataset_dir", "weights", "extractor", "real_artifacts"}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


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
    from recommender.weights import WeightsUnavailable, resolve_weights

    try:
        return resolve_weights()
    except WeightsUnavailable as error:
        pytest.skip(f"ImageNet weights unavailable: {error}")


@pytest.fixture(scope="session")
def extractor(weights):
    """An extractor with the real weights, shared by the session."""
    from recommender.features import Extractor

    return Extractor(weights)


@pytest.fixture(scope="session")
def real_artifacts(dataset_dir, extractor, tmp_path_factory) -> Path:
    """A real catalogue of ~300 products, stratified by articleType, built once per session."""
    from recommender.build import build_catalogue

    out = tmp_path_factory.mktemp("real-artifacts")
    build_catalogue(dataset_dir, out, sample=REAL_SAMPLE, extractor=extractor, progress=False, log=lambda _: None)
    return out


def product_photo(size=(60, 80), colour=(200, 30, 30), background=(255, 255, 255), seed: int = 0) -> Image.Image:
    """A made-up product shot: a coloured blob on a plain background."""
    rng = np.random.default_rng(seed)
    width, height = size
    array = np.empty((height, width, 3), np.uint8)
    array[:] = background
    y0, x0 = rng.integers(0, height // 4), rng.integers(0, width // 4)
    array[y0:y0 + height // 2, x0:x0 + width // 2] = colour
    return Image.fromarray(array)


STYLES_HEADER = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName\n"


def make_dataset(root: Path, n: int = 12, *, styles_extra: str = "") -> Path:
    """A small Kaggle-layout dataset: ``n`` photos in two article types, plus quirks in styles.csv."""
    (root / "images").mkdir(parents=True)
    lines = [STYLES_HEADER]
    for i in range(n):
        kind = ("Tshirts", "Red") if i % 2 == 0 else ("Jeans", "Blue")
        colour = (200, 30, 30) if i % 2 == 0 else (30, 30, 200)
        product_photo(colour=colour, seed=i).save(root / "images" / f"{1000 + i}.jpg")
        lines.append(f"{1000 + i},Men,Apparel,Topwear,{kind[0]},{kind[1]},Summer,2012,Casual,Product {i}, with comma\n")
    (root / "styles.csv").write_text("".join(lines) + styles_extra)
    return root


@pytest.fixture(scope="session")
def random_weights(tmp_path_factory):
    """ResNet50 with seeded random weights, saved as a weights file (the app and CLI load it by path)."""
    from recommender import Weights, import_tensorflow
    from recommender.weights import file_sha256

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


SYNTHETIC_SIZE = 24


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory) -> Path:
    """24 made-up products in two article types, Kaggle layout with its quirks."""
    return make_dataset(tmp_path_factory.mktemp("synthetic") / "dataset", n=SYNTHETIC_SIZE)


@pytest.fixture(scope="session")
def synthetic_artifacts(synthetic_dataset, random_extractor, tmp_path_factory) -> Path:
    """A built synthetic catalogue with a trained fashion space and its saved evaluations (built once)."""
    from recommender.build import build_catalogue
    from recommender.train import train_space

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
    from recommender.features import Extractor

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
