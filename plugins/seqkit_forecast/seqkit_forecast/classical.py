"""M4's standard benchmarks, as the competition's reference code defines them
(``Benchmarks and Evaluation.R`` in Mcompetitions/M4-methods):

- a 90 % autocorrelation test for seasonality at lag ``m`` (only when ``m > 1`` and the
  history holds at least three seasons);
- when it is seasonal, classical multiplicative decomposition (moving-average trend, as R's
  ``decompose``) gives the seasonal indices; the methods below forecast the seasonally
  adjusted series and the last season's indices re-seasonalise the forecast;
- Naive (last value), sNaive (last season), Naive2 (naive on the adjusted series), SES, Holt,
  Damped (statsmodels' exponential smoothing with estimated initial states, the ETS fits of
  R's ``ses`` / ``holt``), Theta (the classic Theta method: half a linear trend line, half SES
  of the theta = 2 line) and Comb (the mean of SES, Holt and Damped).

Each function takes one 1-D history and the horizon and returns the forecast (horizon,).
"""

from __future__ import annotations

import warnings

import numpy as np

CLASSICAL = ("naive", "seasonal_naive", "naive2", "ses", "holt", "damped", "theta", "comb")
# M4's seasonality per frequency (its scoring and its benchmarks use these m).
M4_SEASONALITY = {"yearly": 1, "quarterly": 4, "monthly": 12, "weekly": 1, "daily": 1, "hourly": 24}
M4_HORIZON = {"yearly": 6, "quarterly": 8, "monthly": 18, "weekly": 13, "daily": 14, "hourly": 48}


def acf(x: np.ndarray, lag: int) -> float:
    """Sample autocorrelation at ``lag`` (R's ``acf``: the full-length mean and variance)."""
    x = np.asarray(x, dtype="float64")
    mean = x.mean()
    denominator = np.sum((x - mean) ** 2)
    if denominator == 0:
        return 0.0
    return float(np.sum((x[lag:] - mean) * (x[:-lag] - mean)) / denominator)


def seasonality_test(x: np.ndarray, m: int) -> bool:
    """M4's test: |acf(m)| above the 90 % (one-sided 1.645) limit of Bartlett's formula."""
    x = np.asarray(x, dtype="float64")
    if m <= 1 or len(x) < 3 * m:
        return False
    coefficients = np.array([acf(x, k) for k in range(1, m + 1)])
    limit = 1.645 / np.sqrt(len(x)) * np.sqrt(1 + 2 * np.sum(coefficients[: m - 1] ** 2))
    return bool(abs(coefficients[m - 1]) > limit)


def seasonal_indices(x: np.ndarray, m: int) -> np.ndarray:
    """Classical multiplicative decomposition's seasonal index of every step of ``x``
    (centred moving-average trend, indices normalised to average 1), as R's ``decompose``."""
    x = np.asarray(x, dtype="float64")
    n = len(x)
    if m % 2 == 0:
        weights = np.r_[0.5, np.ones(m - 1), 0.5] / m
    else:
        weights = np.ones(m) / m
    half = len(weights) // 2
    trend = np.full(n, np.nan)
    trend[half : n - half] = np.convolve(x, weights, mode="valid")
    ratio = x / trend
    position = np.arange(n) % m
    figure = np.array([np.nanmean(ratio[position == k]) for k in range(m)])
    figure = figure / figure.mean()
    return figure[position]


def deseasonalise(x: np.ndarray, m: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(seasonally adjusted history, the indices of the next ``horizon`` steps); indices of 1
    when the series fails M4's seasonality test (or has a non-positive value)."""
    x = np.asarray(x, dtype="float64")
    if not seasonality_test(x, m) or (x <= 0).any():
        return x, np.ones(horizon)
    indices = seasonal_indices(x, m)
    last = indices[-m:]
    return x / indices, np.resize(last, horizon)


def naive(x, horizon: int, m: int = 1) -> np.ndarray:
    return np.repeat(float(np.asarray(x)[-1]), horizon)


def seasonal_naive(x, horizon: int, m: int = 1) -> np.ndarray:
    x = np.asarray(x, dtype="float64")
    if m <= 1 or len(x) < m:
        return naive(x, horizon)
    return np.resize(x[-m:], horizon)


def _ets(x: np.ndarray, horizon: int, trend: bool, damped: bool) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings: the fitted parameters are still usable
        model = ExponentialSmoothing(
            np.asarray(x, dtype="float64"),
            trend="add" if trend else None,
            damped_trend=damped,
            initialization_method="estimated",
        )
        return np.asarray(model.fit().forecast(horizon), dtype="float64")


def _ses_fit(x: np.ndarray, horizon: int) -> np.ndarray:
    return _ets(x, horizon, trend=False, damped=False)


def theta_classic(x: np.ndarray, horizon: int) -> np.ndarray:
    """The classic Theta method (Assimakopoulos & Nikolopoulos 2000) as M4's code runs it:
    0.5 x the least-squares trend line + 0.5 x SES of the theta = 2 line."""
    x = np.asarray(x, dtype="float64")
    n = len(x)
    steps = np.arange(1, n + 1, dtype="float64")
    slope, intercept = np.polyfit(steps, x, 1)
    line_in = intercept + slope * steps
    line_out = intercept + slope * np.arange(n + 1, n + horizon + 1, dtype="float64")
    theta_line = 2.0 * x - line_in
    return 0.5 * _ses_fit(theta_line, horizon) + 0.5 * line_out


def forecast_all(x, horizon: int, m: int, names=CLASSICAL) -> dict[str, np.ndarray]:
    """The named benchmarks' forecasts of one history, sharing one seasonal adjustment."""
    x = np.asarray(x, dtype="float64")
    adjusted, indices = deseasonalise(x, m, horizon)
    out: dict[str, np.ndarray] = {}
    cache: dict[str, np.ndarray] = {}

    def adjusted_forecast(name):
        if name not in cache:
            if name == "ses":
                cache[name] = _ses_fit(adjusted, horizon)
            elif name == "holt":
                cache[name] = _ets(adjusted, horizon, trend=True, damped=False)
            elif name == "damped":
                cache[name] = _ets(adjusted, horizon, trend=True, damped=True)
            elif name == "theta":
                cache[name] = theta_classic(adjusted, horizon)
        return cache[name]

    for name in names:
        if name == "naive":
            out[name] = naive(x, horizon)
        elif name == "seasonal_naive":
            out[name] = seasonal_naive(x, horizon, m)
        elif name == "naive2":
            out[name] = naive(adjusted, horizon) * indices
        elif name == "comb":
            out[name] = np.mean([adjusted_forecast(k) for k in ("ses", "holt", "damped")], axis=0) * indices
        else:
            out[name] = adjusted_forecast(name) * indices
    return out
