"""Encoder and head specs of the forecasting plugin (light: Keras is imported in ``build``)."""

from __future__ import annotations

from seqkit.plugin_api import EncoderSpec, HeadSpec
from seqkit_forecast.outputs import DEFAULT_QUANTILES

RATE = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}
QUANTILES = {
    "type": "array",
    "items": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    "minItems": 2,
    "default": DEFAULT_QUANTILES,
    "description": "Quantiles forecast (quantile head) or reported (gaussian head); the widest pair gives the interval.",
}


class ForecastWindowSpec(EncoderSpec):
    keras_module = "seqkit_forecast.layers"
    name = "forecast_window"
    description = "forecast windows -> lookback part levelled by its last (or mean) value (data.window_norm)"
    schema = {
        "properties": {
            "dim": {
                "type": "integer",
                "minimum": 0,
                "maximum": 65536,
                "default": 0,
                "description": "Linear projection size; 0 keeps the channels.",
            }
        }
    }

    def raw_input_spec(self):
        return {"shape": (self.info["steps"], self.info["features"]), "dtype": "float32"}

    def build(self, preprocessor, regularizer=None):
        from seqkit_forecast.layers import WindowEncoder

        return WindowEncoder(
            lookback=self.info["lookback"],
            normalized=self.info["normalized_channels"],
            norm=self.info.get("norm", "last"),
            dim=self.config.get("dim", 0),
            name="window_encoder",
        )


class _ForecastHeadSpec(HeadSpec):
    keras_module = "seqkit_forecast.layers"
    needs_inputs = True
    kind = "point"
    schema = {
        "properties": {
            "hidden_units": {
                "type": "integer",
                "minimum": 1,
                "maximum": 65536,
                "default": 32,
                "description": "Width of the per-step network over known-future covariates.",
            },
            "dropout": {**RATE, "default": 0.0, "description": "On the backbone state."},
            "highway": {
                "type": "integer",
                "minimum": 0,
                "maximum": 100000,
                "default": 0,
                "description": "LSTNet-style linear autoregressive component over the last N lookback steps (0: none).",
            },
        }
    }

    def __init__(self, config, info):
        super().__init__(config, info)
        # Decoding, backtests and `seqkit forecast` read the head's kind from the run's data info.
        info["head"] = {"kind": self.kind, "quantiles": self._quantiles()}

    @classmethod
    def check_recipe(cls, recipe):
        # The head adds the window's last observed value back and reads the known-future
        # covariates from the window: it needs the forecast_window encoder's inputs.
        problems = []
        encoder = recipe.get("model.encoder.type")
        if isinstance(encoder, str) and encoder != "forecast_window":
            problems.append(
                (
                    "model.encoder.type",
                    f"the forecast heads read forecast windows: expected 'forecast_window'. Received: {encoder!r}",
                )
            )
        highway, lookback = recipe.get("model.head.highway", 0), recipe.get("data.lookback")
        if isinstance(highway, int) and isinstance(lookback, int) and highway > lookback:
            problems.append(("model.head.highway", f"expected at most data.lookback ({lookback}). Received: {highway}"))
        return problems

    def _quantiles(self):
        return sorted(float(q) for q in self.config.get("quantiles", DEFAULT_QUANTILES)) if self.kind != "point" else []

    @classmethod
    def check(cls, config):
        qs = config.get("quantiles")
        if qs is not None and len(set(qs)) != len(qs):
            return [("quantiles", f"expected distinct quantiles. Received: {qs}")]
        return []

    def build(self, regularizer=None):
        from seqkit_forecast.layers import ForecastHead

        return ForecastHead(
            kind=self.kind,
            horizon=self.info["horizon"],
            lookback=self.info["lookback"],
            targets=self.info["target_channels"],
            future=self.info["future_channels"],
            quantiles=self._quantiles() if self.kind == "quantile" else [],
            norm=self.info.get("norm", "last"),
            hidden_units=self.config.get("hidden_units", 32),
            dropout=self.config.get("dropout", 0.0),
            highway=self.config.get("highway", 0),
            kernel_regularizer=regularizer,
            name="forecast",
        )

    def metrics(self):
        from seqkit_forecast.layers import PointMAE

        qs = self._quantiles()
        median = min(range(len(qs)), key=lambda i: abs(qs[i] - 0.5)) if qs else 0
        return [PointMAE(kind=self.kind, median_index=median, name="point_mae")]


class PointHeadSpec(_ForecastHeadSpec):
    kind = "point"
    name = "point"
    description = "direct multi-horizon point forecast (MSE, MAE or Huber loss)"
    schema = {
        "properties": {
            **_ForecastHeadSpec.schema["properties"],
            "loss": {
                "enum": ["mse", "mae", "huber"],
                "default": "mse",
                "description": "Training loss on the scaled targets.",
            },
        }
    }

    def loss(self):
        return {"mse": "mean_squared_error", "mae": "mean_absolute_error", "huber": "huber"}[
            self.config.get("loss", "mse")
        ]


class QuantileHeadSpec(_ForecastHeadSpec):
    kind = "quantile"
    name = "quantile"
    description = "direct multi-horizon quantile forecast (pinball loss); intervals from the outer quantiles"
    schema = {"properties": {**_ForecastHeadSpec.schema["properties"], "quantiles": QUANTILES}}

    @classmethod
    def check(cls, config):
        problems = super().check(config)
        qs = config.get("quantiles")
        if isinstance(qs, list) and qs and 0.5 not in qs:
            # As in Darts' QuantileRegression: without the median the "point" would be another quantile.
            problems.append(
                ("quantiles", f"the quantile head's point forecast is its median: include 0.5. Received: {qs}")
            )
        return problems

    def loss(self):
        from seqkit_forecast.layers import PinballLoss

        return PinballLoss(self._quantiles())


class GaussianHeadSpec(_ForecastHeadSpec):
    kind = "gaussian"
    name = "gaussian"
    description = "direct multi-horizon Gaussian forecast: mean and scale (negative log-likelihood)"
    schema = {"properties": {**_ForecastHeadSpec.schema["properties"], "quantiles": QUANTILES}}

    def loss(self):
        from seqkit_forecast.layers import GaussianNLL

        return GaussianNLL()
