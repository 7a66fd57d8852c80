"""Pretrained vectors and safe model loading."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from seqkit.errors import DataError, RunError
from seqkit.export.saving import load_model
from seqkit.models.encoders import load_pretrained_vectors


def test_pretrained_vectors_glove_and_word2vec(tmp_path):
    glove = tmp_path / "glove.txt"
    glove.write_text("good 1 2 3\nBad 4 5 6\nunused 7 8 9\n")
    matrix, found = load_pretrained_vectors(glove, ["", "[UNK]", "good", "bad", "missing"], 3)
    assert found == 2
    assert matrix[2].tolist() == [1, 2, 3] and matrix[3].tolist() == [4, 5, 6]
    assert matrix[0].tolist() == [0, 0, 0]
    w2v = tmp_path / "w2v.txt"
    w2v.write_text("2 3\ngood 1 2 3\nbad 4 5 6\n")
    assert load_pretrained_vectors(w2v, ["", "[UNK]", "good"], 3)[1] == 1
    with pytest.raises(DataError, match=r"glove.txt:1: vector has 3 values; model.encoder.dim is 4"):
        load_pretrained_vectors(glove, ["", "[UNK]", "good"], 4)


def test_pretrained_vectors_end_up_in_the_trained_model(tiny_recipe, tmp_path, monkeypatch):
    import seqkit

    monkeypatch.chdir(tmp_path)  # a path given as an override is relative to the current folder
    (tmp_path / "vectors.txt").write_text(
        "love " + " ".join(["0.5"] * 8) + "\nterrible " + " ".join(["-0.5"] * 8) + "\n"
    )
    run = seqkit.run(
        tiny_recipe,
        overrides=["model.encoder.pretrained=vectors.txt", "model.encoder.trainable=false", "train.epochs=1"],
        quiet=True,
    )
    vectorizer = run.model.get_layer("text_vectorization")
    vocabulary = vectorizer.get_vocabulary()
    embeddings = keras.ops.convert_to_numpy(run.model.layers[-1].get_layer("token_embedding").embedding.embeddings)
    np.testing.assert_allclose(embeddings[vocabulary.index("love")], 0.5)
    np.testing.assert_allclose(embeddings[vocabulary.index("terrible")], -0.5)


def test_model_with_lambda_is_refused(tmp_path):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(RunError, match="refused to load: the model contains code"):
        load_model(tmp_path / "lambda.keras")


def test_model_file_that_is_not_a_model(tmp_path):
    (tmp_path / "junk.keras").write_bytes(b"\x00\x01junk")
    with pytest.raises(RunError, match="not a .keras model file"):
        load_model(tmp_path / "junk.keras")
    with pytest.raises(RunError, match="model file not found"):
        load_model(Path(tmp_path / "none.keras"))


def test_model_with_an_unknown_layer_class_is_one_line(tmp_path, monkeypatch):
    # A layer whose module no installed spec names in keras_module (or whose plugin is gone).
    @keras.saving.register_keras_serializable(package="gone_plugin")
    class Gone(keras.layers.Layer):
        def call(self, x):
            return x * 2

    inputs = keras.Input((3,))
    keras.Model(inputs, Gone()(inputs)).save(tmp_path / "gone.keras")
    monkeypatch.delitem(keras.saving.get_custom_objects(), "gone_plugin>Gone")
    with pytest.raises(
        RunError, match=r"gone.keras: cannot load model: Keras does not know its layer 'Gone'; the plugin"
    ):
        load_model(tmp_path / "gone.keras")


def test_load_model_imports_the_layer_modules_it_is_given(manager, tmp_path, monkeypatch):
    """saving.load_model imports only seqkit's own layers and the modules passed to it;
    seqkit.api.load_model passes those the installed plugins' specs name in keras_module."""
    import sys

    import seqkit
    from seqkit.api import load_model as load_with_plugins
    from seqkit.models.parts import HeadSpec

    (tmp_path / "doubling_layers.py").write_text(
        "import keras\n\n\n@keras.saving.register_keras_serializable(package='doubling')\n"
        "class Double(keras.layers.Layer):\n    def call(self, x):\n        return x * 2\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import doubling_layers

    inputs = keras.Input((3,))
    keras.Model(inputs, doubling_layers.Double()(inputs)).save(tmp_path / "double.keras")

    def forget():  # as in a fresh process: the layer module not imported, the class unknown
        keras.saving.get_custom_objects().pop("doubling>Double", None)
        sys.modules.pop("doubling_layers", None)

    class DoublingHead(HeadSpec):
        name = "doubling_head"
        keras_module = "doubling_layers"

    class Plugin:
        @seqkit.hookimpl
        def seqkit_register_heads(self, register):
            register(DoublingHead)

    plugin = Plugin()
    registered = False
    try:
        forget()
        with pytest.raises(RunError, match="Keras does not know its layer 'Double'"):
            load_model(tmp_path / "double.keras")
        assert "doubling_layers" not in sys.modules
        x = np.ones((1, 3), dtype="float32")
        np.testing.assert_allclose(
            load_model(tmp_path / "double.keras", ["doubling_layers"]).predict(x, verbose=0), 2 * x
        )
        forget()
        manager.register(plugin, name="doubling_plugin")
        registered = True
        np.testing.assert_allclose(load_with_plugins(tmp_path / "double.keras", manager).predict(x, verbose=0), 2 * x)
        assert "doubling_layers" in sys.modules
    finally:
        if registered:
            manager.unregister("doubling_plugin")
        forget()
