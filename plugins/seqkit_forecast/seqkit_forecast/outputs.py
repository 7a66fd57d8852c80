"""Reading head outputs: point forecasts, quantiles and intervals, for every head kind.

The head records its kind and quantiles in the run's ``data_info.json`` (``info["head"]``).
Arrays: point (windows, horizon, targets); quantile (..., quantiles); gaussian (..., 2).
"""

from __future__ import annotations

import numpy as np

DEFAULT_QUANTILES = [0.1, 0.5, 0.9]


def head_info(info: dict) -> dict:
    return info.get("head") or {"kind": "point", "quantiles": []}


def point(y_pred, info) -> np.ndarray:
    y_pred = np.asarray(y_pred, dtype="float64")
    head = head_info(info)
    if head["kind"] == "quantile":
        quantiles = np.asarray(head["quantiles"])
        return y_pred[..., int(np.argmin(np.abs(quantiles - 0.5)))]
    if head["kind"] == "gaussian":
        return y_pred[..., 0]
    return y_pred


def quantiles(y_pred, info) -> dict[float, np.ndarray]:
    """Quantile forecasts by level (Gaussian heads: from the mean and scale)."""
    y_pred = np.asarray(y_pred, dtype="float64")
    head = head_info(info)
    if head["kind"] == "quantile":
        return {float(q): y_pred[..., i] for i, q in enumerate(head["quantiles"])}
    if head["kind"] == "gaussian":
        from scipy.stats import norm

        return {float(q): y_pred[..., 0] + norm.ppf(q) * y_pred[..., 1] for q in head["quantiles"]}
    return {}


def interval(y_pred, info):
    """(lower, upper, level) of the widest central interval, or None for point heads."""
    levels = quantiles(y_pred, info)
    if len(levels) < 2:
        return None
    lo, hi = min(levels), max(levels)
    return levels[lo], levels[hi], round(hi - lo, 6)


def interval_level(info) -> float:
    qs = head_info(info).get("quantiles") or []
    return round(max(qs) - min(qs), 6) if len(qs) >= 2 else 0.8
