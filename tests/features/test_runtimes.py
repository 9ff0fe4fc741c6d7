"""Inference runtimes: the choice rules (unit), and the exported networks' agreement with TensorFlow's.

The agreement tests run the real ResNet50 with random weights (a weights file), exported for each
installed runtime into a per-test cache; where a runtime is not installed its test says so and skips.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from recommender.features import runtimes
from recommender.features.export import Calibration, CalibrationChanged, export_dir
from recommender.features.runtimes import decide_runtime, installed, runtime_for
from tests.factories import product_photo

OTHER_RUNTIMES = ("openvino", "onnxruntime")


def needs(runtime: str) -> None:
    if not installed(runtime):
        pytest.skip(f"{runtime} is not installed (pip install -r requirements.txt)")


@pytest.mark.unit
def test_the_fastest_runtime_that_agrees_is_chosen():
    measured = {"tensorflow": (1.0, 1.0), "openvino": (0.6, 0.999999), "onnxruntime": (0.5, 0.9999)}
    chosen, why = decide_runtime(measured)
    assert chosen == "openvino"  # onnxruntime is faster but its vectors disagree
    assert "1.67x TensorFlow" in why and "onnxruntime 2.00x (cosine 0.999900)" in why
    assert decide_runtime({"tensorflow": (1.0, 1.0), "openvino": (1.2, 1.0)})[0] == "tensorflow"


@pytest.mark.unit
def test_a_blocked_or_missing_runtime_reads_as_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)
    assert not installed("openvino")
    with pytest.raises(ValueError, match="Expected a runtime"):
        installed("tensorrt")


@pytest.mark.unit
def test_auto_takes_the_recorded_runtime_and_falls_back_to_tensorflow_in_one_line(monkeypatch):
    present = {"tensorflow", "openvino"}
    monkeypatch.setattr(runtimes, "installed", lambda name: name in present)
    lines = []
    assert runtime_for("auto", "float32", recorded="openvino", log=lines.append) == "openvino"
    assert runtime_for("auto", "float32", recorded=None, log=lines.append) == "tensorflow"
    assert lines == []  # nothing to say: what was asked for runs
    assert runtime_for("onnxruntime", "float32", log=lines.append) == "tensorflow"
    assert lines == ["Runtime tensorflow: onnxruntime is not installed (pip install onnxruntime)."]
    present.discard("openvino")
    assert runtime_for("auto", "float32", recorded="openvino", log=lines.append) == "tensorflow"
    assert lines[-1] == "Runtime tensorflow: openvino is not installed (pip install openvino)."


@pytest.mark.unit
def test_a_precision_goes_to_a_runtime_that_runs_it(monkeypatch):
    monkeypatch.setattr(runtimes, "installed", lambda name: True)
    lines = []
    assert runtime_for("onnxruntime", "int8", log=lines.append) == "openvino"
    assert lines == ["Runtime openvino: onnxruntime is not able to run int8."]
    assert runtime_for("auto", "bfloat16", recorded="onnxruntime", log=lines.append) == "tensorflow"
    monkeypatch.setattr(runtimes, "installed", lambda name: name == "tensorflow")
    with pytest.raises(runtimes.RuntimeUnavailable, match="No installed runtime runs int8"):
        runtime_for("auto", "int8", recorded="openvino")
    with pytest.raises(ValueError, match="Expected a runtime"):
        runtime_for("tensorrt", "float32")


def _extractors(weights, runtime, tmp_path, monkeypatch, **knobs):
    from recommender.features.extractor import Extractor

    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path / "cache"))  # exports of random weights stay here
    lines = []
    return Extractor(weights, **knobs), Extractor(weights, runtime=runtime, log=lines.append, **knobs), lines


@pytest.mark.parametrize("runtime", ["openvino", pytest.param("onnxruntime", marks=pytest.mark.slow)])
def test_exported_networks_agree_with_tensorflow(random_weights, runtime, tmp_path, monkeypatch):
    needs(runtime)
    reference, other, lines = _extractors(random_weights, runtime, tmp_path, monkeypatch, input_size=128,
                                          batch_size=4)
    assert lines == [f"Exporting the network for {runtime} at 128x128 (once, cached)..."]
    assert other.runtime == runtime and other.settings.differences(reference.settings) == []
    photos = [product_photo(seed=i) for i in range(6)]  # two batches, the last one short
    batch = np.stack([reference.prepare(photo) for photo in photos])
    expected, got = reference.pooled(batch), other.pooled(batch)
    for pooling in ("avg", "max"):
        cosine = (expected[pooling] * got[pooling]).sum(axis=1)
        assert cosine.min() >= runtimes.MIN_RUNTIME_COSINE, (pooling, cosine)
    np.testing.assert_allclose(got["logits"], expected["logits"], atol=1e-3)


def test_an_export_is_made_once_and_never_loaded_half_written(random_weights, tmp_path, monkeypatch):
    needs("openvino")
    from recommender.features.extractor import Extractor

    _, first, lines = _extractors(random_weights, "openvino", tmp_path, monkeypatch, input_size=128)
    folder = export_dir(random_weights, 128, "openvino")
    assert sorted(path.name for path in folder.iterdir()) == ["model.bin", "model.xml"]
    assert [path.name for path in folder.parent.iterdir()] == [folder.name]  # no scratch folder left behind
    again = []
    second = Extractor(random_weights, runtime="openvino", input_size=128, log=again.append)
    assert again == []  # cached: not exported again
    photo = [product_photo(seed=3)]
    np.testing.assert_array_equal(first.embed_images(photo), second.embed_images(photo))


@pytest.mark.slow
def test_int8_is_a_feature_setting_calibrated_on_the_catalogue(random_weights, synthetic_dataset, tmp_path,
                                                               monkeypatch):
    needs("openvino")
    pytest.importorskip("nncf", reason="nncf is not installed (pip install -r requirements.txt)")
    import hashlib
    import shutil

    from recommender.features.extractor import Extractor

    dataset = tmp_path / "dataset"
    shutil.copytree(synthetic_dataset, dataset)
    images = tuple(sorted(path.relative_to(dataset).as_posix() for path in (dataset / "images").glob("*.jpg"))[:8])
    calibration = Calibration(dataset, images, tuple(hashlib.sha256((dataset / rel).read_bytes()).hexdigest()
                                                     for rel in images))
    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path / "cache"))
    lines = []
    float32 = Extractor(random_weights, runtime="openvino", input_size=128)
    int8 = Extractor(random_weights, runtime="openvino", input_size=128, precision="int8", calibration=calibration,
                     log=lines.append)
    assert lines[-1] == "Quantising the network to int8 for openvino on the catalogue's own photos (once)..."
    assert int8.settings.calibration == {"images": list(images), "sha256": list(calibration.sha256),
                                         "digest": calibration.digest}
    assert int8.settings.differences(float32.settings)[0].startswith("precision: built 'int8', now 'float32'")
    photos = [product_photo(seed=i) for i in range(4)]
    vectors = int8.embed_images(photos)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert (vectors * float32.embed_images(photos)).sum(axis=1).min() > 0.9  # close, not the same

    # A calibration photo removed from the dataset: the cached network keeps serving...
    (dataset / images[0]).unlink()
    again = Extractor(random_weights, runtime="openvino", input_size=128, precision="int8", calibration=calibration)
    np.testing.assert_array_equal(again.embed_images(photos), vectors)
    # ...and where it is not cached, it cannot be remade: one clear error, nothing made.
    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path / "other-cache"))
    with pytest.raises(CalibrationChanged, match=f"calibration photo {images[0]} is gone or changed"):
        Extractor(random_weights, runtime="openvino", input_size=128, precision="int8", calibration=calibration)
