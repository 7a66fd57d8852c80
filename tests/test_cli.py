"""The command line: instant help and validation, predictions, and bad input that ends in
one line on stderr with exit code 2 and no run directory that looks complete."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from conftest import TINY_RECIPE, TINY_REVIEWS, write_reviews

from seqkit.cli import main


def _seqkit(*args, cwd=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "seqkit", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def test_help_and_validate_do_not_import_tensorflow(tiny_recipe):
    code = (
        "import sys\n"
        "from seqkit.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"assert main(['validate', '--data', {str(tiny_recipe)!r}]) == 0\n"
        "assert main(['plugins']) == 0\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


def test_validate_exit_codes(tiny_recipe, tmp_path, capsys):
    assert main(["validate", str(tiny_recipe)]) == 0
    assert "valid" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(tiny_recipe.read_text().replace("units: 8", "unitss: 8"))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:11: model.backbone.unitss: unknown key. Did you mean 'units'?" in err
    assert main(["validate", str(tiny_recipe), "--set", "train.epochs=0"]) == 2
    assert (
        "--set train.epochs: train.epochs: expected an integer >= 1 and <= 1000000. Received: 0"
        in capsys.readouterr().err
    )


def test_schema_covers_plugins_and_accepts_shipped_recipes(capsys, monkeypatch):
    monkeypatch.setenv("SEQKIT_DATA", "/data")  # validation does not open data files
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "sentiment" in schema["properties"]["task"]["enum"]
    assert "text_table" in schema["properties"]["data"]["properties"]["adapter"]["enum"]
    import jsonschema
    from conftest import ROOT

    from seqkit.recipe import load_recipe

    for path in sorted((ROOT / "recipes").rglob("*.yaml")):
        resolved = load_recipe(path).to_dict()
        jsonschema.validate(resolved, schema)
    wrong = load_recipe(ROOT / "recipes" / "sentiment" / "reviews.yaml").to_dict()
    wrong["data"]["textt"] = "review"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, schema)


def test_plugins_lists_versions_and_registrations(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "text 0.1.0" in out
    assert "task     sentiment" in out and "adapter  text_table" in out and "head     classifier" in out


def _recipe_with(tmp_path, data_file_name="reviews.csv", **replace):
    text = TINY_RECIPE.format(epochs=1, runs=tmp_path / "runs").replace("path: reviews.csv", f"path: {data_file_name}")
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / "r.yaml"
    path.write_text(text)
    return path


BAD_DATA = {
    "missing file": (None, "reviews.csv: data file not found"),
    "empty file": (b"", "reviews.csv: data file is empty"),
    "missing column": (b"text,sentiment\nhello,positive\n", "reviews.csv:2: missing column 'review' (data.text)."),
    "bad field count": (
        b"review,sentiment\nfine,positive\nbroken,row,extra\n",
        "reviews.csv:3: expected 2 fields (review, sentiment), found 3",
    ),
    "non utf-8": (b"review,sentiment\ncaf\xe9 ok,positive\n", "reviews.csv:2: not valid UTF-8 text"),
    "single class": (
        b"review,sentiment\na,positive\nb,positive\n",
        "reviews.csv: only one class ('positive') in the training data",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_data_is_one_line_exit_2_and_run_marked_failed(case, tmp_path, capsys):
    content, expected = BAD_DATA[case]
    if content is not None:
        (tmp_path / "reviews.csv").write_bytes(content)
    recipe = _recipe_with(tmp_path)
    assert main(["run", str(recipe)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("seqkit: error: ") and expected in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for status in (tmp_path / "runs").rglob("status.json"):
        assert json.loads(status.read_text())["status"] == "failed"
    assert not list((tmp_path / "runs").rglob("metrics.json"))


def test_unknown_label_names_the_line(tmp_path, capsys):
    write_reviews(tmp_path / "reviews.csv")
    with (tmp_path / "reviews.csv").open("a") as handle:
        handle.write("so so,neutrall\n")
    recipe = _recipe_with(tmp_path, **{"label: sentiment": "label: sentiment\n  labels: [negative, neutral, positive]"})
    assert main(["run", str(recipe)]) == 2
    err = capsys.readouterr().err
    assert (
        "reviews.csv:38: unknown label 'neutrall' (data.label). Expected one of: negative, neutral, positive. Did you mean 'neutral'?"
        in err
    )


def test_bad_recipe_through_a_real_process(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("task: forecastt\ndata: {path: x.csv}\nmodel: [1, 2]\n")
    result = _seqkit("run", str(recipe))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "r.yaml:1: task: Unknown task: 'forecastt'" in result.stderr
    assert "r.yaml:3: model: expected a mapping" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_bad_arguments(capsys, tmp_path):
    assert main(["run"]) == 2
    assert "expected a RECIPE file" in capsys.readouterr().err
    assert main(["predict", str(tmp_path)]) == 2
    assert "give inputs on the command line or --input FILE" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "nope"), "text"]) == 2
    assert "run directory not found" in capsys.readouterr().err
    assert main(["run", "--resume", str(tmp_path)]) == 2
    assert "not a seqkit run directory" in capsys.readouterr().err
    # A wrong --output is refused before any model is loaded (or a missing run noticed).
    assert main(["predict", str(tmp_path / "nope"), "text", "--output", "out.xlsx"]) == 2
    assert "out.xlsx: --output must end in .csv, .jsonl or .ndjson" in capsys.readouterr().err
    (tmp_path / "adir.csv").mkdir()
    (tmp_path / "afile").write_text("x")
    for output, expected in (
        (tmp_path / "adir.csv", "is a directory"),
        (tmp_path / "afile" / "out.csv", "which is a file, not a folder"),
    ):
        assert main(["predict", str(tmp_path / "nope"), "text", "--output", str(output)]) == 2
        err = capsys.readouterr().err
        assert expected in err and len(err.strip().splitlines()) == 1, err


def test_predict_and_evaluate_commands(tiny_recipe, tmp_path, capsys):
    assert main(["run", str(tiny_recipe), "--quiet"]) == 0
    run_dir = next((tmp_path / "runs" / "tiny").iterdir())
    capsys.readouterr()
    assert main(["predict", str(run_dir), "love it", "terrible"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "p=" in lines[0] and lines[0].endswith("love it")
    inputs = tmp_path / "in.txt"
    inputs.write_text("great\n\nawful\nokay\n")  # a blank line is named, not dropped
    assert main(["predict", str(run_dir), "--input", str(inputs)]) == 2
    assert f"{inputs}:2: blank line; expected one text a line" in capsys.readouterr().err
    inputs.write_text("great\nawful\nokay\n\n")  # blank lines at the end are the file's end
    # --output -: the CSV on standard output, nothing else there.
    assert main(["predict", str(run_dir), "--input", str(inputs), "--output", "-"]) == 0
    printed = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["input"] for r in printed] == ["great", "awful", "okay"] and "p_positive" in printed[0]
    out = tmp_path / "out.jsonl"
    assert main(["predict", str(run_dir), "--input", str(inputs), "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["input"] for r in rows] == ["great", "awful", "okay"]
    assert {"label", "probability", "p_positive"} <= set(rows[0])
    table = tmp_path / "in.csv"
    write_reviews(table, [("nice", "positive"), ("bad", "negative")])
    out_csv = tmp_path / "out.csv"
    # A table is read through the run's own text column ('review').
    assert main(["predict", str(run_dir), "--input", str(table), "--output", str(out_csv)]) == 0
    assert out_csv.read_text().splitlines()[0].startswith("input,label,probability")
    assert len(out_csv.read_text().splitlines()) == 3
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("text\nhello\n")
    assert main(["predict", str(run_dir), "--input", str(wrong)]) == 2
    assert "wrong.csv:2: missing column 'review'" in capsys.readouterr().err


def test_evaluate_command(tiny_recipe, tmp_path, capsys):
    assert main(["run", str(tiny_recipe), "--quiet"]) == 0
    run_dir = next((tmp_path / "runs" / "tiny").iterdir())
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n"] == 6 and 0 <= metrics["accuracy"] <= 1


def test_evaluate_on_another_file_keeps_the_runs_classes(tiny_recipe, tmp_path, capsys, monkeypatch):
    # The other file has only two of the run's three classes: labels must be encoded
    # with the run's class order (was an IndexError traceback, or silently wrong metrics).
    assert main(["run", str(tiny_recipe), "--quiet"]) == 0
    run_dir = next((tmp_path / "runs" / "tiny").iterdir())
    (tmp_path / "new").mkdir()
    other = tmp_path / "new" / "other.csv"
    rows = [row for row in TINY_REVIEWS if row[1] != "negative"]
    write_reviews(other, rows)
    capsys.readouterr()
    # data.test beside data.path: the whole other file is the test split.
    assert main(["evaluate", str(run_dir), "--json", "--set", f"data.test={other}"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n"] == len(rows)
    assert metrics["confusion_matrix"]["labels"] == ["negative", "neutral", "positive"]
    assert main(["evaluate", str(run_dir), "--json", "--set", f"data.path={other}"]) == 0
    assert json.loads(capsys.readouterr().out)["confusion_matrix"]["labels"] == ["negative", "neutral", "positive"]
    monkeypatch.chdir(other.parent)  # a path typed with --set is relative to the current folder
    assert main(["evaluate", str(run_dir), "--json", "--set", "data.test=other.csv"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == len(rows)
    # Scoring a test file of its own does not read the training file (it may be gone).
    (tmp_path / "reviews.csv").rename(tmp_path / "moved.csv")
    assert main(["evaluate", str(run_dir), "--json", "--set", f"data.test={other}"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == len(rows)
    write_reviews(other, rows + [("meh", "mixed")])
    assert main(["evaluate", str(run_dir), "--set", f"data.test={other}"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        f"{other}:{len(rows) + 2}: unknown label 'mixed' (data.label). Expected one of: negative, neutral, positive"
        in err
    )
    assert len(err.splitlines()) == 1


def test_output_into_a_closed_pipe_is_not_a_traceback():
    """`seqkit plugins | head -1`: the reader goes away; no BrokenPipeError traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "seqkit", "plugins"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before seqkit writes
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141 and "Traceback" not in stderr, stderr


