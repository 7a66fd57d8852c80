"""The model against baselines, on the same windows: every test window (stride
``data.eval_stride``) and the recipe's rolling-origin backtest folds.

The global model is trained once; at each origin it sees only its lookback window (no
retraining per fold, like Darts' ``historical_forecasts(retrain=False)``). The baselines see
the series up to the origin: on the test windows, exponential smoothing is fitted on the
training part and its states carried to each origin; in the backtest it is refitted on each
fold's history (``window: expanding`` = everything before the origin, ``sliding`` = the last
``train_size`` steps). Baseline intervals come from their own h-step errors on the training
part (empirical quantiles), at the model's interval level.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqkit_forecast import baselines, classical, outputs
from seqkit_forecast import metrics as forecast_metrics
from seqkit_forecast.windows import make_targets, make_windows, window_origins

MODEL = "lstm"


class _Scores:
    """Collects one model's forecasts across series, then scores them."""

    def __init__(self):
        self.parts = {k: [] for k in ("y", "p", "y_scaled", "p_scaled", "lower", "upper", "scales")}
        self.level = None
        self.per_series: dict[str, dict] = {}

    def add(self, series, y_scaled, p_scaled, interval_scaled, scales, n_targets, original=None):
        """``scales``: MASE's scale of each window (windows, targets), from the history before its origin;
        ``original``: the forecast in the data's units when it was made there (M4's benchmarks: a
        negative Holt forecast has no log-scaled value, yet M4 scores it)."""
        inverse = lambda a: series.scaler.inverse(a, slice(0, n_targets))  # noqa: E731
        self.parts["y_scaled"].append(y_scaled)
        self.parts["p_scaled"].append(p_scaled)
        y = inverse(y_scaled)
        p = inverse(p_scaled) if original is None else np.asarray(original, dtype="float64")
        self.parts["y"].append(y)
        self.parts["p"].append(p)
        self.parts["scales"].append(scales)
        # M4 scores each series (the mean over its windows), then averages the series.
        self.per_series[series.id] = {
            "smape": float(forecast_metrics.smape_per_window(y, p).mean()),
            "mase": float(forecast_metrics.mase_per_window(y, p, scales).mean()),
        }
        if interval_scaled is not None:
            lower, upper, self.level = interval_scaled
            # A scaler with a negative scale cannot occur (std, range > 0), so bounds keep their order.
            lo, hi = inverse(lower), inverse(upper)
        else:
            # No interval for this series (e.g. a baseline on a series too short for its
            # in-sample errors): NaN bounds, left out of the coverage.
            lo = hi = np.full(y_scaled.shape, np.nan)
        self.parts["lower"].append(lo)
        self.parts["upper"].append(hi)

    def result(self) -> dict:
        cat = {k: np.concatenate(v) for k, v in self.parts.items() if v}
        scores = forecast_metrics.score(cat["y"], cat["p"], cat["scales"])
        scores["smape"] = float(np.mean([v["smape"] for v in self.per_series.values()]))
        scores["mase"] = float(np.mean([v["mase"] for v in self.per_series.values()]))
        has = np.isfinite(cat["lower"]).all(axis=(1, 2))
        if has.any():
            scores["coverage"] = forecast_metrics.coverage(cat["y"][has], cat["lower"][has], cat["upper"][has])
            scores["interval"] = self.level
            if not has.all():
                scores["interval_windows"] = int(has.sum())
        # Windows whose forecast has no scaled value (log of a negative forecast) are left out of
        # the scaled metrics; scaled_windows says how many remain.
        finite = np.isfinite(cat["p_scaled"]).all(axis=(1, 2))
        ys, ps = cat["y_scaled"][finite], cat["p_scaled"][finite]
        scores["scaled"] = {"mse": forecast_metrics.mse(ys, ps), "mae": forecast_metrics.mae(ys, ps)}
        if not finite.all():
            scores["scaled"]["windows"] = int(finite.sum())
        scores["mae_by_step"] = [round(v, 6) for v in forecast_metrics.error_by_step(ys, ps)]
        scores["windows"] = int(len(cat["y"]))
        return scores


def _baseline_forecasts(name, series, origins, horizon, period, ets_params):
    y = series.targets
    if name == "naive":
        return baselines.naive(y, origins, horizon)
    if name == "seasonal_naive":
        return baselines.seasonal_naive(y, origins, horizon, period)
    return baselines.ets_forecasts(y, origins, horizon, ets_params)


