"""Per-series splits, scalers fitted on the training part, and (lookback + horizon) windows.

A window that forecasts from origin ``o`` (the first forecast step) holds the rows
``o - lookback .. o + horizon - 1`` of the series' channels: targets and past covariates are
observed up to ``o - 1`` and zero after it; known-future covariates and calendar features
run to the end of the horizon. Validation and test windows take their lookback from the
part before them (as the Informer code does), so their forecasts cover their own part only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqkit.plugin_api import DataError


@dataclass
class Bounds:
    """End (exclusive) of the train, validation and test parts of one series."""

    train: int
    validation: int
    test: int


def split_bounds(length: int, split: dict, series_id: str = "") -> Bounds:
    """Counts (integers) or fractions of the series' length, in time order: train, validation, test."""

    def amount(key, default):
        value = split.get(key, default)
        if value is None:
            return None
        return (
            int(value)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 1
            else int(round(float(value) * length))
        )

    test = amount("test", 0.2) or 0
    validation = amount("validation", 0.1) or 0
    train = amount("train", None)
    if train is None:
        train = length - validation - test
    where = f" (series {series_id!r}, {length} steps)" if series_id else f" ({length} steps)"
    if train < 1 or train + validation + test > length:
        raise DataError(
            f"data.split: train {train} + validation {validation} + test {test} steps do not fit the series{where}"
        )
    return Bounds(train, train + validation, train + validation + test)


class Scaler:
    """Per-channel affine scaling of one series, fitted on its training part; with ``log``,
    the first ``log`` channels (the targets) are log-transformed first (positive data)."""

    def __init__(self, kind: str, shift: np.ndarray, scale: np.ndarray, log: int = 0):
        self.kind, self.shift, self.scale = kind, np.asarray(shift, dtype="float64"), np.asarray(scale, dtype="float64")
        self.log = int(log)

    @classmethod
    def fit(cls, kind: str, values: np.ndarray, log: int = 0) -> Scaler:
        values = np.asarray(values, dtype="float64")
        if log:
            values = values.copy()
            values[:, :log] = np.log(values[:, :log])
        channels = values.shape[1]
        if kind == "standard":
            shift, scale = values.mean(axis=0), values.std(axis=0)
        elif kind == "minmax":
            shift, scale = values.min(axis=0), values.max(axis=0) - values.min(axis=0)
        else:
            shift, scale = np.zeros(channels), np.ones(channels)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        return cls(kind, shift, scale, log)

    def transform(self, values: np.ndarray) -> np.ndarray:
        if self.log:
            values = np.array(values, dtype="float64")
            with np.errstate(divide="ignore", invalid="ignore"):
                values[..., : self.log] = np.log(values[..., : self.log])
        return (values - self.shift[: values.shape[-1]]) / self.scale[: values.shape[-1]]

    def inverse(self, values: np.ndarray, channels: slice | None = None) -> np.ndarray:
        channels = channels or slice(0, values.shape[-1])
        out = values * self.scale[channels] + self.shift[channels]
        if self.log:
            logged = np.arange(len(self.scale))[channels] < self.log
            if logged.any():
                out = np.array(out, dtype="float64")
                out[..., logged] = np.exp(np.clip(out[..., logged], None, 700.0))
        return out

    def to_dict(self) -> dict:
        return {"kind": self.kind, "shift": self.shift.tolist(), "scale": self.scale.tolist(), "log": self.log}

    @classmethod
    def from_dict(cls, data: dict) -> Scaler:
        return cls(data["kind"], np.asarray(data["shift"]), np.asarray(data["scale"]), int(data.get("log", 0)))


def window_origins(start: int, end: int, lookback: int, horizon: int, stride: int) -> np.ndarray:
    """Origins ``o`` with ``o - lookback >= 0``, ``o >= start`` and ``o + horizon <= end``."""
    first = max(start, lookback)
    last = end - horizon
    if last < first:
        return np.zeros(0, dtype="int64")
    return np.arange(first, last + 1, stride, dtype="int64")


def make_windows(features: np.ndarray, origins: np.ndarray, lookback: int, horizon: int, observed: int) -> np.ndarray:
    """(windows, lookback + horizon, channels) float32; the first ``observed`` channels are
    zeroed over the horizon (targets and past covariates are unknown there)."""
    if not len(origins):
        return np.zeros((0, lookback + horizon, features.shape[1]), dtype="float32")
    index = origins[:, None] + np.arange(-lookback, horizon)[None, :]
    windows = features[index].astype("float32")
    windows[:, lookback:, :observed] = 0.0
    return windows


def make_targets(targets: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """(windows, horizon, targets) float32."""
    index = origins[:, None] + np.arange(horizon)[None, :]
    return targets[index].astype("float32")
