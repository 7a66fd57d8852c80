"""Hyperparameter search: spaces in recipes, every tuner, results, best recipe and model,
resume without repeated trials, and distributed chief / workers on 127.0.0.1."""

from __future__ import annotations

import csv
import json
import os
import re
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import TINY_RECIPE, TINY_REVIEWS, write_reviews

from seqkit.errors import RecipeError
from seqkit.recipe import load_recipe

SPACE = """\
tune:
  tuner: {tuner}
  objective: val_accuracy
  max_trials: {trials}
  max_epochs: 2
  space:
    model.backbone.units: {{choice: [4, 8]}}
    model.backbone.layers: {{int: [1, 2]}}
    model.backbone.recurrent_dropout: {{float: [0.0, 0.2], step: 0.1, when: {{model.backbone.layers: [2]}}}}
    train.optimizer.learning_rate: {{float: [0.001, 0.1], sampling: log}}
"""


def tune_recipe(folder, tuner="random", trials=3, epochs=2, rows=None):
    write_reviews(folder / "reviews.csv", rows)
    path = folder / "tune.yaml"
    text = TINY_RECIPE.format(epochs=epochs, runs=folder / "runs") + SPACE.format(tuner=tuner, trials=trials)
    if tuner == "grid":
        text = text.replace("{float: [0.001, 0.1], sampling: log}", "{choice: [0.01, 0.05]}")
    path.write_text(text)
    return path


def test_space_errors_name_the_key_and_the_value(tmp_path):
    path = tune_recipe(tmp_path)
    text = path.read_text()
    bad = text.replace("model.backbone.units: {choice: [4, 8]}", "model.backbone.unitz: {choice: [4, 8]}")
    bad = bad.replace("sampling: log}", "sampling: log}\n    model.backbone.dropout: {float: [0.5, 0.1]}")
    path.write_text(bad)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    problems = "\n".join(info.value.problems)
    assert "tune.space.model.backbone.dropout: float range must be [low, high]. Received: [0.5, 0.1]" in problems
    path.write_text(bad.replace("\n    model.backbone.dropout: {float: [0.5, 0.1]}", ""))
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert (
        "tune.space.model.backbone.unitz: with model.backbone.unitz=4: model.backbone.unitz: unknown key. Did you mean 'units'?"
        in str(info.value)
    )
    path.write_text(text.replace("when: {model.backbone.layers: [2]}", "when: {model.backbone.lauers: [2]}"))
    with pytest.raises(RecipeError, match="when: 'model.backbone.lauers' is not a key of tune.space"):
        load_recipe(path)
    path.write_text(text.replace("{choice: [4, 8]}", "{choice: [4, 'eight']}"))
    with pytest.raises(RecipeError, match="choice values must be numbers, strings or booleans, all of one type"):
        load_recipe(path)
    # Grid search without a step on a float range: caught by validation (seqkit validate),
    # not after a tune directory is made.
    path.write_text(text)
    with pytest.raises(
        RecipeError, match=r"tune.yaml:\d+: tune.space.train.optimizer.learning_rate: grid search needs a step"
    ):
        load_recipe(path, ["tune.tuner=grid"])
    # A space replaced with --set is blamed on --set, not on the file's old lines.
    with pytest.raises(
        RecipeError, match=r"^--set tune.space: tune.space.model.backbone.units: with model.backbone.units=0"
    ):
        load_recipe(path, ["tune.space={model.backbone.units: {int: [0, 2]}}"])


