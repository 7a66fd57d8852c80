"""The forecasting plugin: tables, gaps, scalers, windows, losses, metrics, baselines, a tiny
run with `seqkit forecast`, and bad input. Real-data recipes run behind the slow marker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqkit.plugin_api import DataContext, DataError
from seqkit_forecast import baselines
from seqkit_forecast import metrics as forecast_metrics
from seqkit_forecast.adapters import TimeSeriesAdapter
from seqkit_forecast.windows import window_origins

ROOT = Path(__file__).resolve().parents[3]  # the repository: recipes/ and ../shared/data

SEQKIT = [sys.executable, "-m", "seqkit"]


def series_frame(n=120, ids=("a", "b"), freq="h", start="2024-01-01"):
    """Long table: two hourly series with a daily cycle, a covariate and different levels."""
    rows = []
    t = pd.date_range(start, periods=n, freq=freq)
    for k, sid in enumerate(ids):
        level = 10.0 * (k + 1)
        y = level + np.sin(2 * np.pi * np.arange(n) / 24) + 0.01 * np.arange(n)
        for i in range(n):
            rows.append(
                {"id": sid, "date": str(t[i]), "load": round(float(y[i]), 4), "temp": round(float(np.cos(i / 5.0)), 4)}
            )
    return pd.DataFrame(rows)


def adapter(tmp_path, frame=None, fmt="csv", **config):
    base = {
        "path": f"data.{fmt}",
        "time": "date",
        "series": "id",
        "targets": ["load"],
        "lookback": 24,
        "horizon": 6,
        "split": {"validation": 0.2, "test": 0.2},
    }
    base.update(config)
    frame = series_frame() if frame is None else frame
    if fmt == "csv":
        frame.to_csv(tmp_path / "data.csv", index=False)
    else:
        frame.to_parquet(tmp_path / "data.parquet", index=False)
    defaults = {k: v.get("default") for k, v in TimeSeriesAdapter.schema["properties"].items() if "default" in v}
    return TimeSeriesAdapter({**defaults, **base}, DataContext(tmp_path, 0))


# -- tables -----------------------------------------------------------------------------------


def test_long_csv_wide_and_parquet_give_the_same_windows(tmp_path):
    long = adapter(tmp_path).load()
    wide_frame = series_frame().pivot(index="date", columns="id", values="load").reset_index()
    wide = adapter(
        tmp_path / ".." / tmp_path.name, wide_frame, layout="wide", series=None, targets=[], target_name="load"
    ).load()
    parquet = adapter(tmp_path, fmt="parquet").load()
    assert long.info["series"] == ["a", "b"] == wide.info["series"]
    np.testing.assert_allclose(long.train.x, wide.train.x)
    np.testing.assert_allclose(long.test.y, parquet.test.y)
    assert long.test.raw[0].startswith("a @ 2024-01-")


def test_covariates_and_calendar_channels(tmp_path):
    bundle = adapter(tmp_path, past_covariates=["temp"], calendar=["hour", "weekday"]).load()
    info = bundle.info
    assert info["channels"] == ["load", "temp", "hour_sin", "hour_cos", "weekday_sin", "weekday_cos"]
    assert info["normalized_channels"] == [0, 1] and info["future_channels"] == [2, 3, 4, 5]
    x = bundle.train.x
    assert x.shape[1:] == (30, 6)
    # Targets and past covariates are unknown over the horizon; calendar features are known.
    assert np.all(x[:, 24:, :2] == 0) and np.any(x[:, 24:, 2:] != 0)
    first_hour = pd.Timestamp("2024-01-01").hour
    np.testing.assert_allclose(
        x[0, 0, 2:4], [np.sin(2 * np.pi * first_hour / 24), np.cos(2 * np.pi * first_hour / 24)], atol=1e-6
    )


def test_holiday_flag(tmp_path):
    frame = series_frame(n=24 * 10, start="2024-07-01")  # 4 July 2024 is a US federal holiday
    bundle = adapter(tmp_path, frame, calendar=["holiday"]).load()
    assert bundle.info["channels"] == ["load", "holiday_flag"]
    flags = bundle.series[0].features[:, 1]
    days = pd.DatetimeIndex(bundle.series[0].time)
    assert flags[days.day == 4].min() == 1.0 and flags[days.day != 4].max() == 0.0


def drop_rows(frame, rows):
    return frame.drop(index=rows).reset_index(drop=True)


def test_missing_timestamp_is_named_by_row_and_filled_with_a_policy(tmp_path):
    frame = drop_rows(series_frame(), [30, 31])  # two hours missing in series a
    with pytest.raises(DataError) as err:
        adapter(tmp_path, frame).load()
    message = str(err.value)
    assert "data.csv:32:" in message  # header is line 1; the row after the gap is file line 32
    assert "missing timestamps in series 'a'" in message and "2 step(s)" in message and "data.fill" in message
    bundle = adapter(tmp_path, frame, fill="interpolate").load()
    assert bundle.info["filled_steps"] == 2
    values = bundle.series[0].scaler.inverse(bundle.series[0].targets)[:, 0]
    truth = series_frame()["load"].to_numpy()[:120]
    np.testing.assert_allclose(values[30:32], np.interp([30, 31], [29, 32], truth[[29, 32]]), rtol=1e-6)


def test_missing_value_irregular_and_duplicate_timestamps(tmp_path):
    frame = series_frame()
    frame.loc[40, "load"] = np.nan
    with pytest.raises(DataError, match=r"data\.csv:42: missing value in column 'load' in series 'a'"):
        adapter(tmp_path, frame).load()
    assert adapter(tmp_path, frame, fill="ffill").load().info["filled_steps"] == 1
    frame = series_frame()
    frame.loc[10, "date"] = "2024-01-01 09:30:00"
    with pytest.raises(DataError, match=r"data\.csv:12: irregular timestamp 2024-01-01 09:30:00 in series 'a'"):
        adapter(tmp_path, frame).load()
    frame = series_frame()
    frame.loc[10, "date"] = frame.loc[9, "date"]
    with pytest.raises(DataError, match=r"data\.csv:12: duplicate timestamp 2024-01-01 09:00:00 in series 'a'$"):
        adapter(tmp_path, frame, fill="interpolate").load()
    one = series_frame(ids=("a",))
    one.loc[10, "date"] = one.loc[9, "date"]
    with pytest.raises(
        DataError, match=r"data\.csv:12: duplicate timestamp 2024-01-01 09:00:00$"
    ):  # one stray row: no hint
        adapter(tmp_path, one, series=None).load()
    # Several series in one file without data.series: every timestamp repeats.
    with pytest.raises(
        DataError,
        match=r"data\.csv:122: duplicate timestamp 2024-01-01 00:00:00; several series in one file\? "
        r"Name their id column in data\.series \(columns: id, date, load, temp\)",
    ):
        adapter(tmp_path, series=None).load()


@pytest.mark.parametrize("fill", ["ffill", "interpolate"])
def test_a_column_with_no_value_at_all_cannot_be_filled(tmp_path, fill):
    frame = series_frame()
    frame.loc[frame.id == "b", "temp"] = np.nan
    with pytest.raises(
        DataError, match=rf"data\.csv: column 'temp' in series 'b' has no value to fill from \(data\.fill={fill}\)"
    ):
        adapter(tmp_path, frame, fill=fill, past_covariates=["temp"]).load()


def test_infinite_values_are_named_and_filled_like_missing_ones(tmp_path):
    frame = series_frame()
    frame["load"] = frame["load"].astype(object)
    frame.loc[40, "load"] = "inf"
    with pytest.raises(DataError, match=r"data\.csv:42: infinite value in column 'load' in series 'a'; set data\.fill"):
        adapter(tmp_path, frame).load()
    bundle = adapter(tmp_path, frame, fill="interpolate").load()
    assert np.isfinite(bundle.series[0].features).all() and bundle.info["filled_steps"] == 1


def test_too_few_timestamps_to_infer_the_step(tmp_path):
    with pytest.raises(
        DataError,
        match=r"data\.csv in series 'a': cannot infer the time step from fewer than 3 timestamps; set data\.freq",
    ):
        adapter(tmp_path, series_frame(n=2)).load()


def test_a_blank_series_id_is_named(tmp_path):
    frame = series_frame()
    frame.loc[5, "id"] = None
    with pytest.raises(DataError, match=r"data\.csv:7: empty series id in column 'id' \(data\.series\)"):
        adapter(tmp_path, frame).load()


def test_the_frequency_is_inferred_from_a_series_without_gaps(tmp_path):
    frame = drop_rows(series_frame(n=60, freq="MS"), [3])  # series a misses its fourth month
    with pytest.raises(
        DataError, match=r"data\.csv:5: missing timestamps in series 'a': 1 step\(s\) between 2024-03-01"
    ):
        adapter(tmp_path, frame, lookback=12, horizon=3).load()
    assert adapter(tmp_path, frame, lookback=12, horizon=3, fill="interpolate").load().info["freq"] == "MS"
    # One series with a gap: the frequency of most of its stretches.
    single = drop_rows(series_frame(n=60, freq="MS", ids=("a",)), [3])
    with pytest.raises(DataError, match=r"data\.csv:5: missing timestamps in series 'a': 1 step"):
        adapter(tmp_path, single, lookback=12, horizon=3).load()


def test_co2_has_gaps_and_the_fill_policy_fills_them(tmp_path):
    config = {"path": None, "dataset": "co2", "series": None, "targets": ["co2"], "lookback": 52, "horizon": 13}
    import statsmodels.datasets

    first_gap = int(np.flatnonzero(statsmodels.datasets.co2.load_pandas().data["co2"].isna().to_numpy())[0]) + 1
    with pytest.raises(DataError, match=rf"statsmodels co2 data row {first_gap}: missing value in column 'co2'"):
        adapter(tmp_path, **config).load()
    bundle = adapter(tmp_path, fill="interpolate", **config).load()
    assert bundle.info["filled_steps"] == 59 and bundle.info["freq"].startswith("W")


def test_scalers_are_fitted_on_the_training_part_only(tmp_path):
    bundle = adapter(tmp_path, split={"train": 60, "validation": 30, "test": 30}).load()
    frame = series_frame()
    for sid in ["a", "b"]:
        values = frame[frame.id == sid]["load"].to_numpy()
        scaler = bundle.info["scalers"][sid]
        assert scaler["shift"][0] == pytest.approx(values[:60].mean())
        assert scaler["scale"][0] == pytest.approx(values[:60].std())
        assert scaler["shift"][0] != pytest.approx(values.mean())


@pytest.mark.parametrize("lookback,horizon,stride", [(24, 6, 1), (12, 12, 5), (30, 1, 7)])
def test_window_counts(tmp_path, lookback, horizon, stride):
    bundle = adapter(
        tmp_path, lookback=lookback, horizon=horizon, stride=stride, split={"train": 72, "validation": 24, "test": 24}
    ).load()
    per_series_train = (72 - horizon - lookback) // stride + 1
    assert len(bundle.train) == 2 * per_series_train
    # Validation and test windows: every origin of their part, lookback taken from before it.
    assert len(bundle.validation) == 2 * (24 - horizon + 1) == len(bundle.test)
    assert list(window_origins(72, 96, lookback, horizon, 1))[:2] == [72, 73]
    assert bundle.train.x.shape == (2 * per_series_train, lookback + horizon, 1)
    assert bundle.train.y.shape == (2 * per_series_train, horizon, 1)


def test_backtest_folds_must_lie_in_the_test_part(tmp_path):
    bundle = adapter(tmp_path, backtest={"folds": 3, "step": 4, "horizon": 6}).load()
    np.testing.assert_array_equal(bundle.series[0].backtest_origins, [106, 110, 114])
    with pytest.raises(DataError, match="data.backtest: series 'a': 9 folds"):
        adapter(tmp_path, backtest={"folds": 9, "step": 4, "horizon": 6}).load()


def test_numbers_stored_as_text_are_read_as_numbers(tmp_path):
    frame = series_frame()
    frame["load"] = frame["load"].map(lambda v: f"{v:.4f}")  # e.g. a Parquet file with a string column
    bundle = adapter(tmp_path, frame, fmt="parquet").load()
    np.testing.assert_allclose(
        bundle.series[0].scaler.inverse(bundle.series[0].targets)[:3, 0],
        series_frame()["load"].to_numpy()[:3],
        rtol=1e-6,
    )
    frame.loc[5, "load"] = "1,5"
    with pytest.raises(DataError, match=r"data\.parquet row 6: column 'load': '1,5' is not a number"):
        adapter(tmp_path, frame, fmt="parquet").load()


def test_a_time_index_is_read_as_the_time_column(tmp_path):
    frame = series_frame()
    frame["date"] = pd.to_datetime(frame["date"])
    frame.set_index("date").to_parquet(tmp_path / "data.parquet")  # pandas keeps the index in the file
    from seqkit.plugin_api import DataContext

    defaults = {k: v.get("default") for k, v in TimeSeriesAdapter.schema["properties"].items() if "default" in v}
    config = {
        **defaults,
        "path": "data.parquet",
        "time": "date",
        "series": "id",
        "targets": ["load"],
        "lookback": 24,
        "horizon": 6,
    }
    bundle = TimeSeriesAdapter(config, DataContext(tmp_path, 0)).load()
    assert bundle.info["series"] == ["a", "b"] and bundle.info["freq"] == "h"


def test_parquet_rows_are_named_as_rows_not_lines(tmp_path):
    frame = drop_rows(series_frame(), [30])
    with pytest.raises(DataError, match=r"data\.parquet row 31: missing timestamps in series 'a'"):
        adapter(tmp_path, frame, fmt="parquet").load()


def test_an_empty_test_part_is_allowed(tmp_path):
    from seqkit import load_recipe

    path = tmp_path / "r.yaml"
    path.write_text(
        TINY.format(head="point", runs="runs")
        .replace("split: {validation: 0.2, test: 0.2}", "split: {validation: 0.2, test: 0}")
        .replace("  backtest: {folds: 2, step: 6, horizon: 6, window: sliding, train_size: 60}\n", "")
    )
    assert load_recipe(path).get("data.split.test") == 0
    bundle = adapter(tmp_path, split={"validation": 0.2, "test": 0}).load()
    assert bundle.test is None and len(bundle.validation)


@pytest.mark.parametrize(
    "config",
    [
        {"lookback": 200},
        {"horizon": 130, "backtest": {"folds": 2}},
        {"lookback": 200, "backtest": {"folds": 2, "step": 4, "horizon": 6}},
    ],
)
def test_a_series_shorter_than_lookback_plus_horizon_is_named(tmp_path, config):
    with pytest.raises(DataError) as err:
        adapter(tmp_path, **config).load()
    message = str(err.value)
    assert "data.lookback + data.horizon" in message and "120 steps" in message, message


def test_a_weekly_grid_the_first_timestamp_is_not_on(tmp_path):
    frame = series_frame(n=60, freq="7D", start="2024-01-03")  # Wednesdays
    with pytest.raises(DataError) as err:
        adapter(tmp_path, frame, freq="W-SUN", lookback=8, horizon=2).load()
    message = str(err.value)
    assert "data.csv:2: timestamp 2024-01-03 00:00:00 in series 'a' is not on the W-SUN grid (data.freq)" in message, (
        message
    )
    assert "grid that starts at" not in message


def test_a_column_used_twice_is_a_recipe_problem():
    problems = TimeSeriesAdapter.check(
        {"targets": ["load"], "past_covariates": ["temp", "load"], "future_covariates": ["temp"]}
    )
    assert ("past_covariates", "'load' is already a target") in problems
    assert ("future_covariates", "'temp' is already a past covariate") in problems
    assert TimeSeriesAdapter.check({"targets": "load", "past_covariates": [1, 1]}) == []  # the schema reports these


@pytest.mark.parametrize(
    "freq,period",
    [
        ("h", 24),
        ("2h", 12),
        ("15min", 4),
        ("min", 60),
        ("D", 7),
        ("3D", 1),
        ("W-SUN", 52),
        ("MS", 12),
        ("ME", 12),
        ("QS-OCT", 4),
        ("YS-JAN", 1),
        ("B", 5),
        (None, 1),
    ],
)
def test_default_seasonal_period_accounts_for_multiples(freq, period):
    from seqkit_forecast.tables import default_seasonal_period

    assert default_seasonal_period(freq) == period


def test_timestamps_with_utc_offsets_across_a_dst_change(tmp_path):
    local = pd.date_range("2024-03-28", periods=24 * 8, freq="h", tz="Europe/Paris")  # +01:00, then +02:00
    frame = pd.DataFrame({"date": local.strftime("%Y-%m-%dT%H:%M:%S%z"), "load": np.sin(np.arange(len(local)) / 3.8)})
    bundle = adapter(tmp_path, frame, series=None).load()
    assert bundle.info["freq"] == "h" and bundle.info["filled_steps"] == 0
    assert (
        len(bundle.series[0].time) == 24 * 8 and str(bundle.series[0].time[0]) == "2024-03-27T23:00:00.000000000"
    )  # UTC


# -- losses, metrics, baselines ----------------------------------------------------------------


def test_pinball_and_gaussian_nll_match_numpy():
    from seqkit_forecast.layers import GaussianNLL, PinballLoss

    rng = np.random.default_rng(0)
    y = rng.normal(size=(4, 3, 2)).astype("float32")
    q = np.sort(rng.normal(size=(4, 3, 2, 3)), axis=-1).astype("float32")
    loss = float(PinballLoss([0.1, 0.5, 0.9])(y, q))
    assert loss == pytest.approx(forecast_metrics.pinball(y, q, [0.1, 0.5, 0.9]), rel=1e-5)
    by_hand = np.mean(
        [
            max(qq * (yy - pp), (qq - 1) * (yy - pp))
            for yy, row in zip(y.ravel(), q.reshape(-1, 3))
            for qq, pp in zip([0.1, 0.5, 0.9], row)
        ]
    )
    assert loss == pytest.approx(by_hand, rel=1e-5)
    mean, scale = rng.normal(size=(4, 3, 2)), rng.uniform(0.5, 2, size=(4, 3, 2))
    pred = np.stack([mean, scale], axis=-1).astype("float32")
    from scipy.stats import norm

    expected = -np.mean(norm.logpdf(y, mean, scale))
    assert float(GaussianNLL()(y, pred)) == pytest.approx(expected, rel=1e-5)
    assert forecast_metrics.gaussian_nll(y, mean, scale) == pytest.approx(expected, rel=1e-9)


def test_metrics_against_hand_computed_values():
    y = np.array([[[1.0], [2.0], [4.0]]])
    p = np.array([[[2.0], [2.0], [2.0]]])
    assert forecast_metrics.mae(y, p) == pytest.approx(1.0)
    assert forecast_metrics.rmse(y, p) == pytest.approx(np.sqrt(5 / 3))
    assert forecast_metrics.mape(y, p) == pytest.approx(100 * (1 + 0 + 0.5) / 3)
    assert forecast_metrics.smape(y, p) == pytest.approx(100 * (2 * 1 / 3 + 0 + 2 * 2 / 6) / 3)
    assert forecast_metrics.smape([[0.0]], [[0.0]]) == 0.0
    history = np.array([[1.0], [3.0], [2.0], [5.0]])  # period 2: |2-1|, |5-3| -> 1.5
    scale = forecast_metrics.seasonal_scale(history, 2)
    assert scale[0] == pytest.approx(1.5)
    assert forecast_metrics.mase(y, p, scale[None]) == pytest.approx(1.0 / 1.5)
    assert forecast_metrics.coverage(y, y - 0.5, y + 0.5) == 1.0 and forecast_metrics.coverage(
        y, p - 0.5, p + 0.5
    ) == pytest.approx(1 / 3)


def test_baselines_on_a_known_series():
    y = np.arange(20, dtype="float64")[:, None] % 4  # 0 1 2 3 0 1 2 3 ...
    origins = np.array([8, 13])
    np.testing.assert_array_equal(baselines.naive(y, origins, 3)[:, :, 0], [[3, 3, 3], [0, 0, 0]])
    np.testing.assert_array_equal(
        baselines.seasonal_naive(y, origins, 6, 4)[:, :, 0], [[0, 1, 2, 3, 0, 1], [1, 2, 3, 0, 1, 2]]
    )


def test_ets_recursion_reproduces_statsmodels():
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    rng = np.random.default_rng(1)
    n, m = 120, 12
    y = 10 + 0.05 * np.arange(n) + 2 * np.sin(2 * np.pi * np.arange(n) / m) + rng.normal(0, 0.3, n)
    fit = ExponentialSmoothing(y[:100], trend="add", seasonal="add", seasonal_periods=m).fit(
        smoothing_level=0.3, smoothing_trend=0.1, smoothing_seasonal=0.2, optimized=False
    )
    params = {
        "alpha": 0.3,
        "beta": 0.1,
        "gamma": 0.2,
        "phi": 1.0,
        "level": fit.params["initial_level"],
        "trend": fit.params["initial_trend"],
        "seasons": list(fit.params["initial_seasons"]),
        "period": m,
    }
    ours = baselines.ets_forecasts(y[:, None], np.array([100]), 8, [params])[0, :, 0]
    np.testing.assert_allclose(ours, fit.forecast(8), rtol=1e-9)


def test_series_of_different_lengths_are_scored_together(tmp_path):
    """A short series has too little training history for the baselines' empirical
    intervals; the other series have them. Scores and coverage still come out (on the
    windows that have an interval)."""
    from seqkit_forecast import evaluation

    frame = pd.concat([series_frame(n=200, ids=("long",)), series_frame(n=50, ids=("short",))])
    bundle = adapter(
        tmp_path, frame, lookback=24, horizon=6, split={"validation": 6, "test": 12}, backtest={"folds": 2, "step": 6}
    ).load()
    bundle.info["head"] = {"kind": "point", "quantiles": []}

    class Zero:  # the model forecasts the scaled zero (each series' training mean)
        def predict(self, x, batch_size=None, verbose=0):
            return np.zeros((len(x), 6, 1), dtype="float32")

    result = evaluation.compare(Zero(), bundle, bundle.info, echo=lambda _: None)
    for part in (result["test_comparison"], result["backtest"]):
        naive = part["models"]["naive"]
        assert 0.0 <= naive["coverage"] <= 1.0
        assert part["models"]["lstm"]["windows"] == naive["windows"]
        assert "coverage" not in part["models"]["lstm"]
    assert result["test_comparison"]["models"]["naive"]["windows"] == 2 * (12 - 6 + 1)
    assert result["test_comparison"]["models"]["naive"]["interval_windows"] == 12 - 6 + 1
    assert "naive 7 of 14" in evaluation.table("t", result["test_comparison"]["models"])
    assert "(* on the scaled data: data.scaler none" in evaluation.table(
        "t", result["test_comparison"]["models"], "none"
    )


# -- a tiny run, seqkit forecast, reload ---------------------------------------------------------


TINY = """\
name: tiny-forecast
task: forecast
seed: 3
data:
  path: data.csv
  time: date
  series: id
  targets: [load]
  past_covariates: [temp]
  calendar: [hour]
  lookback: 24
  horizon: 6
  stride: 2
  split: {{validation: 0.2, test: 0.2}}
  backtest: {{folds: 2, step: 6, horizon: 6, window: sliding, train_size: 60}}
