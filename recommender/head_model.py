"""The Keras model that trains a projection head (imported only when training)."""

from __future__ import annotations

import keras

COSINE_SCALE = 16.0


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
