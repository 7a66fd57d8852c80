"""Time-series tables -> regular, gap-free series.

Reads CSV or Parquet files (or a data set that statsmodels ships) in long format (a series id
column, a timestamp column, value columns) or wide format (one column per series), checks
that every series sits on a regular time grid, and fills missing timestamps and values with
the recipe's policy, or stops at the first bad row with its file and row number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqkit.plugin_api import DataError, is_in_memory, require_file

FILL_POLICIES = ("none", "ffill", "interpolate", "zero")
CALENDAR_FEATURES = ("hour", "weekday", "month", "dayofyear", "minute", "holiday")
# Periods of the calendar features; each becomes a sine / cosine pair.
_CALENDAR_PERIODS = {"hour": 24, "weekday": 7, "month": 12, "dayofyear": 366, "minute": 60}
STATSMODELS_DATASETS = ("co2", "sunspots")


@dataclass
class Series:
    """One regular series. ``values`` holds (steps, channels) in column order ``columns``;
    ``rows`` the 1-based source row of each step (0 for a filled step)."""

    id: str
    time: np.ndarray  # datetime64[ns] or int64 steps
    values: np.ndarray  # float64 (steps, channels)
    rows: np.ndarray
    filled: int = 0
    test_steps: int = 0  # steps at the end read from a continuation file (data.test)

    def __len__(self) -> int:
        return len(self.time)


@dataclass
class Table:
    """Every series of a table, with the facts shared by all of them."""

    series: list[Series]
    columns: list[str]  # channel names: targets, past covariates, future covariates
    freq: str | None  # pandas offset alias, or None for integer steps
    step: int = 1  # for integer steps
    source: str = ""
    filled: int = 0
    notes: list[str] = field(default_factory=list)


def read_frame(config: dict, base_resolve, what: str = "data file"):
    """Return (pandas DataFrame, source name, row offset) for the recipe's data."""
    import pandas as pd

    if config.get("dataset"):
        name = config["dataset"]
        import importlib

        module = importlib.import_module(f"statsmodels.datasets.{name}")
        frame = module.load_pandas().data
        if isinstance(frame.index, pd.DatetimeIndex):
            frame = frame.rename_axis("date").reset_index()
        return frame, f"statsmodels {name} data", 1
    if not config.get("path"):
        raise DataError("data.path: give a CSV or Parquet file (or data.dataset for a statsmodels data set)")
    value = config["path"]
    if isinstance(value, list):  # several files (or globs) of one table: rows joined in order
        frames = [read_frame({**config, "path": item}, base_resolve, what)[0] for item in value]
        return pd.concat(frames, ignore_index=True), f"data.path ({len(value)} files)", 1
    path = base_resolve(value)
    if is_in_memory(path):  # a DataFrame: long or wide, timestamps in a column or the index
        return path.frame(index_name=config.get("time", "date")), str(path), 1
    if any(c in str(value) for c in "*?["):
        import glob

        matches = sorted(glob.glob(str(path), recursive=True))
        if not matches:
            raise DataError(f"data.path: the pattern {value!r} matches no files (in {path.parent})")
        if len(matches) > 1:
            return read_frame({**config, "path": matches}, base_resolve, what)
        path = Path(matches[0])
    return read_file(path, what), str(path), row_offset(path)


def row_offset(path: Path) -> int:
    """2 for text tables (errors name the file line; the header is line 1), 1 for Parquet
    (errors name the row)."""
    return 1 if path.suffix.lower() in (".parquet", ".pq") else 2


def read_file(path: Path, what: str = "data file"):
    """Read a CSV or Parquet file into a DataFrame; one-line errors."""
    import pandas as pd

    require_file(path, what)
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".tsv", ".txt"):
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot read {what}: {first}") from None
    raise DataError(f"{path}: unsupported file type {suffix!r}; expected .csv, .tsv or .parquet")


def _where(source: str, row: int, offset: int) -> str:
    """'file:LINE' for CSV (``row`` counts data rows from 1; the header is line 1), 'source row N' otherwise."""
    if offset == 2:
        return f"{source}:{row + 1}"
    return f"{source} row {row}"


def _require(frame, columns, source, key):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        from seqkit.plugin_api import did_you_mean

        hint = did_you_mean(missing[0], list(map(str, frame.columns)))
        raise DataError(
            f"{source}: {key}: column {missing[0]!r} not found. {hint + ' ' if hint else ''}"
            f"Columns: {', '.join(map(str, frame.columns))}"
        )


