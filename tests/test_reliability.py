"""Reliability: kills, Ctrl-C, concurrent runs, and generated bad input (hypothesis).

Generated cases go through the command line (`seqkit validate [--data]`): each must end
with exit code 0 or 2, and a failure must be one line on stderr without a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import TINY_RECIPE, TINY_REVIEWS, write_reviews
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqkit.cli import main

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _seqkit_process(*args, cwd):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        [sys.executable, "-m", "seqkit", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _big_recipe(folder: Path, epochs: int = 4) -> Path:
    """Epochs long enough (~0.3 s) to be killed in the middle of one."""
    write_reviews(folder / "reviews.csv", TINY_REVIEWS * 30)
    path = folder / "tiny.yaml"
    path.write_text(TINY_RECIPE.format(epochs=epochs, runs=folder / "runs").replace("dim: 8}", "dim: 8, dropout: 0.1}"))
    return path


def _wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _epochs_done(run_root: Path) -> int:
    for pointer in run_root.rglob("checkpoints/latest.json"):
        try:
            return json.loads(pointer.read_text())["epoch"]
        except (ValueError, KeyError):
            return 0
    return 0


def _test_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())["test"]


def test_sigkill_mid_epoch_then_resume_equals_uninterrupted_run(tmp_path):
    straight_dir = tmp_path / "straight"
    straight_dir.mkdir()
    straight = _seqkit_process("run", str(_big_recipe(straight_dir)), "--quiet", cwd=straight_dir)
    killed_dir = tmp_path / "killed"
    killed_dir.mkdir()
    victim = _seqkit_process("run", str(_big_recipe(killed_dir)), "--quiet", cwd=killed_dir)
    assert _wait_for(lambda: _epochs_done(killed_dir / "runs") >= 1 or victim.poll() is not None)
    time.sleep(0.1)  # into the second epoch
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    run_dir = next((killed_dir / "runs" / "tiny").iterdir())
    assert json.loads((run_dir / "status.json").read_text())["status"] == "running"  # killed: nothing marked it
    assert not (run_dir / "metrics.json").exists()
    pointer = json.loads((run_dir / "checkpoints" / "latest.json").read_text())  # parses: written atomically
    json.loads((run_dir / "checkpoints" / pointer["folder"] / "state.json").read_text())
    resumed = subprocess.run(
        [sys.executable, "-m", "seqkit", "run", "--resume", str(run_dir), "--quiet"],
        capture_output=True,
        text=True,
        cwd=killed_dir,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    straight.communicate(timeout=300)
    assert straight.returncode == 0
    straight_run = next((straight_dir / "runs" / "tiny").iterdir())
    assert _test_metrics(run_dir) == _test_metrics(straight_run)
    assert json.loads((run_dir / "status.json").read_text())["status"] == "completed"


def test_ctrl_c_stops_after_the_batch_and_marks_interrupted(tmp_path):
    process = _seqkit_process("run", str(_big_recipe(tmp_path, epochs=50)), cwd=tmp_path)
    assert _wait_for(lambda: _epochs_done(tmp_path / "runs") >= 1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert "stopping after this batch" in out and "--resume" in out
    run_dir = next((tmp_path / "runs" / "tiny").iterdir())
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "interrupted"
    assert list((run_dir / "checkpoints").glob("epoch-*/model.keras"))
    assert not (run_dir / "metrics.json").exists()


def test_two_runs_started_together_do_not_collide(tmp_path):
    recipe = _big_recipe(tmp_path, epochs=2)
    first = _seqkit_process("run", str(recipe), "--quiet", cwd=tmp_path)
    second = _seqkit_process("run", str(recipe), "--quiet", cwd=tmp_path)
    for process in (first, second):
        _out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-2000:]
    runs = sorted((tmp_path / "runs" / "tiny").iterdir())
    assert len(runs) == 2
    for run_dir in runs:
        assert json.loads((run_dir / "status.json").read_text())["status"] == "completed"
        assert len((run_dir / "predictions.csv").read_text().splitlines()) > 1
    assert _test_metrics(runs[0]) == _test_metrics(runs[1])  # deterministic recipe, same results


# -- generated recipes -----------------------------------------------------------------------

KEYS = [
    "name",
    "task",
    "seed",
    "data",
    "model",
    "train",
    "encoder",
    "backbone",
    "head",
    "units",
    "layers",
    "epochs",
    "batch_size",
    "path",
    "text",
    "label",
    "split",
    "optimizer",
    "learning_rate",
    "tune",
    "bogus",
    "0",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["sentiment", "text_table", "classifier", "token_embedding", "reviews.csv", "${NOPE}", "${HOME}"]),
)
TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.sampled_from(KEYS), children, max_size=5)
    ),
    max_leaves=25,
)


def _check_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    assert code in (0, 2)
    assert "Traceback" not in captured.err
    if code == 2:
        first = captured.err.splitlines()[0]
        assert first.strip()
    return code


@SETTINGS
@given(tree=st.dictionaries(st.sampled_from(KEYS), TREES, max_size=6))
def test_generated_recipe_trees(tree, tmp_path, capsys):
    path = tmp_path / "gen.yaml"
    path.write_text(yaml.safe_dump(tree))
    _check_cli(["validate", str(path)], capsys)


@SETTINGS
@given(raw=st.binary(max_size=300))
def test_generated_recipe_bytes(raw, tmp_path, capsys):
    path = tmp_path / "gen.yaml"
    path.write_bytes(raw)
    assert _check_cli(["validate", str(path)], capsys) == 2


TAGS = [
    "!!python/object/apply:os.system ['true']",
    "!!python/name:os.system",
    "!!python/object:object {}",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!custom 3",
    "&a [*a]",
    "!!omap [a: 1]",
]


@pytest.mark.parametrize("value", TAGS)
def test_yaml_tags_are_refused_or_rejected(value, tmp_path, capsys):
    path = tmp_path / "tag.yaml"
    path.write_text(f"task: sentiment\ndata: {{path: x.csv}}\nname: {value}\n")
    assert _check_cli(["validate", str(path)], capsys) == 2


def test_deep_nesting_and_huge_numbers(tmp_path, capsys):
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert _check_cli(["validate", str(deep)], capsys) == 2
    huge = tmp_path / "huge.yaml"
    huge.write_text(
        "task: sentiment\ndata: {path: x.csv}\nmodel: {backbone: {units: 100000000000}}\ntrain: {epochs: 1e308}\n"
    )
    assert _check_cli(["validate", str(huge)], capsys) == 2


# -- generated data files ----------------------------------------------------------------------

ROWS = st.lists(
    st.tuples(st.text(max_size=30), st.sampled_from(["positive", "negative", "neutral", "", "posit", "1", "0"])),
    max_size=12,
)


@SETTINGS
@given(
    rows=ROWS,
    fmt=st.sampled_from(["csv", "tsv", "jsonl"]),
    cut=st.integers(min_value=0, max_value=400),
    junk=st.binary(max_size=40),
)
def test_generated_text_tables(rows, fmt, cut, junk, tmp_path, capsys):
    """Tables with odd texts, wrong labels, truncated at any byte, with binary junk appended."""
    data = tmp_path / f"reviews.{fmt}"
    write_reviews(data, rows, fmt=fmt)
    raw = data.read_bytes()
    data.write_bytes(raw[:cut] + junk if cut < len(raw) else raw + junk)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        TINY_RECIPE.format(epochs=1, runs=tmp_path / "runs")
        .replace("reviews.csv", data.name)
        .replace("label: sentiment", "label: sentiment\n  labels: [negative, neutral, positive]")
    )
    _check_cli(["validate", "--data", str(recipe)], capsys)


@SETTINGS
@given(lines=st.lists(st.text(max_size=40), max_size=10), junk=st.binary(max_size=30))
def test_generated_label_text_files(lines, junk, tmp_path, capsys):
    data = tmp_path / "train.txt"
    data.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass") + junk)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "task: sentiment\ndata: {format: label_text, train: train.txt, split: {validation: 0.2, test: 0.2}}\n"
    )
    _check_cli(["validate", "--data", str(recipe)], capsys)
