"""The one data path of the runner: arrays in memory and prepared TFRecord shards behind the
same ModelSplit interface (seqkit.data.pipeline, seqkit.data.stream), and the runner's stages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_RECIPE, TINY_REVIEWS, write_reviews

from seqkit.errors import SeqkitError
from seqkit.recipe import load_recipe


def _same_rows_twice(folder: Path):
    """One recipe reading train / validation / test files, and the same rows prepared as shards."""
    from seqkit.data.stream import prepare

    rows = TINY_REVIEWS * 2
    write_reviews(folder / "train.csv", rows[:20])
    write_reviews(folder / "val.csv", rows[20:28])
    write_reviews(folder / "test.csv", rows[28:])
    files = "train: train.csv\n  validation: val.csv\n  test: test.csv"
    arrays = folder / "arrays.yaml"
    arrays.write_text(
        TINY_RECIPE.format(epochs=2, runs=folder / "runs")
        .replace("path: reviews.csv", files)
        .replace("  split: {validation: 0.2, test: 0.2}\n", "")
    )
    prepare(load_recipe(arrays), folder / "prepared", shard_rows=6, echo=lambda _m: None)
    shards = folder / "shards.yaml"
    shards.write_text(
        arrays.read_text()
        .replace(files, "adapter: tfrecord\n  path: prepared")
        .replace("  text: review\n  label: sentiment\n", "")
    )
    return arrays, shards


def _model_data(recipe_path: Path):
    from seqkit.data import stream
    from seqkit.train.runner import resolve_parts

    parts = resolve_parts(load_recipe(recipe_path), echo=lambda _m: None)
    data = stream.training_data(parts.bundle, parts.head)
    preprocessor = data.fit_preprocessor(parts.adapter, parts.encoder)
    return parts, data.encode(preprocessor), preprocessor


def _rows(dataset) -> list[tuple]:
    return [tuple(row) for x, _y in dataset for row in np.asarray(x).tolist()]


def test_arrays_and_prepared_shards_give_the_model_the_same_data(tmp_path):
    from seqkit.data.pipeline import ModelSplit, TrainingData, steps_per_epoch
    from seqkit.data.stream import PreparedData
    from seqkit.train.runner import compile_new_model

    arrays, shards = _same_rows_twice(tmp_path)
    (_, in_memory, _), (parts, prepared, preprocessor) = _model_data(arrays), _model_data(shards)
    assert type(in_memory) is TrainingData and type(prepared) is PreparedData
    batch, seed = 4, 7
    for name in ("train", "validation", "test"):
        one, other = getattr(in_memory, name), getattr(prepared, name)
        assert isinstance(one, ModelSplit) and isinstance(other, ModelSplit)
        assert len(one) == len(other) == {"train": 20, "validation": 8, "test": 8}[name]
    for split in ("validation", "test"):
        # The same rows (shards interleave, so in another order), each input with its target
        # and its raw text; the same vocabulary (fitted on the same rows) encodes them alike.
        triples = []
        for data in (in_memory, prepared):
            part = getattr(data, split)
            encoded = (
                np.concatenate([np.asarray(x) for x in part.inputs(batch)]) if data is prepared else part.inputs(batch)
            )
            triples.append(sorted(zip(part.raw(), np.asarray(part.targets).tolist(), map(tuple, encoded.tolist()))))
        assert triples[0] == triples[1] and len(triples[0]) == 8

    # Training: the same steps per epoch, batches of the same shape, every row once an epoch.
    fit_arrays = in_memory.train.fit_arguments(batch, seed, 0, 2)
    fit_shards = prepared.train.fit_arguments(batch, seed, 0, 2)
    assert fit_arrays["steps_per_epoch"] == fit_shards["steps_per_epoch"] == steps_per_epoch(20, batch) == 5
    assert fit_arrays["shuffle"] is fit_shards["shuffle"] is False
    epochs_arrays, epochs_shards = _rows(fit_arrays["x"]), _rows(fit_shards["x"])
    assert len(epochs_arrays) == len(epochs_shards) == 40
    assert sorted(epochs_arrays[:20]) == sorted(epochs_shards[:20]) == sorted(epochs_arrays[20:])
    shapes = {tuple(np.shape(x)) for x, _y in fit_shards["x"]} | {tuple(np.shape(x)) for x, _y in fit_arrays["x"]}
    assert shapes == {(4, 8)}
    # A run resumed after epoch 1 sees the batches an uninterrupted one sees in epoch 2.
    for data in (in_memory, prepared):
        full = _rows(data.train.training_dataset(batch, seed, 0, 2))
        assert _rows(data.train.training_dataset(batch, seed, 1, 2)) == full[20:]

    # One model scores both the same way.
    model = compile_new_model(parts, preprocessor, 5)
    for split in ("validation", "test"):
        one, other = getattr(in_memory, split), getattr(prepared, split)
        by_raw = [dict(zip(part.raw(), model.predict(part.inputs(batch), verbose=0).tolist())) for part in (one, other)]
        assert by_raw[0].keys() == by_raw[1].keys()
        for raw, predicted in by_raw[0].items():
            np.testing.assert_allclose(predicted, by_raw[1][raw], rtol=1e-5)
        loss_arrays = model.evaluate(**one.evaluation_arguments(batch), verbose=0, return_dict=True)["loss"]
        loss_shards = model.evaluate(**other.evaluation_arguments(batch), verbose=0, return_dict=True)["loss"]
        assert loss_arrays == pytest.approx(loss_shards, rel=1e-5)
    val_x, val_y = in_memory.validation.validation_data(batch)
    assert len(val_x) == len(val_y) == 8

    # What prepared data cannot do, it says, naming the key.
    assert in_memory.refuses == {} and list(prepared.refuses) == ["train.class_weight"]
    with pytest.raises(SeqkitError, match="train.class_weight: not available with prepared data"):
        prepared.train.training_dataset(batch, seed, 0, 1, class_weight={0: 2.0})


def test_prepared_data_refuses_class_weight_before_training(tmp_path):
    import seqkit

    _arrays, shards = _same_rows_twice(tmp_path)
    with pytest.raises(
        SeqkitError, match=r"^train.class_weight: not available with prepared data \(data.adapter tfrecord\)"
    ):
        seqkit.run(shards, overrides=["train.class_weight=balanced"], quiet=True)
    run_dir = next((tmp_path / "runs" / "tiny").iterdir())
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "history.csv").exists()


def test_the_runner_runs_its_stages_in_order_and_writes_metrics_last(tiny_recipe, monkeypatch):
    import seqkit
    from seqkit.train.runner import Runner

    calls = []
    stages = ["setup_engine", "setup_data", "setup_model", "setup_callbacks", "fit", "export", "score"]
    for stage in stages:
        original = getattr(Runner, stage)

        def spy(self, _original=original, _stage=stage):
            calls.append((_stage, sorted(p.name for p in self.run_dir.path.iterdir())))
            return _original(self)

        monkeypatch.setattr(Runner, stage, spy)
    run = seqkit.run(tiny_recipe, quiet=True)
    assert [name for name, _files in calls] == stages
    files = dict(calls)
    assert "environment.json" not in files["setup_engine"] and "environment.json" in files["setup_data"]
    assert "data_info.json" in files["setup_model"] and "history.csv" not in files["fit"]
    assert "model.keras" not in files["export"] and "model.keras" in files["score"]
    assert "metrics.json" not in files["score"] and (run.path / "metrics.json").is_file()