def to_long(frame, config: dict, source: str, offset: int = 2):
    """Normalise wide tables to long ones. Returns (frame, id column or None, value columns,
    target names)."""
    time = config.get("time", "date")
    if time not in frame.columns and time in [n for n in frame.index.names if n is not None]:
        frame = frame.reset_index()  # a time index (Parquet written from an indexed frame, a DataFrame input)
    _require(frame, [time], source, "data.time")
    if config.get("layout", "long") == "wide":
        columns = config.get("columns") or [c for c in frame.columns if c != time]
        _require(frame, columns, source, "data.columns")
        if config.get("past_covariates") or config.get("future_covariates"):
            raise DataError(
                f"{source}: data.layout wide: covariates need the long layout (one row per series and time)"
            )
        name = config.get("target_name", "value")
        frame = frame.reset_index(drop=True)
        frame["__row__"] = np.arange(len(frame)) + 1
        long = frame.melt(id_vars=[time, "__row__"], value_vars=columns, var_name="__series__", value_name=name)
        return long, "__series__", [name], [name]
    series = config.get("series")
    ids = [series] if isinstance(series, str) else list(series or [])
    targets = list(config.get("targets") or [])
    if not targets:
        raise DataError(f"{source}: data.targets: name the target column(s)")
    values = targets + list(config.get("past_covariates") or []) + list(config.get("future_covariates") or [])
    _require(frame, ids, source, "data.series")
    _require(frame, targets, source, "data.targets")
    _require(frame, list(config.get("past_covariates") or []), source, "data.past_covariates")
    _require(frame, list(config.get("future_covariates") or []), source, "data.future_covariates")
    frame = frame.reset_index(drop=True)
    frame["__row__"] = np.arange(len(frame)) + 1
    for column in ids:  # pandas' groupby would drop these rows silently
        blank = (frame[column].isna() | (frame[column].astype(str).str.strip() == "")).to_numpy()
        if blank.any():
            row = int(np.flatnonzero(blank)[0]) + 1
            raise DataError(f"{_where(source, row, offset)}: empty series id in column {column!r} (data.series)")
    if len(ids) > 1:
        frame["__series__"] = frame[ids].astype(str).agg("/".join, axis=1)
        return frame, "__series__", values, targets
    return frame, (ids[0] if ids else None), values, targets


def parse_time(frame, column: str, source: str, offset: int):
    """Timestamps as datetime64 (or int64 steps for integer time columns)."""
    import pandas as pd

    raw = frame[column]
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.to_numpy(dtype="float64")
        bad = ~np.isfinite(values) | (values != np.round(values))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{_where(source, int(frame['__row__'].iloc[i]), offset)}: time {raw.iloc[i]!r} is not an integer step"
            )
        return values.astype("int64"), False
    try:
        parsed = pd.to_datetime(raw, errors="coerce", utc=False, format="mixed")
    except ValueError:
        # Mixed UTC offsets (local time across a daylight-saving change): one UTC time line.
        parsed = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{_where(source, int(frame['__row__'].iloc[i]), offset)}: cannot read timestamp {raw.iloc[i]!r} in column {column!r}"
        )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(None)
    return parsed.to_numpy(dtype="datetime64[ns]"), True


def infer_freq(times: np.ndarray) -> str:
    """The pandas frequency of a datetime array (the most common step if gaps hide it)."""
    import pandas as pd

    if len(times) < 3:
        raise DataError("cannot infer the time step from fewer than 3 timestamps; set data.freq")
    freq = pd.infer_freq(pd.DatetimeIndex(times))
    if freq:
        return freq
    # Gaps hide it: the frequency most short stretches agree on (monthly data have steps of
    # 28 to 31 days, so the most common step alone would not do).
    found = []
    for start in np.unique(np.linspace(0, len(times) - 5, num=min(50, max(len(times) - 4, 1))).astype(int)):
        try:
            found.append(pd.infer_freq(pd.DatetimeIndex(times[start : start + 5])) if start + 5 <= len(times) else None)
        except (TypeError, ValueError):
            pass
    found = [f for f in found if f]
    if found:
        values, counts = np.unique(found, return_counts=True)
        return str(values[np.argmax(counts)])
    diffs = np.diff(times).astype("timedelta64[ns]")
    values, counts = np.unique(diffs, return_counts=True)
    step = pd.Timedelta(values[np.argmax(counts)])
    return pd.tseries.frequencies.to_offset(step).freqstr