def test_random_search_results_best_recipe_model_and_resume(tmp_path, capsys):
    from seqkit.tune import search

    recipe = load_recipe(tune_recipe(tmp_path, trials=3))
    result = search.tune(recipe)
    out = capsys.readouterr().out
    assert "Running Trial #3" in out and "seqkit: best trial" in out
    assert len(result.rows) == 3 and {r["status"] for r in result.rows} == {"COMPLETED"}
    assert all(r["epochs"] == 2 and r["seconds"] > 0 for r in result.rows)
    assert {
        "trial",
        "model.backbone.units",
        "train.optimizer.learning_rate",
        "val_accuracy",
        "epochs",
        "seconds",
    } <= set(result.rows[0])
    folder = result.directory.path
    with (folder / "results.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 3
    results = json.loads((folder / "results.json").read_text())
    assert results["best"]["trial"] == result.best["trial"]
    # Each trial's epochs are kept; report.html lists the trials best first and draws them.
    history = json.loads((folder / "trials" / result.best["trial"] / "history.json").read_text())
    assert len(history["executions"][0]["val_accuracy"]) == 2
    page = (folder / "report.html").read_text()
    scores = [r["val_accuracy"] for r in result.rows]
    assert "<h2>Trials (best first)</h2>" in page and "Objective against each hyperparameter" in page
    assert f"Best trial&#x27;s learning curves (trial {result.best['trial']})" in page
    assert page.count("data:image/png;base64,") == 2 and "[COMPLETED]" not in page
    trial_cells = re.findall(
        r"<tr><td class=\"txt\">(\d+)</td>", page.split("<h2>Trials (best first)</h2>")[1].split("</table>")[0]
    )
    by_id = {r["trial"]: r["val_accuracy"] for r in result.rows}
    assert len(trial_cells) == 3 and [by_id[t] for t in trial_cells] == sorted(scores, reverse=True)
    # The best recipe is a valid recipe with the best values, and runs from its own folder.
    best = load_recipe(result.best_recipe)
    for key, value in result.best["values"].items():
        assert best.get(key) == value
    assert best.get("data.path") == str(tmp_path / "reviews.csv")
    # The best model takes raw strings.
    from seqkit.export.saving import load_model

    model = load_model(folder / "best_model.keras")
    assert model.predict(np.array(["love it", "awful"], dtype=object), verbose=0).shape == (2, 3)
    # Resume: finished trials are not repeated; a larger budget runs only the new ones.
    before = {p.name: p.stat().st_mtime for p in (folder / "keras_tuner").glob("trial_*")}
    again = search.resume(folder)
    assert [r["trial"] for r in again.rows] == [r["trial"] for r in result.rows]
    assert {p.name: p.stat().st_mtime for p in (folder / "keras_tuner").glob("trial_*")} == before
    assert "Running Trial" not in capsys.readouterr().out


@pytest.mark.parametrize("tuner", ["grid", "bayesian", "hyperband"])
def test_other_tuners(tuner, tmp_path):
    from seqkit.tune import search

    result = search.tune(load_recipe(tune_recipe(tmp_path, tuner=tuner, trials=2)), echo=lambda m: None)
    completed = [r for r in result.rows if r["status"] == "COMPLETED"]
    assert completed and result.best is not None
    if tuner == "hyperband":
        assert "bracket_epochs" in result.rows[0]


def test_tune_command_and_errors(tmp_path, capsys):
    from seqkit.cli import main

    recipe = tune_recipe(tmp_path, trials=1)
    assert main(["tune", str(recipe), "--set", "tune.max_trials=1", "--quiet"]) == 0
    assert list((tmp_path / "runs" / "tiny").glob("tune-*/best_recipe.yaml"))
    assert capsys.readouterr().out == ""  # --quiet: not even KerasTuner's trial reports
    # An objective no model logs stops the search at the first trial with one line.
    assert main(["tune", str(recipe), "--set", "tune.objective=val_f1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err
        == "seqkit: error: --set tune.objective: tune.objective: 'val_f1' is not a metric this model logs. Logged: accuracy, loss, val_accuracy, val_loss"
    ), err
    tune_dir = next(d for d in (tmp_path / "runs" / "tiny").glob("tune-*") if (d / "best_recipe.yaml").exists())
    assert main(["predict", str(tune_dir), "good"]) == 2  # a tune directory is not a run
    assert (
        f"{tune_dir}: a tune directory, not a run; train its best recipe first: seqkit run " in capsys.readouterr().err
    )
    assert main(["tune", str(recipe), "--role", "worker"]) == 2
    assert "--role needs --oracle HOST:PORT" in capsys.readouterr().err
    assert main(["tune", str(recipe), "--role", "worker", "--oracle", "nohost"]) == 2
    assert "--oracle: expected HOST:PORT" in capsys.readouterr().err
    plain = tmp_path / "plain.yaml"
    plain.write_text(TINY_RECIPE.format(epochs=1, runs=tmp_path / "runs"))
    assert main(["tune", str(plain)]) == 2
    assert "the recipe has no search space" in capsys.readouterr().err
    # A --set inside tune: is not what is missing: the error names the recipe file.
    assert main(["tune", str(plain), "--set", "tune.max_trials=2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"seqkit: error: {plain}: tune.space: the recipe has no search space") and "--set" not in err


def test_keras_tuner_internals_used_by_the_chief_still_exist(tmp_path):
    """seqkit's chief touches KerasTuner internals; fail loudly if an upgrade changes them."""
    import keras_tuner
    from keras_tuner.src.distribute.oracle_chief import OracleServicer
    from keras_tuner.src.engine.trial import TrialStatus

    from seqkit.tune.distributed import create_or_hold, drop_worker

    for method in ("CreateTrial", "UpdateTrial", "EndTrial", "GetTrial", "GetSpace"):
        assert hasattr(OracleServicer, method)
    oracle = keras_tuner.oracles.RandomSearchOracle(objective="loss", max_trials=2, seed=1)
    oracle._set_project_dir(str(tmp_path), "p")
    oracle.hyperparameters.Int("units", 1, 100)
    first = create_or_hold(oracle, "a")
    second = create_or_hold(oracle, "b")
    assert first.status == second.status == TrialStatus.RUNNING
    assert set(oracle.ongoing_trials) == {"a", "b"} and oracle.tuner_ids == {"a", "b"}
    assert drop_worker(oracle, "a").trial_id == first.trial_id
    assert list(oracle._retry_queue) == [first.trial_id] and oracle.tuner_ids == {"b"}
    second.status = TrialStatus.COMPLETED
    oracle.update_trial(second.trial_id, {"loss": 1.0})
    oracle.end_trial(second)
    retried = create_or_hold(oracle, "b")  # the dead worker's trial, run by b
    assert retried.trial_id == first.trial_id
    held = create_or_hold(oracle, "c")  # max_trials reached, but b still runs a trial: wait
    assert held.status == TrialStatus.IDLE and "c" in oracle.tuner_ids


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ongoing(oracle_file) -> dict:
    """The tuner ids with a running trial in KerasTuner's saved oracle state (read while written)."""
    try:
        return json.loads(oracle_file.read_text()).get("ongoing_trials") or {}
    except (OSError, ValueError):
        return {}


def test_distributed_chief_and_two_workers_survive_a_killed_worker(tmp_path):
    recipe = tune_recipe(tmp_path, trials=6, epochs=6, rows=TINY_REVIEWS * 8)
    address = f"127.0.0.1:{_free_port()}"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    shared = tmp_path / "shared"

    def start(*args):
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "seqkit",
                "tune",
                str(recipe),
                "--oracle",
                address,
                "--directory",
                str(shared),
                *args,
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    chief = start("--role", "chief", "--worker-timeout", "8")
    deadline = time.monotonic() + 120
    while not (shared / "keras_tuner" / "oracle.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = [start("--role", "worker", "--tuner-id", f"w{i}") for i in (1, 2)]
    # Kill worker 2 once it runs a trial (the oracle's saved state says so): on a loaded machine
    # it may start seconds after worker 1, and a worker killed before it asked for a trial is
    # never seen by the chief at all.
    while "w2" not in _ongoing(shared / "keras_tuner" / "oracle.json") and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)
    workers[1].kill()
    workers[1].communicate()
    out_w1, _ = workers[0].communicate(timeout=300)
    out_chief, _ = chief.communicate(timeout=300)
    assert workers[0].returncode == 0, out_w1[-3000:]
    assert chief.returncode == 0, out_chief[-3000:]
    results = json.loads((shared / "results.json").read_text())
    ids = [row["trial"] for row in results["trials"]]
    assert len(ids) == 6 == len(set(ids))
    assert {row["status"] for row in results["trials"]} == {"COMPLETED"}, results["trials"]
    assert "seqkit: best trial" in out_chief and results["best"]["trial"] in ids
    assert "worker w2 silent" in out_chief


def test_python_api_search_after_the_tune_package_is_imported(tmp_path, capsys):
    import seqkit
    import seqkit.tune.search  # noqa: F401  (importing the package must not hide the API)

    result = seqkit.search(tune_recipe(tmp_path, trials=1), quiet=True)
    assert result.best is not None and len(result.rows) == 1
    assert capsys.readouterr().out == ""  # quiet=True, like seqkit.run
