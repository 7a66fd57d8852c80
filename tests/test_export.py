"""seqkit export: each format reloads in a fresh process without seqkit and predicts what
``seqkit predict`` does; formats that cannot carry text preprocessing take token ids."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("tf2onnx", reason="--format onnx needs tf2onnx (pip install 'seqkit[export]')")
pytest.importorskip(
    "onnxruntime", reason="the ONNX check loads the export with onnxruntime (pip install 'seqkit[export]')"
)

import seqkit  # noqa: E402
from seqkit.errors import SeqkitError  # noqa: E402
from seqkit.testing import TINY_RECIPE, predict_without_seqkit, run_cli, run_tiny_recipe, write_reviews  # noqa: E402

TEXTS = ["great product works perfectly", "awful quality, it broke!", "okay, NOTHING special", "unseen zebra words"]


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    write_reviews(folder / "reviews.csv")
    return run_tiny_recipe(TINY_RECIPE.format(epochs=1, runs=folder / "runs"), folder)


def _check(result, rows, classes):
    assert result["label"] == [row["label"] for row in rows]
    assert result["label_index"] == [classes.index(row["label"]) for row in rows]
    for probs, row in zip(result["probabilities"], rows):
        assert probs == pytest.approx([row[f"p_{c}"] for c in classes], abs=1e-5)


def test_three_formats_reload_without_seqkit_and_agree_with_predict(text_run, tmp_path, capsys):
    classes = list(text_run.info["classes"])
    rows = seqkit.load_run(text_run.path).predict(TEXTS)  # what `seqkit predict` prints
    for fmt in ("saved_model", "tflite", "onnx"):
        out = tmp_path / fmt
        assert run_cli(["export", text_run.path, "--format", fmt, "--output", out]) == 0
        meta = json.loads((out / "export.json").read_text())
        assert meta["format"] == fmt and meta["classes"] == classes and meta["versions"]["keras"]
        assert set(meta["outputs"]) == {"label", "label_index", "probabilities"}
        if fmt == "saved_model":
            assert meta["inputs"] == {"text": {"dtype": "string", "shape": [None]}}
            assert not (out / "tokenizer.json").exists()
        else:  # text preprocessing is not carried: token ids in, the vocabulary beside
            assert list(meta["inputs"]) == ["token_ids"] and "cannot carry the text preprocessing" in meta["carries"]
            assert json.loads((out / "tokenizer.json").read_text())["vocabulary"][:2] == ["", "[UNK]"]
        if fmt == "onnx":
            assert meta["versions"]["tf2onnx"] and meta["opset"]
    # one fresh process (TensorFlow and onnxruntime, never seqkit) loads all three
    results = predict_without_seqkit([tmp_path / f for f in ("saved_model", "tflite", "onnx")], {"text": TEXTS})
    for fmt in ("saved_model", "tflite", "onnx"):
        _check(results[str(tmp_path / fmt)], rows, classes)


def test_export_refuses_bad_requests_and_leaves_nothing_half_written(text_run, tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    assert run_cli(["export", text_run.path, "--format", "onnx", "--output", out]) == 2
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(SeqkitError, match="--format: expected one of saved_model, tflite, onnx"):
        text_run.export("torchscript", tmp_path / "x")
    assert not (tmp_path / "x").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]  # no temporary folder left
