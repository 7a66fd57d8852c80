"""End-to-end runs on tiny data: run directory, reproducibility, resume, NaN, reload."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

import seqkit
from seqkit.errors import TrainingError
from seqkit.train import callbacks as train_callbacks
from seqkit.train.rundir import RunDirectory


def _single_run_dir(tmp_path):
    runs = sorted((tmp_path / "runs" / "tiny").iterdir())
    assert len(runs) == 1
    return runs[0]


def test_run_writes_a_complete_run_directory(tiny_recipe, tmp_path, capsys):
    run = seqkit.run(tiny_recipe, overrides=["predict.examples=['love it, excellent', 'terrible, broke']"])
    path = run.path
    assert path == _single_run_dir(tmp_path)
    for name in (
        "recipe.yaml",
        "environment.json",
        "metrics.json",
        "history.csv",
        "model.keras",
        "predictions.csv",
        "status.json",
        "data_info.json",
        "plots/learning_curves.png",
        "plots/confusion_matrix.png",
        "checkpoints/epoch-0002/model.keras",
        "checkpoints/epoch-0002/state.json",
        "checkpoints/epoch-0002/manifest.json",
        "checkpoints/latest.json",
    ):
        assert (path / name).is_file(), name
    status = json.loads((path / "status.json").read_text())
    assert status["status"] == "completed"
    # Where the run's time went, stage by stage.
    assert list(status["seconds"]) == ["engine", "data", "model", "fit", "export", "score"]
    assert all(v >= 0 for v in status["seconds"].values()) and status["seconds"]["fit"] > 0
    env = json.loads((path / "environment.json").read_text())
    assert env["seed"] == 7 and env["keras"] and env["plugins"]["text"]
    metrics = run.metrics
    test = metrics["test"]
    assert 0.0 <= test["accuracy"] <= 1.0 and 0.0 <= test["macro_f1"] <= 1.0
    assert sum(sum(row) for row in test["confusion_matrix"]["matrix"]) == test["n"] == 6
    with (path / "history.csv").open() as handle:
        history = list(csv.DictReader(handle))
    assert [row["epoch"] for row in history] == ["1", "2"]
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(history[0])
    with (path / "predictions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and set(rows[0]) >= {"input", "target", "label", "probability", "p_negative"}
    out = capsys.readouterr().out
    assert "love it, excellent" in out and "p=" in out
    # The resolved recipe in the run directory is itself a valid recipe.
    assert seqkit.load_recipe(path / "recipe.yaml").get("model.backbone.units") == 8


def test_same_seed_same_metrics(tiny_recipe):
    first = seqkit.run(tiny_recipe, quiet=True).metrics
    second = seqkit.run(tiny_recipe, quiet=True).metrics
    assert first["test"] == second["test"]
    assert first["validation"] == second["validation"]


def test_learns_the_tiny_task(tiny_recipe):
    run = seqkit.run(tiny_recipe, overrides=["train.epochs=25", "data.split.test=0.3"], quiet=True)
    assert run.metrics["test"]["accuracy"] >= 0.6  # chance is 0.33
    rows = run.predict(["excellent quality, love it", "awful, broke, waste of money"])
    assert [r["label"] for r in rows] == ["positive", "negative"]


def test_saved_model_reloads_in_fresh_process_with_identical_predictions(tiny_recipe):
    run = seqkit.run(tiny_recipe, quiet=True)
    texts = ["great product", "it broke", "okay i guess"]
    here = run.model.predict(np.array(texts, dtype=object), verbose=0).tolist()
    code = (
        "import json, sys, numpy as np, keras\n"
        "from seqkit.export.saving import load_model\n"
        f"m = load_model({str(run.path / 'model.keras')!r})\n"
        f"p = m.predict(np.array({texts!r}, dtype=object), verbose=0)\n"
        "print(json.dumps(p.tolist()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    there = json.loads(out.strip().splitlines()[-1])
    np.testing.assert_array_equal(there, here)


def interrupt_after_epoch(monkeypatch, epoch_number: int):
    """Make training raise KeyboardInterrupt right after epoch `epoch_number` is saved;
    returns a function that undoes it."""
    original = train_callbacks.RunState.on_epoch_end

    def interrupt(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch + 1 == epoch_number:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_callbacks.RunState, "on_epoch_end", interrupt)
    return lambda: monkeypatch.setattr(train_callbacks.RunState, "on_epoch_end", original)


def test_interrupted_run_resumes_and_finishes(tiny_recipe, tmp_path, monkeypatch):
    restore = interrupt_after_epoch(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        seqkit.run(tiny_recipe, overrides=["train.epochs=3"], quiet=True)
    path = _single_run_dir(tmp_path)
    status = json.loads((path / "status.json").read_text())
    assert status["status"] == "interrupted" and "--resume" in status["error"]
    assert not (path / "metrics.json").exists()
    with pytest.raises(seqkit.errors.RunError, match="run is interrupted, not completed"):
        seqkit.load_run(path)

    restore()
    from seqkit import api
    from seqkit.train.rundir import RunDirectory

    # While another process still works in the run directory (it holds the run's lock),
    # resuming is refused instead of two processes writing one run.
    with RunDirectory(path).lock():
        with pytest.raises(seqkit.errors.RunError, match=r"in use by another seqkit process \(pid \d+\)"):
            api.resume(path, quiet=True)
    assert json.loads((path / "status.json").read_text())["status"] == "interrupted"
    resumed = api.resume(path, quiet=True)
    assert resumed.status == "completed"
    with (path / "history.csv").open() as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == ["1", "2", "3"]
    assert resumed.metrics["epochs_trained"] == 3
    with pytest.raises(seqkit.errors.RunError, match="already completed"):
        api.resume(path, quiet=True)


def test_resume_matches_uninterrupted_run(tiny_recipe, tmp_path, monkeypatch):
    """Interrupted after epoch 2 of 4 and resumed, a deterministic run ends with exactly the
    metrics and history of a straight run: data order depends only on (seed, epoch), and
    the checkpoint holds the optimizer and dropout RNG states."""
    overrides = ["train.epochs=4", "model.backbone.dropout=0.2", "model.encoder.dropout=0.1"]
    straight = seqkit.run(tiny_recipe, overrides=overrides, quiet=True)
    restore = interrupt_after_epoch(monkeypatch, 2)
    recipe = seqkit.load_recipe(tiny_recipe, overrides + [f"output.dir={tmp_path / 'other'}"])
    with pytest.raises(KeyboardInterrupt):
        seqkit.run(recipe, quiet=True)
    restore()
    path = next((tmp_path / "other" / "tiny").iterdir())
    from seqkit import api

    resumed = api.resume(path, quiet=True)
    assert resumed.metrics["epochs_trained"] == 4
    assert resumed.metrics["test"] == straight.metrics["test"]
    assert (path / "history.csv").read_text() == (straight.path / "history.csv").read_text()


def test_nan_loss_stops_with_epoch_and_step_and_keeps_checkpoint(tiny_recipe, tmp_path, monkeypatch):
    # Report a non-finite loss at epoch 2, step 2, as an exploding gradient would.
    original = train_callbacks.NanGuard.on_train_batch_end

    def poison(self, batch, logs=None):
        if self.epoch == 1 and batch == 1:
            logs = {**(logs or {}), "loss": float("nan")}
        original(self, batch, logs)

    monkeypatch.setattr(train_callbacks.NanGuard, "on_train_batch_end", poison)
    with pytest.raises(TrainingError) as info:
        seqkit.run(tiny_recipe, overrides=["train.epochs=3"], quiet=True)
    message = str(info.value)
    assert "loss became nan at epoch 2, step 2" in message
    assert "last good checkpoint (epoch 1)" in message and "learning_rate" in message
    path = _single_run_dir(tmp_path)
    assert json.loads((path / "status.json").read_text())["status"] == "failed"
    assert (path / "checkpoints" / "epoch-0001" / "model.keras").is_file()
    assert json.loads((path / "checkpoints" / "epoch-0001" / "state.json").read_text())["epochs_done"] == 1
    assert not (path / "checkpoints" / "epoch-0002").exists()


def test_concurrent_runs_get_distinct_directories(tmp_path):
    made = {RunDirectory.create(tmp_path, "same").path for _ in range(20)}
    assert len(made) == 20


def test_schedules_class_weights_and_l2_train(tiny_recipe):
    run = seqkit.run(
        tiny_recipe,
        overrides=[
            "train.lr_schedule={type: cosine, warmup_epochs: 1}",
            "train.class_weight=balanced",
            "train.l2=1e-4",
            "train.optimizer={name: adamw, learning_rate: 0.01, clipnorm: 1.0, weight_decay: 0.001}",
            "train.early_stopping={monitor: val_accuracy, patience: 1}",
            "model.backbone={layers: 2, units: [8, 8], bidirectional: true, residual: true, layer_norm: true, dropout: 0.1}",
            "model.head={type: classifier, pooling: mean, hidden_units: [4]}",
        ],
        quiet=True,
    )
    history = run.metrics
    assert history["monitor"] == "val_accuracy"
    with (run.path / "history.csv").open() as handle:
        rates = [float(row["learning_rate"]) for row in csv.DictReader(handle)]
    assert rates[0] != rates[-1]  # the cosine schedule moved the learning rate


def test_class_weight_unknown_class(tiny_recipe):
    with pytest.raises(
        seqkit.errors.RecipeError, match="train.class_weight.postive: unknown class.*Did you mean 'positive'"
    ):
        seqkit.run(tiny_recipe, overrides=["train.class_weight={postive: 2.0}"], quiet=True)


def test_steps_per_execution_above_one_is_refused_on_the_pytorch_backend(monkeypatch):
    import keras

    from seqkit.errors import RecipeError
    from seqkit.train.runner import steps_per_execution

    assert steps_per_execution({"steps_per_execution": 4}) == 4  # TensorFlow (and JAX) take it
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    assert steps_per_execution({}) == 1
    with pytest.raises(RecipeError, match="train.steps_per_execution: 4: the PyTorch backend"):
        steps_per_execution({"steps_per_execution": 4})


def test_a_class_without_training_examples_is_noted(tiny_recipe, capsys):
    from seqkit.data import DataBundle, Split
    from seqkit.train.runner import classes_without_training_examples, load_data

    recipe = seqkit.load_recipe(tiny_recipe, ["data.labels=[negative, neutral, positive, mixed]"])
    load_data(recipe)
    assert "seqkit: note: no training example of class 'mixed'" in capsys.readouterr().out
    multilabel = DataBundle(
        Split(None, np.array([[1, 0, 0], [1, 0, 1]])), None, None, {"classes": ["a", "b", "c"], "multilabel": True}
    )
    assert classes_without_training_examples(multilabel) == ["b"]
    load_data(seqkit.load_recipe(tiny_recipe))
    assert "no training example" not in capsys.readouterr().out