def _classical_forecasts(names, series, origins, horizon, period, n_targets) -> dict[str, np.ndarray]:
    """M4's benchmarks refitted at every origin on the whole history before it (in the
    data's units: the seasonal adjustment is multiplicative), returned in the data's units."""
    if not names or not len(origins):
        return {}
    history = series.scaler.inverse(series.targets, slice(0, n_targets))
    out = {name: np.empty((len(origins), horizon, n_targets)) for name in names}
    for i, o in enumerate(origins):
        for j in range(n_targets):
            for name, forecast in classical.forecast_all(history[:o, j], horizon, period, names).items():
                out[name][i, :, j] = forecast
    return out  # in the data's units


def _to_scaled(series, values):
    with np.errstate(invalid="ignore", divide="ignore"):
        return series.scaler.transform(values)


def _model_forecasts(model, series, origins, info, batch_size=512):
    x = make_windows(series.features, origins, info["lookback"], info["horizon"], info["observed_channels"])
    return model.predict(x, batch_size=batch_size, verbose=0)


def compare(model, bundle, info: dict, echo=print) -> dict:
    """Score the model and the baselines on every test window and on the backtest folds."""
    horizon, lookback, period = info["horizon"], info["lookback"], info["seasonal_period"]
    n_targets = len(info["targets"])
    names = [
        b for b in bundle.config.get("baselines", list(baselines.BASELINES)) if b != "ets" or baselines.ets_available()
    ]
    refitted = [b for b in names if b not in baselines.BASELINES]  # M4's benchmarks, refitted per origin
    level = outputs.interval_level(info)
    backtest = bundle.config.get("backtest") or {}
    test_scores = {name: _Scores() for name in [MODEL] + names}
    fold_scores = {name: _Scores() for name in [MODEL] + names} if backtest else {}
    per_fold: list[dict] = []
    examples = []
    from seqkit.plugin_api import track

    for series in track(bundle.series, "scoring the model and the baselines", unit="series"):
        train_end = series.bounds.train
        history = series.scaler.inverse(series.targets, slice(0, n_targets))
        ets_params = None
        if "ets" in names:
            ets_params = [baselines.fit_ets(series.targets[:train_end, j], period) for j in range(n_targets)]
        # Baseline intervals: empirical quantiles of their h-step errors on the training part.
        in_sample = window_origins(0, train_end, max(lookback, period), horizon, 1)
        spreads = {}
        for name in names:
            if name in refitted:
                continue
            if len(in_sample) >= 10:
                errors = make_targets(series.targets, in_sample, horizon) - _baseline_forecasts(
                    name, series, in_sample, horizon, period, ets_params
                )
                spreads[name] = baselines.empirical_interval(errors, level)

        def with_spread(name, forecast, spreads=spreads):
            if name not in spreads:
                return None
            lo, hi = spreads[name]
            return forecast + lo[None], forecast + hi[None], level

        origins = series.test_origins
        if len(origins):
            y = make_targets(series.targets, origins, horizon)
            scale = forecast_metrics.origin_scales(history, origins, period)
            raw = _model_forecasts(model, series, origins, info)
            test_scores[MODEL].add(series, y, outputs.point(raw, info), outputs.interval(raw, info), scale, n_targets)
            forecasts = {MODEL: outputs.point(raw, info)}
            refits = _classical_forecasts(refitted, series, origins, horizon, period, n_targets)
            for name in names:
                if name in refits:
                    forecast = _to_scaled(series, refits[name])
                    test_scores[name].add(series, y, forecast, None, scale, n_targets, original=refits[name])
                else:
                    forecast = _baseline_forecasts(name, series, origins, horizon, period, ets_params)
                    test_scores[name].add(series, y, forecast, with_spread(name, forecast), scale, n_targets)
                forecasts[name] = forecast
            if len(examples) < 4:
                examples.append((series, int(origins[-1]), raw[-1:], {k: v[-1] for k, v in forecasts.items()}))
        if backtest and len(series.backtest_origins):
            bh = int(backtest["horizon"])
            origins = series.backtest_origins
            y = make_targets(series.targets, origins, bh)
            scale = forecast_metrics.origin_scales(history, origins, period)
            raw = _model_forecasts(model, series, origins, info)
            point = outputs.point(raw, info)[:, :bh]
            band = outputs.interval(raw, info)
            band = (band[0][:, :bh], band[1][:, :bh], band[2]) if band else None
            fold_scores[MODEL].add(series, y, point, band, scale, n_targets)
            fold_forecasts = {MODEL: point}
            refits = _classical_forecasts(refitted, series, origins, bh, period, n_targets)
            for name in names:
                if name in refits:
                    forecast = _to_scaled(series, refits[name])
                elif name == "ets":
                    forecast = np.stack([_refit_ets(series, o, bh, period, backtest) for o in origins])
                else:
                    forecast = _baseline_forecasts(name, series, origins, horizon, period, ets_params)[:, :bh]
                fold_forecasts[name] = forecast
                spread = None
                if name in spreads:
                    lo, hi = spreads[name]
                    spread = (forecast + lo[None, :bh], forecast + hi[None, :bh], level)
                fold_scores[name].add(series, y, forecast, spread, scale, n_targets, original=refits.get(name))
            for k, o in enumerate(origins):
                entry = {"series": series.id, "fold": k + 1, "origin": str(series.time[o])}
                for name, forecast in fold_forecasts.items():
                    yk = series.scaler.inverse(y[k], slice(0, n_targets))
                    pk = refits[name][k] if name in refits else series.scaler.inverse(forecast[k], slice(0, n_targets))
                    entry[name] = {
                        "mae": forecast_metrics.mae(yk, pk),
                        "mase": forecast_metrics.mase(yk[None], pk[None], scale[k : k + 1]),
                    }
                per_fold.append(entry)
    result = {
        "test_comparison": {
            "windows": int(sum(len(s.test_origins) for s in bundle.series)),
            "horizon": horizon,
            "seasonal_period": period,
            "models": _with_owa({name: s.result() for name, s in test_scores.items() if s.parts["y"]}),
            "per_series": _per_series(test_scores),
        }
    }
    if backtest:
        result["backtest"] = {
            **{k: backtest[k] for k in ("folds", "step", "horizon", "window")},
            **({"train_size": backtest["train_size"]} if backtest.get("train_size") else {}),
            "models": _with_owa({name: s.result() for name, s in fold_scores.items() if s.parts["y"]}),
            "per_fold": per_fold,
        }
    result["_examples"] = examples
    return result