def load_table(
    config: dict,
    base_resolve,
    frame=None,
    source: str | None = None,
    offset: int = 2,
    freq=None,
    allow_future_rows=False,
    run_step=None,
) -> Table:
    """Read, check and fill the recipe's table. ``frame`` replaces the recipe's file (forecast
    inputs); ``freq`` forces the model's frequency (``run_step`` the step of a model trained on
    integer steps); ``allow_future_rows`` keeps trailing rows whose targets are empty (they
    carry known-future covariates)."""
    import pandas as pd

    if config.get("layout") == "rows":
        return load_rows_table(config, base_resolve, frame=frame, source=source, offset=offset, run_step=run_step)
    if frame is None:
        frame, source, offset = read_frame(config, base_resolve)
    source = source or "data"
    if len(frame) == 0:
        raise DataError(f"{source}: no rows")
    frame, id_column, value_columns, targets = to_long(frame, config, source, offset)
    time_column = config.get("time", "date")
    times, is_datetime = parse_time(frame, time_column, source, offset)
    frame = frame.assign(__time__=times)
    for column in value_columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            converted = pd.to_numeric(frame[column], errors="coerce")
            bad = (converted.isna() & frame[column].notna()).to_numpy()
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise DataError(
                    f"{_where(source, int(frame['__row__'].iloc[i]), offset)}: column {column!r}: {frame[column].iloc[i]!r} is not a number"
                )
            frame[column] = converted  # numbers stored as text (a string column in Parquet)
    fill = config.get("fill", "none")
    run_freq = freq  # forecast inputs: the grid of the run's data
    declared = freq or config.get("freq")
    if run_freq and not is_datetime:
        raise DataError(
            f"{source}: column {time_column!r} holds integer steps; the run's data have timestamps (frequency {run_freq})"
        )
    # Forecast inputs: the fill policy is the run's, so a gap is fixed in the input.
    input_hint = "complete the input (the run was trained with data.fill: none)" if (run_freq or run_step) else ""
    if run_step and is_datetime:
        raise DataError(
            f"{source}: column {time_column!r} holds timestamps; the run's data have integer steps (step {run_step})"
        )
    groups = [("", frame)] if id_column is None else list(frame.groupby(id_column, sort=False))
    if is_datetime:
        if declared:
            try:
                offset_obj = pd.tseries.frequencies.to_offset(declared)
            except ValueError:
                raise DataError(f"data.freq: {declared!r} is not a pandas frequency (e.g. h, D, W-SAT, MS)") from None
            freq_str = offset_obj.freqstr
        else:
            # The first series without gaps tells the frequency; failing that, the most
            # common step of the first series.
            freq_str = None
            for _, group in groups:
                times_sorted = np.sort(group["__time__"].to_numpy())
                if len(times_sorted) >= 3:
                    try:
                        freq_str = pd.infer_freq(pd.DatetimeIndex(times_sorted))
                    except (TypeError, ValueError):
                        freq_str = None
                if freq_str:
                    freq_str = pd.tseries.frequencies.to_offset(freq_str).freqstr
                    break
            if not freq_str:
                first = np.sort(groups[0][1]["__time__"].to_numpy())
                try:
                    freq_str = infer_freq(first)
                except DataError as exc:
                    raise DataError(f"{source}{_in(groups[0][0]) if id_column else ''}: {exc}") from None
        step_int = 1
    else:
        freq_str = None
        if declared:
            raise DataError("data.freq: the time column holds integer steps; leave data.freq out (set data.step)")
        step_int = int(config.get("step") or 0) if not run_step else 0
        if not step_int:
            diffs = np.diff(np.sort(groups[0][1]["__time__"].to_numpy()))
            step_int = int(np.bincount(diffs[diffs > 0]).argmax()) if (diffs > 0).any() else 1
        if run_step and step_int != run_step:
            raise DataError(
                f"{source}: the input is on a step of {step_int}; the run's data are on a step of {run_step} "
                "(forecasts continue the run's steps)"
            )
    series_list = []
    filled_total = 0
    n_targets = len(targets)
    for key, group in groups:
        sid = "/".join(map(str, key)) if isinstance(key, tuple) else str(key)
        group = group.sort_values("__time__", kind="stable")
        t = group["__time__"].to_numpy()
        rows = group["__row__"].to_numpy()
        dup = np.flatnonzero(t[1:] == t[:-1])
        if len(dup):
            i = dup[0] + 1
            hint = ""
            if id_column is None and not input_hint and len(dup) >= len(t) / 4:  # many repeats, not one stray row
                shown = ", ".join(str(c) for c in frame.columns if not str(c).startswith("__"))
                hint = f"; several series in one file? Name their id column in data.series (columns: {shown})"
            raise DataError(f"{_where(source, int(rows[i]), offset)}: duplicate timestamp {_fmt(t[i])}{_in(sid)}{hint}")
        if is_datetime:
            grid = pd.date_range(t[0], t[-1], freq=freq_str).to_numpy(dtype="datetime64[ns]")
        else:
            grid = np.arange(t[0], t[-1] + 1, step_int, dtype="int64")
        position = np.searchsorted(grid, t)
        off_grid = (position >= len(grid)) | (grid[np.minimum(position, len(grid) - 1)] != t)
        if run_freq and (off_grid.any() or (np.diff(position) > 1).any()):
            _check_input_freq(t, run_freq, source, sid)
        if off_grid.any():
            i = int(np.flatnonzero(off_grid)[0])
            where = f"{_where(source, int(rows[i]), offset)}: "
            if i == 0:  # an anchored frequency (W-SUN, BMS...) that the first timestamp is not on
                raise DataError(
                    f"{where}timestamp {_fmt(t[0])}{_in(sid)} is not on the {freq_str} grid "
                    f"({'the run' if run_freq else 'data.freq'})"
                )
            raise DataError(
                f"{where}irregular timestamp {_fmt(t[i])}{_in(sid)}: not on the "
                f"{freq_str or f'step-{step_int}'} grid that starts at {_fmt(t[0])}; "
                + ("the run's data are on that grid" if run_freq else "fix the row or set data.freq")
            )
        values = group[value_columns].to_numpy(dtype="float64")
        if allow_future_rows:
            observed = np.flatnonzero(np.isfinite(values[:, :n_targets]).all(axis=1))
            last = observed[-1] + 1 if len(observed) else 0
        else:
            last = len(values)
        gaps = np.flatnonzero(np.diff(position[:last]) > 1) if last > 1 else np.array([], dtype=int)
        missing_values = ~np.isfinite(values[:last]).all(axis=1)
        if fill == "none":
            if len(gaps):
                i = int(gaps[0] + 1)
                count = int(position[i] - position[i - 1] - 1)
                raise DataError(
                    f"{_where(source, int(rows[i]), offset)}: missing timestamps{_in(sid)}: {count} step(s) between "
                    f"{_fmt(t[i - 1])} and {_fmt(t[i])}; "
                    + (input_hint or "set data.fill (ffill, interpolate, zero) to fill them")
                )
            if missing_values.any():
                i = int(np.flatnonzero(missing_values)[0])
                j = int(np.flatnonzero(~np.isfinite(values[i]))[0])
                column, kind = value_columns[j], "infinite" if np.isinf(values[i, j]) else "missing"
                raise DataError(
                    f"{_where(source, int(rows[i]), offset)}: {kind} value in column {column!r}{_in(sid)}; "
                    + (input_hint or "set data.fill (ffill, interpolate, zero) to fill it")
                )
        full = np.full((len(grid), len(value_columns)), np.nan)
        full[position] = values
        full_rows = np.zeros(len(grid), dtype="int64")
        full_rows[position] = rows
        end = int(position[last - 1]) + 1 if last else 0
        filled = int((~np.isfinite(full[:end])).any(axis=1).sum())
        if filled and fill != "none":
            full[:end] = _fill(full[:end], fill)
            empty = ~np.isfinite(full[:end]).any(axis=0)
            if empty.any():
                column = value_columns[int(np.flatnonzero(empty)[0])]
                raise DataError(f"{source}: column {column!r}{_in(sid)} has no value to fill from (data.fill={fill})")
        if allow_future_rows and end < len(grid):
            # Rows after the last observed target only carry known-future covariates.
            tail = full[end:]
            tail[:, :n_targets] = np.nan
        filled_total += filled
        series_list.append(Series(sid, grid, full, full_rows, filled))
    notes = [f"filled {filled_total} missing step(s) with data.fill={fill}"] if filled_total else []
    return Table(series_list, value_columns, freq_str, step_int, source, filled_total, notes)


