"""The ``forecast`` task: metrics, decoding, and the comparison with baselines at the end of a run."""

from __future__ import annotations

import numpy as np

from seqkit.plugin_api import DataError, ExplainTarget, Task
from seqkit_forecast import metrics as forecast_metrics
from seqkit_forecast import outputs


class ForecastTask(Task):
    name = "forecast"
    description = "multi-horizon time-series forecasts (point, quantile, Gaussian), backtested against baselines"
    default_adapter = "timeseries"
    default_encoder = "forecast_window"
    default_head = "point"
    adapters = ("timeseries",)
    encoders = ("forecast_window",)
    heads = ("point", "quantile", "gaussian")

    def evaluate(self, y_true, y_pred, info):
        """Scaled-data metrics of all windows: MSE / MAE of the point forecast, and for
        probabilistic heads the interval coverage and the training loss (pinball / NLL)."""
        y_true = np.asarray(y_true, dtype="float64")
        point = outputs.point(y_pred, info)
        result = {
            "mse": forecast_metrics.mse(y_true, point),
            "mae": forecast_metrics.mae(y_true, point),
            "windows": int(len(y_true)),
        }
        band = outputs.interval(y_pred, info)
        if band is not None:
            result["coverage"] = forecast_metrics.coverage(y_true, band[0], band[1])
            result["interval"] = band[2]
        head = outputs.head_info(info)
        if head["kind"] == "quantile":
            result["pinball"] = forecast_metrics.pinball(y_true, y_pred, head["quantiles"])
        elif head["kind"] == "gaussian":
            y_pred = np.asarray(y_pred, dtype="float64")
            result["gaussian_nll"] = forecast_metrics.gaussian_nll(y_true, y_pred[..., 0], y_pred[..., 1])
        return result

    def decode(self, y_pred, info, inputs=None):
        """One row per window: the point forecast and each quantile as space-separated
        values over the horizon (one column per target), in the data's units when the
        windows' labels (``inputs``: "series @ origin") name their series."""
        point = outputs.point(y_pred, info)
        levels = outputs.quantiles(y_pred, info)
        inverse = _inverters(info, inputs, len(point))
        rows = []
        for i in range(len(point)):
            row = {}
            p = inverse[i](point[i])
            qs = {q: inverse[i](values[i]) for q, values in levels.items()}
            for j, target in enumerate(info["targets"]):
                row[target] = " ".join(f"{v:.6g}" for v in p[:, j])
                for q, values in qs.items():
                    row[f"{target}_q{q:g}"] = " ".join(f"{v:.6g}" for v in values[:, j])
            rows.append(row)
        return rows

    def describe_targets(self, y_true, info, inputs=None):
        """The first target's actual values over the horizon (data units, as in decode)."""
        inverse = _inverters(info, inputs, len(y_true))
        return [" ".join(f"{v:.6g}" for v in inverse[i](np.asarray(row))[:, 0]) for i, row in enumerate(y_true)]

    def explain_target(self, output, info, raw_input=None, target=None, model_input=None):
        """One step of the first target's point forecast (the median of a quantile head, the
        mean of a Gaussian one), in scaled units. ``target``: the forecast step, 1 to the
        horizon (default 1). The window's steps are named ``t-23 ... t`` (history) and
        ``t+1 ...`` (known future inputs), its features by their columns."""
        output = np.asarray(output)
        horizon = int(info["horizon"])
        text = "1" if target is None else str(target).strip().lstrip("t+")
        if not text.isdigit() or not 1 <= int(text) <= horizon:
            raise DataError(f"explain target {target!r}: expected a forecast step from 1 to {horizon}")
        step = int(text) - 1
        head = outputs.head_info(info)
        weights = np.zeros(output.shape)
        if head["kind"] == "quantile":
            quantiles = np.asarray(head["quantiles"])
            weights[step, 0, int(np.argmin(np.abs(quantiles - 0.5)))] = 1.0
        elif head["kind"] == "gaussian":
            weights[step, 0, 0] = 1.0
        else:
            weights[step, 0] = 1.0
        lookback = int(info["lookback"])
        steps = None
        if model_input is not None:
            count = int(np.asarray(model_input).shape[0])
            steps = [f"t{k - lookback + 1:+d}" if k != lookback - 1 else "t" for k in range(count)]
        channels = [str(c) for c in info.get("channels") or []] or None
        return ExplainTarget(
            weights, f"{info['targets'][0]} forecast, step {step + 1} (scaled)", steps=steps, features=channels
        )

    def summary(self, metrics):
        keys = [k for k in ("mse", "mae", "coverage") if k in metrics]
        line = ", ".join(f"{k}={metrics[k]:.4f}" for k in keys) + " (scaled data)"
        comparison = metrics.get("test_comparison")
        if comparison and comparison.get("models"):  # seqkit evaluate: the comparison with the baselines too
            from seqkit_forecast import evaluation

            title = (
                f"test windows: {comparison['windows']} per model, horizon {comparison['horizon']}, "
                f"seasonal period {comparison['seasonal_period']}"
            )
            return line + "\n" + evaluation.table(title, comparison["models"])
        return line

    def report_sections(self, report):
        """The model beside every baseline (test windows and backtest folds), the error by
        horizon step for each, the forecast figures, and the windows with the largest error."""
        from seqkit.plugin_api import ReportSection

        sections = [report.metrics_section("Test metrics (scaled data)")]
        columns = ["model", "mae", "rmse", "mase", "smape", "mape", "coverage", "interval", "windows"]
        for key, title in (("test_comparison", "Model and baselines: test windows"), ("backtest", "Backtest")):
            block = report.metrics.get(key) or {}
            models = block.get("models") or {}
            if not models:
                continue
            rows = [{"model": name, **{c: v.get(c) for c in columns[1:]}} for name, v in models.items()]
            shown = [c for c in columns if any(r.get(c) is not None for r in rows)]
            facts = {k: v for k, v in block.items() if isinstance(v, (int, float, str))}
            body = report.text(", ".join(f"{k}: {v}" for k, v in facts.items())) + report.table(rows, shown)
            steps = {name: v.get("mae_by_step") for name, v in models.items() if v.get("mae_by_step")}
            if steps:
                horizon = max(len(v) for v in steps.values())
                by_step = [
                    {"step": h + 1, **{name: (v[h] if h < len(v) else None) for name, v in steps.items()}}
                    for h in range(horizon)
                ]
                body += report.details(f"MAE by horizon step (scaled), {horizon} steps", report.table(by_step))
            if key == "test_comparison":
                body += report.plot_html("error_by_step.png", "error by horizon step")
            sections.append(ReportSection(title, body))
        figures = "".join(report.plot_html(name) for name in sorted(report.plots) if name.startswith("forecast"))
        if figures:
            sections.append(ReportSection("Forecasts", figures))

        def error(row):
            actual, point = row.get("actual"), row.get("point")
            if not isinstance(actual, (int, float)) or not isinstance(point, (int, float)):
                return None
            return abs(float(actual) - float(point))

        sections.append(report.predictions_sample("Forecasts of the test windows (one row a step)", worst=error))
        return [s for s in sections if s is not None]

    def evaluate_model(self, model, bundle, info, plot_dir, echo=print):
        from seqkit_forecast import evaluation
        from seqkit_forecast.adapters import ForecastBundle

        if not isinstance(bundle, ForecastBundle) or not bundle.series:
            return {}
        result = evaluation.compare(model, bundle, info, echo)
        write_long_predictions(plot_dir.parent / "predictions.csv", model, bundle, info)
        examples = result.pop("_examples")
        comparison = result["test_comparison"]
        plot_dir.mkdir(parents=True, exist_ok=True)
        evaluation.plot_examples(examples, info, plot_dir)
        evaluation.plot_error_by_step(comparison["models"], plot_dir)
        echo(
            evaluation.table(
                f"seqkit: test windows: {comparison['windows']} per model, horizon {comparison['horizon']}, "
                f"seasonal period {comparison['seasonal_period']}",
                comparison["models"],
                _scaler(info),
            )
        )
        if "backtest" in result:
            bt = result["backtest"]
            echo(
                evaluation.table(
                    f"seqkit: backtest: {bt['folds']} rolling-origin folds, step {bt['step']}, horizon {bt['horizon']}, "
                    f"{bt['window']} window (baselines refitted per fold)",
                    bt["models"],
                    _scaler(info),
                )
            )
        return result


