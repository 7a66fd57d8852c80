"""Scale-out: the distribution section, the Keras fixes' guard, and real two-process runs on
127.0.0.1 (TensorFlow multi_worker, mirrored over two logical CPUs, JAX data_parallel)."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from seqkit.errors import RecipeError, SeqkitError
from seqkit.recipe import load_recipe

# Runs one worker through the Python API and reports its history and final weights.
DRIVER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import seqkit
    from seqkit import api

    recipe, out, workers, index = sys.argv[1], sys.argv[2], sys.argv[3] or None, sys.argv[4]
    index = int(index) if index else None
    overrides = [a for a in sys.argv[6:]]
    if sys.argv[5]:
        result = api.resume(sys.argv[5], workers=workers, worker_index=index)
    else:
        result = seqkit.run(recipe, overrides=overrides, workers=workers, worker_index=index)
    if isinstance(result, api.WorkerRun):
        history, model, path = result.history, result.model, None
    else:
        import csv
        history = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(open(result.path / "history.csv"))]
        model, path = result.model.layers[-1], str(result.path)
    weights = np.concatenate([w.ravel() for w in model.get_weights()]).tolist()
    json.dump({"history": history, "weights": weights, "run": path}, open(out, "w"))
    """
)


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _env(tmp_path: Path, **extra) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1", **extra}
    env.pop("TF_CONFIG", None)
    return env