def _check_input_freq(times: np.ndarray, run_freq: str, source: str, sid: str) -> None:
    """A forecast input whose own (gap-free) frequency is not the run's: say so, rather than
    report its rows as gaps or off-grid timestamps."""
    import pandas as pd

    try:
        own = pd.infer_freq(pd.DatetimeIndex(times)) if len(times) >= 3 else None
    except (TypeError, ValueError):
        own = None
    if own and pd.tseries.frequencies.to_offset(own) != pd.tseries.frequencies.to_offset(run_freq):
        raise DataError(
            f"{source}: the input{_in(sid)} is on the {own} grid; the run's data are on the {run_freq} grid "
            "(forecasts continue the run's frequency)"
        )


def _fill(values: np.ndarray, policy: str) -> np.ndarray:
    import pandas as pd

    frame = pd.DataFrame(np.where(np.isinf(values), np.nan, values))  # inf is filled like a missing value
    if policy == "ffill":
        frame = frame.ffill().bfill()
    elif policy == "interpolate":
        frame = frame.interpolate(method="linear", limit_direction="both")
    elif policy == "zero":
        frame = frame.fillna(0.0)
    return frame.to_numpy(dtype="float64")


def _fmt(t) -> str:
    if isinstance(t, np.datetime64):
        import pandas as pd

        return str(pd.Timestamp(t))
    return str(int(t))


