"""The TF.js -> Keras conversion, checked on a model the test writes in TF.js format."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recommender.features.tfjs import keras_layer_name, load_into, read_tfjs_weights


@pytest.mark.parametrize("old, new", [
    ("conv1", "conv1_conv"),
    ("bn_conv1", "conv1_bn"),
    ("fc1000", "predictions"),
    ("res2a_branch2a", "conv2_block1_1_conv"),
    ("bn2a_branch1", "conv2_block1_0_bn"),
    ("res3d_branch2c", "conv3_block4_3_conv"),
    ("bn4f_branch2b", "conv4_block6_2_bn"),
    ("res5c_branch1", "conv5_block3_0_conv"),
])
def test_layer_names_map_one_to_one(old, new):
    assert keras_layer_name(old) == new


def test_unknown_layer_name_is_refused():
    with pytest.raises(ValueError, match="Expected a Keras 2.2 ResNet50 layer name"):
        keras_layer_name("dense_7")


def _write_tfjs(folder, weights: list[tuple[str, np.ndarray]], shard_bytes: int = 4096):
    """Write weights as a TF.js layers model: one group, cut into shards."""
    blob = b"".join(value.astype("<f4").tobytes() for _, value in weights)
    paths = []
    for i, start in enumerate(range(0, len(blob), shard_bytes)):
        name = f"group1-shard{i + 1}of{(len(blob) + shard_bytes - 1) // shard_bytes}.bin"
        (folder / name).write_bytes(blob[start:start + shard_bytes])
        paths.append(name)
    manifest = [{"paths": paths, "weights": [{"name": n, "shape": list(v.shape), "dtype": "float32"}
                                             for n, v in weights]}]
    (folder / "model.json").write_text(json.dumps({"format": "layers-model", "weightsManifest": manifest}))


def test_shards_are_read_as_one_stream(tmp_path):
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(3, 3, 3, 8)).astype(np.float32), rng.normal(size=8).astype(np.float32)
    _write_tfjs(tmp_path, [("conv1/kernel", kernel), ("conv1/bias", bias)], shard_bytes=100)
    assert len(list(tmp_path.glob("*.bin"))) > 2  # a weight straddles shard boundaries
    layers = read_tfjs_weights(tmp_path)
    np.testing.assert_array_equal(layers["conv1"]["kernel"], kernel)
    np.testing.assert_array_equal(layers["conv1"]["bias"], bias)


def test_truncated_shards_are_refused(tmp_path):
    _write_tfjs(tmp_path, [("conv1/bias", np.ones(64, np.float32))])
    shard = next(tmp_path.glob("*.bin"))
    shard.write_bytes(shard.read_bytes()[:-4] + b"\0" * 8)
    with pytest.raises(ValueError, match="manifest describes"):
        read_tfjs_weights(tmp_path)


def test_a_whole_resnet50_round_trips(tmp_path):
    """Weights of a random ResNet50, written under the old names, come back in the right layers."""
    import keras

    from recommender.features.tfjs import WEIGHT_ORDER

    source = keras.applications.ResNet50(weights=None)
    old_names = {keras_layer_name(o): o for o in _old_resnet_names()}
    entries = []
    for layer in source.layers:
        if not layer.weights:
            continue
        kind = "bn" if layer.name.endswith("_bn") else ("dense" if layer.name == "predictions" else "conv")
        for suffix, value in zip(WEIGHT_ORDER[kind], layer.get_weights()):
            entries.append((f"{old_names[layer.name]}/{suffix}", value))
    _write_tfjs(tmp_path, entries, shard_bytes=4 * 1024 * 1024)
    target = keras.applications.ResNet50(weights=None)
    assert load_into(target, tmp_path) == 107
    for a, b in zip(source.weights, target.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def _old_resnet_names() -> list[str]:
    names = ["conv1", "bn_conv1", "fc1000"]
    for stage, blocks in ((2, 3), (3, 4), (4, 6), (5, 3)):
        for letter in "abcdef"[:blocks]:
            for branch in (["1"] if letter == "a" else []) + ["2a", "2b", "2c"]:
                names += [f"res{stage}{letter}_branch{branch}", f"bn{stage}{letter}_branch{branch}"]
    return names
