"""M4-style data and scoring: one row per series with a continuation file, M4's benchmarks
(seasonality test, multiplicative decomposition, Naive2, Theta...), sMAPE / MASE / OWA averaged
per series, and `seqkit evaluate` on a new continuation file without retraining."""

from __future__ import annotations

import numpy as np
import pytest

from seqkit.plugin_api import DataContext, DataError
from seqkit_forecast import classical
from seqkit_forecast import metrics as forecast_metrics
from seqkit_forecast.adapters import TimeSeriesAdapter


def m4_files(folder, lengths=(40, 52, 61, 45), horizon=4, seed=0):
    """Ragged M4-style train / test files (quoted header V1.., empty cells pad short rows)."""
    rng = np.random.default_rng(seed)
    width = max(lengths) + 1
    train, test = [], []
    for k, n in enumerate(lengths):
        t = np.arange(n + horizon)
        y = 100.0 * (k + 1) + 5 * np.sin(2 * np.pi * t / 12) + 0.3 * t + rng.normal(0, 0.5, len(t))
        train.append([f"W{k + 1}"] + [f"{v:.3f}" for v in y[:n]] + [""] * (width - 1 - n))
        test.append([f"W{k + 1}"] + [f"{v:.3f}" for v in y[n:]])
    header = [f'"V{i + 1}"' for i in range(width)]
    (folder / "train.csv").write_text(",".join(header) + "\n" + "\n".join(",".join(r) for r in train) + "\n")
    header = [f'"V{i + 1}"' for i in range(horizon + 1)]
    (folder / "test.csv").write_text(",".join(header) + "\n" + "\n".join(",".join(r) for r in test) + "\n")
    return train, test


def rows_adapter(folder, **config):
    base = {"layout": "rows", "path": "train.csv", "test": "test.csv", "lookback": 12, "horizon": 4}
    base["split"] = {"validation": 4}
    base.update(config)
    defaults = {k: v.get("default") for k, v in TimeSeriesAdapter.schema["properties"].items() if "default" in v}
    return TimeSeriesAdapter({**defaults, **base}, DataContext(folder, 0))


# -- the rows layout ------------------------------------------------------------------------------


def test_rows_layout_reads_ragged_rows_and_the_continuation_is_the_test_part(tmp_path):
    train, test = m4_files(tmp_path)
    bundle = rows_adapter(tmp_path, frequency="weekly").load()
    assert bundle.info["series"] == ["W1", "W2", "W3", "W4"]
    assert bundle.info["seasonal_period"] == 1  # M4's m for weekly data
    assert bundle.info["layout"] == "rows"
    assert len(bundle.test.y) == 4  # one test window per series: its continuation
    for s, row, nxt in zip(bundle.series, train, test):
        n = len([v for v in row[1:] if v])
        assert (s.bounds.train, s.bounds.validation, s.bounds.test) == (n - 4, n, n + 4)
        assert s.test_origins.tolist() == [n]
        actual = s.scaler.inverse(s.targets[n:], slice(0, 1))[:, 0]
        np.testing.assert_allclose(actual, [float(v) for v in nxt[1:]], atol=1e-9)
    assert bundle.test.raw[2] == "W3 @ 61"


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda rows: rows[1].__setitem__(6, "abc"),
            r"train\.csv:3: series 'W2', value 6 \(column 'V7'\): 'abc' is not a number",
        ),
        (
            lambda rows: rows[0].__setitem__(3, ""),
            r"train\.csv:2: series 'W1', value 3 \(column 'V4'\) is empty before later",
        ),
        (lambda rows: rows[2].__setitem__(0, "W1"), r"train\.csv:4: series 'W1' again \(first on .*train\.csv:2\)"),
        (lambda rows: rows[3].__setitem__(0, ""), r"train\.csv:5: empty series id in column 'V1'"),
    ],
)
def test_rows_layout_errors_name_the_line_series_and_position(tmp_path, edit, message):
    train, _ = m4_files(tmp_path)
    edit(train)
    header = (tmp_path / "train.csv").read_text().splitlines()[0]
    (tmp_path / "train.csv").write_text(header + "\n" + "\n".join(",".join(r) for r in train) + "\n")
    with pytest.raises(DataError, match=message):
        rows_adapter(tmp_path).load()


def test_the_continuation_file_must_match_the_series(tmp_path):
    _, test = m4_files(tmp_path)
    header = (tmp_path / "test.csv").read_text().splitlines()[0]
    (tmp_path / "test.csv").write_text(header + "\n" + "\n".join(",".join(r) for r in test[:3]) + "\n")
    with pytest.raises(DataError, match=r"test\.csv: no values for series 'W4'"):
        rows_adapter(tmp_path).load()
    (tmp_path / "test.csv").write_text(header + "\n" + "\n".join(",".join(r) for r in test + [["W9", "1", "2"]]) + "\n")
    with pytest.raises(DataError, match=r"test\.csv: series 'W9' is not in .*train\.csv"):
        rows_adapter(tmp_path).load()
    m4_files(tmp_path)
    with pytest.raises(DataError, match=r"series 'W1': no test window: it needs data.lookback \(48\) steps before"):
        rows_adapter(tmp_path, lookback=48).load()