def _in(sid: str) -> str:
    return f" in series {sid!r}" if sid else ""


def calendar_features(times: np.ndarray, names: list[str]) -> np.ndarray:
    """Sine / cosine pairs of the requested calendar features, and a 0/1 flag for
    ``holiday`` (US federal holidays, pandas' calendar): (steps, channels)."""
    import pandas as pd

    if not names:
        return np.zeros((len(times), 0))
    index = pd.DatetimeIndex(times)
    columns = []
    for name in names:
        if name == "holiday":
            from pandas.tseries.holiday import USFederalHolidayCalendar

            days = USFederalHolidayCalendar().holidays(index.min().normalize(), index.max().normalize())
            columns.append(index.normalize().isin(days).astype("float64"))
            continue
        value = {
            "hour": index.hour,
            "weekday": index.weekday,
            "month": index.month - 1,
            "dayofyear": index.dayofyear - 1,
            "minute": index.minute,
        }[name].to_numpy(dtype="float64")
        angle = 2 * np.pi * value / _CALENDAR_PERIODS[name]
        columns += [np.sin(angle), np.cos(angle)]
    return np.stack(columns, axis=1)


def calendar_channel_names(names: list[str]) -> list[str]:
    return [f"{name}_{part}" for name in names for part in (("flag",) if name == "holiday" else ("sin", "cos"))]


def future_times(last, count: int, freq: str | None, step: int) -> np.ndarray:
    """The ``count`` timestamps after ``last`` on the series' grid."""
    import pandas as pd

    if freq is None:
        return np.asarray(last, dtype="int64") + step * np.arange(1, count + 1, dtype="int64")
    return pd.date_range(pd.Timestamp(last), periods=count + 1, freq=freq)[1:].to_numpy(dtype="datetime64[ns]")


def default_seasonal_period(freq: str | None) -> int:
    """A sensible season for the frequency: hourly 24, daily 7, weekly 52, monthly 12...; a
    multiple of a unit divides it when it can (2h: 12, 15min: 4), else 1 (the rule GluonTS's
    ``get_seasonality`` follows)."""
    if not freq:
        return 1
    import re

    match = re.match(r"^(\d*)(.*)$", freq)
    multiple = int(match.group(1) or 1)
    base = match.group(2).split("-")[0].upper()
    period = {
        "H": 24,
        "BH": 8,
        "D": 7,
        "B": 5,
        "W": 52,
        "M": 12,
        "MS": 12,
        "ME": 12,
        "Q": 4,
        "QS": 4,
        "QE": 4,
        "T": 60,
        "MIN": 60,
    }.get(base, 1)
    return period // multiple if period % multiple == 0 else 1


# -- one row per series (M4's files) ----------------------------------------------------------


