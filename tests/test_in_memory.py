"""In-memory data (DataFrames, arrays, lists) in the Python API, and files as users have them
(header-less TSV, quoting off, latin-1 with NEL bytes, bad lines, lists and globs of files)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import seqkit
from seqkit.errors import DataError, RecipeError
from seqkit.recipe import recipe_from_dict
from seqkit.train.runner import load_data, silent

TEXTS = ["good great fine", "bad awful poor", "great good", "poor bad", "fine good great", "awful bad"] * 4
LABELS = ["pos", "neg"] * 12


def text_recipe(tmp_path, **data):
    return {
        "task": "sentiment",
        "seed": 1,
        "data": {"adapter": "text_table", "split": {"validation": 0.25, "test": 0.25}, **data},
        "model": {
            "encoder": {"type": "token_embedding", "max_tokens": 50, "sequence_length": 5, "dim": 4},
            "backbone": {"layers": 1, "units": 4},
            "head": {"type": "classifier"},
        },
        "train": {"epochs": 1, "batch_size": 4, "verbose": 0},
        "output": {"dir": str(tmp_path / "runs"), "tensorboard": False},
    }


def bundle(recipe, data=None, base_dir=None):
    from types import SimpleNamespace

    _task, adapter, loaded = load_data(recipe_from_dict(recipe, in_memory=data, base_dir=base_dir), echo=silent)
    return SimpleNamespace(adapter=adapter, bundle=loaded)


# -- in-memory data --------------------------------------------------------------------------


def test_dataframe_trains_predicts_and_is_recorded(tmp_path):
    frame = pd.DataFrame({"review": TEXTS, "sentiment": LABELS})
    run = seqkit.run(text_recipe(tmp_path, text="review", label="sentiment"), data=frame, quiet=True)
    assert set(run.metrics["test"]) >= {"accuracy"}
    recorded = (run.path / "recipe.yaml").read_text()
    assert "path: '<in-memory DataFrame: 24 rows, columns review, sentiment, sha256 " in recorded
    info = json.loads((run.path / "data_info.json").read_text())
    assert info["in_memory"]["path"]["rows"] == 24 and len(info["in_memory"]["path"]["sha256"]) == 64
    assert info["sizes"] == {"train": 12, "validation": 6, "test": 6}  # the recipe's split ratios
    out = run.predict(pd.DataFrame({"review": ["good great", "bad poor"]}, index=[7, 9]))
    assert isinstance(out, pd.DataFrame) and list(out.index) == [7, 9]
    assert set(out["label"]) <= {"pos", "neg"} and {"p_pos", "p_neg"} <= set(out.columns)
    assert [row["label"] for row in run.predict(["good great", "bad poor"])] == list(out["label"])
    assert len(run.predict(("good great", "bad poor"))) == 2  # a tuple of texts is inputs, not (x, y)


@pytest.mark.slow  # a second training; the arrays' reading is tested without training below
def test_numpy_pair_trains_and_predicts(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 6, 2)).astype("float32")
    y = np.array(["a", "b"] * 12)
    x[y == "a"] += 1.0
    recipe = {
        "task": "sequence_classification",
        "seed": 1,
        "data": {"adapter": "sequence_npz", "x": x, "y": y},
        "model": {
            "encoder": {"type": "numeric"},
            "backbone": {"layers": 1, "units": 4},
            "head": {"type": "classifier"},
        },
        "train": {"epochs": 1, "batch_size": 4, "verbose": 0},
        "output": {"dir": str(tmp_path / "runs"), "tensorboard": False},
    }
    run = seqkit.run(recipe, quiet=True)
    assert "<in-memory dict of columns: 24 rows" in (run.path / "recipe.yaml").read_text()
    predicted = run.predict(x[:3])
    assert [set(p) >= {"label", "p_a", "p_b"} for p in predicted] == [True] * 3


def test_lists_tuple_and_dict_of_columns_give_the_same_rows(tmp_path):
    recipe = text_recipe(tmp_path)
    by_tuple = bundle(recipe, (TEXTS, LABELS)).bundle
    by_dict = bundle(recipe, {"train": {"text": TEXTS, "label": LABELS}}).bundle
    assert list(by_tuple.train.x) == list(by_dict.train.x)
    assert by_tuple.info["classes"] == ["neg", "pos"]
    # stratified like files: both classes in every split
    assert {int(v) for v in by_tuple.test.y} == {0, 1}


def test_split_dict_test_frame_replaces_the_ratio(tmp_path):
    train = pd.DataFrame({"text": TEXTS, "label": LABELS})
    test = pd.DataFrame({"text": ["good", "bad"], "label": ["pos", "neg"]})
    parts = bundle(text_recipe(tmp_path), {"train": train, "test": test}).bundle
    assert len(parts.test) == 2 and len(parts.train) + len(parts.validation) == 24


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (pd.DataFrame({"text": [], "label": []}), r"data.path \(DataFrame\): no rows"),
        (
            pd.DataFrame({"review": TEXTS, "label": LABELS}),
            r"missing column 'text' \(data.text\).*Columns: review, label",
        ),
        (
            pd.DataFrame({"text": TEXTS, "label": [None] + LABELS[1:]}),
            r"data.path \(DataFrame\):0: empty label in column 'label'",
        ),
        (pd.DataFrame({"text": TEXTS, "label": [np.nan] * 24}), r"\(DataFrame\):0: empty label"),
        (
            pd.DataFrame({"text": list(range(24)), "label": LABELS}),
            r"\(DataFrame\):0: column 'text' must hold text. Received: 0",
        ),
        ((TEXTS, LABELS[:-1]), r"columns differ in length \(x: 24, y: 23\)"),
        (
            {"text": TEXTS, "label": "pos"},
            r"\(dict of columns\): column 'label' must be a list or an array. Received: str",
        ),
        (object(), r"data.path: expected a file path, a pandas DataFrame.*Received: object"),
    ],
)
def test_hostile_text_data_names_column_and_row(tmp_path, data, message):
    with pytest.raises((DataError, RecipeError), match=message):
        bundle(text_recipe(tmp_path), data)


def test_declared_labels_name_the_bad_row(tmp_path):
    frame = pd.DataFrame({"text": TEXTS, "label": LABELS[:5] + ["maybe"] + LABELS[6:]}, index=range(100, 124))
    with pytest.raises(DataError, match=r"data.path \(DataFrame\):105: .*'maybe'"):
        bundle(text_recipe(tmp_path, labels=["neg", "pos"]), frame)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ((np.zeros((4, 3, 2)), np.array(["a", "b", "a"])), r"columns differ in length \(x: 4, y: 3\)"),
        ((np.zeros((4, 3, 2)), np.array([1.0, np.nan, 0.0, 1.0])), r"\(arrays\)\[1\]: no label"),
        (([[1.0, 2.0], [1.0]], ["a", "b"]), r"x must be numbers of one shape|not a regular array"),
        ((np.zeros((4, 3, 2)), np.array(["a"] * 4), np.array([3, 3, 9, 3])), r"lengths\[2\] is 9"),
    ],
)
def test_hostile_arrays(tmp_path, data, message):
    recipe = {
        "task": "sequence_classification",
        "data": {"adapter": "sequence_npz"},
        "model": {"encoder": {"type": "numeric"}, "head": {"type": "classifier"}},
    }
    with pytest.raises(DataError, match=message):
        bundle(recipe, data)


def test_tagging_pairs_and_errors():
    pairs = [(["Ann", "lives", "in", "Paris"], ["B-PER", "O", "O", "B-LOC"]), (["Bob", "left"], ["B-PER", "O"])] * 5
    recipe = {"task": "tagging", "data": {"adapter": "conll", "split": {"validation": 0.2}}}
    loaded = bundle(recipe, pairs).bundle
    assert loaded.info["entity_types"] == ["LOC", "PER"] and len(loaded.train) == 8
    frame = pd.DataFrame({"tokens": [p[0] for p in pairs], "tags": [p[1] for p in pairs]})
    assert len(bundle(recipe, frame).bundle.train) == 8
    with pytest.raises(DataError, match=r"\(list of pairs\):1: expected one tag per token \(2 tokens\). Received: 1"):
        bundle(recipe, [pairs[0], (["Bob", "left"], ["B-PER"])])
    with pytest.raises(DataError, match=r":0: token 1: .*X-PER"):
        bundle(recipe, [(["Ann", "Lee"], ["B-PER", "X-PER"])])


def test_forecast_wide_frame_with_a_datetime_index():
    times = pd.date_range("2024-01-01", periods=120, freq="h")
    frame = pd.DataFrame({"load": np.sin(np.arange(120) / 4.0) + 2.0}, index=times)
    recipe = {
        "task": "forecast",
        "data": {"adapter": "timeseries", "time": "date", "targets": ["load"], "lookback": 12, "horizon": 3},
    }
    loaded = bundle(recipe, frame).bundle
    assert loaded.info["freq"] == "h" and len(loaded.train) > 0


def test_placeholder_of_data_no_longer_alive_is_named(tmp_path):
    recipe = recipe_from_dict(text_recipe(tmp_path), in_memory=pd.DataFrame({"text": TEXTS, "label": LABELS}))
    data = recipe.to_dict()
    data["data"]["path"] = data["data"]["path"].replace("sha256 ", "sha256 0")
    with pytest.raises(DataError, match=r"was in-memory data of the Python session .* pass the data again"):
        bundle(data)


# -- files as users have them ------------------------------------------------------------------


def test_headerless_tsv_with_lone_quotes(tmp_path):
    rows = [f'{t} 5" screen\t{label}' for t, label in zip(TEXTS, LABELS)]
    (tmp_path / "train.tsv").write_text("\n".join(rows) + "\n")
    recipe = text_recipe(tmp_path, path="train.tsv", header=False, columns=["text", "label"], quoting="none")
    loaded = bundle(recipe, base_dir=tmp_path).bundle
    assert len(loaded.train) + len(loaded.validation) + len(loaded.test) == 24
    assert any('5" screen' in t for t in loaded.train.x)
    with pytest.raises(RecipeError, match="header-less file needs its column names"):
        recipe_from_dict(text_recipe(tmp_path, path="train.tsv", header=False), base_dir=tmp_path)


def test_latin1_nel_byte_keeps_line_numbers(tmp_path):
    lines = [f"{label} {text}".encode("latin-1") for text, label in zip(TEXTS, LABELS)]
    lines[2] = b"pos caf\xe9 ok \x85 fine"  # 0x85 is NEL in latin-1: not a line break in a file
    lines[5] = b"neg"  # label only: the bad line
    (tmp_path / "train.txt").write_bytes(b"\n".join(lines) + b"\n")
    recipe = text_recipe(tmp_path, path="train.txt", format="label_text", encoding="latin-1")
    with pytest.raises(DataError, match=r"train.txt:6: expected 'LABEL text'"):
        bundle(recipe, base_dir=tmp_path)
    lines[5] = b"neg bad"
    (tmp_path / "train.txt").write_bytes(b"\n".join(lines) + b"\n")
    loaded = bundle(recipe, base_dir=tmp_path).bundle
    texts = [*loaded.train.x, *loaded.validation.x, *loaded.test.x]
    assert len(texts) == 24 and "caf\xe9 ok \x85 fine" in texts


def test_on_bad_lines_error_lists_several_skip_and_warn_drop_them(tmp_path):
    rows = ["text,label"] + [f"{t},{label}" for t, label in zip(TEXTS, LABELS)]
    rows[3] = "only one field"
    rows[8] = "a,b,c"
    rows[10] = ",pos"
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(
        DataError, match=r"t.csv:4: expected 2 fields .*\(and 2 more bad lines: .*t.csv:9: .*t.csv:11: empty text"
    ):
        bundle(text_recipe(tmp_path, path="t.csv"), base_dir=tmp_path)
    skipped = bundle(text_recipe(tmp_path, path="t.csv", on_bad_lines="skip"), base_dir=tmp_path)
    assert skipped.bundle.info["bad_lines"]["path"]["skipped"] == 3 and not skipped.adapter.notes
    warned = bundle(text_recipe(tmp_path, path="t.csv", on_bad_lines="warn"), base_dir=tmp_path)
    assert warned.adapter.notes == [
        "skipped 3 bad lines of data.path (data.on_bad_lines: warn): "
        + "; ".join(warned.bundle.info["bad_lines"]["path"]["first"])
    ]


def test_lists_and_globs_of_files(tmp_path):
    for part in range(3):
        body = "".join(f"{t},{label}\n" for t, label in list(zip(TEXTS, LABELS))[part * 8 : part * 8 + 8])
        (tmp_path / f"part-{part}.csv").write_text("text,label\n" + body)
    by_glob = bundle(text_recipe(tmp_path, train="part-*.csv"), base_dir=tmp_path).bundle
    by_list = bundle(text_recipe(tmp_path, train=["part-0.csv", "part-1.csv", "part-2.csv"]), base_dir=tmp_path).bundle
    assert sorted(by_glob.train.x) == sorted(by_list.train.x) and len(by_glob.train) == 12
    with pytest.raises(DataError, match=r"data.train: the pattern 'nothing-\*.csv' matches no files"):
        bundle(text_recipe(tmp_path, train="nothing-*.csv"), base_dir=tmp_path)


def test_raw_text_warning_for_pretokenized_settings():
    from seqkit.builtin import raw_text_note

    note = raw_text_note(["Great product, works well!", "Broke after a week."] * 5, "lower")
    assert note.startswith("warning: model.encoder.standardize is 'lower', meant for pre-tokenized text, but 100%")
    assert raw_text_note(["a great product , works well !", "broke after a week ."] * 5, "lower") is None


# -- the README's examples -------------------------------------------------------------------


def test_python_api_page_shows_the_readme_in_memory_example():
    root = Path(__file__).resolve().parents[1]
    assert _block((root / "README.md").read_text()) == _block((root / "docs" / "python-api.md").read_text())


def _block(text: str) -> str:
    import re

    return re.search(r"<!-- in-memory-example -->\s*```python\n(.*?)```", text, flags=re.S).group(1)


@pytest.mark.slow  # five trainings (about 2 min on a loaded 2-core machine); the default suite trains two above
def test_readme_in_memory_examples_run(tmp_path, monkeypatch):
    from seqkit.testing import write_reviews

    root = Path(__file__).resolve().parents[1]
    code = _block((root / "README.md").read_text())
    write_reviews(tmp_path / "reviews.csv")
    monkeypatch.chdir(tmp_path)
    # The same examples, tiny: the tiny review table, one epoch, small layers, fewer rows.
    tiny = '["train.epochs=1", "model.backbone.units=4", "model.backbone.layers=1", "train.verbose=0"]'
    replacements = {
        'quick = ["train.epochs=2"]': f"quick = {tiny}",
        '"recipes/sentiment/data/reviews.csv"': repr(str(tmp_path / "reviews.csv")),
        '"recipes/sentiment/reviews.yaml"': repr(str(root / "recipes/sentiment/reviews.yaml")),
        "size=(300, 20, 3)": "size=(40, 6, 3)",
        "] * 40": "] * 6",
        "periods=500": "periods=120",
        "np.arange(500)": "np.arange(120)",
        "0.2, 500)": "0.2, 120)",
        '"lookback": 48, "horizon": 12': '"lookback": 12, "horizon": 3',
    }
    for old, new in replacements.items():
        assert old in code, old
        code = code.replace(old, new)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["run"].status == "completed" and "mae" in namespace["run"].metrics["test"]


@pytest.mark.slow  # a search of one trial
def test_search_takes_in_memory_data(tmp_path):
    recipe = text_recipe(tmp_path)
    recipe["tune"] = {
        "tuner": "random",
        "max_trials": 1,
        "objective": "val_loss",
        "space": {"model.backbone.units": {"choice": [2, 4]}},
    }
    result = seqkit.search(recipe, data=pd.DataFrame({"text": TEXTS, "label": LABELS}), quiet=True)
    assert len(result.rows) == 1 and result.best is not None


def test_prepare_refuses_options_the_streaming_reader_lacks(tmp_path):
    from seqkit.data import DataContext
    from seqkit.plugins import get_plugin_manager

    (tmp_path / "t.tsv").write_text("good\tpos\nbad\tneg\n")
    recipe = recipe_from_dict(
        text_recipe(tmp_path, path="t.tsv", header=False, columns=["text", "label"]), base_dir=tmp_path
    )
    adapter = get_plugin_manager().adapters.get("text_table")(recipe.section("data"), DataContext(tmp_path, 1))
    with pytest.raises(
        DataError, match=r"data.header: seqkit prepare \(streaming\) reads .* remove data.header, data.columns"
    ):
        list(adapter.iter_examples())
