"""Layer tests in the style of Keras's run_layer_test: output shape, weight count,
get_config -> from_config round trip (same outputs with the same weights), masks."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from seqkit.models.backbone import StackedLSTM
from seqkit.models.encoders import NumericProjection, TokenEmbedding
from seqkit.models.heads import ClassifierHead, RegressorHead
from seqkit.testing import run_layer_test

X = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")


@pytest.mark.parametrize(
    "kwargs, shape, weights",
    [
        ({"units": 4}, (2, 4), 3),
        ({"units": 4, "layers": 2}, (2, 4), 6),
        ({"units": [6, 4]}, (2, 4), 6),
        ({"units": 4, "bidirectional": True}, (2, 8), 6),
        ({"units": 4, "bidirectional": True, "merge_mode": "sum"}, (2, 4), 6),
        ({"units": 4, "layers": 2, "layer_norm": True, "dropout": 0.1}, (2, 4), 10),
        ({"units": 3, "layers": 2, "residual": True, "return_sequences": True}, (2, 5, 3), 6),
        ({"units": 4, "recurrent_dropout": 0.2, "return_sequences": True}, (2, 5, 4), 3),
    ],
)
def test_stacked_lstm(kwargs, shape, weights):
    run_layer_test(StackedLSTM, kwargs, X, shape, weights)


def test_stacked_lstm_argument_errors():
    with pytest.raises(ValueError, match="Expected a positive integer. Received: units=0"):
        StackedLSTM(units=0)
    with pytest.raises(ValueError, match="Expected a float in \\[0, 1\\). Received: dropout=1.5"):
        StackedLSTM(units=2, dropout=1.5)
    with pytest.raises(ValueError, match="Expected one entry per layer"):
        StackedLSTM(units=[4, 4], layers=3)


def test_backbone_equals_keras_lstm_with_same_weights():
    reference = keras.layers.LSTM(4)
    expected = reference(X)
    backbone = StackedLSTM(units=4)
    backbone(X)
    backbone.set_weights(reference.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(backbone(X)), keras.ops.convert_to_numpy(expected), rtol=1e-5, atol=1e-6
    )


def test_final_state_ignores_padding():
    backbone = StackedLSTM(units=4, layers=2, bidirectional=True)
    short = X[:, :3]
    padded = np.concatenate([short, np.zeros((2, 2, 3), "float32")], axis=1)
    mask = np.array([[True] * 3 + [False] * 2] * 2)
    unpadded_out = backbone(short)
    masked_out = backbone(padded, mask=mask)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(masked_out), keras.ops.convert_to_numpy(unpadded_out), rtol=1e-5, atol=1e-6
    )
    assert backbone.compute_mask(padded, mask) is None
    assert StackedLSTM(units=2, return_sequences=True).compute_mask(padded, mask) is mask


def test_residual_adds_input():
    layer = StackedLSTM(units=3, residual=True, return_sequences=True)
    no_residual = StackedLSTM(units=3, return_sequences=True)
    out = layer(X)
    no_residual(X)
    no_residual.set_weights(layer.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(out), keras.ops.convert_to_numpy(no_residual(X)) + X, rtol=1e-5, atol=1e-6
    )


def test_token_embedding():
    ids = np.array([[3, 4, 0, 0], [1, 2, 5, 0]])
    layer = run_layer_test(TokenEmbedding, {"vocabulary_size": 10, "dim": 6, "dropout": 0.1}, ids, (2, 4, 6), 1)
    mask = keras.ops.convert_to_numpy(layer.compute_mask(ids))
    assert mask.tolist() == [[True, True, False, False], [True, True, True, False]]
    assert TokenEmbedding(vocabulary_size=10, dim=6, mask_padding=False).compute_mask(ids) is None
    frozen = TokenEmbedding(vocabulary_size=10, dim=6, trainable_embeddings=False)
    frozen(ids)
    assert frozen.trainable_weights == []


def test_numeric_projection():
    layer = run_layer_test(NumericProjection, {"dim": 4}, X, (2, 5, 4), 2)
    padded = X.copy()
    padded[0, 3:] = 0.0
    assert keras.ops.convert_to_numpy(layer.compute_mask(padded))[0].tolist() == [True, True, True, False, False]
    run_layer_test(NumericProjection, {}, X, (2, 5, 3), 0)


@pytest.mark.parametrize(
    "kwargs, units",
    [({"num_classes": 2}, 1), ({"num_classes": 3}, 3), ({"num_classes": 4, "multilabel": True}, 4)],
)
def test_classifier_head(kwargs, units):
    features = X[:, 0]
    layer = run_layer_test(ClassifierHead, {**kwargs, "hidden_units": [5], "dropout": 0.1}, features, (2, units), 4)
    out = keras.ops.convert_to_numpy(layer(features))
    assert ((out >= 0) & (out <= 1)).all()
    if units == 3:
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_classifier_head_pools_over_unmasked_steps():
    head = ClassifierHead(num_classes=3, pooling="max")
    padded = np.concatenate([X[:, :3], np.full((2, 2, 3), 100.0, "float32")], axis=1)
    mask = np.array([[True] * 3 + [False] * 2] * 2)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(head(padded, mask=mask)), keras.ops.convert_to_numpy(head(X[:, :3])), rtol=1e-5
    )


def test_regressor_head():
    run_layer_test(RegressorHead, {"outputs": 2}, X[:, 0], (2, 2), 2)
    run_layer_test(RegressorHead, {"outputs": 1, "pooling": "mean"}, X, (2, 1), 2)
    with pytest.raises(ValueError, match="Expected an integer >= 2. Received: num_classes=1"):
        ClassifierHead(num_classes=1)


def test_regressor_spec_has_one_output_per_target():
    # An adapter names its targets in info["targets"] (docs/plugins.md); a regressor built
    # for two targets must output two values, not one broadcast against both.
    from seqkit.builtin import RegressorSpec

    head = RegressorSpec({"pooling": "last"}, {"features": 1, "targets": ["mean", "max"]}).build()
    assert tuple(head(X[:, 0]).shape) == (2, 2)
    assert tuple(RegressorSpec({}, {"features": 1}).build()(X[:, 0]).shape) == (2, 1)


def test_max_pooling_of_a_sequence_with_no_real_step_is_zeros():
    # An empty text is all padding: max pooling over no step gave -1e9 per feature and a
    # probability of 1.000 for one class.
    head = ClassifierHead(num_classes=3, pooling="max")
    mask = np.array([[True] * 5, [False] * 5])
    out = keras.ops.convert_to_numpy(head(X, mask=mask))
    empty = keras.ops.convert_to_numpy(head(np.zeros((1, 1, X.shape[-1]), "float32")))
    np.testing.assert_allclose(out[1], empty[0], rtol=1e-5)
    assert out[1].max() < 0.99
