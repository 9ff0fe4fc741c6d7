"""Atomic artifacts: complete or absent, checked at load, stale ones refused."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from recommender.features.extractor import l2_normalise
from recommender.features.settings import FeatureSettings
from recommender.store.artifacts import load_artifacts, write_artifacts
from recommender.store.manifest import GRACE_SECONDS, ArtifactError, read_manifest

pytestmark = pytest.mark.unit

FEATURES = FeatureSettings("a" * 64, "explicit", dimension=16)


def _write(root, n=40, features=FEATURES, seed=0):
    rng = np.random.default_rng(seed)
    metadata = pd.DataFrame({"id": [str(i) for i in range(n)], "articleType": ["Tshirts"] * n,
                             "image": [f"images/{i}.jpg" for i in range(n)]})
    return write_artifacts(root, vectors=l2_normalise(rng.normal(size=(n, 16))),
                           colours=l2_normalise(rng.random((n, 64))), metadata=metadata, features=features,
                           catalogue={"dataset": "/data", "size": n, "fingerprint": "f" * 64}, n_trees=5)


def test_manifest_records_how_and_what(tmp_path):
    manifest = _write(tmp_path)
    record = json.loads((tmp_path / "manifest.json").read_text())
    for key in ("format_version", "build_id", "created", "features", "catalogue", "count", "files", "index"):
        assert key in record
    assert record == manifest.to_json() and read_manifest(tmp_path) == manifest
    assert manifest.features == FEATURES and record["features"]["weights_sha256"] == "a" * 64
    assert record["index"] == {"metric": "euclidean", "n_trees": 5, "seed": 0, "file": manifest.index.file,
                               "search_k": record["index"]["search_k"]}
    tuned = manifest.index.search_k["imagenet"]  # measured against exact search when the index was built
    assert tuned["recall_at_5"] >= 0.99 and tuned["value"] == min(int(k) for k in tuned["measured"]
                                                                   if tuned["measured"][k] >= 0.99)
    loaded = load_artifacts(tmp_path, expect_features=FEATURES)
    assert loaded.vectors.shape == (40, 16) and isinstance(loaded.vectors, np.memmap)
    assert loaded.metadata["id"].tolist()[:3] == ["0", "1", "2"]


def test_a_new_build_replaces_the_old_one_and_its_files_go_after_the_grace_period(tmp_path):
    first = _write(tmp_path, seed=0)
    second = _write(tmp_path, seed=1)
    assert load_artifacts(tmp_path).build_id == second.build_id
    # A running dashboard may still read the first build: its files stay for the grace period...
    assert (tmp_path / first.files["vectors"].name).is_file()
    superseded = json.loads((tmp_path / "superseded.json").read_text())
    assert list(superseded) == [first.build_id]
    # ...and go with the first commit after it.
    superseded[first.build_id] -= GRACE_SECONDS + 1
    (tmp_path / "superseded.json").write_text(json.dumps(superseded))
    third = _write(tmp_path, seed=2)
    names = {p.name for p in tmp_path.iterdir()}
    assert not any(first.build_id in name for name in names)
    assert any(second.build_id in name for name in names) and load_artifacts(tmp_path).build_id == third.build_id


def test_files_of_an_unfinished_build_are_never_loaded(tmp_path):
    done = _write(tmp_path)
    # A crashed build leaves files under its own id and the old manifest untouched.
    (tmp_path / "vectors-20991231T000000-dead00.npy").write_bytes(b"partial")
    assert load_artifacts(tmp_path).build_id == done.build_id


@pytest.mark.parametrize("kind", ["vectors", "colours", "metadata"])
def test_truncated_file_is_refused_naming_it(tmp_path, kind):
    manifest = _write(tmp_path)
    path = tmp_path / manifest.files[kind].name
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ArtifactError, match=path.name):
        load_artifacts(tmp_path)


def test_same_size_corruption_is_refused(tmp_path):
    manifest = _write(tmp_path)
    path = tmp_path / manifest.files["vectors"].name
    data = bytearray(path.read_bytes())
    data[-8:] = b"\xff" * 8
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="truncated or corrupt"):
        load_artifacts(tmp_path)


def test_corrupt_index_is_refused_naming_it(tmp_path):
    manifest = _write(tmp_path)
    path = tmp_path / manifest.index.file
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(ArtifactError, match=path.name):
        load_artifacts(tmp_path).index()


@pytest.mark.parametrize("content, message", [
    (None, "No catalogue is built"), ("{not json", "corrupt"), ('{"format_version": 99}', "format version"),
])
def test_missing_or_corrupt_manifest_is_refused(tmp_path, content, message):
    if content is not None:
        (tmp_path / "manifest.json").write_text(content)
    with pytest.raises(ArtifactError, match=message):
        read_manifest(tmp_path)


@pytest.mark.parametrize("key, value", [("weights_sha256", "b" * 64), ("resize", "squash"), ("pooling", "max"),
                                        ("precision", "bfloat16")])
def test_artifacts_of_other_settings_are_refused(tmp_path, key, value):
    _write(tmp_path)
    with pytest.raises(ArtifactError, match=f"{key}: built"):
        load_artifacts(tmp_path, expect_features=replace(FEATURES, **{key: value}))


def test_index_for_new_trees_is_built_from_stored_vectors(tmp_path):
    _write(tmp_path)
    artifacts = load_artifacts(tmp_path)
    index = artifacts.index(n_trees=3)
    assert index.n_trees == 3 and index.n_items == 40
    assert (tmp_path / f"annoy-{artifacts.build_id}-imagenet-euclidean-t3.ann").is_file()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["index"]["n_trees"] == 5  # the default is unchanged until `reindex`