def test_model_that_does_not_fit_the_run_is_one_line(tiny_recipe, tmp_path, capsys):
    # Another run's model.keras copied into a run directory (here: 5 outputs for the run's
    # 3 classes) ends in one line naming the file, not an IndexError traceback.
    import numpy as np

    import seqkit

    assert main(["run", str(tiny_recipe), "--quiet"]) == 0
    run_dir = next((tmp_path / "runs" / "tiny").iterdir())
    run = seqkit.load_run(run_dir)

    class OtherModel:
        def predict(self, x, verbose=0):
            return np.full((len(x), 5), 0.2)

        def predict_on_batch(self, x):  # Run.predict's call for small batches
            return self.predict(x)

    run._model = OtherModel()
    with pytest.raises(
        seqkit.errors.RunError,
        match=r"model.keras: does not belong to this run: the model gives 5 output\(s\) per input for the 3 classes",
    ):
        run.predict(["fine"])
    with pytest.raises(seqkit.errors.RunError, match="does not belong to this run"):
        run.evaluate()


def test_quiet_prints_nothing_not_even_keras_epochs(tiny_recipe, capsys):
    assert main(["run", str(tiny_recipe), "--quiet", "--set", "train.verbose=2"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "", captured.out[-500:]


def test_run_without_test_examples_says_so(tiny_recipe, capsys):
    assert main(["run", str(tiny_recipe), "--set", "data.split.test=0"]) == 0
    out = capsys.readouterr().out
    assert "seqkit: no test split, so no test metrics" in out and "seqkit: test " not in out


def test_early_stopping_on_a_metric_the_model_does_not_log(tiny_recipe, tmp_path, capsys):
    # Was a Keras ValueError traceback (mode auto), or a warning each epoch and no early
    # stopping at all (mode max).
    for mode in ("", ", mode: max"):
        assert (
            main(["run", str(tiny_recipe), "--quiet", "--set", f"train.early_stopping={{monitor: val_f1{mode}}}"]) == 2
        )
        err = capsys.readouterr().err.strip()
        assert err == (
            "seqkit: error: --set train.early_stopping: train.early_stopping.monitor: 'val_f1' is not a metric "
            "this model logs. Logged: accuracy, loss, val_accuracy, val_loss"
        ), err


def test_run_of_a_plugin_that_is_not_installed_names_the_plugin(tiny_recipe, tmp_path, capsys):
    assert main(["run", str(tiny_recipe), "--quiet"]) == 0
    run_dir = next((tmp_path / "runs" / "tiny").iterdir())
    environment = json.loads((run_dir / "environment.json").read_text())
    environment["plugins"]["gone"] = "9.9"
    (run_dir / "environment.json").write_text(json.dumps(environment))
    (run_dir / "recipe.yaml").write_text(
        (run_dir / "recipe.yaml").read_text().replace("task: sentiment", "task: gone_task")
    )
    assert main(["predict", str(run_dir), "fine"]) == 2
    err = capsys.readouterr().err
    assert f"{run_dir}: trained with plugin(s) not installed here: gone 9.9; install them to use this run" in err
    assert (
        "task: no installed plugin provides task 'gone_task'; installed tasks: forecast, " in err
        and "Traceback" not in err
    )
