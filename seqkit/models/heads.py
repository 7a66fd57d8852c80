"""Heads: Keras layers that map backbone outputs to task outputs."""

from __future__ import annotations

import keras
from keras import ops

POOLINGS = ("last", "mean", "max")


def _masked_pool(x, mask, pooling):
    if pooling == "mean":
        if mask is None:
            return ops.mean(x, axis=1)
        weights = ops.cast(ops.expand_dims(mask, -1), x.dtype)
        return ops.sum(x * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
    if pooling == "max":
        if mask is None:
            return ops.max(x, axis=1)
        very_negative = ops.cast(-1e9, x.dtype)
        pooled = ops.max(ops.where(ops.expand_dims(mask, -1), x, very_negative), axis=1)
        # A sequence with no real step (an empty text) pools to zeros, as with mean pooling,
        # not to -1e9, which made the head certain of one class.
        return ops.where(ops.any(mask, axis=1, keepdims=True), pooled, ops.zeros_like(pooled))
    return x


class _DenseHead(keras.layers.Layer):
    """Pooling (for sequence inputs), optional hidden layers, then the output layer."""

    def __init__(
        self, units, activation, hidden_units=(), dropout=0.0, pooling="last", kernel_regularizer=None, **kwargs
    ):
        super().__init__(**kwargs)
        if pooling not in POOLINGS:
            raise ValueError(
                f"Invalid value received for argument `pooling`. Expected one of {POOLINGS}. Received: pooling={pooling!r}"
            )
        self.units = int(units)
        self.activation = activation
        self.hidden_units = [int(u) for u in hidden_units]
        self.dropout = float(dropout)
        self.pooling = pooling
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.hidden = [
            keras.layers.Dense(u, activation="relu", kernel_regularizer=self.kernel_regularizer, name=f"hidden_{i}")
            for i, u in enumerate(self.hidden_units)
        ]
        self.drop = keras.layers.Dropout(self.dropout) if self.dropout else None
        # Outputs stay float32 under mixed precision so losses and probabilities are stable.
        self.out = keras.layers.Dense(
            self.units,
            activation=activation,
            kernel_regularizer=self.kernel_regularizer,
            dtype="float32",
            name="output",
        )
        self.supports_masking = True

    def build(self, input_shape):
        shape = (input_shape[0], input_shape[-1])
        for layer in self.hidden:
            layer.build(shape)
            shape = (shape[0], layer.units)
        self.out.build(shape)

    def call(self, inputs, mask=None, training=None):
        x = inputs
        if len(inputs.shape) == 3:
            x = _masked_pool(x, mask, self.pooling if self.pooling != "last" else "mean")
        for layer in self.hidden:
            x = layer(x)
            if self.drop is not None:
                x = self.drop(x, training=training)
        if self.drop is not None and not self.hidden:
            x = self.drop(x, training=training)
        return self.out(x)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        base_config = super().get_config()
        config = {
            "hidden_units": self.hidden_units,
            "dropout": self.dropout,
            "pooling": self.pooling,
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }
        return {**base_config, **config}


@keras.saving.register_keras_serializable(package="seqkit")
class ClassifierHead(_DenseHead):
    """Class probabilities from a backbone output.

    Two classes give one sigmoid probability (of class index 1); more give a softmax;
    ``multilabel=True`` gives one independent sigmoid per class.

    Args:
        num_classes: Number of classes (>= 2).
        multilabel: Whether several classes can be true at once.
        hidden_units: Sizes of ReLU layers before the output.
        dropout: Dropout rate before the output (and after each hidden layer).
        pooling: For sequence inputs: ``"mean"`` or ``"max"`` over unmasked steps.

    Call arguments:
        inputs: ``(batch, features)`` or ``(batch, steps, features)``.
        mask: Optional ``(batch, steps)`` mask for pooling.

    Example:

    >>> ClassifierHead(num_classes=3)(keras.random.normal((2, 8))).shape
    (2, 3)
    """

    def __init__(self, num_classes, multilabel=False, **kwargs):
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(
                f"Invalid value received for argument `num_classes`. Expected an integer >= 2. Received: num_classes={num_classes!r}"
            )
        self.num_classes = num_classes
        self.multilabel = bool(multilabel)
        units = 1 if num_classes == 2 and not multilabel else num_classes
        activation = "sigmoid" if units == 1 or multilabel else "softmax"
        kwargs.pop("units", None)
        kwargs.pop("activation", None)
        super().__init__(units, activation, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "multilabel": self.multilabel})
        return config


@keras.saving.register_keras_serializable(package="seqkit")
class RegressorHead(_DenseHead):
    """Real-valued outputs (linear activation).

    Args:
        outputs: Number of values predicted per input.
        hidden_units, dropout, pooling: as for :class:`ClassifierHead`.

    Example:

    >>> RegressorHead(outputs=2)(keras.random.normal((2, 8))).shape
    (2, 2)
    """

    def __init__(self, outputs=1, **kwargs):
        self.outputs = int(outputs)
        kwargs.pop("units", None)
        kwargs.pop("activation", None)
        super().__init__(self.outputs, None, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({"outputs": self.outputs})
        return config
