"""seqkit's forecasting plugin: multi-horizon time-series forecasts on the shared backbone
(work in progress: registers nothing yet)."""

__version__ = "0.1.0"