def test_rows_layout_recipe_problems():
    problems = dict(TimeSeriesAdapter.check({"layout": "long", "test": "t.csv"}))
    assert "rows" in problems["test"]
    problems = dict(TimeSeriesAdapter.check({"layout": "rows", "test": "t.csv", "split": {"test": 4}}))
    assert "split.test" in problems
    assert "calendar" in dict(TimeSeriesAdapter.check({"layout": "rows", "calendar": ["hour"]}))


# -- M4's benchmarks and scores -------------------------------------------------------------------


def test_seasonality_test_and_decomposition_match_statsmodels():
    from statsmodels.tsa.seasonal import seasonal_decompose

    rng = np.random.default_rng(2)
    t = np.arange(96)
    seasonal = 50 + 0.2 * t + 8 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.5, len(t))
    assert classical.seasonality_test(seasonal, 12)
    assert not classical.seasonality_test(rng.normal(10, 1, 96), 12)
    assert not classical.seasonality_test(seasonal[:30], 12)  # fewer than three seasons
    ours = classical.seasonal_indices(seasonal, 12)
    theirs = seasonal_decompose(seasonal, model="multiplicative", period=12).seasonal
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    adjusted, ahead = classical.deseasonalise(seasonal, 12, 14)
    np.testing.assert_allclose(adjusted * ours, seasonal)
    np.testing.assert_allclose(ahead, np.resize(ours[-12:], 14))
    forecasts = classical.forecast_all(seasonal, 14, 12, ["naive", "naive2", "seasonal_naive"])
    np.testing.assert_allclose(forecasts["naive2"], adjusted[-1] * ahead)
    np.testing.assert_allclose(forecasts["seasonal_naive"][:12], seasonal[-12:])
    assert (forecasts["naive"] == seasonal[-1]).all()


def test_theta_is_half_trend_line_half_ses_of_the_theta_line():
    from statsmodels.tsa.holtwinters import SimpleExpSmoothing

    rng = np.random.default_rng(3)
    x = 20 + 0.5 * np.arange(60) + rng.normal(0, 1, 60)
    slope, intercept = np.polyfit(np.arange(1, 61), x, 1)
    line = intercept + slope * np.arange(1, 61)
    ses = SimpleExpSmoothing(2 * x - line, initialization_method="estimated").fit().forecast(5)
    expected = 0.5 * ses + 0.5 * (intercept + slope * np.arange(61, 66))
    np.testing.assert_allclose(classical.theta_classic(x, 5), expected, rtol=1e-9)
    out = classical.forecast_all(x, 5, 1)
    np.testing.assert_allclose(out["comb"], (out["ses"] + out["holt"] + out["damped"]) / 3)
    np.testing.assert_allclose(out["naive2"], out["naive"])  # m = 1: no seasonal adjustment


def test_mase_scale_is_the_whole_history_before_each_origin():
    rng = np.random.default_rng(4)
    history = rng.normal(0, 1, (80, 2)).cumsum(axis=0)
    origins = np.array([80, 50, 13, 5, 1])
    scales = forecast_metrics.origin_scales(history, origins, 12)
    for o, row in zip(origins[:3], scales):
        np.testing.assert_allclose(row, np.mean(np.abs(history[12:o] - history[: o - 12]), axis=0))
    np.testing.assert_allclose(scales[3], np.mean(np.abs(np.diff(history[:5], axis=0)), axis=0))  # under a season
    np.testing.assert_allclose(scales[4], 1.0)


def test_owa_and_per_series_averages_by_hand():
    y = np.array([[[10.0], [10.0]], [[1.0], [1.0]]])
    p = np.array([[[11.0], [9.0]], [[2.0], [2.0]]])
    np.testing.assert_allclose(forecast_metrics.smape_per_window(y, p), [100 * (2 / 21 + 2 / 19) / 2, 100 * 2 / 3])
    np.testing.assert_allclose(forecast_metrics.mase_per_window(y, p, np.array([[2.0], [0.5]])), [0.5, 2.0])
    assert forecast_metrics.owa(9.0, 2.0, 10.0, 4.0) == pytest.approx(0.5 * (0.9 + 0.5))


# -- a tiny run: M4 table, seqkit evaluate with another continuation, seqkit forecast ------------


TINY = """\
name: tiny-m4
task: forecast
seed: 5
data:
  layout: rows
  path: train.csv
  test: test.csv
  frequency: monthly
  lookback: 12
  horizon: 4
  split: {{validation: 4}}
  baselines: [naive, seasonal_naive, naive2, theta]
model:
  backbone: {{layers: 1, units: 4}}
  head: {{type: point, loss: mae, hidden_units: 4}}
train:
  epochs: 1
  batch_size: 16
  verbose: 0
output: {{dir: {runs}, tensorboard: false}}
"""


