"""The ``timeseries`` adapter: a recipe's ``data:`` section -> forecast windows.

One global model is trained across all series: every series is split in time order, scaled
with statistics of its own training part, and cut into (lookback + horizon) windows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from seqkit.plugin_api import Adapter, DataBundle, DataError, Split
from seqkit_forecast.classical import CLASSICAL, M4_SEASONALITY
from seqkit_forecast.tables import (
    CALENDAR_FEATURES,
    FILL_POLICIES,
    STATSMODELS_DATASETS,
    Table,
    calendar_channel_names,
    calendar_features,
    default_seasonal_period,
    load_table,
)
from seqkit_forecast.windows import Bounds, Scaler, make_targets, make_windows, split_bounds, window_origins

POSITIVE = {"type": "integer", "minimum": 1, "maximum": 1000000}
# anyOf, not oneOf: 0 is both an integer count and a fraction.
COUNT_OR_FRACTION = {
    "anyOf": [
        {"type": "integer", "minimum": 0, "maximum": 100000000},
        {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
    ],
    "x-expected": "a count of steps (an integer >= 0) or a fraction of the series (>= 0 and < 1)",
}
NAMES = {"type": "array", "items": {"type": "string"}, "default": []}


@dataclass
class SeriesData:
    """One series as the model and the baselines see it (scaled)."""

    id: str
    time: np.ndarray
    features: np.ndarray  # (steps, channels) scaled, calendar included
    targets: np.ndarray  # (steps, targets) scaled
    bounds: Bounds
    scaler: Scaler
    test_origins: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="int64"))
    backtest_origins: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="int64"))


@dataclass
class ForecastBundle(DataBundle):
    """A DataBundle that also carries the scaled series, for baselines, backtests and plots."""

    series: list[SeriesData] = field(default_factory=list)
    config: dict = field(default_factory=dict)


class TimeSeriesAdapter(Adapter):
    name = "timeseries"
    description = (
        "time-series tables (CSV / Parquet, long or wide) -> scaled forecast windows; one global model across series"
    )
    schema = {
        "properties": {
            "path": {
                "type": ["string", "array"],
                "items": {"type": "string", "format": "path", "minLength": 1},
                "minItems": 1,
                "format": "path",
                "description": "CSV or Parquet file (or a glob, or a list: one table's rows); relative to the recipe.",
            },
            "dataset": {
                "enum": list(STATSMODELS_DATASETS),
                "description": "A data set that statsmodels ships, instead of path.",
            },
            "layout": {
                "enum": ["long", "wide", "rows"],
                "default": "long",
                "description": "long: rows of (series id, time, values); wide: one column per series; rows: one row per "
                "series (M4's files: an id column, then the values in time order, rows of any length, integer steps).",
            },
            "test": {
                "type": "string",
                "format": "path",
                "description": "rows layout: a file of the same shape holding the values that follow each series "
                "(M4's *-test.csv); they are its test part (instead of data.split.test).",
            },
            "frequency": {
                "enum": list(M4_SEASONALITY),
                "description": "The data's frequency in M4's terms; sets data.seasonal_period to M4's m "
                "(yearly 1, quarterly 4, monthly 12, weekly 1, daily 1, hourly 24).",
            },
            "time": {
                "type": "string",
                "default": "date",
                "description": "Timestamp column (datetimes or integer steps).",
            },
            "series": {
                "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                "description": "long layout: series id column(s); none = one series.",
            },
            "targets": {**NAMES, "description": "long layout: target column(s), forecast jointly."},
            "columns": {**NAMES, "description": "wide layout: the series columns (default: every column but time)."},
            "target_name": {"type": "string", "default": "value", "description": "wide layout: name of the target."},
            "past_covariates": {**NAMES, "description": "Columns observed up to the forecast origin only."},
            "future_covariates": {
                **NAMES,
                "description": "Columns known over the horizon too (forecast inputs must give them).",
            },
            "calendar": {
                "type": "array",
                "items": {"enum": list(CALENDAR_FEATURES)},
                "default": [],
                "description": "Known-future calendar features from the timestamp (sine / cosine pairs; holiday: a US federal holiday flag).",
            },
            "freq": {"type": "string", "description": "pandas frequency (h, D, W-SAT, MS...); default: inferred."},
            "step": {
                "type": "integer",
                "minimum": 1,
                "description": "Integer time columns: the step (default: inferred).",
            },
            "fill": {
                "enum": list(FILL_POLICIES),
                "default": "none",
                "description": "Missing timestamps / values: none (error naming the first bad row), ffill, interpolate, zero.",
            },
            "lookback": {**POSITIVE, "default": 48, "description": "Observed steps per window."},
            "horizon": {**POSITIVE, "default": 12, "description": "Steps forecast at once."},
            "stride": {**POSITIVE, "default": 1, "description": "Steps between training windows."},
            "max_windows_per_series": {
                **POSITIVE,
                "description": "Keep at most this many training windows per series, its most recent ones (after "
                "data.stride), so long series do not drown short ones (default: all).",
            },
            "eval_stride": {**POSITIVE, "default": 1, "description": "Steps between validation and test windows."},
            "split": {
                "type": "object",
                "additionalProperties": False,
                "default": {},
                "description": "Per series, in time order: counts of steps (integers) or fractions of its length.",
                "properties": {
                    "train": {
                        **COUNT_OR_FRACTION,
                        "description": "Steps (or fraction) of each series for training (default: the rest).",
                    },
                    "validation": {
                        **COUNT_OR_FRACTION,
                        "description": "Steps (or fraction) of each series for validation, after train (default 0.1).",
                    },
                    "test": {
                        **COUNT_OR_FRACTION,
                        "description": "Steps (or fraction) at the end of each series for testing (default 0.2; 0: none).",
                    },
                },
            },
            "scaler": {
                "enum": ["standard", "minmax", "none"],
                "default": "standard",
                "description": "Per series and channel, fitted on the training part only.",
            },
            "transform": {
                "enum": ["none", "log"],
                "default": "none",
                "description": "log: the targets are log-transformed before data.scaler (positive data only); "
                "forecasts are transformed back.",
            },
            "window_norm": {
                "enum": ["last", "mean", "none"],
                "default": "last",
                "description": "Inside the model, level each window by its last (or mean) observed value and add it back to the forecast.",
            },
            "seasonal_period": {
                **POSITIVE,
                "description": "Season for seasonal naive, exponential smoothing and MASE (default from freq: hourly 24, daily 7, weekly 52...).",
            },
            "baselines": {
                "type": "array",
                "items": {"enum": list(dict.fromkeys(["naive", "seasonal_naive", "ets", *CLASSICAL]))},
                "default": ["naive", "seasonal_naive", "ets"],
                "description": "Baselines scored on the same windows (ets: statsmodels Holt-Winters fitted on the "
                "training part). M4's benchmarks, refitted at each origin on the whole history before it: naive2 "
                "(naive after M4's seasonality test and multiplicative decomposition), ses, holt, damped, theta, comb "
                "(mean of ses, holt, damped); with naive2 the tables give OWA.",
            },
            "backtest": {
                "type": "object",
                "additionalProperties": False,
                "description": "Rolling-origin backtest over the end of each series (inside its test part).",
                "properties": {
                    "folds": {**POSITIVE, "default": 5, "description": "Number of forecast origins per series."},
                    "step": {**POSITIVE, "description": "Steps between fold origins (default: the horizon)."},
                    "horizon": {**POSITIVE, "description": "Steps scored per fold (default: data.horizon)."},
                    "window": {
                        "enum": ["expanding", "sliding"],
                        "default": "expanding",
                        "description": "History the refitted baselines see: all of it, or the last train_size steps.",
                    },
                    "train_size": {**POSITIVE, "description": "sliding: steps of history per fold."},
                },
            },
        }
    }

    @classmethod
    def check(cls, config):
        problems = []
        if config.get("dataset") and config.get("path"):
            problems.append(("dataset", "give data.path or data.dataset, not both"))
        backtest = config.get("backtest") or {}
        if backtest.get("horizon") and backtest["horizon"] > config.get("horizon", 12):
            problems.append(
                (
                    "backtest.horizon",
                    f"expected at most data.horizon ({config.get('horizon', 12)}). Received: {backtest['horizon']}",
                )
            )
        if backtest.get("window") == "sliding" and not backtest.get("train_size"):
            problems.append(("backtest.train_size", "a sliding window needs train_size"))
        if config.get("test") and config.get("layout") != "rows":
            problems.append(("test", "a continuation file needs data.layout: rows (one row per series)"))
        if config.get("test") and "test" in (config.get("split") or {}):
            problems.append(("split.test", "data.test gives each series' test part; leave data.split.test out"))
        if config.get("layout") == "rows":
            for key in ("past_covariates", "future_covariates", "calendar", "targets", "freq"):
                if config.get(key):
                    problems.append((key, "the rows layout holds one target per series and no timestamps"))
        if config.get("layout") == "wide" and config.get("targets"):
            problems.append(("targets", "the wide layout takes data.columns (one per series), not data.targets"))
        seen: dict[str, str] = {}
        for key, role in (
            ("targets", "a target"),
            ("past_covariates", "a past covariate"),
            ("future_covariates", "a future covariate"),
        ):
            names = config.get(key) or []
            for name in names if isinstance(names, list) else []:  # a non-list is the schema's problem
                if not isinstance(name, str):
                    continue
                if name in seen:
                    problems.append((key, f"{name!r} is already {seen[name]}"))
                else:
                    seen[name] = role
        return problems

    # -- reading ---------------------------------------------------------------------------

    def read_table(self, frame=None, source=None, offset=2, freq=None, allow_future_rows=False, run_step=None) -> Table:
        config = dict(self.config)
        if config.get("dataset") and config["time"] == "date" and config["dataset"] == "sunspots":
            config["time"] = "YEAR"
        return load_table(
            config,
            self.context.resolve,
            frame=frame,
            source=source,
            offset=offset,
            freq=freq,
            allow_future_rows=allow_future_rows,
            run_step=run_step,
        )

    def channel_layout(self, table: Table) -> dict:
        config = self.config
        if config.get("layout") in ("wide", "rows"):
            targets = [config.get("target_name", "value")]
        else:
            targets = list(config.get("targets") or [])
        past = list(config.get("past_covariates") or [])
        future = list(config.get("future_covariates") or [])
        calendar = list(config.get("calendar") or [])
        if calendar and table.freq is None:
            raise DataError(
                f"{table.source}: data.calendar needs datetime timestamps; column {config.get('time')!r} holds integer steps"
            )
        calendar_names = calendar_channel_names(calendar)
        n_t, n_p, n_f = len(targets), len(past), len(future)
        return {
            "targets": targets,
            "past_covariates": past,
            "future_covariates": future,
            "calendar": calendar,
            "channels": targets + past + future + calendar_names,
            "target_channels": list(range(n_t)),
            "normalized_channels": list(range(n_t + n_p)),
            "future_channels": list(range(n_t + n_p, n_t + n_p + n_f + len(calendar_names))),
            "observed_channels": n_t + n_p,
        }

    def series_features(self, table_series, layout: dict, scaler: Scaler, times=None) -> np.ndarray:
        scaled = scaler.transform(table_series.values)
        calendar = calendar_features(table_series.time if times is None else times, layout["calendar"])
        return np.concatenate([scaled, calendar], axis=1)

    # -- Adapter API ---------------------------------------------------------------------

    def load(self) -> ForecastBundle:
        config = self.config
        table = self.read_table()
        layout = self.channel_layout(table)
        lookback, horizon = int(config.get("lookback", 48)), int(config.get("horizon", 12))
        stride, eval_stride = int(config.get("stride", 1)), int(config.get("eval_stride", 1))
        n_targets = len(layout["targets"])
        per_series_cap = int(config.get("max_windows_per_series") or 0)
        backtest = dict(config.get("backtest") or {})
        if backtest:
            backtest.setdefault("folds", 5)
            backtest.setdefault("horizon", horizon)
            backtest.setdefault("step", backtest["horizon"])
            backtest.setdefault("window", "expanding")
        parts: dict[str, list] = {
            k: []
            for k in ("train_x", "train_y", "train_raw", "val_x", "val_y", "val_raw", "test_x", "test_y", "test_raw")
        }
        series_data = []
        for s in table.series:
            split_config = dict(config.get("split") or {})
            if config.get("test"):
                split_config["test"] = s.test_steps
            bounds = split_bounds(len(s), split_config, s.id)
            log = n_targets if config.get("transform") == "log" else 0
            if log and not (s.values[:, :n_targets] > 0).all():
                i, j = np.argwhere(~(s.values[:, :n_targets] > 0))[0]
                raise DataError(
                    f"{table.source}: {_series_name(s.id)}, step {i} ({layout['targets'][j]!r}): {s.values[i, j]:g} is "
                    "not positive; data.transform log needs positive targets"
                )
            scaler = Scaler.fit(config.get("scaler", "standard"), s.values[: bounds.train], log)
            features = self.series_features(s, layout, scaler)
            targets = features[:, :n_targets]
            data = SeriesData(s.id, s.time, features, targets, bounds, scaler)
            for name, start, end, step in (
                ("train", 0, bounds.train, stride),
                ("val", bounds.train, bounds.validation, eval_stride),
                ("test", bounds.validation, bounds.test, eval_stride),
            ):
                origins = window_origins(start, end, lookback, horizon, step)
                if name == "train" and per_series_cap:
                    origins = origins[-per_series_cap:]
                if name == "test":
                    data.test_origins = origins
                parts[f"{name}_x"].append(
                    make_windows(features, origins, lookback, horizon, layout["observed_channels"])
                )
                parts[f"{name}_y"].append(make_targets(targets, origins, horizon))
                parts[f"{name}_raw"] += [origin_label(s.id, s.time[o]) for o in origins]
            series_data.append(data)
        if config.get("test"):
            short = [d for d in series_data if not len(d.test_origins)]
            if short:
                d = short[0]
                raise DataError(
                    f"{config['test']}: series {d.id!r}: no test window: it needs data.lookback ({lookback}) steps before "
                    f"its test part (it has {d.bounds.validation}) and data.horizon ({horizon}) test values "
                    f"(it has {d.bounds.test - d.bounds.validation})"
                )
        freq = table.freq
        period = int(
            config.get("seasonal_period")
            or (M4_SEASONALITY[config["frequency"]] if config.get("frequency") else default_seasonal_period(freq))
        )
        info = {
            **layout,
            "lookback": lookback,
            "horizon": horizon,
            "features": len(layout["channels"]),
            "steps": lookback + horizon,
            "norm": config.get("window_norm", "last"),
            "freq": freq,
            "step": table.step,
            "time_column": "position" if config.get("layout") == "rows" else config.get("time", "date"),
            "layout": config.get("layout", "long"),
            "seasonal_period": period,
            "series": [s.id for s in series_data],
            "scalers": {s.id: s.scaler.to_dict() for s in series_data},
            "last_time": {s.id: str(s.time[s.bounds.test - 1]) for s in series_data},
            "filled_steps": table.filled,
        }

        def split(name) -> Split | None:
            x = np.concatenate(parts[f"{name}_x"]) if parts[f"{name}_x"] else None
            if x is None or not len(x):
                return None
            return Split(x, np.concatenate(parts[f"{name}_y"]), parts[f"{name}_raw"])

        train = split("train")
        if train is None:
            longest = max(series_data, key=lambda d: d.bounds.train)
            part = (
                f"the longest training part (series {longest.id!r}, {len(longest.time)} steps)"
                if len(series_data) > 1
                else f"the training part (of {len(longest.time)} steps)"
            )
            raise DataError(
                f"{table.source}: no training window: a window needs data.lookback + data.horizon = {lookback + horizon} "
                f"steps, and {part} has {longest.bounds.train} (data.split)"
            )
        if backtest:
            for data in series_data:
                data.backtest_origins = backtest_origins(data.bounds, lookback, backtest, data.id)
        return ForecastBundle(
            train,
            split("val"),
            split("test"),
            info,
            series=series_data,
            config={
                "baselines": list(config.get("baselines", ["naive", "seasonal_naive", "ets"])),
                "backtest": backtest,
            },
        )

    def read_inputs(self, path, info):
        raise DataError(f"{path}: forecasting runs read new data with: seqkit forecast RUN_DIR --input {path}")

    def encode_inputs(self, raw_inputs, info):
        raise DataError(
            "forecasting runs take a table of recent history, not single inputs: "
            "seqkit forecast RUN_DIR --input FILE, or seqkit_forecast.forecast(run, table)"
        )


def _series_name(series_id: str) -> str:
    return f"series {series_id!r}" if series_id else "the series"


def origin_label(series_id: str, time) -> str:
    import pandas as pd

    when = str(pd.Timestamp(time)) if isinstance(time, np.datetime64) else str(int(time))
    return f"{series_id} @ {when}" if series_id else when


def backtest_origins(bounds: Bounds, lookback: int, backtest: dict, series_id: str) -> np.ndarray:
    """``folds`` origins ``step`` apart, the last fold ending at the end of the test part."""
    folds, step, horizon = int(backtest["folds"]), int(backtest["step"]), int(backtest["horizon"])
    origins = bounds.test - horizon - step * np.arange(folds - 1, -1, -1, dtype="int64")
    first = int(origins[0])
    where = f"series {series_id!r}: " if series_id else ""
    if bounds.test < lookback + horizon:
        raise DataError(
            f"data.backtest: {where}{bounds.test} steps, fewer than data.lookback + data.backtest.horizon = "
            f"{lookback + horizon} for one fold"
        )
    if first < bounds.validation or first < lookback:
        raise DataError(
            f"data.backtest: {where}{folds} folds {step} steps apart with horizon {horizon} start at step {first}, "
            f"before the test part (step {bounds.validation}); use fewer folds, a smaller step or a larger data.split.test"
        )
    return origins


def to_original(series: SeriesData, values: np.ndarray, n_targets: int) -> np.ndarray:
    """Scaled target values (..., targets) -> original units."""
    return series.scaler.inverse(values, slice(0, n_targets))
