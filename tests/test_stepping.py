"""seqkit.models.stepping.StepModel: one step at a time, with carried LSTM states, gives what
the whole model gives on the prefix; bidirectional and non-chain models are refused."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from seqkit.models.backbone import StackedLSTM
from seqkit.models.encoders import TokenEmbedding
from seqkit.plugin_api import StepModel


def token_model(return_sequences=True, mask_padding=False, **backbone):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((None,), dtype="int32")
    x = TokenEmbedding(vocabulary_size=12, dim=6, mask_padding=mask_padding)(inputs)
    x = StackedLSTM(return_sequences=return_sequences, **backbone)(x)
    outputs = keras.layers.Dense(12, activation="softmax")(x)
    return keras.Model(inputs, outputs)


TOKENS = np.random.default_rng(0).integers(2, 12, (3, 9)).astype("int32")


@pytest.mark.parametrize(
    "backbone",
    [
        {"units": 8, "layers": 2, "layer_norm": True, "residual": True, "dropout": 0.2},
        {"units": [5, 7], "layers": 2},
    ],
    ids=["norm-residual-dropout", "units-per-layer"],
)
def test_prime_then_steps_equal_the_model_on_each_prefix(backbone):
    model = token_model(**backbone)
    full = np.asarray(model.predict_on_batch(TOKENS))
    steps = StepModel(model)
    out, states = steps.prime(TOKENS[:, :4])
    np.testing.assert_allclose(np.asarray(out), full[:, 3], atol=1e-6)
    assert [tuple(h.shape) for h, _ in states] == [(3, u) for u in steps.backbone.state_sizes]
    for t in range(4, TOKENS.shape[1]):
        out, states = steps.step(TOKENS[:, t], states)
        np.testing.assert_allclose(np.asarray(out), full[:, t], atol=1e-6)


def test_steps_from_zero_states_and_a_last_state_model():
    model = token_model(return_sequences=False, units=8)
    steps = StepModel(model)
    states = steps.initial_states(3)
    for t in range(5):
        out, states = steps.step(TOKENS[:, t], states)
    np.testing.assert_allclose(np.asarray(out), np.asarray(model.predict_on_batch(TOKENS[:, :5])), atol=1e-6)


def test_rows_continue_other_rows_states():
    model = token_model(units=8)
    steps = StepModel(model)
    _, states = steps.prime(TOKENS[:, :4])
    out, _ = steps.step(np.array([5, 5], "int32"), states, rows=[2, 0])
    expected = model.predict_on_batch(np.concatenate([TOKENS[[2, 0], :4], [[5], [5]]], axis=1))[:, -1]
    np.testing.assert_allclose(np.asarray(out), expected, atol=1e-6)


def test_padding_keeps_the_states_as_the_masked_model_does():
    model = token_model(units=8, mask_padding=True)
    padded = TOKENS.copy()
    padded[:, 3] = 0  # a masked step in the middle
    full = np.asarray(model.predict_on_batch(padded))
    steps = StepModel(model)
    out, states = steps.prime(padded[:, :5])
    np.testing.assert_allclose(np.asarray(out), full[:, 4], atol=1e-6)
    out, _ = steps.step(padded[:, 5], states)
    np.testing.assert_allclose(np.asarray(out), full[:, 5], atol=1e-6)


def test_a_bidirectional_backbone_is_refused():
    inputs = keras.Input((None, 4))
    model = keras.Model(inputs, StackedLSTM(units=4, bidirectional=True, return_sequences=True)(inputs))
    with pytest.raises(ValueError, match="needs a unidirectional one.*Received: bidirectional=True"):
        StepModel(model)


def test_a_model_that_is_not_a_chain_is_refused():
    inputs = keras.Input((None, 4))
    x = StackedLSTM(units=4, return_sequences=True)(inputs)
    model = keras.Model(inputs, keras.layers.Concatenate()([x, inputs]))  # the head reads the inputs too
    with pytest.raises(ValueError, match="each reading only the one before it"):
        StepModel(model)
    plain = keras.Model(inputs, keras.layers.LSTM(4)(inputs))
    with pytest.raises(ValueError, match="one seqkit StackedLSTM backbone"):
        StepModel(plain)
