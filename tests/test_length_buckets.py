"""Length bucketing: batches of similar lengths cut to their longest example, in an order that
depends only on (seed, epoch), and a model that gives the same outputs on a cut batch."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import TINY_RECIPE, write_reviews

from seqkit.data.pipeline import (
    LengthBuckets,
    evaluation_dataset,
    padded_lengths,
    predict_in_buckets,
    training_dataset,
)


def _padded(lengths, steps: int) -> np.ndarray:
    """Rows of ids 1..length, then zeros; row i's ids start at 100 * i, so rows are told apart."""
    x = np.zeros((len(lengths), steps), dtype="int64")
    for i, n in enumerate(lengths):
        x[i, :n] = 100 * i + np.arange(1, n + 1)
    return x


def _epochs(dataset, batches_per_epoch: int) -> list[list[np.ndarray]]:
    batches = [tuple(np.asarray(t) for t in batch) for batch in dataset]
    return [batches[i : i + batches_per_epoch] for i in range(0, len(batches), batches_per_epoch)]


def test_padded_lengths_count_up_to_the_last_valid_step():
    valid = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]], dtype=bool)
    assert padded_lengths(valid).tolist() == [2, 3, 0, 4]
    with pytest.raises(ValueError, match=r"\(rows, steps\) mask"):
        padded_lengths(np.ones(3, dtype=bool))


def test_buckets_cut_batches_to_their_longest_example_and_keep_every_row():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 30, size=203)
    x, steps, batch = _padded(lengths, 40), 40, 16
    y = np.arange(len(x))  # the row number, to check each row keeps its target
    tags = x.copy()  # per-step targets, cut with the inputs
    buckets = LengthBuckets(lengths, window=4)
    epochs = _epochs(training_dataset(x, y, batch, 3, 0, 2, buckets=buckets), 13)
    assert [len(e) for e in epochs] == [13, 13]
    for epoch in epochs:
        rows = np.concatenate([b[1] for b in epoch])
        assert sorted(rows.tolist()) == list(range(203))  # a permutation: every row once
        assert [len(b[0]) for b in epoch] == [16] * 12 + [11]  # the smaller batch stays last
        for xb, yb in epoch:
            assert xb.shape[1] == lengths[yb].max() < steps
            np.testing.assert_array_equal(xb, x[yb, : xb.shape[1]])
    # Bucketing pays: far fewer padded steps than one shuffle padded to 40.
    cut = sum(b[0].size for e in epochs for b in e)
    assert cut < 0.6 * 2 * 203 * steps
    fixed, bucketed = buckets.padding_share(batch, steps, seed=3)
    assert fixed == pytest.approx(1 - lengths.sum() / (203 * steps)) and bucketed < fixed / 2

    # Per-step targets are cut too; sample weights ride along untouched.
    weights = np.linspace(0.5, 1.5, 203).astype("float32")
    trimmed = LengthBuckets(lengths, trim_targets=True, window=4)
    for xb, tb, wb in next(iter(_epochs(training_dataset(x, tags, batch, 3, 0, 1, weights, trimmed), 13))):
        np.testing.assert_array_equal(xb, tb)
        assert wb.shape == (len(xb),)


def test_bucketed_order_is_a_function_of_seed_and_epoch():
    lengths = np.random.default_rng(1).integers(1, 20, size=100)
    x, y = _padded(lengths, 24), np.arange(100)

    def orders(seed, first, last):
        dataset = training_dataset(x, y, 8, seed, first, last, buckets=LengthBuckets(lengths, window=3))
        return [b[1].tolist() for e in _epochs(dataset, 13) for b in e]

    two = orders(5, 0, 2)
    assert orders(5, 0, 2) == two  # deterministic
    assert orders(5, 1, 2) == two[13:]  # a run resumed after epoch 1 sees epoch 2's batches
    assert two[:13] != two[13:] and orders(6, 0, 1) != two[:13]  # epochs and seeds differ
    # Multiples round the cut up (fewer shapes to compile), never past the padded length.
    rounded = training_dataset(x, y, 8, 5, 0, 1, buckets=LengthBuckets(lengths, multiple=8, window=3))
    assert {np.asarray(xb).shape[1] for xb, _ in rounded} <= {8, 16, 24}


