"""Building a catalogue end to end: resumable, atomic, safe under SIGKILL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from recommender.pipeline.build import build_catalogue
from recommender.store.artifacts import ArtifactError, load_artifacts
from tests.factories import make_dataset


def test_build_embeds_every_photo_and_reports(tmp_path, random_extractor):
    root = make_dataset(tmp_path / "d", n=10, styles_extra="123,Men,Apparel\n")
    (root / "images" / "2000.jpg").write_bytes(b"not a jpeg")
    lines = []
    manifest = build_catalogue(root, tmp_path / "a", extractor=random_extractor, chunk_size=4, progress=False,
                               log=lines.append)
    artifacts = load_artifacts(tmp_path / "a")
    assert manifest.count == 10 and "2000" not in set(artifacts.metadata["id"])
    np.testing.assert_allclose(np.linalg.norm(artifacts.vectors, axis=1), 1, atol=1e-5)
    assert "malformed" in lines[0] and any("2000.jpg" in line for line in lines)
    assert manifest.catalogue["skipped_images"][0].startswith(f"{root / 'images' / '2000.jpg'}: ")
    assert not list((tmp_path / "a").glob(".work-*"))


def test_sample_is_stratified(tmp_path, random_extractor):
    root = make_dataset(tmp_path / "d", n=12)
    manifest = build_catalogue(root, tmp_path / "a", sample=4, extractor=random_extractor, progress=False,
                               log=lambda _: None)
    metadata = load_artifacts(tmp_path / "a").metadata
    assert manifest.count == 4 and metadata["articleType"].value_counts().to_dict() == {"Tshirts": 2, "Jeans": 2}


def test_interrupted_build_resumes_where_it_stopped(tmp_path, random_extractor, interrupt_embedding):
    root = make_dataset(tmp_path / "d", n=12)
    reference = build_catalogue(root, tmp_path / "ref", extractor=random_extractor, chunk_size=4, progress=False,
                                log=lambda _: None)
    calls = interrupt_embedding(3)
    with pytest.raises(KeyboardInterrupt):
        build_catalogue(root, tmp_path / "a", extractor=random_extractor, chunk_size=4, progress=False,
                        log=lambda _: None)
    with pytest.raises(ArtifactError, match="No catalogue is built"):
        load_artifacts(tmp_path / "a")  # nothing half-built is loadable
    calls["n"] = 10  # later chunks only
    build_catalogue(root, tmp_path / "a", extractor=random_extractor, chunk_size=4, progress=False,
                    log=lambda _: None)
    assert calls["n"] == 11  # only the missing third chunk was embedded again
    resumed, expected = load_artifacts(tmp_path / "a"), load_artifacts(tmp_path / "ref")
    np.testing.assert_array_equal(resumed.vectors, expected.vectors)
    assert resumed.metadata["id"].tolist() == expected.metadata["id"].tolist() and reference.count == 12


def test_an_interrupted_build_resumes_with_the_precision_it_chose(tmp_path, random_weights, interrupt_embedding,
                                                                  monkeypatch):
    import recommender.features.precision as precision

    root = make_dataset(tmp_path / "d", n=8)
    monkeypatch.setattr(precision, "bfloat16_hardware", lambda: "AMX")
    monkeypatch.setattr(precision, "BFLOAT16_MIN_SAMPLE", 4)  # this catalogue's 8 photos judge it
    monkeypatch.setattr(precision, "measure_precision",  # bfloat16 wins
                        lambda *args, **kwargs: (2.0, {"articleType": 0.0, "baseColour": 0.0}))
    calls = interrupt_embedding(2)
    # On a runtime that runs bfloat16: "auto" could measure ONNX Runtime fastest on a loaded machine, and it
    # runs float32 only.
    options = dict(weights=random_weights, chunk_size=4, batch_size=4, n_trees=2, progress=False,
                   runtime="tensorflow")
    with pytest.raises(KeyboardInterrupt):
        build_catalogue(root, tmp_path / "a", **options)
    # A new measurement would now choose float32 (a shared machine is noisy): the resumed build keeps bfloat16.
    monkeypatch.setattr(precision, "measure_precision",
                        lambda *args, **kwargs: (0.5, {"articleType": 0.0, "baseColour": 0.0}))
    calls["n"] = 10
    lines = []
    manifest = build_catalogue(root, tmp_path / "a", log=lines.append, **options)
    assert manifest.features.precision == "bfloat16" and calls["n"] == 11, lines  # one chunk left to embed
    assert any("as chosen by the interrupted build" in line for line in lines)


def _cli(*args) -> list[str]:
    return [sys.executable, "-m", "recommender", *args]


@pytest.mark.slow
def test_sigkill_at_random_moments_never_leaves_a_loadable_half(tmp_path, weights):
    """Kill the build process several times, watching the folder all along, then finish it."""
    root = make_dataset(tmp_path / "d", n=40)
    # One runtime for every run: "auto" measures them per build, and on a loaded machine two builds may pick
    # two runtimes whose vectors agree (cosine 0.99999) but not to the 1e-6 compared here.
    build = ["build", str(root), "--chunk-size", "4", "--batch-size", "4", "--no-progress", "--n-trees", "5",
             "--runtime", "openvino"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run(_cli(*build, "--out", str(tmp_path / "ref")), check=True, env=env, capture_output=True)
    out = tmp_path / "killed"
    rng = random.Random(1)
    loads = {"absent": 0, "complete": 0}
    for _ in range(4):
        process = subprocess.Popen(_cli(*build, "--out", str(out)), env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + rng.uniform(4, 14)
        while time.monotonic() < deadline and process.poll() is None:
            try:
                loaded = load_artifacts(out)
                assert loaded.vectors.shape[0] == 40  # loadable only when whole
                loads["complete"] += 1
            except ArtifactError as error:
                assert "No catalogue is built" in str(error)
                loads["absent"] += 1
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
    subprocess.run(_cli(*build, "--out", str(out)), check=True, env=env, capture_output=True)
    final, reference = load_artifacts(out), load_artifacts(tmp_path / "ref")
    assert final.metadata["id"].tolist() == reference.metadata["id"].tolist()
    np.testing.assert_allclose(final.vectors, reference.vectors, atol=1e-6)
    np.testing.assert_array_equal(final.colours, reference.colours)
    assert loads["absent"] > 0
    assert json.loads((out / "manifest.json").read_text())["count"] == 40