def rows_to_series(frame, config: dict, source: str, offset: int = 2, what: str = "") -> list[Series]:
    """A table with one row per series: the id column (``data.series``, default the first
    column), then the values in time order; rows may differ in length (empty cells pad the
    end). Steps are integers from 0. Errors name the line, the series id and the position
    (1-based) of the value."""
    import pandas as pd

    id_column = config.get("series") or frame.columns[0]
    if isinstance(id_column, list):
        if len(id_column) != 1:
            raise DataError(f"{source}: data.series: the rows layout takes one id column. Received: {id_column}")
        id_column = id_column[0]
    _require(frame, [id_column], source, "data.series")
    value_columns = [c for c in frame.columns if c != id_column]
    if not value_columns:
        raise DataError(f"{source}: no value columns after the id column {id_column!r} (data.layout rows)")
    ids = frame[id_column]
    raw = frame[value_columns]
    numbers = raw.apply(lambda c: c if c.dtype.kind in "fiu" else pd.to_numeric(c, errors="coerce"))
    values = numbers.to_numpy(dtype="float64")
    given = raw.notna().to_numpy() & (raw.astype(str).apply(lambda c: c.str.strip() != "")).to_numpy()
    bad = given & ~np.isfinite(values) & ~np.isinf(values)
    seen: dict[str, int] = {}
    result = []
    for i in range(len(frame)):
        line = _where(source, i + 1, offset)
        sid = ids.iloc[i]
        if sid is None or (isinstance(sid, float) and np.isnan(sid)) or str(sid).strip() == "":
            raise DataError(f"{line}: empty series id in column {id_column!r}")
        sid = str(sid).strip()
        if sid in seen:
            raise DataError(f"{line}: series {sid!r} again (first on {_where(source, seen[sid], offset)})")
        seen[sid] = i + 1
        if bad[i].any():
            j = int(np.flatnonzero(bad[i])[0])
            raise DataError(
                f"{line}: series {sid!r}, value {j + 1} (column {value_columns[j]!r}): {raw.iloc[i, j]!r} is not a number"
            )
        row = values[i]
        present = np.flatnonzero(np.isfinite(row))
        if np.isinf(row).any():
            j = int(np.flatnonzero(np.isinf(row))[0])
            raise DataError(f"{line}: series {sid!r}, value {j + 1} (column {value_columns[j]!r}) is infinite")
        if not len(present):
            raise DataError(f"{line}: series {sid!r} has no values{what}")
        length = int(present[-1]) + 1
        row = row[:length]
        missing = np.flatnonzero(~np.isfinite(row))
        if len(missing):
            fill = config.get("fill", "none")
            j = int(missing[0])
            if fill == "none":
                raise DataError(
                    f"{line}: series {sid!r}, value {j + 1} (column {value_columns[j]!r}) is empty before later values; "
                    "set data.fill (ffill, interpolate, zero) to fill it"
                )
            row = _fill(row[:, None], fill)[:, 0]
        result.append(
            Series(sid, np.arange(length, dtype="int64"), row[:, None].astype("float64"), np.full(length, i + 1))
        )
    return result


def load_rows_table(config: dict, base_resolve, frame=None, source=None, offset=2, run_step=None) -> Table:
    """The rows layout: one row per series, and ``data.test`` (a file of the same shape) holding
    the values that follow each series: they become its test part."""
    from_recipe = frame is None  # forecast inputs are history only
    if frame is None:
        frame, source, offset = read_frame(config, base_resolve)
    source = source or "data"
    if len(frame) == 0:
        raise DataError(f"{source}: no rows")
    if run_step and run_step != 1:
        raise DataError(f"{source}: the rows layout has steps of 1; the run's data are on a step of {run_step}")
    series = rows_to_series(frame, config, source, offset)
    name = config.get("target_name", "value")
    if config.get("test") and from_recipe:
        path = base_resolve(config["test"])
        continuation = rows_to_series(
            read_file(path, "continuation file (data.test)"), config, str(path), row_offset(path)
        )
        series = append_continuation(series, continuation, source, str(path))
    return Table(series, [name], None, 1, source, 0, [])


def append_continuation(
    series: list[Series], continuation: list[Series], source: str, test_source: str
) -> list[Series]:
    """Each series followed by its next values from the continuation file (every series
    needs one, and the continuation file has no other series)."""
    following = {s.id: s for s in continuation}
    known = {s.id for s in series}
    extra = [s.id for s in continuation if s.id not in known]
    if extra:
        raise DataError(f"{test_source}: series {extra[0]!r} is not in {source}")
    result = []
    for s in series:
        nxt = following.get(s.id)
        if nxt is None:
            raise DataError(
                f"{test_source}: no values for series {s.id!r} (every series of {source} needs its continuation)"
            )
        n = len(s)
        result.append(
            Series(
                s.id,
                np.arange(n + len(nxt), dtype="int64"),
                np.concatenate([s.values, nxt.values]),
                np.concatenate([s.rows, -nxt.rows]),  # negative: a line of the continuation file
                s.filled,
                test_steps=len(nxt),
            )
        )
    return result
