"""Data larger than memory: streamed readers, ``seqkit prepare`` and the ``tfrecord`` adapter."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_RECIPE, TINY_REVIEWS, write_reviews

from seqkit.errors import DataError, SeqkitError
from seqkit.recipe import load_recipe


def _recipe(folder: Path, data_file: str = "reviews.csv", epochs: int = 2) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(
        TINY_RECIPE.format(epochs=epochs, runs=folder / "runs").replace("path: reviews.csv", f"path: {data_file}")
    )
    return path


def _read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_prepare_streams_a_table_into_shards_and_a_recipe_trains_on_them(tmp_path, capsys):
    import seqkit
    from seqkit.cli import main
    from seqkit.data.stream_rows import hashed_split

    rows = TINY_REVIEWS * 3  # 54 rows
    write_reviews(tmp_path / "reviews.jsonl", rows, fmt="jsonl")
    recipe = _recipe(tmp_path, "reviews.jsonl")
    out = tmp_path / "prepared"
    assert main(["prepare", str(recipe), "--output", str(out), "--shard-rows", "10"]) == 0
    manifest = json.loads((out / "prepared.json").read_text())
    expected = {
        s: sum(hashed_split(i, 7, 0.2, 0.2) == s for i in range(len(rows))) for s in ("train", "validation", "test")
    }
    assert manifest["info"]["sizes"] == expected and sum(expected.values()) == 54
    assert manifest["splits"]["train"]["files"] == [
        f"part-{i:05d}.tfrecord" for i in range(-(-expected["train"] // 10))
    ]
    assert manifest["input"] == {"shape": [8], "dtype": "int64"} and manifest["fitted_on_rows"] == expected["train"]
    assert "preprocessing fitted on" in capsys.readouterr().out

    # The vocabulary fitted on the stream is the one fitted on the same rows in memory.
    import keras

    from seqkit.export.saving import load_model

    vocabulary = load_model(out / "preprocessor.keras").layers[-1].get_vocabulary()
    train_texts = [t for i, (t, _l) in enumerate(rows) if hashed_split(i, 7, 0.2, 0.2) == "train"]
    reference = keras.layers.TextVectorization(max_tokens=100, output_sequence_length=8)
    reference.adapt(np.asarray(train_texts))
    assert vocabulary == reference.get_vocabulary()

    prepared_recipe = tmp_path / "prepared.yaml"
    prepared_recipe.write_text(
        recipe.read_text()
        .replace("path: reviews.jsonl", "adapter: tfrecord\n  path: prepared")
        .replace("  text: review\n  label: sentiment\n  split: {validation: 0.2, test: 0.2}\n", "")
    )
    run = seqkit.run(prepared_recipe, quiet=True)
    assert run.status == "completed"
    history = _read_csv(run.path / "history.csv")
    assert len(history) == 2 and float(history[1]["loss"]) < float(history[0]["loss"])
    predictions = _read_csv(run.path / "predictions.csv")
    assert len(predictions) == expected["test"] and {p["input"] for p in predictions} <= {t for t, _ in rows}
    assert seqkit.load_run(run.path).predict(["great product works perfectly"])[0]["label"] in {
        "positive",
        "negative",
        "neutral",
    }


def test_prepare_errors_name_the_file_and_line(tmp_path):
    from seqkit.data.stream import prepare

    (tmp_path / "reviews.csv").write_text('review,sentiment\ngood,positive\n"bad,negative\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"reviews\.csv:3"):
        prepare(load_recipe(_recipe(tmp_path)), tmp_path / "out1", echo=lambda _m: None)
    (tmp_path / "reviews.jsonl").write_text('{"review": "good", "sentiment": "positive"}\n{oops\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"reviews\.jsonl:2: invalid JSON"):
        prepare(load_recipe(_recipe(tmp_path, "reviews.jsonl")), tmp_path / "out2", echo=lambda _m: None)
    write_reviews(tmp_path / "reviews.csv")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(SeqkitError, match="not empty"):
        prepare(load_recipe(_recipe(tmp_path)), tmp_path / "mine", echo=lambda _m: None)
    with pytest.raises(SeqkitError, match="not a prepared-data folder"):
        prepare(load_recipe(_recipe(tmp_path)), tmp_path / "mine", overwrite=True, echo=lambda _m: None)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_prepared_folder_checks_and_a_declared_sample(tmp_path):
    from seqkit.data.stream import prepare, read_manifest

    write_reviews(tmp_path / "reviews.csv")
    out = tmp_path / "prepared"
    manifest = prepare(load_recipe(_recipe(tmp_path)), out, sample=5, echo=lambda _m: None)
    assert manifest["fitted_on_rows"] == 5
    (out / ".partial").write_text("")
    with pytest.raises(DataError, match="did not finish"):
        read_manifest(out)
    (out / ".partial").unlink()
    next((out / "train").iterdir()).unlink()
    with pytest.raises(DataError, match="shard listed in prepared.json is missing"):
        read_manifest(out)
    with pytest.raises(DataError, match="seqkit prepare RECIPE --output"):
        read_manifest(tmp_path)


def test_prepare_reads_sharded_files_named_by_a_glob(tmp_path):
    from seqkit.data.stream import prepare

    write_reviews(tmp_path / "part-1.csv", TINY_REVIEWS)
    write_reviews(tmp_path / "part-2.csv", TINY_REVIEWS[:5])
    manifest = prepare(load_recipe(_recipe(tmp_path, "part-*.csv")), tmp_path / "out", echo=lambda _m: None)
    assert sum(manifest["info"]["sizes"].values()) == len(TINY_REVIEWS) + 5
    with pytest.raises(DataError, match=r"data.path: the pattern 'nothing-\*.csv' matches no files"):
        prepare(load_recipe(_recipe(tmp_path, "nothing-*.csv")), tmp_path / "out2", echo=lambda _m: None)
