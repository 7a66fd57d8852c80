"""The ``forecast`` task: metrics, decoding, and the comparison with baselines at the end of a run."""

from __future__ import annotations

import numpy as np

from seqkit import Task
from seqkit_forecast import metrics as mt
from seqkit_forecast import outputs


class ForecastTask(Task):
    name = "forecast"
    description = "multi-horizon time-series forecasts (point, quantile, Gaussian), backtested against baselines"
    default_adapter = "timeseries"
    default_encoder = "forecast_window"
    default_head = "point"

    def evaluate(self, y_true, y_pred, info):
        """Scaled-data metrics of all windows: MSE / MAE of the point forecast, and for
        probabilistic heads the interval coverage and the training loss (pinball / NLL)."""
        y_true = np.asarray(y_true, dtype="float64")
        point = outputs.point(y_pred, info)
        result = {"mse": mt.mse(y_true, point), "mae": mt.mae(y_true, point), "windows": int(len(y_true))}
        band = outputs.interval(y_pred, info)
        if band is not None:
            result["coverage"] = mt.coverage(y_true, band[0], band[1])
            result["interval"] = band[2]
        head = outputs.head_info(info)
        if head["kind"] == "quantile":
            result["pinball"] = mt.pinball(y_true, y_pred, head["quantiles"])
        elif head["kind"] == "gaussian":
            y_pred = np.asarray(y_pred, dtype="float64")
            result["gaussian_nll"] = mt.gaussian_nll(y_true, y_pred[..., 0], y_pred[..., 1])
        return result

    def decode(self, y_pred, info, inputs=None):
        """One row per window, on the scaled data: the point forecast and each quantile as
        space-separated values over the horizon (one column per target)."""
        point = outputs.point(y_pred, info)
        levels = outputs.quantiles(y_pred, info)
        rows = []
        for i in range(len(point)):
            row = {}
            for j, target in enumerate(info["targets"]):
                row[target] = " ".join(f"{v:.6g}" for v in point[i, :, j])
                for q, values in levels.items():
                    row[f"{target}_q{q:g}"] = " ".join(f"{v:.6g}" for v in values[i, :, j])
            rows.append(row)
        return rows

    def describe_targets(self, y_true, info):
        return [" ".join(f"{v:.6g}" for v in np.asarray(row)[:, 0]) for row in y_true]

    def summary(self, metrics):
        keys = [k for k in ("mse", "mae", "coverage") if k in metrics]
        return ", ".join(f"{k}={metrics[k]:.4f}" for k in keys) + " (scaled data)"

    def evaluate_model(self, model, bundle, info, plot_dir, echo=print):
        from seqkit_forecast import evaluation

        if not getattr(bundle, "series", None):
            return {}
        result = evaluation.compare(model, bundle, info, echo)
        examples = result.pop("_examples")
        comparison = result["test_comparison"]
        plot_dir.mkdir(parents=True, exist_ok=True)
        evaluation.plot_examples(examples, info, plot_dir)
        evaluation.plot_error_by_step(comparison["models"], plot_dir)
        echo(evaluation.table(
            f"seqkit: test windows: {comparison['windows']} per model, horizon {comparison['horizon']}, "
            f"seasonal period {comparison['seasonal_period']}", comparison["models"]))
        if "backtest" in result:
            bt = result["backtest"]
            echo(evaluation.table(
                f"seqkit: backtest: {bt['folds']} rolling-origin folds, step {bt['step']}, horizon {bt['horizon']}, "
                f"{bt['window']} window (baselines refitted per fold)", bt["models"]))
        return result