def _with_owa(models: dict) -> dict:
    """Each model's OWA (M4: the mean of its sMAPE and MASE relative to Naive2's) when Naive2 was scored."""
    reference = models.get("naive2")
    if reference:
        for scores in models.values():
            scores["owa"] = forecast_metrics.owa(scores["smape"], scores["mase"], reference["smape"], reference["mase"])
    return models


def _per_series(scores: dict) -> dict:
    """{series id: {model: {smape, mase, owa}}}; OWA per series against that series' Naive2."""
    out: dict[str, dict] = {}
    for name, collected in scores.items():
        for sid, values in collected.per_series.items():
            out.setdefault(sid, {})[name] = dict(values)
    for entry in out.values():
        reference = entry.get("naive2")
        if reference:
            for values in entry.values():
                values["owa"] = forecast_metrics.owa(
                    values["smape"], values["mase"], reference["smape"], reference["mase"]
                )
    return out


def _refit_ets(series, origin, horizon, period, backtest):
    start = 0 if backtest.get("window", "expanding") == "expanding" else max(0, origin - int(backtest["train_size"]))
    return baselines.ets_refit_forecast(series.targets[start:origin], horizon, period)


COLUMNS = (
    ("mse", "MSE*"),
    ("mae_scaled", "MAE*"),
    ("mae", "MAE"),
    ("rmse", "RMSE"),
    ("mape", "MAPE%"),
    ("smape", "sMAPE%"),
    ("mase", "MASE"),
    ("owa", "OWA"),
    ("coverage", "cover"),
)


SCALED = {
    "standard": "standardised with training statistics",
    "minmax": "min-max scaled with training statistics",
    "none": "data.scaler none, so the data's units too",
    "log+standard": "the log of the data (data.transform log), standardised with training statistics",
    "log+minmax": "the log of the data (data.transform log), min-max scaled with training statistics",
    "log+none": "the log of the data (data.transform log)",
}


