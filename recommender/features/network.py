"""ResNet50 with ImageNet (or fine-tuned) weights at any input size, compiled once per process.

The network is Keras' ResNet50; its last residual stage gives a map of
(input size / 32)^2 x 2048 (7x7 at 224x224).  The convolutions do not care
about the input size, so one set of weights serves every size in
:data:`recommender.features.settings.INPUT_SIZES`.
"""

from __future__ import annotations

import functools

from ..data.images import INPUT_SIZE
from . import quiet
from .weights import Weights


def resnet50(weights: Weights | None, input_size: int = INPUT_SIZE):
    """Keras' ResNet50 with these weights, for ``input_size`` x ``input_size`` photos.

    Returns ``(trunk, top)``: the network up to ``conv5_block3_out`` at that size, and its
    ImageNet classifier (the Dense ``predictions`` layer, applied to the average-pooled map).
    The weights file holds the 224x224 network with its top; other sizes get the same
    weights layer by layer (the convolutions are size-free).
    """
    import keras

    network = keras.applications.ResNet50(weights=str(weights.path) if weights else None)
    top = network.get_layer("predictions")
    if input_size == network.input_shape[1]:
        return keras.Model(network.inputs, network.get_layer("conv5_block3_out").output), top
    trunk = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(input_size, input_size, 3))
    for layer in trunk.layers:
        if layer.weights:
            layer.set_weights(network.get_layer(layer.name).get_weights())
    return trunk, top


@functools.lru_cache(maxsize=4)
def compiled_network(weights: Weights | None, precision: str, input_size: int = INPUT_SIZE):
    """ResNet50 wrapped in one compiled function: uint8 batch -> (avg, max, logits), float32.

    Cached per weights file, precision and input size: extractors that differ only in pooling,
    resize or batch size share one network (a process that rebuilds a catalogue while serving
    holds one model, not two). Random weights (``None``) are never shared.
    """
    tf = quiet.tensorflow()
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
    try:
        trunk, top = resnet50(weights, input_size)
    finally:
        keras.config.set_dtype_policy(previous)
    preprocess = keras.applications.resnet50.preprocess_input

    @tf.function(input_signature=[tf.TensorSpec([None, input_size, input_size, 3], tf.uint8)])
    def forward(batch):
        fmap = tf.cast(trunk(preprocess(tf.cast(batch, tf.float32)), training=False), tf.float32)
        avg = tf.reduce_mean(fmap, axis=[1, 2])
        return avg, tf.reduce_max(fmap, axis=[1, 2]), tf.cast(top(avg), tf.float32)

    return forward


# The map a garment finder reads: stride 16, 1024 channels (finer than the last stage's stride 32).
MAP_LAYER = "conv4_block6_out"
MAP_STRIDE = 16
MAP_CHANNELS = 1024


@functools.lru_cache(maxsize=2)
def compiled_map_network(weights: Weights | None):
    """ResNet50 up to :data:`MAP_LAYER` in one compiled function: uint8 batch of any height and width (multiples
    of :data:`MAP_STRIDE`) -> float32 map of shape (n, height / 16, width / 16, 1024)."""
    tf = quiet.tensorflow()
    import keras

    network = keras.applications.ResNet50(weights=str(weights.path) if weights else None)
    trunk = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(None, None, 3))
    for layer in trunk.layers:
        if layer.weights:
            layer.set_weights(network.get_layer(layer.name).get_weights())
    partial = keras.Model(trunk.inputs, trunk.get_layer(MAP_LAYER).output)
    preprocess = keras.applications.resnet50.preprocess_input

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)])
    def forward(batch):
        return tf.cast(partial(preprocess(tf.cast(batch, tf.float32)), training=False), tf.float32)

    return forward
