"""report.html, the data summary and the reproducibility record of a run."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess

import numpy as np
import pytest

import seqkit
from seqkit.data import DataBundle, Split
from seqkit.data.adapter import recording_files_read, require_file
from seqkit.data.summary import data_fingerprint, summarize
from seqkit.export.report import ReportSection, build_report, register_section_provider, section_providers
from seqkit.plugins import get_plugin_manager
from seqkit.testing import run_cli
from seqkit.train.environment import git_record
from seqkit.train.runner import Runner


def _page(path) -> str:
    return (path / "report.html").read_text(encoding="utf-8")


def test_a_run_leaves_a_self_contained_report(tiny_recipe, tmp_path):
    run = seqkit.run(tiny_recipe, quiet=True)
    page = _page(run.path)
    # Self-contained: no link, script or stylesheet fetched; every image inline.
    assert not re.search(r"""(src|href)=["'](https?:|//|file:)""", page)
    assert "<script" not in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) >= 3  # learning curves, confusion matrix, length histogram
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    for heading in ("Summary", "Learning curves", "Test metrics", "Per class", "Predictions", "Data", "Recipe"):
        assert f"<h2>{heading}</h2>" in page, heading
    assert "Worst errors" in page and "Class balance" in page and "Input lengths" in page
    assert "[COMPLETED]" not in page and "banner" not in page.split("</nav>")[1][:200]
    # The data summary and the reproducibility record behind it.
    summary = json.loads((run.path / "data_summary.json").read_text())
    assert sum(summary["sizes"].values()) == len((tmp_path / "reviews.csv").read_text().splitlines()) - 1
    assert set(summary["class_counts"]["train"]) == {"negative", "neutral", "positive"}
    assert summary["lengths"]["train"]["unit"] == "tokens"
    assert 0 < summary["vocabulary"]["test_token_coverage"] <= 1
    env = json.loads((run.path / "environment.json").read_text())
    data_file = tmp_path / "reviews.csv"
    assert env["data_files"] == [
        {
            "path": str(data_file.resolve()),
            "bytes": data_file.stat().st_size,
            "sha256": hashlib.sha256(data_file.read_bytes()).hexdigest(),
        }
    ]
    assert env["data_fingerprint"] == summary["fingerprint"] and set(env["data_fingerprint"]) >= {"train", "test"}
    assert env["packages"]["keras"] == env["keras"] and "numpy" in env["packages"]
    assert "recipe_git" in env  # None: tmp_path is not in a repository
    assert env["data_files"][0]["sha256"] in page
    # seqkit report rebuilds it from the files alone.
    (run.path / "report.html").unlink()
    assert run_cli(["report", str(run.path)]) == 0
    assert "Per class" in _page(run.path)


def test_a_failed_run_leaves_a_report_that_says_so(tiny_recipe, tmp_path, monkeypatch):
    def broken(self):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Runner, "setup_model", broken)  # after the data, before training
    with pytest.raises(RuntimeError):
        seqkit.run(tiny_recipe, quiet=True)
    (path,) = (tmp_path / "runs" / "tiny").iterdir()
    page = _page(path)
    assert "<title>[FAILED] tiny" in page
    assert 'class="banner failed"' in page and "disk on fire" in page and "no test metrics" in page
    assert "<h2>Test metrics</h2>" not in page and "Class balance" in page


def _fake_run(path, status="completed", **extra):
    path.mkdir(parents=True)
    (path / "status.json").write_text(json.dumps({"status": status, **extra}))
    (path / "recipe.yaml").write_text("name: fake\ntask: sentiment\n")
    if status == "completed":
        metrics = {"task": "sentiment", "test": {"accuracy": 0.5, "macro_f1": 0.4, "n": 2}}
        (path / "metrics.json").write_text(json.dumps(metrics))
    return path


def test_report_of_a_running_run_is_marked_partial(tmp_path):
    path = _fake_run(tmp_path / "r1", status="running")
    page = build_report(path).read_text()
    assert "[RUNNING]" in page and "banner running" in page


def test_report_of_a_completed_run_without_metrics_is_marked_incomplete(tmp_path):
    path = _fake_run(tmp_path / "r1")
    (path / "metrics.json").unlink()
    page = build_report(path).read_text()
    assert "[COMPLETED]" in page and "metrics.json is missing" in page


def test_an_extra_section_provider_and_a_broken_one(tmp_path):
    path = _fake_run(tmp_path / "r1")
    before = section_providers()
    try:
        register_section_provider("extra", lambda ctx, task: [ReportSection("Explanations <b>", "<p>x</p>", order=60)])
        register_section_provider("broken", lambda ctx, task: 1 / 0)
        page = build_report(path, get_plugin_manager()).read_text()
    finally:
        import seqkit.export.report as report

        report._providers[:] = before
    assert "<h2>Explanations &lt;b&gt;</h2>" in page
    assert "Section broken" in page and "ZeroDivisionError" in page
    assert page.index("Test metrics") < page.index("Explanations") < page.index("<h2>Recipe")


def test_report_command_refuses_a_folder_that_is_no_run(tmp_path, capsys):
    assert run_cli(["report", str(tmp_path)]) != 0
    assert "not a run directory" in capsys.readouterr().err


