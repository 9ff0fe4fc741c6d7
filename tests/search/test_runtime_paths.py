"""A catalogue built on OpenVINO: searched without TensorFlow (CLI and API), and on TensorFlow where OpenVINO
is missing, with the same answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from recommender import Recommender, load_artifacts
from recommender.features.runtimes import installed
from recommender.pipeline.build import build_catalogue

pytestmark = pytest.mark.skipif(not installed("openvino"), reason="openvino is not installed")
# Run in a child process whose `import tensorflow` (and keras) fails: the code path must not need it.
WITHOUT_TENSORFLOW = "import sys; sys.modules['tensorflow'] = sys.modules['keras'] = None\n"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RECOMMENDER_CACHE", str(path))
        yield path


@pytest.fixture(scope="module")
def openvino_artifacts(synthetic_dataset, random_weights, cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("openvino-artifacts")
    build_catalogue(synthetic_dataset, out, weights=random_weights, runtime="openvino", precision="float32",
                    n_trees=5, progress=False)
    return out


def _child(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_TENSORFLOW + textwrap.dedent(code)], capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=300)


def test_the_runtime_is_recorded_for_information(openvino_artifacts):
    assert load_artifacts(openvino_artifacts).manifest.features.runtime == "openvino"


def test_a_query_runs_without_tensorflow_and_finds_the_photo_itself_first(openvino_artifacts, random_weights, cache):
    artifacts = load_artifacts(openvino_artifacts)
    item = artifacts.metadata.iloc[5]
    photo = artifacts.manifest.dataset / item["image"]
    done = _child(f"""
        import runpy
        sys.argv = ["recommender", "query", {str(photo)!r}, "--artifacts", {str(openvino_artifacts)!r}, "--json"]
        runpy.run_module("recommender", run_name="__main__", alter_sys=True)
    """, {"RECOMMENDER_CACHE": str(cache), "RECOMMENDER_WEIGHTS": str(random_weights.path)})
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert str(results[0]["id"]) == str(item["id"]) and results[0]["distance"] < 1e-3


def test_the_api_serves_without_tensorflow(openvino_artifacts, random_weights, cache):
    artifacts = load_artifacts(openvino_artifacts)
    photo = artifacts.manifest.dataset / artifacts.metadata["image"].iloc[2]
    done = _child(f"""
        from fastapi.testclient import TestClient
        from recommender.api.app import create_app
        with TestClient(create_app({str(openvino_artifacts)!r}, weights={str(random_weights.path)!r})) as client:
            with open({str(photo)!r}, "rb") as handle:
                response = client.post("/v1/search", files={{"photo": ("p.jpg", handle, "image/jpeg")}})
        print(response.status_code, len(response.json()["results"]))
    """, {"RECOMMENDER_CACHE": str(cache)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["200", "5"]


def test_a_missing_runtime_falls_back_to_tensorflow_with_the_same_answers(openvino_artifacts, random_weights,
                                                                          monkeypatch):
    on_openvino = Recommender.load(openvino_artifacts, weights=random_weights)
    assert on_openvino.queries.runtime == "openvino"
    monkeypatch.setitem(sys.modules, "openvino", None)
    lines = []
    on_tensorflow = Recommender.load(openvino_artifacts, weights=random_weights, log=lines.append)
    assert on_tensorflow.queries.runtime == "tensorflow"
    assert lines == ["Runtime tensorflow: openvino is not installed (pip install openvino)."]
    artifacts = load_artifacts(openvino_artifacts)
    for row in (0, 7, 13):
        from recommender.data.images import decode_image

        image = decode_image(artifacts.manifest.dataset / artifacts.metadata["image"].iloc[row])
        answers = [recommender.search(recommender.queries.from_image(image), k=5, space="imagenet")["id"].tolist()
                   for recommender in (on_openvino, on_tensorflow)]
        assert answers[0] == answers[1]