def test_tiny_m4_run_evaluate_on_a_new_continuation_and_forecast(tmp_path):
    import seqkit
    from seqkit_forecast import forecast
    from seqkit_forecast.tasks import ForecastTask

    m4_files(tmp_path)
    (tmp_path / "r.yaml").write_text(TINY.format(runs=tmp_path / "runs"))
    run = seqkit.run(str(tmp_path / "r.yaml"), quiet=True)
    comparison = run.metrics["test_comparison"]
    assert comparison["seasonal_period"] == 12 and comparison["windows"] == 4
    models = comparison["models"]
    assert set(models) == {"lstm", "naive", "seasonal_naive", "naive2", "theta"}
    assert models["naive2"]["owa"] == pytest.approx(1.0)
    per_series = comparison["per_series"]
    assert set(per_series) == {"W1", "W2", "W3", "W4"}
    assert models["lstm"]["smape"] == pytest.approx(np.mean([per_series[s]["lstm"]["smape"] for s in per_series]))
    assert models["theta"]["mase"] == pytest.approx(np.mean([per_series[s]["theta"]["mase"] for s in per_series]))

    # The same continuation: the same scores without retraining.
    again = run.evaluate()
    assert again["test_comparison"]["models"]["lstm"]["smape"] == pytest.approx(models["lstm"]["smape"])
    assert again["test_comparison"]["models"]["theta"]["owa"] == pytest.approx(models["theta"]["owa"])
    # Another continuation file (other next values): other scores, from the CLI, with the table.
    lines = (tmp_path / "test.csv").read_text().splitlines()
    shifted = [lines[0]] + [
        ",".join([r.split(",")[0]] + [f"{float(v) * 1.1:.3f}" for v in r.split(",")[1:]]) for r in lines[1:]
    ]
    (tmp_path / "other.csv").write_text("\n".join(shifted) + "\n")
    other = run.evaluate([f"data.test={tmp_path / 'other.csv'}"])
    assert other["test_comparison"]["models"]["naive"]["smape"] > models["naive"]["smape"]
    printed = ForecastTask().summary(other)  # what `seqkit evaluate RUN --set data.test=...` prints
    assert printed.splitlines()[0].startswith("mse=") and "sMAPE%" in printed and "OWA" in printed
    assert any(line.startswith("theta ") for line in printed.splitlines())

    # seqkit forecast takes the training file's shape and forecasts after each row's last value.
    table = forecast(run.path, tmp_path / "train.csv")
    assert table.groupby("series").size().to_dict() == {"W1": 4, "W2": 4, "W3": 4, "W4": 4}
    assert table[table["series"] == "W3"]["step"].tolist() == [1, 2, 3, 4]
    assert table[table["series"] == "W3"]["position"].tolist() == [61, 62, 63, 64]  # steps after its 61 values


def test_log_transform_round_trips_and_needs_positive_targets(tmp_path):
    from seqkit_forecast.windows import Scaler

    values = np.array([[1.0, -2.0], [np.e, 3.0], [np.e**2, 0.5]])
    scaler = Scaler.fit("none", values, log=1)
    np.testing.assert_allclose(scaler.transform(values)[:, 0], [0.0, 1.0, 2.0])
    np.testing.assert_allclose(scaler.transform(values)[:, 1], values[:, 1])  # a covariate is not logged
    np.testing.assert_allclose(scaler.inverse(scaler.transform(values)), values)
    assert Scaler.from_dict(scaler.to_dict()).log == 1
    train, _ = m4_files(tmp_path)
    bundle = rows_adapter(tmp_path, transform="log", scaler="none").load()
    s = bundle.series[0]
    np.testing.assert_allclose(s.targets[0, 0], np.log(float(train[0][1])))
    train[1][3] = "-4"
    header = (tmp_path / "train.csv").read_text().splitlines()[0]
    (tmp_path / "train.csv").write_text(header + "\n" + "\n".join(",".join(r) for r in train) + "\n")
    with pytest.raises(DataError, match=r"series 'W2', step 2 \('value'\): -4 is not positive; data.transform log"):
        rows_adapter(tmp_path, transform="log").load()


def test_a_negative_benchmark_forecast_is_scored_on_a_log_scaled_run():
    """M4 scores a Holt forecast below zero; on log-scaled data it has no scaled value, so the
    data-unit forecast is scored as it is and the scaled metrics leave that window out."""
    from types import SimpleNamespace

    from seqkit_forecast.evaluation import _Scores, _to_scaled
    from seqkit_forecast.windows import Scaler

    scaler = Scaler.fit("none", np.array([[1.0], [2.0], [4.0]]), log=1)
    series = SimpleNamespace(id="W1", scaler=scaler)
    y = scaler.transform(np.array([[[2.0], [2.0]], [[4.0], [4.0]]]))
    original = np.array([[[1.0], [-1.0]], [[4.0], [4.0]]])
    scores = _Scores()
    scores.add(series, y, _to_scaled(series, original), None, np.ones((2, 1)), 1, original=original)
    result = scores.result()
    assert result["smape"] == pytest.approx(100 * (2 / 3 + 2) / 4)
    assert result["mase"] == pytest.approx((1 + 3) / 4)
    assert result["scaled"] == {"mse": 0.0, "mae": 0.0, "windows": 1}
