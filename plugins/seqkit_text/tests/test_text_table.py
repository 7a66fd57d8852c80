"""The text_table adapter: formats, labels, splits and its one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from seqkit.plugin_api import DataContext, DataError
from seqkit.testing import write_reviews
from seqkit_text.adapters import TextTableAdapter

DEFAULTS = {
    "format": "auto",
    "text": "review",
    "label": "sentiment",
    "multilabel": False,
    "label_separator": "|",
    "split": {"validation": 0.2, "test": 0.2, "stratify": True},
    "encoding": "utf-8",
}


def adapter(tmp_path, **config):
    return TextTableAdapter({**DEFAULTS, **config}, DataContext(tmp_path, seed=1))


@pytest.mark.parametrize("fmt, name", [("csv", "r.csv"), ("tsv", "r.tsv"), ("jsonl", "r.jsonl")])
def test_formats_give_the_same_data(tmp_path, fmt, name):
    write_reviews(tmp_path / name, fmt=fmt)
    bundle = adapter(tmp_path, path=name).load()
    assert bundle.info["classes"] == ["negative", "neutral", "positive"]
    assert (len(bundle.train), len(bundle.validation), len(bundle.test)) == (24, 6, 6)
    # Stratified: every class in every split, in equal numbers here.
    for split in (bundle.train, bundle.validation, bundle.test):
        assert np.bincount(split.y, minlength=3).tolist() == [len(split) // 3] * 3


def test_split_is_seeded(tmp_path):
    write_reviews(tmp_path / "r.csv")
    first = adapter(tmp_path, path="r.csv").load().test.raw
    again = adapter(tmp_path, path="r.csv").load().test.raw
    other = TextTableAdapter({**DEFAULTS, "path": "r.csv"}, DataContext(tmp_path, seed=2)).load().test.raw
    assert first == again and first != other


def test_label_text_files_with_integer_labels_named_by_labels(tmp_path):
    (tmp_path / "train.txt").write_text("1 a fine film\n0 a dull film\n1 great fun\n0 so boring\n")
    (tmp_path / "test.txt").write_text("1 fun film\n0 dull\n")
    bundle = adapter(
        tmp_path,
        train="train.txt",
        test="test.txt",
        format="label_text",
        labels=["negative", "positive"],
        split={"validation": 0.5, "test": 0.0, "stratify": True},
    ).load()
    assert bundle.info["classes"] == ["negative", "positive"]
    assert bundle.test.y.tolist() == [1, 0] and bundle.test.raw == ["fun film", "dull"]
    assert len(bundle.train) == 2 and len(bundle.validation) == 2


def test_integer_labels_without_names_sort_numerically(tmp_path):
    rows = [(f"text {i}", str(label)) for i, label in enumerate([10, 2, 10, 2, 1, 1] * 3)]
    write_reviews(tmp_path / "r.csv", rows)
    assert adapter(tmp_path, path="r.csv").load().info["classes"] == ["1", "2", "10"]


def test_bad_label_text_line(tmp_path):
    (tmp_path / "t.txt").write_text("1 good\nlonely\n")
    with pytest.raises(DataError, match=r"t.txt:2: expected 'LABEL text'"):
        adapter(tmp_path, train="t.txt", format="label_text").load()


def test_unknown_extension_asks_for_format(tmp_path):
    (tmp_path / "r.dat").write_text("x")
    with pytest.raises(DataError, match="set data.format to one of"):
        adapter(tmp_path, path="r.dat").load()


def test_multilabel(tmp_path):
    rows = [("fast and cheap", "speed|price"), ("slow", "speed"), ("pricey", "price"), ("ok", "other")] * 4
    write_reviews(tmp_path / "r.csv", rows)
    bundle = adapter(
        tmp_path, path="r.csv", multilabel=True, split={"validation": 0.25, "test": 0.25, "stratify": False}
    ).load()
    assert bundle.info["classes"] == ["other", "price", "speed"]
    assert bundle.train.y.shape[1] == 3 and set(bundle.train.y.sum(axis=1)) <= {1.0, 2.0}


def test_empty_text_and_label(tmp_path):
    (tmp_path / "r.csv").write_text("review,sentiment\n  ,positive\n")
    with pytest.raises(DataError, match=r"r.csv:2: empty text in column 'review'"):
        adapter(tmp_path, path="r.csv").load()
    (tmp_path / "r.jsonl").write_text('{"review": "fine", "sentiment": ""}\n')
    with pytest.raises(DataError, match=r"r.jsonl:1: empty label"):
        adapter(tmp_path, path="r.jsonl").load()
    (tmp_path / "b.jsonl").write_text('{"review": "fine"\n')
    with pytest.raises(DataError, match=r"b.jsonl:1: invalid JSON"):
        adapter(tmp_path, path="b.jsonl").load()


def test_semicolon_separated_csv_gets_a_hint(tmp_path):
    (tmp_path / "r.csv").write_text("review;sentiment\ngood;positive\n")
    with pytest.raises(
        DataError, match=r"r.csv:2: missing column 'review' \(data.text\). The header is one column holding ';'"
    ):
        adapter(tmp_path, path="r.csv", text="review", label="sentiment").load()


def test_empty_texts_to_predict_are_refused(tmp_path):
    text_adapter = adapter(tmp_path, path="r.csv")
    with pytest.raises(DataError, match=r"^input 2: empty text; nothing to predict from$"):
        text_adapter.encode_inputs(["fine", "  "], {})
    (tmp_path / "new.csv").write_text("id,review\n1,good\n2, \n")
    with pytest.raises(DataError, match=r"new.csv:3: empty text in column 'review'"):
        text_adapter.read_inputs(tmp_path / "new.csv", {"text_column": "review"})


def test_a_blank_line_of_a_text_file_to_predict_is_named(tmp_path):
    text_adapter = adapter(tmp_path, path="r.csv")
    (tmp_path / "new.txt").write_text("good\n\nbad\n")
    with pytest.raises(DataError, match=r"new.txt:2: blank line; expected one text a line"):
        text_adapter.read_inputs(tmp_path / "new.txt", {})
    (tmp_path / "new.txt").write_text("good\nbad\n\n\n")
    assert text_adapter.read_inputs(tmp_path / "new.txt", {}) == ["good", "bad"]
