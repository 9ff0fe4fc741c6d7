"""Embedding on Ray Data (local Ray on this machine): the same files as the local engine, robust to
actors and drivers dying.  Skipped with the reason where Ray is not installed (requirements-ray.txt)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from recommender import load_artifacts
from recommender.features.extractor import Extractor
from recommender.pipeline.build import build_catalogue
from recommender.pipeline.engines import ChunkEmbedder, EngineUnavailable, RayEngine, RayOptions
from tests.factories import make_dataset

PROJECT = Path(__file__).resolve().parents[2]


def _quiet(**kwargs):
    return {"progress": False, "log": lambda _: None, **kwargs}


def test_without_ray_the_engine_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(EngineUnavailable, match="pip install -r requirements-ray.txt"):
        RayEngine()


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray", reason="Ray is an optional install: pip install -r requirements-ray.txt")
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("ray") / "dataset", n=48)


class CrashOnce(ChunkEmbedder):
    """Dies in the middle of its first batch (os._exit), once per test run: Ray must restart it."""

    def __call__(self, batch):
        try:
            os.close(os.open(os.environ["CRASH_MARKER"], os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return super().__call__(batch)
        os._exit(1)


@pytest.mark.slow
def test_ray_vectors_equal_the_local_engine_bit_for_bit(ray_session, photos, random_weights, tmp_path):
    extractor = Extractor(random_weights, batch_size=4)
    build_catalogue(photos, tmp_path / "local", extractor=extractor, chunk_size=8, n_trees=5, **_quiet())
    # Two CPUs for the actor: TensorFlow then runs as many threads as in this process, hence the same sums.
    engine = RayEngine(RayOptions(workers=1, cpus_per_worker=2))
    build_catalogue(photos, tmp_path / "ray", extractor=extractor, chunk_size=8, n_trees=5, engine=engine,
                    **_quiet())
    local, distributed = load_artifacts(tmp_path / "local"), load_artifacts(tmp_path / "ray")
    assert local.metadata["id"].tolist() == distributed.metadata["id"].tolist()
    np.testing.assert_array_equal(local.vectors, distributed.vectors)
    np.testing.assert_array_equal(local.colours, distributed.colours)


@pytest.mark.slow
def test_an_actor_killed_mid_batch_is_restarted_and_every_row_is_written_once(ray_session, photos, random_weights,
                                                                              tmp_path, monkeypatch):
    marker = tmp_path / "crashed"
    monkeypatch.setenv("CRASH_MARKER", str(marker))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))  # the actors unpickle CrashOnce from here
    ray_session.shutdown()  # a new local Ray, so that its workers see CRASH_MARKER
    extractor = Extractor(random_weights, batch_size=4)
    engine = RayEngine(RayOptions(workers=2, cpus_per_worker=1), actor=CrashOnce)
    build_catalogue(photos, tmp_path / "ray", extractor=extractor, chunk_size=8, n_trees=5, engine=engine,
                    **_quiet())
    assert marker.exists()  # an actor did die
    built = load_artifacts(tmp_path / "ray")
    assert built.metadata["id"].tolist() == sorted(built.metadata["id"], key=int) and len(built.metadata) == 48
    reference = extractor.embed_images([__import__("recommender").decode_image(photos / rel)
                                        for rel in built.metadata["image"]])
    cosines = (np.asarray(built.vectors) * reference).sum(axis=1)
    assert cosines.min() > 0.99999  # each row is its own photo's vector, exactly once


@pytest.mark.slow
def test_a_killed_driver_resumes_with_the_missing_chunks_only(ray_session, photos, random_weights, tmp_path):
    ray_session.shutdown()
    out = tmp_path / "ray"
    command = [sys.executable, "-m", "recommender", "build", str(photos), "--out", str(out), "--engine", "ray",
               "--workers", "1", "--chunk-size", "8", "--batch-size", "4", "--n-trees", "5", "--no-progress",
               "--weights", str(random_weights.path)]
    driver = subprocess.Popen(command, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline and len(list(out.glob(".work-*/chunk-*.json"))) < 2:
        time.sleep(0.2)
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and the local Ray it started
    driver.wait()
    done = {path.name: path.stat().st_mtime_ns for path in out.glob(".work-*/chunk-*.json")}
    assert 2 <= len(done) < 6 and not (out / "manifest.json").exists()
    resume = [arg for arg in command if arg != "--no-progress"]
    finished = subprocess.run(resume, cwd=PROJECT, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "Traceback" not in finished.stderr
    # The bar starts where the killed driver stopped: only the missing chunks were handed to Ray.
    assert int(re.search(r"(\d+)/48", finished.stderr).group(1)) == 8 * len(done)
    built = load_artifacts(out)
    assert len(built.metadata) == 48
    local = tmp_path / "local"
    build_catalogue(photos, local, extractor=Extractor(random_weights, batch_size=4), chunk_size=8, n_trees=5,
                    **_quiet())
    cosines = (np.asarray(built.vectors) * np.asarray(load_artifacts(local).vectors)).sum(axis=1)
    assert cosines.min() > 0.99999