model:
  backbone: {{layers: 1, units: 8}}
  head: {{type: {head}, hidden_units: 4}}
train:
  epochs: 2
  batch_size: 16
  verbose: 0
output: {{dir: {runs}, tensorboard: false}}
"""


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    import seqkit

    folder = tmp_path_factory.mktemp("forecast")
    series_frame().to_csv(folder / "data.csv", index=False)
    (folder / "tiny.yaml").write_text(TINY.format(head="quantile", runs=folder / "runs"))
    return folder, seqkit.run(str(folder / "tiny.yaml"), quiet=True)


def test_tiny_run_reports_model_and_baselines_side_by_side(tiny_run):
    folder, run = tiny_run
    metrics = run.metrics
    assert set(metrics["test"]) >= {"mse", "mae", "coverage", "pinball"}
    comparison = metrics["test_comparison"]
    assert set(comparison["models"]) == {"lstm", "naive", "seasonal_naive", "ets"}
    assert comparison["windows"] == 2 * (24 - 6 + 1)
    for scores in comparison["models"].values():
        assert {"mae", "rmse", "mape", "smape", "mase", "coverage", "scaled"} <= set(scores)
        assert len(scores["mae_by_step"]) == 6
    backtest = metrics["backtest"]
    assert backtest["window"] == "sliding" and len(backtest["per_fold"]) == 4
    assert set(backtest["models"]) == {"lstm", "naive", "seasonal_naive", "ets"}
    assert (run.path / "plots" / "forecast.png").stat().st_size > 1000
    assert (run.path / "plots" / "error_by_step.png").exists()
    assert json.loads((run.path / "data_info.json").read_text())["head"] == {
        "kind": "quantile",
        "quantiles": [0.1, 0.5, 0.9],
    }


def test_seqkit_forecast_writes_point_and_quantiles_from_a_fresh_process(tiny_run):
    folder, run = tiny_run
    new = series_frame(n=40, start="2024-02-01")
    new.to_csv(folder / "new.csv", index=False)
    out = folder / "out.csv"
    done = subprocess.run(
        SEQKIT
        + ["forecast", str(run.path), "--input", str(folder / "new.csv"), "--horizon", "4", "--output", str(out)],
        capture_output=True,
        text=True,
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote 8 rows (2 series x 4 steps)" in done.stdout
    table = pd.read_csv(out)
    assert list(table.columns) == ["series", "date", "step", "load", "load_q0.1", "load_q0.5", "load_q0.9"]
    assert table["date"].iloc[0] == str(pd.Timestamp("2024-02-01") + pd.Timedelta(hours=40))
    assert (table["load_q0.1"] <= table["load_q0.9"]).all()
    # Forecasts are in the data's units: series b sits around 20, series a around 10.
    assert table[table.series == "b"]["load"].mean() > table[table.series == "a"]["load"].mean() + 5
    # The Python API gives the same numbers as the fresh process.
    from seqkit_forecast import forecast

    api = forecast(run.path, folder / "new.csv", horizon=4)
    np.testing.assert_allclose(api["load_q0.9"].to_numpy(), table["load_q0.9"].to_numpy(), rtol=1e-4)


@pytest.mark.parametrize("output", [[], ["--output", "-"]])
def test_seqkit_forecast_prints_the_csv_without_output_or_with_a_dash(tiny_run, output, capsys):
    import io

    from seqkit.testing import run_cli

    folder, run = tiny_run
    series_frame(n=40).to_csv(folder / "new.csv", index=False)
    assert run_cli(["forecast", str(run.path), "--input", str(folder / "new.csv"), "--horizon", "3", *output]) == 0
    captured = capsys.readouterr()
    table = pd.read_csv(io.StringIO(captured.out))
    assert list(table.columns) == ["series", "date", "step", "load", "load_q0.1", "load_q0.5", "load_q0.9"]
    assert len(table) == 6 and "wrote 6 rows (2 series x 3 steps) to standard output" in captured.err
    assert not (folder / "new.forecast.csv").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--horizon", "9"], "--horizon 9: expected 1 to 6"),
        (["--input", "missing.csv"], "missing.csv: forecast input not found"),
        (["--input", "short.csv"], "series 'a' has 10 observed steps; the model needs its lookback of 24"),
        (["--input", "nocol.csv"], "data.targets: column 'load' not found"),
        (
            ["--input", "gap.csv"],
            "gap.csv:32: missing timestamps in series 'a': 1 step(s) between 2024-01-02 05:00:00 and "
            "2024-01-02 07:00:00; complete the input (the run was trained with data.fill: none)",
        ),
        (["--output", "out.parquet"], "out.parquet: --output must end in .csv"),
        (["--output", "adir.csv"], "adir.csv: --output is a directory"),
        (["--output", "nofolder/sub/out.csv"], "which is a file, not a folder"),
    ],
)
def test_forecast_bad_input_is_one_line_exit_2(tiny_run, args, message, capsys, monkeypatch):
    from seqkit.testing import run_cli as main

    folder, run = tiny_run
    monkeypatch.chdir(folder)
    series_frame(n=40).to_csv(folder / "new.csv", index=False)
    series_frame(n=10).to_csv(folder / "short.csv", index=False)
    series_frame(n=40).rename(columns={"load": "lood"}).to_csv(folder / "nocol.csv", index=False)
    drop_rows(series_frame(n=40), [30]).to_csv(folder / "gap.csv", index=False)
    (folder / "adir.csv").mkdir(exist_ok=True)
    (folder / "nofolder").write_text("a file where a folder should be")
    argv = ["--input", "new.csv"] if "--input" not in args else []
    assert main(["forecast", str(run.path)] + argv + args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not (folder / "new.forecast.csv").exists()


def test_forecast_returns_timestamps_and_writes_dates_without_midnight(tiny_run):
    from seqkit_forecast import forecast
    from seqkit_forecast.inference import _show

    folder, run = tiny_run
    table = forecast(run.path, series_frame(n=40, start="2024-02-01"), horizon=2)
    assert str(table["date"].dtype).startswith("datetime64")
    assert table["date"].iloc[0] == pd.Timestamp("2024-02-01") + pd.Timedelta(hours=40)
    daily = np.array(["2024-03-01", "2024-03-02"], dtype="datetime64[ns]")
    assert _show(daily[0], daily) == "2024-03-01"
    hourly = np.array(["2024-03-01T00:00", "2024-03-01T01:00"], dtype="datetime64[ns]")
    assert _show(hourly[0], hourly) == "2024-03-01 00:00:00"


def test_forecasts_start_after_the_last_observed_step(tiny_run):
    from seqkit_forecast import forecast

    folder, run = tiny_run
    new = series_frame(n=42, start="2024-02-01")
    new.loc[new.groupby("id").cumcount() >= 40, ["load", "temp"]] = np.nan  # two empty rows at the end of each series
    table = forecast(run.path, new, horizon=2)
    assert table["date"].iloc[0] == pd.Timestamp("2024-02-01") + pd.Timedelta(hours=40)
    np.testing.assert_allclose(table["load"], forecast(run.path, new.dropna(), horizon=2)["load"], rtol=1e-6)


def test_run_predict_and_seqkit_predict_point_to_seqkit_forecast(tiny_run, capsys):
    import seqkit
    from seqkit.testing import run_cli as main

    folder, run = tiny_run
    with pytest.raises(DataError, match="seqkit forecast RUN_DIR --input"):
        seqkit.load_run(run.path).predict(["1 2 3"])
    assert main(["predict", str(run.path), "1 2 3"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "seqkit forecast" in lines[0], lines


def test_forecast_input_on_another_frequency_names_the_runs(tiny_run):
    from seqkit_forecast import forecast

    folder, run = tiny_run
    daily = series_frame(n=40, freq="D")
    with pytest.raises(DataError) as err:
        forecast(run.path, daily)
    message = str(err.value)
    assert "the run's data are on the h grid" in message and "data.freq" not in message, message


def test_predictions_csv_is_in_the_datas_units(tiny_run):
    folder, run = tiny_run
    table = pd.read_csv(run.path / "predictions.csv")
    # Long form: one row per series, window and step.
    assert list(table.columns) == ["series", "origin", "step", "timestamp", "actual", "point", "q0.1", "q0.5", "q0.9"]
    assert len(table) == run.metrics["test_comparison"]["windows"] * 6
    assert sorted(table.step.unique()) == [1, 2, 3, 4, 5, 6]
    frame = series_frame()
    frame["date"] = pd.to_datetime(frame.date)
    first = table.iloc[0]
    assert first["series"] == "a" and first["step"] == 1
    window = table[(table.series == "a") & (table.origin == first["origin"])]
    expected = frame[(frame.id == "a") & (frame.date > pd.Timestamp(first["origin"]))]["load"].to_numpy()[:6]
    np.testing.assert_allclose(window.actual.to_numpy(), expected, rtol=1e-4)
    assert list(pd.to_datetime(window.timestamp)) == list(
        frame[(frame.id == "a") & (frame.date > pd.Timestamp(first["origin"]))].date[:6]
    )
    assert (window["q0.1"] <= window["q0.9"]).all()
    assert 15 < table[table.series == "b"].point.mean() < 25  # series b sits around 20, in the data's units


FUTURE = TINY.replace("past_covariates: [temp]", "future_covariates: [temp]").replace(
    "name: tiny-forecast", "name: tiny-future"
)


def test_a_shorter_horizon_needs_only_that_many_future_rows(tmp_path):
    import seqkit
    from seqkit_forecast import forecast

    series_frame().to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "r.yaml").write_text(
        FUTURE.format(head="point", runs=tmp_path / "runs")
        .replace("epochs: 2", "epochs: 1")
        .replace("  backtest: {folds: 2, step: 6, horizon: 6, window: sliding, train_size: 60}\n", "")
    )
    run = seqkit.run(str(tmp_path / "r.yaml"), quiet=True, evaluate=False)
    new = series_frame(n=46)
    new.loc[new.groupby("id").cumcount() >= 40, "load"] = np.nan  # 6 future rows per series
    full = forecast(run.path, new)
    short = new[new.groupby("id").cumcount() < 43]  # 3 future rows per series
    three = forecast(run.path, short, horizon=3)
    np.testing.assert_allclose(three["load"].to_numpy(), full[full.step <= 3]["load"].to_numpy(), rtol=1e-5)
    with pytest.raises(DataError, match="need 4 rows after the last observed target"):
        forecast(run.path, short, horizon=4)


def test_integer_step_runs_take_integer_inputs_on_their_step(tmp_path):
    import seqkit
    from seqkit_forecast import forecast

    frame = series_frame(ids=("a",)).drop(columns="id")
    frame["date"] = 1000 + np.arange(len(frame))
    frame.to_csv(tmp_path / "data.csv", index=False)
    recipe = (
        TINY.format(head="point", runs=tmp_path / "runs")
        .replace("  series: id\n", "")
        .replace("  calendar: [hour]\n", "")
        .replace("epochs: 2", "epochs: 1")
        .replace("  backtest: {folds: 2, step: 6, horizon: 6, window: sliding, train_size: 60}\n", "")
    )
    (tmp_path / "r.yaml").write_text(recipe)
    run = seqkit.run(str(tmp_path / "r.yaml"), quiet=True, evaluate=False)
    table = forecast(run.path, frame.iloc[:40], horizon=2)
    assert table["date"].tolist() == [1040, 1041]
    dated = frame.iloc[:40].assign(date=pd.date_range("2024-01-01", periods=40, freq="h").astype(str))
    with pytest.raises(DataError, match="the run's data have integer steps"):
        forecast(run.path, dated)
    with pytest.raises(DataError, match="the input is on a step of 2; the run's data are on a step of 1"):
        forecast(run.path, frame.iloc[:80:2])


def test_gaussian_and_point_heads_build_and_reload(tmp_path):
    import keras

    from seqkit.plugin_api import load_model
    from seqkit_forecast.layers import ForecastHead, WindowEncoder

    for kind, shape in (("point", (2, 6, 1)), ("gaussian", (2, 6, 1, 2)), ("quantile", (2, 6, 1, 3))):
        inputs = keras.Input((30, 3))
        x = WindowEncoder(lookback=24, normalized=[0, 1])(inputs)
        x = keras.layers.LSTM(4)(x)
        out = ForecastHead(
            kind=kind,
            horizon=6,
            lookback=24,
            targets=[0],
            future=[2],
            highway=8 if kind != "point" else 0,
            quantiles=[0.1, 0.5, 0.9] if kind == "quantile" else [],
        )(x, inputs)
        model = keras.Model(inputs, out)
        data = np.random.default_rng(0).normal(size=(2, 30, 3)).astype("float32")
        before = model.predict(data, verbose=0)
        assert before.shape == shape
        model.save(tmp_path / f"{kind}.keras")
        np.testing.assert_allclose(load_model(tmp_path / f"{kind}.keras").predict(data, verbose=0), before, rtol=1e-5)
    # With window_norm "last", a zero network forecasts the last observed value (the naive
    # forecast); the highway starts at zero.
    head = ForecastHead(kind="point", horizon=3, lookback=4, targets=[0], highway=4)
    state = keras.ops.zeros((1, 5))
    head.build((1, 5))
    head.direct.kernel.assign(np.zeros_like(head.direct.kernel.numpy()))
    window = np.array([[[1.0], [2.0], [3.0], [7.0], [0.0], [0.0], [0.0]]], dtype="float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(head(state, window)), [[[7.0], [7.0], [7.0]]])


def test_the_quantile_head_needs_the_median(tmp_path):
    from seqkit import load_recipe
    from seqkit.plugin_api import RecipeError

    path = tmp_path / "r.yaml"
    path.write_text(TINY.format(head="quantile, quantiles: [0.1, 0.9]", runs="runs"))
    with pytest.raises(
        RecipeError, match=r"model\.head\.quantiles: the quantile head's point forecast is its median: include 0\.5"
    ):
        load_recipe(path)
    path.write_text(
        TINY.format(head="gaussian, quantiles: [0.1, 0.9]", runs="runs")
    )  # reported only: the mean is the point
    assert load_recipe(path).get("model.head.quantiles") == [0.1, 0.9]


def test_bad_recipe_keys_are_reported(tmp_path):
    from seqkit import load_recipe
    from seqkit.plugin_api import RecipeError

    path = tmp_path / "bad.yaml"
    path.write_text(
        TINY.format(head="quantile", runs="runs")
        .replace("fill", "fil")
        .replace("stride: 2", "stride: 2\n  fil: linear")
        .replace("window: sliding, train_size: 60", "window: sliding")
    )
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    text = str(err.value)
    assert "data.fil: unknown key. Did you mean 'fill'?" in text
    assert "data.backtest.train_size" in text


# -- real data (slow) ------------------------------------------------------------------------------


@pytest.mark.slow
def test_co2_recipe_lstm_beats_seasonal_naive_in_the_backtest(tmp_path):
    import seqkit

    run = seqkit.run(ROOT / "recipes/forecast/co2.yaml", overrides=[f"output.dir={tmp_path}"], quiet=True)
    models = run.metrics["backtest"]["models"]
    assert models["lstm"]["mase"] < models["seasonal_naive"]["mase"]


@pytest.mark.slow
def test_etth1_24h_beats_the_naive_forecast_on_the_same_windows(tmp_path):
    import seqkit

    if not (Path(os.environ.get("SEQKIT_DATA", ROOT.parent / "shared" / "data")) / "ett" / "ETTh1.csv").exists():
        pytest.skip("ETTh1 not available")
    run = seqkit.run(ROOT / "recipes/forecast/etth1.yaml", overrides=[f"output.dir={tmp_path}"], quiet=True)
    models = run.metrics["test_comparison"]["models"]
    assert models["naive"]["scaled"]["mse"] == pytest.approx(0.0343, abs=5e-4)
    assert models["lstm"]["scaled"]["mse"] < models["naive"]["scaled"]["mse"]


def test_predict_examples_a_task_cannot_take_stop_the_run_before_training(tmp_path):
    import seqkit

    series_frame().to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "tiny.yaml").write_text(TINY.format(head="point", runs=tmp_path / "runs"))
    with pytest.raises(DataError, match="seqkit forecast"):
        seqkit.run(str(tmp_path / "tiny.yaml"), overrides=["predict.examples=['1 2 3']"], quiet=True)
    (run_dir,) = (tmp_path / "runs").glob("*/*")
    assert json.loads((run_dir / "status.json").read_text())["status"] == "failed"
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "model.keras").exists()


@pytest.mark.parametrize(
    "kwargs, shape, weights",
    [
        ({"lookback": 4, "normalized": [0]}, (2, 4, 3), 0),
        ({"lookback": 4, "normalized": [0, 2], "norm": "mean", "dim": 5}, (2, 4, 5), 2),
        ({"lookback": 3, "norm": "none"}, (2, 3, 3), 0),
    ],
)
def test_window_encoder_layer(kwargs, shape, weights):
    from seqkit.testing import run_layer_test
    from seqkit_forecast.layers import WindowEncoder

    windows = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
    layer = run_layer_test(WindowEncoder, kwargs, windows, shape, weights)
    if kwargs.get("norm", "last") == "last" and not kwargs.get("dim"):
        # levelled by the last observed value: channel 0 is 0 at the last lookback step
        out = np.asarray(layer(windows))
        np.testing.assert_allclose(out[:, -1, 0], 0.0, atol=1e-6)
        np.testing.assert_allclose(out[:, :, 1], windows[:, : kwargs["lookback"], 1])
