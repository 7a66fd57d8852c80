"""seqkit's forecasting plugin: multi-horizon time-series forecasts on the shared backbone.

Registers the ``forecast`` task, the ``timeseries`` adapter (CSV / Parquet, long or wide
tables, covariates, calendar features, gap checks and fill policies, per-series scalers),
the ``forecast_window`` encoder, the ``point``, ``quantile`` and ``gaussian`` heads, and the
``seqkit forecast RUN_DIR --input new.csv`` command. Every run scores the model against
naive, seasonal-naive and exponential-smoothing baselines on the same test windows and on
the recipe's rolling-origin backtest.

Python API: ``seqkit_forecast.forecast(run_dir, "new.csv", horizon=24)`` -> DataFrame.
"""

from __future__ import annotations

from seqkit.plugin_api import hookimpl

__version__ = "0.1.0"


def forecast(run, data, horizon=None, output=None):
    """Forecast new data with a finished run; see :func:`seqkit_forecast.inference.forecast`."""
    from seqkit_forecast.inference import forecast as _forecast

    return _forecast(run, data, horizon=horizon, output=output)


@hookimpl
def seqkit_register_tasks(register):
    from seqkit_forecast.tasks import ForecastTask

    register(ForecastTask())


@hookimpl
def seqkit_register_adapters(register):
    from seqkit_forecast.adapters import TimeSeriesAdapter

    register(TimeSeriesAdapter)


@hookimpl
def seqkit_register_encoders(register):
    from seqkit_forecast.specs import ForecastWindowSpec

    register(ForecastWindowSpec)


@hookimpl
def seqkit_register_heads(register):
    from seqkit_forecast.specs import GaussianHeadSpec, PointHeadSpec, QuantileHeadSpec

    register(PointHeadSpec)
    register(QuantileHeadSpec)
    register(GaussianHeadSpec)


@hookimpl
def seqkit_register_commands(register):
    from seqkit.plugin_api import Command
    from seqkit_forecast.inference import FORECAST_HELP, add_arguments, run_command

    register(Command("forecast", FORECAST_HELP, add_arguments, run_command))
