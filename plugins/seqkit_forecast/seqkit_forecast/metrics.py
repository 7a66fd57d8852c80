"""Forecast metrics in NumPy (the Keras losses in ``layers`` compute the same quantities).

Arrays are (windows, horizon, targets). MASE divides each window's MAE by the mean absolute
seasonal difference of its series' training part (``scales``: (windows, targets)).
"""

from __future__ import annotations

import numpy as np


def mae(y, p) -> float:
    return float(np.mean(np.abs(np.asarray(p) - np.asarray(y))))


def mse(y, p) -> float:
    return float(np.mean((np.asarray(p) - np.asarray(y)) ** 2))


def rmse(y, p) -> float:
    return float(np.sqrt(mse(y, p)))


def mape(y, p) -> float | None:
    """Mean absolute percentage error (%), over actuals that are not zero."""
    y, p = np.asarray(y, dtype="float64"), np.asarray(p, dtype="float64")
    keep = y != 0
    if not keep.any():
        return None
    return float(100.0 * np.mean(np.abs((p[keep] - y[keep]) / y[keep])))


def smape(y, p) -> float:
    """Symmetric MAPE (%), 0..200; a step where actual and forecast are both 0 counts 0."""
    y, p = np.asarray(y, dtype="float64"), np.asarray(p, dtype="float64")
    denominator = np.abs(y) + np.abs(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(denominator > 0, 2.0 * np.abs(p - y) / denominator, 0.0)
    return float(100.0 * ratio.mean())


def seasonal_scale(history: np.ndarray, period: int) -> np.ndarray:
    """Mean absolute seasonal difference per channel of ``history`` (steps, channels); falls
    back to the lag-1 difference when the history is shorter than two seasons."""
    history = np.asarray(history, dtype="float64")
    m = period if len(history) > period else 1
    scale = np.mean(np.abs(history[m:] - history[:-m]), axis=0)
    return np.where(scale > 0, scale, 1.0)


def origin_scales(history: np.ndarray, origins: np.ndarray, period: int) -> np.ndarray:
    """MASE's scale at each forecast origin ``o``: the mean absolute seasonal difference of
    everything before it (``history[:o]``, M4's definition: the whole in-sample series), lag 1
    where ``o`` is not longer than one season. (windows, channels)."""
    history = np.asarray(history, dtype="float64")
    origins = np.asarray(origins, dtype="int64")
    out = np.ones((len(origins), history.shape[1]))

    def mean_difference(lag, at):
        diffs = np.abs(history[lag:] - history[:-lag])
        total = np.concatenate([np.zeros((1, history.shape[1])), np.cumsum(diffs, axis=0)])
        return total[at - lag] / (at - lag)[:, None]

    seasonal = origins > period
    if seasonal.any():
        out[seasonal] = mean_difference(period, origins[seasonal])
    short = ~seasonal & (origins > 1)
    if short.any():
        out[short] = mean_difference(1, origins[short])
    return np.where(np.isfinite(out) & (out > 0), out, 1.0)


def smape_per_window(y, p) -> np.ndarray:
    """sMAPE (%) of each window, averaged over its steps and targets: (windows,)."""
    y, p = np.asarray(y, dtype="float64"), np.asarray(p, dtype="float64")
    denominator = np.abs(y) + np.abs(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(denominator > 0, 2.0 * np.abs(p - y) / denominator, 0.0)
    return 100.0 * ratio.reshape(len(ratio), -1).mean(axis=1)


def mase_per_window(y, p, scales) -> np.ndarray:
    """MASE of each window: (windows,)."""
    y, p = np.asarray(y, dtype="float64"), np.asarray(p, dtype="float64")
    ratio = np.abs(p - y) / np.asarray(scales)[:, None, :]
    return ratio.reshape(len(ratio), -1).mean(axis=1)


def owa(smape_value: float, mase_value: float, naive2_smape: float, naive2_mase: float) -> float | None:
    """M4's overall weighted average: the mean of sMAPE and MASE, each relative to Naive2's."""
    if not naive2_smape or not naive2_mase:
        return None
    return float(0.5 * (smape_value / naive2_smape + mase_value / naive2_mase))


def mase(y, p, scales) -> float:
    """Mean absolute scaled error; ``scales`` (windows, targets) from :func:`seasonal_scale`."""
    y, p = np.asarray(y, dtype="float64"), np.asarray(p, dtype="float64")
    return float(np.mean(np.abs(p - y) / np.asarray(scales)[:, None, :]))


def coverage(y, lower, upper) -> float:
    y = np.asarray(y)
    return float(np.mean((y >= lower) & (y <= upper)))


def pinball(y, q_pred, quantiles) -> float:
    """Mean pinball loss; ``q_pred`` is (..., len(quantiles))."""
    q = np.asarray(quantiles, dtype="float64")
    error = np.asarray(y, dtype="float64")[..., None] - np.asarray(q_pred, dtype="float64")
    return float(np.mean(np.maximum(q * error, (q - 1.0) * error)))


def gaussian_nll(y, mean, scale) -> float:
    y, mean, scale = (np.asarray(a, dtype="float64") for a in (y, mean, scale))
    return float(np.mean(0.5 * np.log(2 * np.pi) + np.log(scale) + 0.5 * ((y - mean) / scale) ** 2))


def error_by_step(y, p) -> list[float]:
    """MAE at each horizon step (averaged over windows and targets)."""
    return np.mean(np.abs(np.asarray(p) - np.asarray(y)), axis=(0, 2)).tolist()


def score(y, p, scales, interval=None) -> dict:
    """The report's metric set on original units; ``interval`` = (lower, upper, level)."""
    result = {
        "mae": mae(y, p),
        "rmse": rmse(y, p),
        "mape": mape(y, p),
        "smape": smape(y, p),
        "mase": mase(y, p, scales),
    }
    if interval is not None:
        lower, upper, level = interval
        result["coverage"] = coverage(y, lower, upper)
        result["interval"] = level
    return result


def normal_quantile(q) -> np.ndarray:
    from scipy.stats import norm

    return norm.ppf(np.asarray(q, dtype="float64"))