def test_summary_counts_classes_lengths_and_coverage():
    bundle = DataBundle(
        train=Split(np.array(["a b c", "a b", "c"]), np.array([0, 1, 1])),
        validation=None,
        test=Split(np.array(["a z"]), np.array([1])),
        info={"classes": ["n", "p"]},
    )
    summary = summarize(bundle)
    assert summary["sizes"] == {"train": 3, "test": 1}
    assert summary["class_counts"]["train"] == {"n": 1, "p": 2}
    assert summary["lengths"]["train"]["max"] == 3 and summary["lengths"]["train"]["min"] == 1
    assert summary["vocabulary"]["test_token_coverage"] == 0.5
    # Sequences of steps; NaN rows are padding.
    series = np.ones((2, 4, 1))
    series[1, 3:] = np.nan
    steps = summarize(DataBundle(train=Split(series, np.array([0.0, 1.0])), validation=None, test=None, info={}))
    assert steps["lengths"]["train"]["unit"] == "steps" and steps["lengths"]["train"]["min"] == 3
    # Equal data, equal fingerprint; a changed target changes it.
    other = DataBundle(train=Split(np.array(["a b c", "a b", "c"]), np.array([0, 1, 0])), validation=None, test=None)
    same = DataBundle(train=Split(np.array(["a b c", "a b", "c"]), np.array([0, 1, 1])), validation=None, test=None)
    assert data_fingerprint(same)["train"] == summary["fingerprint"]["train"] != data_fingerprint(other)["train"]


def test_files_read_are_recorded(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("x\n")
    second.write_text("y\n")
    require_file(first)  # outside a recording: nothing noted
    with recording_files_read() as files:
        require_file(first)
        require_file(first)
        with recording_files_read() as inner:
            require_file(second)
    assert inner == [second] and files == [first, second]


def test_git_record_of_the_recipe_folder(tmp_path):
    assert git_record(tmp_path) is None
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "r.yaml").write_text("name: r\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    record = git_record(tmp_path / "recipes")
    assert len(record["commit"]) == 40 and record["dirty"] is False
    (tmp_path / "recipes" / "r.yaml").write_text("name: changed\n")
    record = git_record(tmp_path / "recipes")
    assert record["dirty"] is True and record["changed_files"]


def _listed_run(root, name, run_id, status, accuracy=None, units=8, pid=None):
    path = root / name / run_id
    path.mkdir(parents=True)
    state = {"status": status, "started": "2026-01-02T03:04:05+00:00", "updated": "2026-01-02T03:05:35+00:00"}
    if pid is not None:
        state.update(pid=pid, host=__import__("socket").gethostname())
    (path / "status.json").write_text(json.dumps(state))
    (path / "recipe.yaml").write_text(f"name: {name}\ntask: sentiment\nmodel:\n  backbone: {{units: {units}}}\n")
    (path / "history.csv").write_text("epoch,loss,val_loss\n1,1.0,1.1\n2,0.5,0.7\n")
    if accuracy is not None:
        (path / "metrics.json").write_text(
            json.dumps({"task": "sentiment", "test": {"accuracy": accuracy, "macro_f1": 0.5}})
        )
    return path


def test_runs_lists_status_duration_main_metric_and_flags_stale_runs(tmp_path, capsys):
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that is gone
    _listed_run(tmp_path, "a", "20260102-030405-aaaa", "completed", accuracy=0.75)
    stale = _listed_run(tmp_path, "a", "20260102-030406-bbbb", "running", pid=dead.pid)
    assert run_cli(["runs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["name", "id", "task", "status", "started", "duration", "main", "metric"]
    assert "completed" in lines[1] and "1m30s" in lines[1] and "accuracy=0.7500" in lines[1]
    assert "running (stale)" in lines[2]
    assert f"seqkit: note: {stale}: marked running, but its process {dead.pid} is gone" in out


def test_compare_metrics_recipe_diff_and_html(tmp_path, capsys):
    first = _listed_run(tmp_path, "a", "r1", "completed", accuracy=0.75, units=8)
    second = _listed_run(tmp_path, "a", "r2", "completed", accuracy=0.5, units=16)
    page = tmp_path / "cmp.html"
    assert run_cli(["compare", str(first), str(second), "--html", str(page)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"test\.accuracy\s+0\.75\s+0\.5", out)
    assert re.search(r"model\.backbone\.units\s+8\s+16", out)
    html_page = page.read_text()
    assert "<h2>Recipe differences (dotted keys)</h2>" in html_page and "data:image/png;base64," in html_page
    assert run_cli(["compare", str(first)]) == 2
    assert "give two run directories or more" in capsys.readouterr().err


def test_tensorboard_gets_test_metrics_figures_and_hparams(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from seqkit.train.tensorboard import write_run_summary

    plot = tmp_path / "cm.png"
    from seqkit.export.plots import plot_confusion_matrix

    plot_confusion_matrix(np.array([[3, 1], [0, 2]]), ["a", "b"], plot)
    recipe = {"task": "sentiment", "seed": 1, "model": {"backbone": {"units": 8}}, "data": {"path": "/x.csv"}}
    metrics = {"epochs_trained": 2, "test": {"accuracy": 0.75, "per_class": {"a": {"f1": 0.5}}}}
    write_run_summary(tmp_path / "tb", "run-1", recipe, metrics, [plot])
    events = EventAccumulator(str(tmp_path / "tb"), size_guidance={"tensors": 0, "images": 0}).Reload()
    tags = events.Tags()
    assert {"test/accuracy", "test/per_class/a/f1", "_hparams_/session_start_info"} <= set(tags["tensors"])
    import tensorflow as tf

    assert float(tf.make_ndarray(events.Tensors("test/accuracy")[0].tensor_proto)) == 0.75
    assert "plots/cm" in tags["tensors"] or "plots/cm" in tags.get("images", [])
    start = events.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
    assert b"model.backbone.units" in start and b"data.path" not in start


def test_fit_verbosity_auto_follows_the_terminal(monkeypatch):
    import io
    import sys

    from seqkit.train.runner import fit_verbosity

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdout", Terminal())
    assert fit_verbosity("auto") == 1
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # a pipe or a file
    assert fit_verbosity("auto") == 2
    assert fit_verbosity(0) == 0 and fit_verbosity(1) == 1
