"""Baseline forecasters scored on the same windows as the model: naive (repeat the last
value), seasonal naive (repeat the last season) and Holt-Winters exponential smoothing
(statsmodels, additive trend and season).

Each takes a series' target channels ``y`` (steps, targets) and window origins ``o`` (the
first forecast step) and returns (windows, horizon, targets), using only ``y[:o]``.

Exponential smoothing is fitted once with statsmodels (``fit_ets``), then its states are
carried through the series with the fitted parameters (``ets_forecasts``, the same
recursions statsmodels runs), so thousands of origins cost one pass; a backtest refits it on
each fold's history (``ets_refit_forecast``).
"""

from __future__ import annotations

import warnings

import numpy as np

BASELINES = ("naive", "seasonal_naive", "ets")


def naive(y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    last = y[origins - 1]  # (windows, targets)
    return np.repeat(last[:, None, :], horizon, axis=1)


def seasonal_naive(y: np.ndarray, origins: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """Step h (1-based) repeats the value ``period * ceil(h / period)`` steps before it."""
    steps = np.arange(1, horizon + 1)
    lag = period * np.ceil(steps / period).astype(int)
    index = origins[:, None] + (steps - 1)[None, :] - lag[None, :]
    if (index < 0).any():
        index = np.maximum(index, 0)
    return y[index]


def ets_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("statsmodels") is not None


def fit_ets(history: np.ndarray, period: int) -> dict:
    """Fit additive Holt-Winters on a 1-D history; returns its parameters. The season is
    dropped when the history is shorter than two seasons (or period is 1)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    seasonal = "add" if period > 1 and len(history) >= 2 * period + 2 else None
    with warnings.catch_warnings():
        # Convergence and "optimization failed" warnings: the fitted parameters are still usable.
        warnings.simplefilter("ignore")
        model = ExponentialSmoothing(
            np.asarray(history, dtype="float64"),
            trend="add",
            seasonal=seasonal,
            seasonal_periods=period if seasonal else None,
            initialization_method="estimated",
        )
        result = model.fit()
    p = result.params
    phi = p.get("damping_trend")
    return {
        "alpha": float(p["smoothing_level"]),
        "beta": float(p.get("smoothing_trend") or 0.0),
        "gamma": float(p.get("smoothing_seasonal") or 0.0) if seasonal else 0.0,
        "phi": float(phi) if phi is not None and np.isfinite(phi) else 1.0,
        "level": float(p["initial_level"]),
        "trend": float(p.get("initial_trend") or 0.0),
        "seasons": [float(v) for v in np.atleast_1d(p["initial_seasons"])] if seasonal else [0.0],
        "period": period if seasonal else 1,
        "forecast": result,
    }


def ets_states(y: np.ndarray, params: dict):
    """Level, trend and the season ring after each step: arrays indexed by how many values
    were consumed (0 .. len(y))."""
    a, b, g, phi, m = params["alpha"], params["beta"], params["gamma"], params["phi"], params["period"]
    n = len(y)
    level = np.empty(n + 1)
    trend = np.empty(n + 1)
    season = np.empty(n + m)
    level[0], trend[0] = params["level"], params["trend"]
    season[:m] = params["seasons"] if m > 1 else 0.0
    for i in range(n):
        s = season[i]
        level[i + 1] = a * (y[i] - s) + (1 - a) * (level[i] + phi * trend[i])
        trend[i + 1] = b * (level[i + 1] - level[i]) + (1 - b) * phi * trend[i]
        season[i + m] = g * (y[i] - level[i] - phi * trend[i]) + (1 - g) * s if m > 1 else 0.0
    return level, trend, season


def ets_forecasts(y: np.ndarray, origins: np.ndarray, horizon: int, params_per_target: list[dict]) -> np.ndarray:
    """Forecasts from each origin with fixed parameters; (windows, horizon, targets)."""
    out = np.empty((len(origins), horizon, y.shape[1]))
    steps = np.arange(1, horizon + 1)
    for j, params in enumerate(params_per_target):
        level, trend, season = ets_states(y[:, j].astype("float64"), params)
        phi, m = params["phi"], params["period"]
        damp = np.cumsum(phi**steps)
        season_index = origins[:, None] + ((steps - 1) % m)[None, :]
        out[:, :, j] = (
            level[origins][:, None] + damp[None, :] * trend[origins][:, None] + (season[season_index] if m > 1 else 0.0)
        )
    return out


def ets_refit_forecast(history: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """Refit on ``history`` (steps, targets) and forecast ``horizon`` steps: (horizon, targets)."""
    columns = []
    for j in range(history.shape[1]):
        params = fit_ets(history[:, j], period)
        columns.append(np.asarray(params["forecast"].forecast(horizon), dtype="float64"))
    return np.stack(columns, axis=1)


def empirical_interval(errors: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-step, per-target error quantiles (lower, upper) of in-sample h-step errors
    (windows, horizon, targets) for a central interval of ``level``."""
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    return np.quantile(errors, lo, axis=0), np.quantile(errors, hi, axis=0)