def _masked_model(per_step: bool):
    """Embedding (mask_zero) -> LSTM -> Dense: outputs per step or per sequence."""
    import keras

    keras.utils.set_random_seed(3)
    inputs = keras.Input((None,), dtype="int64")
    hidden = keras.layers.Embedding(2000, 8, mask_zero=True)(inputs)
    hidden = keras.layers.LSTM(6, return_sequences=per_step)(hidden)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden))
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("per_step", [False, True])
def test_predicting_in_buckets_gives_the_full_length_outputs_in_order(per_step):
    lengths = np.random.default_rng(1).integers(1, 18, size=45)
    x = _padded(lengths, 20) % 2000
    model = _masked_model(per_step)
    buckets = LengthBuckets(padded_lengths(x != 0), trim_targets=per_step)
    found = predict_in_buckets(model, x, 8, buckets)
    expected = model.predict(x, batch_size=8, verbose=0)
    assert found.shape == expected.shape
    if not per_step:
        np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-6)
        return
    valid = np.arange(20)[None, :] < lengths[:, None]
    np.testing.assert_allclose(found[valid], expected[valid], rtol=1e-5, atol=1e-6)
    assert not found[~valid].any()  # past each example's length: zeros


def test_evaluation_batches_are_cut_and_score_as_fixed_length_batches():
    lengths = np.random.default_rng(2).integers(1, 18, size=45)
    x = _padded(lengths, 20) % 2000
    y = np.arange(45) % 3
    model = _masked_model(False)
    buckets = LengthBuckets(padded_lengths(x != 0))
    batches = [tuple(np.asarray(t) for t in batch) for batch in evaluation_dataset(x, y, 8, buckets)]
    assert sum(len(b[1]) for b in batches) == 45
    assert all(b[0].shape[1] == int(padded_lengths(b[0] != 0).max()) for b in batches)  # each cut to its longest
    assert max(b[0].shape[1] for b in batches) == int(lengths.max()) and batches[0][0].shape[1] < 5
    cut = model.evaluate(evaluation_dataset(x, y, 8, buckets), verbose=0, return_dict=True)
    full = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    assert cut["accuracy"] == pytest.approx(full["accuracy"])
    assert cut["loss"] == pytest.approx(full["loss"], rel=1e-5)


def _tiny(tmp_path, overrides=()) -> object:
    from seqkit.testing import run_tiny_recipe

    tmp_path.mkdir(exist_ok=True)
    write_reviews(tmp_path / "reviews.csv")
    text = TINY_RECIPE.format(epochs=2, runs=tmp_path / "runs").replace("sequence_length: 8", "sequence_length: 12")
    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    return run_tiny_recipe(path, tmp_path, list(overrides))


def test_a_run_reports_its_buckets_and_its_model_ignores_the_cut_padding(tmp_path):
    import keras

    run = _tiny(tmp_path)
    info = json.loads((run.path / "data_info.json").read_text())["length_buckets"]
    assert info["padding_fixed"] > 0.3 and info["padding_bucketed"] < info["padding_fixed"]
    # The saved model still takes raw text of any length (padded to sequence_length inside it).
    long = " ".join(["great"] * 40)
    assert len(run.predict(["great product", long])) == 2
    # The trainable model (after the vectorizer) gives the same outputs on a batch cut to its
    # longest text as on the batch padded to sequence_length: the mask hides the padding.
    vectorizer = run.model.get_layer("text_vectorization")
    trained = next(layer for layer in run.model.layers if isinstance(layer, keras.Model))
    ids = keras.ops.convert_to_numpy(vectorizer(np.array(["great product", "bad", "okay sound nothing special"])))
    longest = int(padded_lengths(ids != 0).max())
    assert longest < ids.shape[1]
    np.testing.assert_allclose(
        trained.predict(ids[:, :longest], verbose=0), trained.predict(ids, verbose=0), rtol=1e-5, atol=1e-6
    )

    off = _tiny(tmp_path / "off", ["train.bucket_by_length=false"])
    assert "length_buckets" not in json.loads((off.path / "data_info.json").read_text())