def _launch(tmp_path, recipe, name, workers="", index="", resume="", overrides=(), env=None):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    out = tmp_path / f"{name}.json"
    with open(tmp_path / f"{name}.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, str(driver), str(recipe), str(out), workers, str(index), resume, *overrides],
            cwd=tmp_path,
            env=env or _env(tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return process, out


def _finish(processes, tmp_path, timeout=240):
    results = []
    deadline = time.monotonic() + timeout
    for process, out in processes:
        try:
            process.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for other, _ in processes:
                other.kill()
            raise AssertionError(f"worker hung; logs in {tmp_path}") from None
        log = Path(process.args[3]).with_suffix(".log").read_text()
        assert process.returncode == 0, log[-3000:]
        results.append(json.loads(out.read_text()))
    return results


def _losses(result) -> list[float]:
    return [row["loss"] for row in result["history"]]


@pytest.fixture
def dist_recipe(tiny_recipe) -> Path:
    return tiny_recipe


def _reference(recipe: Path, epochs: int):
    """The same recipe in this process, no distribution: losses and weights."""
    import seqkit

    run = seqkit.run(
        recipe, overrides=[f"train.epochs={epochs}", f"output.dir={recipe.parent / 'reference'}"], quiet=True
    )
    with open(run.path / "history.csv") as handle:
        losses = [float(row["loss"]) for row in csv.DictReader(handle)]
    weights = np.concatenate([w.ravel() for w in run.model.layers[-1].get_weights()])
    return losses, weights


# -- the recipe section and its resolution -----------------------------------------------------


def test_distribution_section_is_validated(tiny_recipe):
    recipe = load_recipe(tiny_recipe)
    assert recipe.get("distribution") == {"strategy": "none", "timeout": 120.0}
    with pytest.raises(RecipeError) as info:
        load_recipe(tiny_recipe, ["distribution.strategy=multiworker", "distribution.timeout=0"])
    text = str(info.value)
    assert "distribution.strategy" in text and "multi_worker" in text and "distribution.timeout" in text
    with pytest.raises(RecipeError, match=r"worker_index: expected 0\.\.1"):
        load_recipe(
            tiny_recipe,
            {
                "distribution.strategy": "multi_worker",
                "distribution.workers": ["a:1", "b:2"],
                "distribution.worker_index": 2,
            },
        )
    with pytest.raises(RecipeError, match="steps_per_execution: 1"):
        load_recipe(tiny_recipe, {"distribution.strategy": "multi_worker", "train.steps_per_execution": 4})
    with pytest.raises(RecipeError, match="distribution.workers"):
        load_recipe(tiny_recipe, {"distribution.strategy": "multi_worker", "distribution.workers": ["no-port"]})
    with pytest.raises(RecipeError, match="only used by mirrored"):
        load_recipe(tiny_recipe, {"distribution.devices": 2})


def test_plans_from_flags_tf_config_and_jax_environment(tiny_recipe):
    from seqkit.train.distribute import overrides_for, parse_workers, plan_for

    flags = overrides_for("127.0.0.1:5000,127.0.0.1:5001", 1, strategy="multi_worker")
    plan = plan_for(load_recipe(tiny_recipe, flags), env={})
    assert (plan.strategy, plan.workers, plan.worker_index, plan.is_chief) == (
        "multi_worker",
        ["127.0.0.1:5000", "127.0.0.1:5001"],
        1,
        False,
    )

    tf_config = {"cluster": {"chief": ["c:1"], "worker": ["w:2", "w:3"]}, "task": {"type": "worker", "index": 1}}
    plan = plan_for(
        load_recipe(tiny_recipe, {"distribution.strategy": "multi_worker"}), env={"TF_CONFIG": json.dumps(tf_config)}
    )
    assert (plan.workers, plan.worker_index, plan.source) == (["c:1", "w:2", "w:3"], 2, "TF_CONFIG")
    with pytest.raises(SeqkitError, match="TF_CONFIG"):
        plan_for(load_recipe(tiny_recipe, {"distribution.strategy": "multi_worker"}), env={})
    with pytest.raises(SeqkitError, match="TF_CONFIG: expected JSON"):
        plan_for(load_recipe(tiny_recipe, {"distribution.strategy": "multi_worker"}), env={"TF_CONFIG": "{oops"})

    jax_env = {"JAX_COORDINATOR_ADDRESS": "h:9", "JAX_NUM_PROCESSES": "4", "JAX_PROCESS_ID": "3"}
    plan = plan_for(load_recipe(tiny_recipe, {"distribution.strategy": "data_parallel"}), env=jax_env)
    assert (plan.coordinator, plan.num_processes, plan.worker_index) == ("h:9", 4, 3)
    with pytest.raises(SeqkitError, match="JAX_PROCESS_ID"):
        plan_for(
            load_recipe(
                tiny_recipe, {"distribution.strategy": "data_parallel", "distribution.workers": ["h:1", "h:2"]}
            ),
            env={},
        )

    for bad in ("", "host", "a:1,a:1"):
        with pytest.raises(SeqkitError, match="--workers"):
            parse_workers(bad)


def test_keras_fixes_target_the_verified_keras_source():
    """Fails when a Keras upgrade changes the private functions seqkit patches for
    multi_worker (keras-team/keras#20585): re-verify the fix, then update KERAS_FIX_TARGETS."""
    import keras

    from seqkit.compat.keras_trainer import KERAS_FIX_TARGETS, VERIFIED_KERAS, keras_fix_mismatches

    changed = keras_fix_mismatches()
    assert not changed, (
        f"Keras {keras.__version__} changed {changed}; seqkit's multi_worker fix was verified with Keras {VERIFIED_KERAS}. "
        "Re-run tests/test_distribute.py's two-worker tests with the fix disabled (SEQKIT_KERAS_MULTI_WORKER=unpatched) "
        "and with it, then update KERAS_FIX_TARGETS"
    )
    assert len(KERAS_FIX_TARGETS) == 4


def test_a_worker_that_never_comes_up_is_one_line_not_a_hang(dist_recipe, capsys):
    from seqkit.cli import main

    chief, missing = _free_ports(2)
    started = time.monotonic()
    code = main(
        [
            "run",
            str(dist_recipe),
            "--workers",
            f"127.0.0.1:{chief},127.0.0.1:{missing}",
            "--worker-index",
            "0",
            "--set",
            "distribution.timeout=2",
            "--quiet",
        ]
    )
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and elapsed < 30
    assert err == [
        f"seqkit: error: worker(s) 127.0.0.1:{missing} did not come up within 2 s (distribution.timeout); "
        "start every worker, check the addresses and the firewall"
    ]
    (run_dir,) = (dist_recipe.parent / "runs" / "tiny").iterdir()
    assert json.loads((run_dir / "status.json").read_text())["status"] == "failed"
    assert not (run_dir / "metrics.json").exists()


# -- two real processes -------------------------------------------------------------------------


def test_multi_worker_two_processes_match_one_process_and_resume(dist_recipe, tmp_path):
    ports = _free_ports(2)
    workers = ",".join(f"127.0.0.1:{p}" for p in ports)
    scratch = tmp_path / "worker-tmp"
    scratch.mkdir()
    env = _env(tmp_path, TMPDIR=str(scratch))
    runs = [_launch(tmp_path, dist_recipe, f"w{i}", workers, i, env=env) for i in range(2)]
    reference_losses, reference_weights = _reference(dist_recipe, epochs=3)
    chief, worker = _finish(runs, tmp_path)

    # Lockstep: identical weights on both workers, the same losses as one process with the
    # same global batch, and training that learns.
    np.testing.assert_array_equal(chief["weights"], worker["weights"])
    np.testing.assert_allclose(_losses(chief), reference_losses[:2], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_losses(worker), _losses(chief), rtol=1e-6)
    assert _losses(chief)[1] < _losses(chief)[0]
    # Only the chief wrote a run directory; the worker's scratch folder is gone.
    run_dirs = list((tmp_path / "runs" / "tiny").iterdir())
    assert [str(d) for d in run_dirs] == [chief["run"]]
    assert json.loads((run_dirs[0] / "status.json").read_text())["status"] == "completed"
    assert "strategy: multi_worker" in (run_dirs[0] / "recipe.yaml").read_text()
    assert list(scratch.iterdir()) == []

    # Resume on both workers: pretend the run stopped after 2 of 3 epochs.
    run_dir = run_dirs[0]
    recipe_text = (run_dir / "recipe.yaml").read_text().replace("epochs: 2", "epochs: 3")
    (run_dir / "recipe.yaml").write_text(recipe_text)
    assert not json.loads((run_dir / "checkpoints" / "epoch-0002" / "state.json").read_text())["stopped_early"]
    (run_dir / "status.json").write_text(json.dumps({"status": "interrupted"}))
    ports = _free_ports(2)
    workers = ",".join(f"127.0.0.1:{p}" for p in ports)
    resumed = _finish(
        [_launch(tmp_path, dist_recipe, f"r{i}", workers, i, resume=str(run_dir), env=env) for i in range(2)], tmp_path
    )
    np.testing.assert_array_equal(resumed[0]["weights"], resumed[1]["weights"])
    np.testing.assert_allclose(_losses(resumed[0]), reference_losses, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(resumed[0]["weights"], reference_weights, rtol=1e-3, atol=1e-4)
    assert json.loads((run_dir / "status.json").read_text())["status"] == "completed"
    assert list(scratch.iterdir()) == []


def test_mirrored_over_two_cpu_devices_matches_one_device(dist_recipe, tmp_path):
    run = _launch(
        tmp_path, dist_recipe, "mirrored", overrides=["distribution.strategy=mirrored", "distribution.devices=2"]
    )
    reference_losses, reference_weights = _reference(dist_recipe, epochs=2)
    (mirrored,) = _finish([run], tmp_path)
    assert "mirrored over 2 device(s)" in (tmp_path / "mirrored.log").read_text()
    np.testing.assert_allclose(_losses(mirrored), reference_losses, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(mirrored["weights"], reference_weights, rtol=1e-3, atol=1e-4)


def test_jax_data_parallel_two_processes(dist_recipe, tmp_path):
    pytest.importorskip("jax")
    workers = ",".join(f"127.0.0.1:{p}" for p in _free_ports(2))  # the first is JAX's coordinator
    env = _env(tmp_path, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    runs = [
        _launch(tmp_path, dist_recipe, f"j{i}", workers, i, overrides=["train.deterministic=false"], env=env)
        for i in range(2)
    ]
    single = _launch(
        tmp_path,
        dist_recipe,
        "j-single",
        overrides=["train.deterministic=false", f"output.dir={tmp_path / 'single'}"],
        env=env,
    )
    chief, worker, reference = _finish(runs + [single], tmp_path, timeout=900)
    np.testing.assert_array_equal(chief["weights"], worker["weights"])
    np.testing.assert_allclose(_losses(chief), _losses(reference), rtol=1e-4, atol=1e-5)
    assert _losses(chief)[1] < _losses(chief)[0]
    assert [str(d) for d in (tmp_path / "runs" / "tiny").iterdir()] == [chief["run"]]
