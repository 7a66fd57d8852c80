"""Keras layers and losses of the music plugin, written with ``keras`` / ``keras.ops`` only
(TensorFlow, JAX and PyTorch backends), registered serializable so saved models reload with
``safe_mode=True`` in a fresh process."""

from __future__ import annotations

import keras
from keras import ops

PACKAGE = "seqkit_music"


def _rate(name, value):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected a float in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


@keras.saving.register_keras_serializable(package=PACKAGE)
class FrameEncoder(keras.layers.Layer):
    """Piano-roll frames -> vectors: dropout on the input notes, then an optional linear
    projection. No padding mask: the backbone is causal, so padded frames at the end of a
    sequence never influence earlier predictions, and an all-zero frame is a real rest.

    Args:
        dim: Projection size; 0 keeps the 88 notes.
        dropout: Rate at which input notes are dropped during training.

    Call arguments:
        inputs: ``(batch, steps, 88)`` binary frames.

    Example:

    >>> FrameEncoder(dim=32)(keras.ops.zeros((2, 5, 88))).shape
    (2, 5, 32)
    """

    def __init__(self, dim=0, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 0:
            raise ValueError(
                f"Invalid value received for argument `dim`. Expected an integer >= 0. Received: dim={dim!r}"
            )
        self.dim = dim
        self.dropout = _rate("dropout", dropout)
        self.drop = keras.layers.Dropout(self.dropout) if self.dropout else None
        self.project = keras.layers.Dense(dim, name="projection") if dim else None

    def build(self, input_shape):
        if self.project is not None:
            self.project.build(input_shape)

    def call(self, inputs, training=None):
        x = ops.cast(inputs, self.compute_dtype)
        if self.drop is not None:
            x = self.drop(x, training=training)
        if self.project is not None:
            x = self.project(x)
        return x

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.dim or input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "dropout": self.dropout}


@keras.saving.register_keras_serializable(package=PACKAGE)
class EventEmbedding(keras.layers.Layer):
    """Melody event tokens -> embeddings, with dropout.

    Args:
        vocabulary: Number of tokens (padding, start, rest, hold and the pitches).
        dim: Embedding size.
        dropout: Dropout rate on the embeddings.

    Example:

    >>> EventEmbedding(vocabulary=40, dim=16)(keras.ops.zeros((2, 5), "int32")).shape
    (2, 5, 16)
    """

    def __init__(self, vocabulary, dim=64, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("vocabulary", vocabulary), ("dim", dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(
                    f"Invalid value received for argument `{name}`. Expected a positive integer. Received: {name}={value!r}"
                )
        self.vocabulary = vocabulary
        self.dim = dim
        self.dropout = _rate("dropout", dropout)
        self.embedding = keras.layers.Embedding(vocabulary, dim, name="embedding")
        self.drop = keras.layers.Dropout(self.dropout) if self.dropout else None

    def build(self, input_shape):
        self.embedding.build(input_shape)

    def call(self, inputs, training=None):
        x = self.embedding(ops.cast(inputs, "int32"))
        if self.drop is not None:
            x = self.drop(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.dim)

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary, "dim": self.dim, "dropout": self.dropout}


@keras.saving.register_keras_serializable(package=PACKAGE)
class StepOutput(keras.layers.Layer):
    """A prediction for every step of the backbone's output sequence: dropout, then a dense
    layer with ``sigmoid`` (piano roll: one probability per note) or ``softmax`` (melody
    events: a distribution over tokens). Outputs are float32.

    Args:
        units: Outputs per step (88 notes, or the event vocabulary).
        activation: ``"sigmoid"`` or ``"softmax"``.
        dropout: Dropout rate on the backbone's output.

    Example:

    >>> StepOutput(units=88, activation="sigmoid")(keras.ops.zeros((2, 5, 16))).shape
    (2, 5, 88)
    """

    def __init__(self, units, activation="sigmoid", dropout=0.0, kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if activation not in ("sigmoid", "softmax"):
            raise ValueError(
                f"Invalid value received for argument `activation`. Expected 'sigmoid' or 'softmax'. Received: activation={activation!r}"
            )
        self.units = int(units)
        self.activation = activation
        self.dropout = _rate("dropout", dropout)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.drop = keras.layers.Dropout(self.dropout) if self.dropout else None
        self.out = keras.layers.Dense(
            self.units,
            activation=activation,
            kernel_regularizer=self.kernel_regularizer,
            dtype="float32",
            name="output",
        )

    def build(self, input_shape):
        self.out.build(input_shape)

    def call(self, inputs, training=None):
        x = inputs
        if self.drop is not None:
            x = self.drop(x, training=training)
        return self.out(x)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation,
            "dropout": self.dropout,
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }


def _per_sequence(step_losses, valid):
    """(batch, steps) losses -> (batch,) values whose mean over the batch is the mean over
    the valid steps of the batch (so Keras's batch mean is the per-step NLL)."""
    valid = ops.cast(valid, step_losses.dtype)
    total_valid = ops.maximum(ops.sum(valid), 1.0)
    batch = ops.cast(ops.shape(step_losses)[0], step_losses.dtype)
    return ops.sum(step_losses * valid, axis=1) * batch / total_valid


@keras.saving.register_keras_serializable(package=PACKAGE)
class FrameNLL(keras.losses.Loss):
    """Frame-level negative log-likelihood in nats: the sum over notes of the binary
    cross-entropy, averaged over the real (unpadded) frames of the batch. Padded frames
    carry targets of -1."""

    def __init__(self, epsilon=1e-7, name="frame_nll", **kwargs):
        super().__init__(name=name, **kwargs)
        self.epsilon = float(epsilon)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "float32")
        p = ops.clip(ops.cast(y_pred, "float32"), self.epsilon, 1.0 - self.epsilon)
        valid = ops.all(y_true >= 0, axis=-1)
        t = ops.clip(y_true, 0.0, 1.0)
        bce = -(t * ops.log(p) + (1.0 - t) * ops.log(1.0 - p))
        return _per_sequence(ops.sum(bce, axis=-1), valid)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=PACKAGE)
class EventNLL(keras.losses.Loss):
    """Cross-entropy of the next melody event in nats, averaged over the real steps of the
    batch (target token 0 is padding)."""

    def __init__(self, epsilon=1e-7, name="event_nll", **kwargs):
        super().__init__(name=name, **kwargs)
        self.epsilon = float(epsilon)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        p = ops.clip(ops.cast(y_pred, "float32"), self.epsilon, 1.0)
        picked = ops.sum(ops.one_hot(y_true, ops.shape(p)[-1], dtype="float32") * p, axis=-1)
        return _per_sequence(-ops.log(ops.maximum(picked, self.epsilon)), ops.not_equal(y_true, 0))

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