def long_prediction_rows(model, bundle, info) -> list[dict]:
    """One row per test window, horizon step (and target, when there are several): ``series``,
    ``origin`` (the last observed time), ``step``, ``timestamp`` (the time forecast),
    ``actual``, ``point`` and each quantile ``q0.1`` ..., in the data's units."""
    from seqkit_forecast.evaluation import _model_forecasts
    from seqkit_forecast.inference import _show
    from seqkit_forecast.windows import make_targets

    horizon, targets = int(info["horizon"]), list(info["targets"])
    n_targets = len(targets)
    rows: list[dict] = []
    for series in bundle.series:
        origins = series.test_origins
        if not len(origins):
            continue
        raw = _model_forecasts(model, series, origins, info)
        inverse = lambda a, series=series: series.scaler.inverse(np.asarray(a, dtype="float64"), slice(0, n_targets))  # noqa: E731
        actual = inverse(make_targets(series.targets, origins, horizon))
        point = inverse(outputs.point(raw, info))
        levels = {q: inverse(v) for q, v in outputs.quantiles(raw, info).items()}
        times = series.time
        for w, o in enumerate(origins):
            for h in range(horizon):
                for j, target in enumerate(targets):
                    row = {"series": series.id or "", "origin": _show(times[o - 1], times), "step": h + 1}
                    row["timestamp"] = _show(times[o + h], times)
                    if n_targets > 1:
                        row["target"] = target
                    row["actual"] = round(float(actual[w, h, j]), 6)
                    row["point"] = round(float(point[w, h, j]), 6)
                    row.update({f"q{q:g}": round(float(v[w, h, j]), 6) for q, v in levels.items()})
                    rows.append(row)
    return rows


def write_long_predictions(path, model, bundle, info) -> None:
    from seqkit.plugin_api import atomic_write_csv

    rows = long_prediction_rows(model, bundle, info)
    if rows:
        atomic_write_csv(path, rows)


def _inverters(info, labels, count):
    """Per window, a function from scaled (horizon, targets) values to the data's units, from
    the series named in the window's label ("series @ origin", or the origin alone for a
    single series); identity when the labels or the series' scaler are not known."""
    from seqkit_forecast.windows import Scaler

    scalers = {sid: Scaler.from_dict(data) for sid, data in (info.get("scalers") or {}).items()}
    n_targets = len(info["targets"])

    def identity(values):
        return np.asarray(values, dtype="float64")

    if labels is None or len(labels) != count:
        return [identity] * count
    result = []
    for label in labels:
        sid = str(label).rsplit(" @ ", 1)[0] if " @ " in str(label) else ""
        scaler = scalers.get(sid)
        result.append(
            identity
            if scaler is None
            else (lambda v, s=scaler: s.inverse(np.asarray(v, dtype="float64"), slice(0, n_targets)))
        )
    return result


def _scaler(info) -> str:
    scalers = info.get("scalers") or {}
    if not scalers:
        return "standard"
    first = next(iter(scalers.values()))
    return f"log+{first['kind']}" if first.get("log") else first["kind"]
