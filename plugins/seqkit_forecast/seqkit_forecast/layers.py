"""Keras layers and losses of the forecasting plugin, written with ``keras`` / ``keras.ops``
only (they run on the TensorFlow, JAX and PyTorch backends) and registered serializable, so
saved models reload with ``safe_mode=True``.

A model input is a window of ``lookback + horizon`` steps (see ``seqkit_forecast.windows``).
:class:`WindowEncoder` keeps the lookback part and, with ``norm="last"``, subtracts each
window's last observed value from its target and past-covariate channels; the head adds it
back, so the network learns the change over the naive forecast while the saved model still
maps scaled windows to forecasts.
"""

from __future__ import annotations

import math

import keras
from keras import ops

PACKAGE = "seqkit_forecast"
NORMS = ("last", "mean", "none")
KINDS = ("point", "quantile", "gaussian")


def _reference(inputs, lookback: int, channels: list[int], norm: str):
    """(batch, 1, len(channels)) reference level of each window, or None."""
    if norm == "none" or not channels:
        return None
    past = ops.take(inputs[:, :lookback, :], channels, axis=2)
    if norm == "last":
        return past[:, lookback - 1 : lookback, :]
    return ops.mean(past, axis=1, keepdims=True)


@keras.saving.register_keras_serializable(package=PACKAGE)
class WindowEncoder(keras.layers.Layer):
    """Lookback part of a forecast window, levelled by its last (or mean) observed value.

    Args:
        lookback: observed steps at the start of each window.
        normalized: channel indices levelled (targets and past covariates).
        norm: ``"last"``, ``"mean"`` or ``"none"``.
        dim: optional linear projection size (0: none).

    Call arguments:
        inputs: (batch, lookback + horizon, channels).

    Example:
        >>> WindowEncoder(lookback=4, normalized=[0])(keras.ops.ones((2, 6, 3))).shape
        (2, 4, 3)
    """

    def __init__(self, lookback, normalized=(), norm="last", dim=0, **kwargs):
        super().__init__(**kwargs)
        if int(lookback) < 1:
            raise ValueError(
                f"Invalid value received for argument `lookback`. Expected a positive integer. Received: lookback={lookback}"
            )
        if norm not in NORMS:
            raise ValueError(
                f"Invalid value received for argument `norm`. Expected one of {NORMS}. Received: norm={norm!r}"
            )
        self.lookback = int(lookback)
        self.normalized = [int(c) for c in normalized]
        self.norm = norm
        self.dim = int(dim or 0)
        self.projection = keras.layers.Dense(self.dim, name="projection") if self.dim else None

    def build(self, input_shape):
        if self.projection is not None:
            self.projection.build((input_shape[0], self.lookback, input_shape[-1]))

    def call(self, inputs):
        x = inputs[:, : self.lookback, :]
        reference = _reference(inputs, self.lookback, self.normalized, self.norm)
        if reference is not None:
            channels = x.shape[-1]
            # Scatter the reference into a full-width offset with a one-hot matrix (backend-neutral).
            selector = ops.one_hot(ops.convert_to_tensor(self.normalized), channels, dtype=x.dtype)
            offset = ops.matmul(reference, selector)
            x = x - offset
        if self.projection is not None:
            x = self.projection(x)
        return x

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.lookback, self.dim or input_shape[-1])

    def get_config(self):
        return {
            **super().get_config(),
            "lookback": self.lookback,
            "normalized": self.normalized,
            "norm": self.norm,
            "dim": self.dim,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class ForecastHead(keras.layers.Layer):
    """Direct multi-horizon forecast from the backbone's last state.

    Every step of the horizon is read out at once: ``Dense(horizon * targets * k)`` of the
    state, plus, when there are known-future covariates (calendar features...), a small
    per-step network of the state and that step's covariates, plus optionally an
    autoregressive "highway" as in LSTNet (Lai et al. 2018): a linear map, shared by the
    targets, from each target's last ``highway`` levelled values to its horizon. The window's
    reference level (``norm``) is added back to the location outputs.

    Args:
        kind: ``"point"`` -> (batch, horizon, targets); ``"quantile"`` -> (..., quantiles),
            sorted so quantiles never cross; ``"gaussian"`` -> (..., 2): mean and scale.
        horizon, lookback: window geometry.
        targets: target channel indices in the window.
        future: known-future channel indices (read over the horizon).
        quantiles: for ``kind="quantile"``.
        norm: must match the encoder's.
        hidden_units: width of the per-step covariate network.
        dropout: on the backbone state.
        highway: steps of the linear autoregressive component (0: none).

    Call arguments:
        state: (batch, units) backbone output.
        inputs: the model's input windows.
    """

    def __init__(
        self,
        kind="point",
        horizon=1,
        lookback=1,
        targets=(0,),
        future=(),
        quantiles=(),
        norm="last",
        hidden_units=32,
        dropout=0.0,
        highway=0,
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise ValueError(
                f"Invalid value received for argument `kind`. Expected one of {KINDS}. Received: kind={kind!r}"
            )
        if int(horizon) < 1:
            raise ValueError(
                f"Invalid value received for argument `horizon`. Expected a positive integer. Received: horizon={horizon}"
            )
        self.kind = kind
        self.horizon = int(horizon)
        self.lookback = int(lookback)
        self.targets = [int(c) for c in targets]
        self.future = [int(c) for c in future]
        self.quantiles = [float(q) for q in quantiles]
        if kind == "quantile" and not self.quantiles:
            raise ValueError(
                "Invalid value received for argument `quantiles`. Expected at least one quantile in (0, 1). Received: quantiles=[]"
            )
        self.norm = norm
        self.hidden_units = int(hidden_units)
        self.dropout = float(dropout)
        self.highway = int(highway or 0)
        if not 0 <= self.highway <= self.lookback:
            raise ValueError(
                f"Invalid value received for argument `highway`. Expected 0 to lookback ({self.lookback}). Received: highway={highway}"
            )
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.k = {"point": 1, "quantile": len(self.quantiles), "gaussian": 2}[kind]
        n_out = len(self.targets) * self.k
        self.drop = keras.layers.Dropout(self.dropout) if self.dropout else None
        self.direct = keras.layers.Dense(
            self.horizon * n_out, kernel_regularizer=self.kernel_regularizer, dtype="float32", name="direct"
        )
        if self.future:
            self.step_hidden = keras.layers.Dense(
                self.hidden_units, activation="relu", kernel_regularizer=self.kernel_regularizer, name="step_hidden"
            )
            self.step_out = keras.layers.Dense(
                n_out, kernel_regularizer=self.kernel_regularizer, dtype="float32", name="step_out"
            )
        if self.highway:
            # Starts at zero: the untrained model is the naive (or window-mean) forecast.
            self.highway_dense = keras.layers.Dense(
                self.horizon, kernel_initializer="zeros", dtype="float32", name="highway"
            )

    def build(self, state_shape, inputs_shape=None):
        units = state_shape[-1]
        self.direct.build((state_shape[0], units))
        if self.future:
            self.step_hidden.build((state_shape[0], self.horizon, units + len(self.future)))
            self.step_out.build((state_shape[0], self.horizon, self.hidden_units))
        if self.highway:
            self.highway_dense.build((state_shape[0], len(self.targets), self.highway))

    def call(self, state, inputs, training=None):
        n_targets = len(self.targets)
        if len(state.shape) == 3:
            state = state[:, -1, :]
        if self.drop is not None:
            state = self.drop(state, training=training)
        out = ops.reshape(self.direct(state), (-1, self.horizon, n_targets, self.k))
        if self.future:
            covariates = ops.cast(ops.take(inputs[:, self.lookback :, :], self.future, axis=2), state.dtype)
            repeated = ops.repeat(ops.expand_dims(state, 1), self.horizon, axis=1)
            step = self.step_out(self.step_hidden(ops.concatenate([repeated, covariates], axis=-1)))
            out = out + ops.reshape(step, (-1, self.horizon, n_targets, self.k))
        out = ops.cast(out, "float32")
        inputs = ops.cast(inputs, "float32")
        reference = _reference(inputs, self.lookback, self.targets, self.norm)
        if self.highway:
            recent = ops.take(inputs[:, self.lookback - self.highway : self.lookback, :], self.targets, axis=2)
            if reference is not None:
                recent = recent - reference
            linear = ops.transpose(
                self.highway_dense(ops.transpose(recent, (0, 2, 1))), (0, 2, 1)
            )  # (batch, horizon, targets)
            out = out + ops.expand_dims(linear, -1) * ops.convert_to_tensor(
                [1.0] + [1.0 if self.kind == "quantile" else 0.0] * (self.k - 1)
            )
        if self.kind == "point":
            out = out[..., 0]
            return out if reference is None else out + reference
        if self.kind == "quantile":
            out = ops.sort(out, axis=-1)
            return out if reference is None else out + ops.expand_dims(reference, -1)
        mean = out[..., 0] if reference is None else out[..., 0] + reference
        scale = ops.softplus(out[..., 1]) + 1e-4
        return ops.stack([mean, scale], axis=-1)

    def compute_output_shape(self, state_shape, inputs_shape=None):
        shape = (state_shape[0], self.horizon, len(self.targets))
        return shape if self.kind == "point" else shape + (self.k,)

    def get_config(self):
        return {
            **super().get_config(),
            "kind": self.kind,
            "horizon": self.horizon,
            "lookback": self.lookback,
            "targets": self.targets,
            "future": self.future,
            "quantiles": self.quantiles,
            "norm": self.norm,
            "hidden_units": self.hidden_units,
            "dropout": self.dropout,
            "highway": self.highway,
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)
            if self.kernel_regularizer
            else None,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class PinballLoss(keras.losses.Loss):
    """Mean pinball (quantile) loss. ``y_true`` (..., ), ``y_pred`` (..., len(quantiles))."""

    def __init__(self, quantiles=(0.1, 0.5, 0.9), name="pinball", **kwargs):
        super().__init__(name=name, **kwargs)
        self.quantiles = [float(q) for q in quantiles]

    def call(self, y_true, y_pred):
        q = ops.convert_to_tensor(self.quantiles, dtype=y_pred.dtype)
        error = ops.expand_dims(ops.cast(y_true, y_pred.dtype), -1) - y_pred
        loss = ops.maximum(q * error, (q - 1.0) * error)
        return ops.mean(ops.reshape(loss, (ops.shape(loss)[0], -1)), axis=-1)

    def get_config(self):
        return {**super().get_config(), "quantiles": self.quantiles}


@keras.saving.register_keras_serializable(package=PACKAGE)
class GaussianNLL(keras.losses.Loss):
    """Negative log-likelihood of ``y_true`` under N(mean, scale); ``y_pred`` (..., 2)."""

    def __init__(self, name="gaussian_nll", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        mean, scale = y_pred[..., 0], y_pred[..., 1]
        z = (ops.cast(y_true, y_pred.dtype) - mean) / scale
        loss = 0.5 * math.log(2 * math.pi) + ops.log(scale) + 0.5 * z * z
        return ops.mean(ops.reshape(loss, (ops.shape(loss)[0], -1)), axis=-1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class PointMAE(keras.metrics.Metric):
    """MAE of the point forecast (median quantile or Gaussian mean) for any head kind."""

    def __init__(self, kind="point", median_index=0, name="point_mae", **kwargs):
        super().__init__(name=name, **kwargs)
        self.kind, self.median_index = kind, int(median_index)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.kind == "quantile":
            y_pred = y_pred[..., self.median_index]
        elif self.kind == "gaussian":
            y_pred = y_pred[..., 0]
        error = ops.abs(ops.cast(y_true, y_pred.dtype) - y_pred)
        self.total.assign_add(ops.cast(ops.sum(error), self.total.dtype))
        self.count.assign_add(ops.cast(ops.size(error), self.count.dtype))

    def result(self):
        return self.total / ops.maximum(self.count, 1.0)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "median_index": self.median_index}
