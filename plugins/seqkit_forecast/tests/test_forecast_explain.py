"""The forecast task's output of interest for seqkit explain: one forecast step."""

import numpy as np
import pytest

from seqkit.plugin_api import DataError
from seqkit_forecast.tasks import ForecastTask

INFO = {"horizon": 3, "lookback": 4, "targets": ["OT"], "channels": ["OT", "HUFL"], "head": {"kind": "point"}}


def test_a_forecast_step_is_explained_with_named_steps_and_features():
    chosen = ForecastTask().explain_target(np.zeros((3, 1)), INFO, target="2", model_input=np.zeros((4, 2)))
    assert chosen.label == "OT forecast, step 2 (scaled)"
    assert np.argwhere(chosen.weights).tolist() == [[1, 0]]
    assert chosen.steps == ["t-3", "t-2", "t-1", "t"] and chosen.features == ["OT", "HUFL"]
    quantile = {**INFO, "head": {"kind": "quantile", "quantiles": [0.1, 0.5, 0.9]}}
    assert np.argwhere(ForecastTask().explain_target(np.zeros((3, 1, 3)), quantile).weights).tolist() == [[0, 0, 1]]
    with pytest.raises(DataError, match="expected a forecast step from 1 to 3"):
        ForecastTask().explain_target(np.zeros((3, 1)), INFO, target="4")
