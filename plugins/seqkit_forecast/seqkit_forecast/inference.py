"""Forecasting new data with a finished run: ``seqkit forecast`` and :func:`forecast`.

The input table has the run's columns (same layout, time, series, target and covariate
columns). Each series' last ``lookback`` observed steps are scaled with the run's training
statistics (a series the run has not seen is scaled with its own history) and forecast
``horizon`` steps past its last observed timestamp. Models with known-future covariates
need their values in rows after the last observed target (targets left empty there).
"""

from __future__ import annotations

import os
from pathlib import Path

from seqkit.plugin_api import DataError

FORECAST_HELP = "forecast new data with a finished forecasting run (writes point and quantile columns)"


def forecast(run, data, horizon: int | None = None, output: str | os.PathLike | None = None):
    """Forecast ``data`` (a CSV / Parquet path or a pandas DataFrame) with the run at ``run``
    (a path or a :class:`seqkit.api.Run`). Returns a DataFrame with one row per series and
    step: series id, timestamp, step, and for each target its point forecast and quantiles
    (``<target>_q0.1`` ...), in the data's units. ``output`` also writes it as CSV (``"-"``: to standard output)."""
    import numpy as np
    import pandas as pd

    from seqkit.plugin_api import Run, load_run
    from seqkit_forecast import outputs
    from seqkit_forecast.tables import future_times, read_file, row_offset
    from seqkit_forecast.windows import Scaler

    to_stdout = str(output) == "-"
    if output is not None and not to_stdout:
        from seqkit.plugin_api import check_output_file

        check_output_file(output, (".csv",))
    run = run if isinstance(run, Run) else load_run(run)
    info, adapter = run.info, run.adapter
    if run.recipe.task != "forecast":
        raise DataError(f"{run.path}: a {run.recipe.task!r} run, not a forecasting run")
    lookback, model_horizon = info["lookback"], info["horizon"]
    horizon = model_horizon if horizon is None else int(horizon)
    if not 1 <= horizon <= model_horizon:
        raise DataError(
            f"--horizon {horizon}: expected 1 to {model_horizon} (the run's data.horizon; its model forecasts that many steps at once)"
        )
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        frame, source = read_file(path, "forecast input"), str(path)
        offset = row_offset(path)
    else:
        frame, source, offset = data, "input frame", 1
    has_future = bool(info["future_covariates"])
    # Rows after a series' last observed target are not history: they carry known-future
    # covariates, or nothing (forecasts start after the last observed step either way).
    table = adapter.read_table(
        frame=frame,
        source=source,
        offset=offset,
        freq=info["freq"],
        allow_future_rows=True,
        run_step=None if info["freq"] else int(info.get("step") or 1),
    )
    layout = adapter.channel_layout(table)
    if layout["channels"] != info["channels"]:
        raise DataError(f"{source}: columns {layout['channels']} differ from the run's {info['channels']}")
    n_targets = len(info["targets"])
    windows, metas = [], []
    for s in table.series:
        observed = np.flatnonzero(np.isfinite(s.values[:, :n_targets]).all(axis=1))
        n_obs = int(observed[-1]) + 1 if len(observed) else 0
        name = f"series {s.id!r}" if s.id else "the series"
        if n_obs < lookback:
            raise DataError(f"{source}: {name} has {n_obs} observed steps; the model needs its lookback of {lookback}")
        if s.id in info["scalers"]:
            scaler = Scaler.from_dict(info["scalers"][s.id])
        else:
            first = info["scalers"][next(iter(info["scalers"]))]
            scaler = Scaler.fit(first["kind"], s.values[:n_obs], int(first.get("log", 0)))
        times = np.concatenate(
            [
                s.time[n_obs - lookback : n_obs],
                future_times(s.time[n_obs - 1], model_horizon, info["freq"], info["step"]),
            ]
        )
        values = np.zeros((lookback + model_horizon, s.values.shape[1]))
        values[:lookback] = s.values[n_obs - lookback : n_obs]
        if has_future:
            # The head reads step h's covariates for step h only, so a shorter horizon needs
            # only that many rows; the steps after it (not reported) repeat the last row.
            first_future = n_targets + len(info["past_covariates"])
            ahead = s.values[n_obs : n_obs + horizon, first_future:]
            if len(ahead) < horizon or not np.isfinite(ahead).all():
                given = np.isfinite(ahead).all(axis=1)
                found = int(np.argmin(given)) if not given.all() else len(ahead)
                raise DataError(
                    f"{source}: {name}: the known-future covariates {info['future_covariates']} need {horizon} rows "
                    f"after the last observed target ({_show(s.time[n_obs - 1])}); found {found}"
                )
            values[lookback : lookback + horizon, first_future:] = ahead
            values[lookback + horizon :, first_future:] = ahead[-1]
        if not np.isfinite(values[:lookback]).all():
            raise DataError(
                f"{source}: {name}: missing values in the last {lookback} steps; set data.fill in the recipe"
            )
        if scaler.log and not (values[:lookback, : scaler.log] > 0).all():
            raise DataError(
                f"{source}: {name}: the run log-transforms its targets (data.transform log): expected positive values"
            )
        scaled = scaler.transform(values)
        from seqkit_forecast.tables import calendar_features

        features = np.concatenate([scaled, calendar_features(times, info["calendar"])], axis=1).astype("float32")
        features[lookback:, : info["observed_channels"]] = 0.0
        windows.append(features)
        metas.append((s.id, times[lookback:], scaler))
    raw = run.model.predict(np.stack(windows), verbose=0)
    point = outputs.point(raw, info)
    levels = outputs.quantiles(raw, info)
    rows = []
    for i, (sid, times, scaler) in enumerate(metas):
        inverse = lambda a, scaler=scaler: scaler.inverse(a, slice(0, n_targets))  # noqa: E731
        p = inverse(point[i])
        qs = {q: inverse(v[i]) for q, v in levels.items()}
        for h in range(horizon):
            row = {"series": sid} if info["series"] != [""] else {}
            row[info["time_column"]] = pd.Timestamp(times[h]) if isinstance(times[h], np.datetime64) else int(times[h])
            row["step"] = h + 1
            for j, target in enumerate(info["targets"]):
                row[target] = float(p[h, j])
                for q, values in qs.items():
                    row[f"{target}_q{q:g}"] = float(values[h, j])
            rows.append(row)
    result = pd.DataFrame(rows)
    if output is not None:
        from seqkit.plugin_api import atomic_write_csv

        output = Path(output) if not to_stdout else output
        every = np.array(
            [row[info["time_column"]] for row in rows], dtype="datetime64[ns]" if info["freq"] else "int64"
        )
        written = []
        for row, when in zip(rows, every):
            written.append({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
            written[-1][info["time_column"]] = _show(when, every)
        try:
            if to_stdout:  # ``output="-"``: the CSV on standard output
                import csv
                import sys

                writer = csv.DictWriter(sys.stdout, fieldnames=list(written[0]) if written else [])
                writer.writeheader()
                writer.writerows(written)
                sys.stdout.flush()
            else:
                atomic_write_csv(output, written)
        except OSError as exc:
            raise DataError(f"{output}: cannot write the forecast: {exc.strerror or exc}") from None
    return result


def _show(t, times=None) -> str:
    """A timestamp as text; the date alone when every one of ``times`` is at midnight
    (daily, weekly, monthly... data)."""
    import numpy as np
    import pandas as pd

    if not isinstance(t, np.datetime64):
        return str(int(t))
    if (
        times is not None
        and len(times)
        and (np.asarray(times, dtype="datetime64[ns]") == np.asarray(times, dtype="datetime64[D]")).all()
    ):
        return str(pd.Timestamp(t).date())
    return str(pd.Timestamp(t))


def add_arguments(parser) -> None:
    parser.epilog = (
        "examples:\n"
        "  seqkit forecast runs/co2-weekly/<run-id> --input new.csv --horizon 26 > next26.csv\n"
        "  seqkit forecast runs/etth1-ot/<run-id> --input recent.parquet --output next24.csv\n\n"
        "Python: seqkit_forecast.forecast(run_dir, 'new.csv', horizon=26) -> pandas.DataFrame"
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a completed forecasting run")
    parser.add_argument(
        "--input",
        required=True,
        metavar="FILE",
        help="CSV or Parquet with the run's columns; forecasts start after each series' last observed step",
    )
    parser.add_argument(
        "--horizon", type=int, metavar="H", help="steps to forecast (default and maximum: the run's data.horizon)"
    )
    parser.add_argument(
        "--output", metavar="FILE", help="CSV file to write; without it, or with -, the CSV goes to standard output"
    )


def run_command(args) -> int:
    import sys

    path = Path(args.input)
    output = args.output or "-"
    result = forecast(args.run_dir, path, horizon=args.horizon, output=output)
    series = result["series"].nunique() if "series" in result else 1
    where = "standard output" if output == "-" else output
    # The note goes to stderr when the CSV itself is on stdout (`seqkit forecast ... > next.csv`).
    print(
        f"seqkit: wrote {len(result)} rows ({series} series x {len(result) // max(series, 1)} steps) to {where}",
        file=sys.stderr if output == "-" else sys.stdout,
    )
    return 0
