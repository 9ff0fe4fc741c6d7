"""The Keras model that trains a projection head (imported only when training)."""

from __future__ import annotations

import keras
import numpy as np

from ..features.extractor import l2_normalise
from ..features.head import COSINE_SCALE, Head


class CosineClassifier(keras.layers.Layer):
    """Logits ``scale * cos(embedding, class centre)`` for unit-norm embeddings.

    Parameters
    ----------
    classes : int
        Number of classes.
    """

    def __init__(self, classes: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.classes = classes

    def build(self, input_shape) -> None:
        self.centres = self.add_weight(shape=(input_shape[-1], self.classes), initializer="glorot_uniform",
                                       name="centres")

    def call(self, inputs):
        return COSINE_SCALE * keras.ops.matmul(inputs, keras.ops.normalize(self.centres, axis=0))


def head_model(input_dim: int, classes: dict[str, int], *, hidden_dim: int, embedding_dim: int) -> keras.Model:
    """features -> Dense(relu) -> Dropout -> Dense -> unit sphere -> one cosine classifier per label."""
    inputs = keras.Input((input_dim,), name="features")
    hidden = keras.layers.Dense(hidden_dim, activation="relu", name="hidden")(inputs)
    hidden = keras.layers.Dropout(0.3)(hidden)
    embedding = keras.layers.Dense(embedding_dim, name="embedding")(hidden)
    unit = keras.layers.UnitNormalization(name="unit")(embedding)
    return keras.Model(inputs, {name: CosineClassifier(n, name=name)(unit) for name, n in classes.items()})


def head_from_model(model: keras.Model, classes: dict[str, np.ndarray]) -> Head:
    """The numpy :class:`Head` of a trained head model (its layers found by name)."""
    w1, b1 = (np.asarray(w) for w in model.get_layer("hidden").get_weights())
    w2, b2 = (np.asarray(w) for w in model.get_layer("embedding").get_weights())
    centres = {name: l2_normalise(np.asarray(model.get_layer(name).get_weights()[0]).T).T for name in classes}
    return Head(w1, b1, w2, b2, centres=centres, classes=classes)


def load_into(model: keras.Model, head: Head) -> None:
    """Start a head model from a trained :class:`Head` (same classes)."""
    model.get_layer("hidden").set_weights([head.w1, head.b1])
    model.get_layer("embedding").set_weights([head.w2, head.b2])
    for name, centres in head.centres.items():
        model.get_layer(name).set_weights([centres])
