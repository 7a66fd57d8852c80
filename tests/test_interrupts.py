"""Kills, signals and a full disk at every moment of a run, through the SEQKIT_FAULT hook
(seqkit/train/faults.py): a resumed run ends exactly as an uninterrupted one (metrics.json and
history.csv), an interrupted one is marked so with exit 130 / 143, and nothing half-written
is left. Tiny recipe, 3 epochs; real kills run in subprocesses, a few at a time."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import TINY_RECIPE, write_reviews

from seqkit.cli import main
from seqkit.train import callbacks as train_callbacks
from seqkit.train import faults

EPOCHS = 3
STEPS = len(train_callbacks.COMMIT_STEPS)


def _recipe(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_reviews(folder / "reviews.csv")
    path = folder / "tiny.yaml"
    # Dropout: the resumed run must also restore the dropout RNG states.
    path.write_text(TINY_RECIPE.format(epochs=EPOCHS, runs=folder / "runs").replace("dim: 8}", "dim: 8, dropout: 0.1}"))
    return path


def _run_dir(folder: Path) -> Path:
    (run,) = (folder / "runs" / "tiny").iterdir()
    return run


def _outcome(run: Path) -> dict:
    """What an interruption must not change: metrics.json without its timing, and history.csv."""
    metrics = json.loads((run / "metrics.json").read_text())
    metrics.pop("train_seconds")
    return {"metrics": metrics, "history": (run / "history.csv").read_text()}


def _leftovers(run: Path) -> list[str]:
    return sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.name.endswith(".tmp") or ".partial" in p.name)


def _status(run: Path) -> str:
    return json.loads((run / "status.json").read_text())["status"]


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> dict:
    """The uninterrupted run every interrupted one must equal."""
    folder = tmp_path_factory.mktemp("straight")
    assert main(["run", str(_recipe(folder)), "--quiet"]) == 0
    return _outcome(_run_dir(folder))


def _resume(run: Path, capsys) -> str:
    code = main(["run", "--resume", str(run)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert _status(run) == "completed"
    return out


# -- kills at every checkpoint write boundary ------------------------------------------------

# Every step of epoch 2's commit (epoch 1's is complete by then): each write boundary and each
# file torn half-way.
KILL_POINTS = [STEPS + i for i in range(1, STEPS + 1)]

# One process imports TensorFlow once and forks a child per job (a fresh interpreter per kill
# would spend most of the test importing), a few at a time, round after round. A child runs
# ``seqkit ARGS`` in its folder with SEQKIT_FAULT set (a killed one SIGKILLs itself at its
# checkpoint step), its output in ROUND.out / ROUND.err; "{run}" is the folder's run directory.
# Prints one {key: exit status} per round.
FORK_RUNS = """
import json, os, shutil, sys
import tensorflow, keras
import seqkit.export.saving, seqkit.train.runner
from seqkit.cli import main
from seqkit.plugins import get_plugin_manager

get_plugin_manager().tasks
rounds, parallel = json.loads(sys.argv[1]), int(sys.argv[2])

