"""Per-weight learning-rate factors (seqkit.train.optim): the scaled optimizers update each
weight at its factor times the rate, and a compiled model saved with one reloads safely."""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest

from seqkit.train.optim import SCALED, build_optimizer


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((3,))
    x = keras.layers.Dense(4, name="low")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, name="top")(x))


def _one_step(optimizer, seed=0):
    model = _model(seed)
    model.compile(optimizer=optimizer, loss="mse")
    before = {w.path: np.asarray(w) for w in model.weights}
    x = np.random.default_rng(1).standard_normal((8, 3)).astype("float32")
    model.train_on_batch(x, np.ones((8, 1), "float32"))
    return {w.path: np.asarray(w) - before[w.path] for w in model.weights}


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_each_weight_moves_by_its_factor_times_the_plain_step(name):
    train = {"optimizer": {"name": name, "learning_rate": 0.1}}
    plain = _one_step(build_optimizer(train, 1))
    factors = {"low/kernel": 0.25, "low/bias": 0.5}
    scaled = _one_step(build_optimizer(train, 1, factors))
    for path, step in plain.items():
        assert np.abs(step).max() > 0, path
        np.testing.assert_allclose(scaled[path], step * factors.get(path, 1.0), rtol=1e-4, atol=1e-7)


def test_factors_of_one_leave_the_plain_optimizer():
    optimizer = build_optimizer({"optimizer": {"name": "adamw"}}, 1, {"low/kernel": 1.0})
    assert type(optimizer) is keras.optimizers.AdamW
    assert isinstance(build_optimizer({}, 1, {"low/kernel": 0.5}), keras.optimizers.Adam)


def test_a_model_compiled_with_factors_reloads_safely_and_keeps_them(tmp_path):
    model = _model()
    model.compile(
        optimizer=SCALED["adam"](learning_rate=0.01, learning_rate_multipliers={"low/kernel": 0.3}), loss="mse"
    )
    model.train_on_batch(np.ones((2, 3), "float32"), np.ones((2, 1), "float32"))
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert type(again.optimizer).__name__ == "ScaledAdam"
    assert again.optimizer.learning_rate_multipliers == {"low/kernel": 0.3}
    assert int(again.optimizer.iterations) == 1


def test_a_checkpoint_compiled_with_factors_resumes_in_a_fresh_process(tmp_path):
    model = _model()
    model.compile(optimizer=SCALED["sgd"](learning_rate=0.1, learning_rate_multipliers={"top/bias": 0.5}), loss="mse")
    model.train_on_batch(np.ones((2, 3), "float32"), np.ones((2, 1), "float32"))
    model.save(tmp_path / "checkpoint.keras")
    code = (
        "from seqkit.export.saving import load_training_model\n"
        f"m = load_training_model({str(tmp_path / 'checkpoint.keras')!r})\n"
        "print(type(m.optimizer).__name__, m.optimizer.learning_rate_multipliers, int(m.optimizer.iterations))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "ScaledSGD {'top/bias': 0.5} 1"