def table(title: str, models: dict, scaler: str = "standard") -> str:
    """A fixed-width table of the models' scores (best value of each column marked *)."""
    rows = []
    for name, s in models.items():
        rows.append(
            {
                "model": name,
                "mse": s["scaled"]["mse"],
                "mae_scaled": s["scaled"]["mae"],
                **{k: s.get(k) for k in ("mae", "rmse", "mape", "smape", "mase", "owa", "coverage")},
            }
        )
    level = next((s.get("interval") for s in models.values() if s.get("interval")), None)
    header = f"{'model':<16}" + "".join(
        f"{label if key != 'coverage' else f'cover{int(round((level or 0) * 100))}':>10}" for key, label in COLUMNS
    )
    if not any(isinstance(r.get("owa"), float) for r in rows):
        header = header.replace(f"{'OWA':>10}", "")
    lines = [title, header]
    for row in rows:
        cells = "".join(_cell(row[key]) for key, _ in COLUMNS if key != "owa" or "OWA" in header)
        lines.append(f"{row['model']:<16}{cells}")
    lines.append(
        f"(* on the scaled data: {SCALED.get(scaler, scaler)}; the rest in the data's units; sMAPE and MASE averaged over series as M4 does, "
        "MASE against the seasonal naive error of the whole history before each origin"
        + ("; OWA relative to naive2)" if "OWA" in header else ")")
    )
    partial = {name: s["interval_windows"] for name, s in models.items() if "interval_windows" in s}
    if partial:
        counts = ", ".join(f"{name} {n} of {models[name]['windows']}" for name, n in partial.items())
        lines.append(
            f"(cover: on the windows with an interval ({counts}); series with under 10 training windows have no baseline interval)"
        )
    return "\n".join(lines)


def _cell(value) -> str:
    if not isinstance(value, float):
        return f"{'-':>10}"
    return f"{value:>10.4f}" if abs(value) < 1e5 else f"{value:>10.3g}"


def plot_examples(examples, info, plot_dir: Path) -> list[Path]:
    """Forecast against actuals, with the model's interval, for up to four series."""
    if not examples:
        return []
    from seqkit.plugin_api import pyplot, save_figure

    plt = pyplot()
    n_targets = len(info["targets"])
    lookback, horizon = info["lookback"], info["horizon"]
    fig, axes = plt.subplots(len(examples), 1, figsize=(9, 2.8 * len(examples)), squeeze=False)
    for ax, (series, origin, raw, forecasts) in zip(axes[:, 0], examples):
        inverse = lambda a, series=series: series.scaler.inverse(a, slice(0, n_targets))  # noqa: E731
        start = max(0, origin - min(lookback, 3 * horizon))
        end = min(len(series.targets), origin + horizon)
        t = series.time
        ax.plot(t[start:end], inverse(series.targets[start:end])[:, 0], color="black", lw=1.2, label="actual")
        future = t[origin : origin + horizon]
        band = outputs.interval(raw, info)
        if band is not None:
            ax.fill_between(
                future,
                inverse(band[0][0])[:, 0],
                inverse(band[1][0])[:, 0],
                color="tab:blue",
                alpha=0.25,
                label=f"{int(round(band[2] * 100))}% interval",
            )
        ax.plot(future, inverse(forecasts[MODEL])[:, 0], color="tab:blue", lw=1.5, label="LSTM")
        # Every baseline the metrics report, each in its own style.
        styles = [("tab:orange", "--"), ("tab:green", ":"), ("tab:red", "-."), ("tab:purple", (0, (3, 1, 1, 1)))]
        for k, name in enumerate(n for n in forecasts if n != MODEL):
            colour, dash = styles[k % len(styles)]
            ax.plot(future, inverse(forecasts[name])[:, 0], color=colour, lw=1, ls=dash, label=name.replace("_", " "))
        ax.axvline(t[origin], color="grey", lw=0.8)
        ax.set_xlabel(info.get("time_column") or "time")
        ax.set_ylabel(f"{info['targets'][0]} (data units)")
        ax.set_title(f"{series.id or 'series'}: {info['targets'][0]}, last test window")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    path = save_figure(fig, plot_dir / "forecast.png")
    plt.close(fig)
    return [path]


def plot_error_by_step(models: dict, plot_dir: Path) -> list[Path]:
    if not models:
        return []
    from seqkit.plugin_api import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for name, scores in models.items():
        steps = np.arange(1, len(scores["mae_by_step"]) + 1)
        ax.plot(steps, scores["mae_by_step"], label=name, lw=2 if name == MODEL else 1)
    ax.set_xlabel("horizon step")
    ax.set_ylabel("MAE (scaled)")
    ax.set_title("Test error by horizon step")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = save_figure(fig, plot_dir / "error_by_step.png")
    plt.close(fig)
    return [path]