def run_round(name, jobs):
    running, results = {}, {}

    def reap():
        pid, status = os.wait()
        results[running.pop(pid)] = os.waitstatus_to_exitcode(status)

    for key, folder, fault, args in jobs:
        if args == ["snapshot"]:  # the parent copies the folder as the kill left it
            shutil.copytree(folder, folder + "-killed", symlinks=True)
            results[key] = 0
            continue
        while len(running) >= parallel:
            reap()
        runs = os.path.join(folder, "runs", "tiny")
        args = [a.replace("{run}", os.path.join(runs, (os.listdir(runs) or [""])[0]) if os.path.isdir(runs) else "") for a in args]
        pid = os.fork()
        if pid == 0:
            code = 99
            try:
                os.chdir(folder)
                for fd, suffix in ((1, ".out"), (2, ".err")):
                    os.dup2(os.open(name + suffix, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
                os.environ.pop("SEQKIT_FAULT", None)
                if fault:
                    os.environ["SEQKIT_FAULT"] = fault
                code = main(args)
            finally:
                sys.stdout.flush()
                os._exit(code)
        running[pid] = key
    while running:
        reap()
    return results

print(json.dumps([run_round(name, jobs) for name, jobs in rounds]))
"""


def _fork_runs(rounds: list) -> list[dict]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop(faults.ENV, None)
    parallel = str(max(2, min(4, os.cpu_count() or 2)))
    done = subprocess.run(
        [sys.executable, "-c", FORK_RUNS, json.dumps(rounds), parallel],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_a_kill_at_every_checkpoint_write_boundary_resumes_exactly_as_an_uninterrupted_run(tmp_path):
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    folders = {point: tmp_path / f"kill-{point}" for point in KILL_POINTS}
    for folder in [tmp_path / "straight", *folders.values()]:
        _recipe(folder)
    first = folders[KILL_POINTS[0]]
    killed, _snapshots, evaluated, predicted, resumed = _fork_runs(
        [
            [
                "run",
                [["straight", str(tmp_path / "straight"), "", ["run", "tiny.yaml", "--quiet"]]]
                + [[str(p), str(f), f"checkpoint:{p}", ["run", "tiny.yaml", "--quiet"]] for p, f in folders.items()],
            ],
            ["snapshot", [[str(p), str(f), "", ["snapshot"]] for p, f in folders.items()]],
            # A killed run is reported as stale, by evaluate and predict as by --resume.
            ["evaluate", [["evaluate", str(first), "", ["evaluate", "{run}"]]]],
            ["predict", [["predict", str(first), "", ["predict", "{run}", "great product"]]]],
            ["resume", [[str(p), str(f), "", ["run", "--resume", "{run}"]] for p, f in folders.items()]],
        ]
    )
    assert killed.pop("straight") == 0
    straight = _outcome(_run_dir(tmp_path / "straight"))
    assert evaluated == {"evaluate": 2} and predicted == {"predict": 2}
    for command in ("evaluate", "predict"):
        err = (first / f"{command}.err").read_text()
        assert err.count("\n") == 1 and "run is stale (marked running, but its process" in err, err
        assert f"seqkit run --resume {_run_dir(first)}" in err
    out = (first / "resume.out").read_text()
    assert "was marked running, but its process" in out and "is gone" in out
    for point, folder in folders.items():
        label = f"checkpoint step {point} ({train_callbacks.COMMIT_STEPS[(point - 1) % STEPS]} of epoch {(point - 1) // STEPS + 1})"
        assert killed[str(point)] == -signal.SIGKILL, (label, (folder / "run.err").read_text()[-2000:])
        # As the kill left it: marked running, no metrics.json, and history.csv shows no epoch
        # that the newest complete checkpoint lacks.
        left = _run_dir(folder.with_name(folder.name + "-killed"))
        assert _status(left) == "running" and not (left / "metrics.json").exists(), label
        checkpoint = train_callbacks.CheckpointStore(left / "checkpoints").latest(echo=lambda _m: None)
        if (left / "history.csv").exists():
            with (left / "history.csv").open() as handle:
                assert len(list(csv.DictReader(handle))) <= (checkpoint.epoch if checkpoint else 0), label
        assert resumed[str(point)] == 0, (label, (folder / "resume.err").read_text()[-2000:])
        run = _run_dir(folder)
        assert _status(run) == "completed", label
        assert _outcome(run) == straight, label
        assert _leftovers(run) == [], label
        assert sorted(p.name for p in (run / "checkpoints").glob("epoch-*")) == ["epoch-0002", "epoch-0003"], label


# -- signals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_signal_during_an_epoch_is_not_recorded_and_the_resume_redoes_that_epoch(
    name, straight, tmp_path, monkeypatch, capsys
):
    recipe = _recipe(tmp_path)
    monkeypatch.setenv(faults.ENV, "batch:2.1:" + name)  # after the first batch of epoch 2
    assert main(["run", str(recipe)]) == 128 + getattr(signal, name)
    out, err = capsys.readouterr()
    assert "stopping after this batch" in out and "seqkit: interrupted" in err
    monkeypatch.delenv(faults.ENV)
    run = _run_dir(tmp_path)
    assert _status(run) == "interrupted" and not (run / "metrics.json").exists()
    with (run / "history.csv").open() as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == ["1"]  # the cut-short epoch 2 is not there
    assert train_callbacks.CheckpointStore(run / "checkpoints").latest(echo=pytest.fail).epoch == 1
    assert _leftovers(run) == []
    _resume(run, capsys)
    assert _outcome(run) == straight


@pytest.mark.parametrize("phase", ["data", "model", "fit", "evaluate", "outputs"])
@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_signal_outside_fit_ends_the_run_interrupted(phase, name, straight, tmp_path, monkeypatch, capsys):
    recipe = _recipe(tmp_path)
    monkeypatch.setenv(faults.ENV, f"phase:{phase}:{name}")
    assert main(["run", str(recipe), "--quiet"]) == 128 + getattr(signal, name)
    assert capsys.readouterr().err == "seqkit: interrupted\n"
    monkeypatch.delenv(faults.ENV)
    run = _run_dir(tmp_path)
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "interrupted" and f"seqkit run --resume {run}" in status["error"]
    assert not (run / "metrics.json").exists()
    assert _leftovers(run) == []
    if phase in ("evaluate", "outputs") or (phase, name) == ("data", "SIGTERM"):
        _resume(run, capsys)
        assert _outcome(run) == straight


def test_sigterm_outside_fit_exits_143_from_the_command(tmp_path):
    recipe = _recipe(tmp_path)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", faults.ENV: "phase:model:SIGTERM"}
    done = subprocess.run(
        [sys.executable, "-m", "seqkit", "run", str(recipe), "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 143, done.stderr[-2000:]
    assert done.stderr == "seqkit: interrupted\n"
    run = _run_dir(tmp_path)
    assert _status(run) == "interrupted" and _leftovers(run) == []


# -- a full disk ------------------------------------------------------------------------------


@contextlib.contextmanager
def _small_disk(size: str):
    """A tmpfs of ``size`` where the machine allows it (root on Linux), else None.

    The mount point lives outside pytest's ``tmp_path``: a mount left behind by a killed run would
    otherwise make pytest's clean-up of old temporary folders fail in a later session."""
    if sys.platform != "linux" or os.geteuid() != 0:
        yield None
        return
    point = Path(tempfile.mkdtemp(prefix="seqkit-small-disk-"))
    mount = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)]
    mounted = subprocess.run(mount, capture_output=True).returncode == 0
    try:
        yield point if mounted else None
    finally:
        if mounted and subprocess.run(["umount", str(point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(point)], capture_output=True)
        shutil.rmtree(point, ignore_errors=True)


def test_a_full_disk_while_checkpointing_fails_in_one_line_and_resumes_once_space_is_freed(
    straight, tmp_path, monkeypatch, capsys
):
    """The disk fills once epoch 1 is committed (a real tmpfs where possible, else an injected
    ENOSPC): one line, exit 1, status failed, epoch 1's checkpoint intact, nothing half-written;
    freed, the run resumes to exactly the uninterrupted result."""
    with _small_disk("8m") as disk:
        folder = disk or tmp_path / "disk"
        folder.mkdir(exist_ok=True)
        recipe = _recipe(folder)
        filler = folder / "filler"

        def fill(point, count, label):
            if label == "history.csv" and not filler.exists():  # epoch 1 committed, history.csv written
                free = shutil.disk_usage(folder).free
                with open(filler, "wb") as handle, contextlib.suppress(OSError):
                    handle.write(b"\0" * max(0, free - 8192))

        if disk is None:  # the step counter runs over the whole process: count from here
            monkeypatch.setenv(faults.ENV, f"checkpoint:{faults.steps_taken() + STEPS + 2}:enospc")
        with faults.observe(fill if disk else (lambda *a: None)):
            code = main(["run", str(recipe), "--quiet"])
        monkeypatch.delenv(faults.ENV, raising=False)
        err = capsys.readouterr().err
        assert code == 1
        run = _run_dir(folder)
        assert (
            err
            == f"seqkit: error: no space left on device while writing {run / 'checkpoints' / 'epoch-0002.partial' / 'model.keras'}\n"
        )
        status = json.loads((run / "status.json").read_text())
        assert status["status"] == "failed" and status["error"].startswith("no space left on device while writing")
        assert _leftovers(run) == [] and not (run / "metrics.json").exists()
        assert train_callbacks.CheckpointStore(run / "checkpoints").latest(echo=pytest.fail).epoch == 1
        filler.unlink(missing_ok=True)
        _resume(run, capsys)
        assert _outcome(run) == straight
