"""data.augment on text: EDA operations and nearest-neighbour replacement, training split only, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from seqkit.plugin_api import DataContext
from seqkit.testing import write_reviews
from seqkit_text.adapters import TextTableAdapter
from seqkit_text.augment import TextAugmenter, augment_split, check, nearest_neighbours

CONFIG = {"path": "r.csv", "text": "review", "label": "sentiment", "split": {"validation": 0.2, "test": 0.2}}
EDA = {"copies": 2, "deletion": 0.3, "swap": 0.3, "insertion": 0.3}


def load(tmp_path, seed=1, **augment):
    return TextTableAdapter({**CONFIG, "augment": augment}, DataContext(tmp_path, seed=seed)).load()


def test_training_split_only_is_augmented_seeded_and_recorded(tmp_path):
    write_reviews(tmp_path / "r.csv")
    plain = TextTableAdapter(CONFIG, DataContext(tmp_path, seed=1)).load()
    first, again, other = load(tmp_path, **EDA), load(tmp_path, **EDA), load(tmp_path, **EDA, seed=9)
    assert len(first.train) == 3 * len(plain.train)
    assert list(first.train.x[: len(plain.train)]) == list(plain.train.x)  # originals kept, in order
    np.testing.assert_array_equal(first.train.y, np.tile(plain.train.y, 3))  # copies keep their labels
    assert list(first.validation.x) == list(plain.validation.x) and list(first.test.x) == list(plain.test.x)
    assert list(first.train.x) == list(again.train.x) and list(first.train.x) != list(other.train.x)
    record = first.info["augment"]
    assert record["original_rows"] == len(plain.train) and record["augmented_rows"] == 2 * len(plain.train)
    assert sum(record["operations"].values()) == record["augmented_rows"] and record["changed_rows"] > 0


def test_each_operation():
    text = "one two three four five six seven eight nine ten"
    for op, check_words in [
        ("deletion", lambda w: len(w) < 10 and all(x in text.split() for x in w)),
        ("swap", lambda w: sorted(w) == sorted(text.split()) and w != text.split()),
        ("insertion", lambda w: len(w) == 13 and set(w) <= set(text.split())),  # no vectors: words of the text
    ]:
        out, used = TextAugmenter({op: 0.3}, seed=0).one(text)
        assert used == op and check_words(out.split()), (op, out)
    out, _ = TextAugmenter({"neighbours": 1.0}, 0, {"one": ["uno"], "two": ["dos"]}).one("One two three")
    assert out == "Uno dos three"  # the case of the replaced word is kept


def test_neighbours_come_from_the_vectors(tmp_path):
    vectors = tmp_path / "v.txt"
    vectors.write_text("good 1 0\ngreat 0.9 0.1\nbad -1 0\nawful -0.9 -0.1\nfine 0.8 0.3\n")
    neighbours = nearest_neighbours({"good", "bad", "unseen"}, str(vectors), 1)
    assert neighbours == {"good": ["great"], "bad": ["awful"]}
    x, _, record = augment_split(
        ["good film", "bad film"], np.array([1, 0]), {"neighbours": 1.0, "vectors": str(vectors), "top_k": 1}, 0
    )
    assert list(x[2:]) == ["great film", "awful film"] and record["words_with_neighbours"] == 2


@pytest.mark.parametrize(
    "config, message",
    [({"copies": 1}, "at least one of deletion"), ({"neighbours": 0.1}, "neighbours needs vectors")],
)
def test_augment_section_checks(config, message):
    assert any(message in m for _, m in check(config))
