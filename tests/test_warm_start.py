"""model.init_from: an earlier run's encoder and backbone, vocabularies mapped by token, across tasks."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from seqkit.errors import RecipeError
from seqkit.testing import TINY_RECIPE, run_tiny_recipe, write_reviews


def _weights(run, name):
    inner = run.model.layers[-1] if isinstance(run.model.layers[-1], keras.Model) else run.model
    return [keras.ops.convert_to_numpy(w) for w in inner.get_layer(name).weights]


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("source")
    write_reviews(folder / "reviews.csv")
    (folder / "tiny.yaml").write_text(TINY_RECIPE.format(epochs=1, runs=folder / "runs"))
    return run_tiny_recipe(folder / "tiny.yaml", folder)


def test_init_from_maps_vocabulary_by_token_and_freezes(source_run, tmp_path):
    write_reviews(tmp_path / "reviews.csv")
    (tmp_path / "tiny.yaml").write_text(TINY_RECIPE.format(epochs=1, runs=tmp_path / "runs"))
    # Another split and a smaller vocabulary: the same tokens sit in other rows.
    run = run_tiny_recipe(
        tmp_path / "tiny.yaml",
        tmp_path,
        [f"model.init_from={source_run.path}", "model.freeze_epochs=1", "model.encoder.max_tokens=40", "seed=3"],
    )
    report = json.loads((run.path / "init_from.json").read_text())
    assert report["loaded"] == ["token_embedding", "backbone"] and report["new"] == ["classifier"]
    assert report["frozen_epochs"] == 1 and report["vocabulary"]["token_embedding"]["found"] > 10
    old_vocabulary = source_run.model.get_layer("text_vectorization").get_vocabulary()
    new_vocabulary = run.model.get_layer("text_vectorization").get_vocabulary()
    assert old_vocabulary != new_vocabulary[: len(old_vocabulary)]
    old, new = _weights(source_run, "token_embedding")[0], _weights(run, "token_embedding")[0]
    shared = [t for t in new_vocabulary[2:] if t in old_vocabulary]
    assert len(shared) == report["vocabulary"]["token_embedding"]["found"]
    for token in shared:  # frozen for the one epoch trained: still the earlier run's rows
        np.testing.assert_array_equal(new[new_vocabulary.index(token)], old[old_vocabulary.index(token)])
    for a, b in zip(_weights(source_run, "backbone"), _weights(run, "backbone")):
        np.testing.assert_array_equal(a, b)


def test_init_from_across_tasks_loads_the_backbone(source_run, tmp_path):
    pytest.importorskip("seqkit_tagging")
    lines = []
    for i in range(24):
        lines += ["Alice\tB-person", "loved\tO", "Paris\tB-location", "" if i % 2 else "today\tO", ""]
    (tmp_path / "train.conll").write_text("\n".join(line for line in lines if line is not None))
    recipe = f"""\
        name: ner-from-sentiment
        task: tagging
        seed: 1
        data: {{train: train.conll, split: {{validation: 0.25}}}}
        model:
          encoder: {{type: word_char, word_dim: 8, char_dim: 0, casing_dim: 0}}  # 8 features, as the source's
          backbone: {{layers: 1, units: 8}}
          head: {{type: token_classifier}}
          init_from: {source_run.path}
          freeze_epochs: 1
        train: {{epochs: 1, batch_size: 8, verbose: 0}}
        """
    run = run_tiny_recipe(recipe, tmp_path)
    report = json.loads((run.path / "init_from.json").read_text())
    assert report["loaded"] == ["backbone"] and report["new"] == ["word_char_encoder", "token_classifier"]
    for a, b in zip(_weights(source_run, "backbone"), _weights(run, "backbone")):
        np.testing.assert_array_equal(a, b)


def test_init_from_that_is_no_run_is_one_line(tmp_path, tiny_recipe):
    (tmp_path / "nothing").mkdir()
    with pytest.raises(RecipeError, match=r"model.init_from: .*nothing: not a seqkit run directory"):
        run_tiny_recipe(tiny_recipe, tmp_path, [f"model.init_from={tmp_path / 'nothing'}", "train.epochs=1"])


def test_a_run_resumed_while_its_warm_start_is_frozen_unfreezes_on_time(source_run, tmp_path):
    """Interrupted inside model.freeze_epochs and resumed: the loaded layers are unfrozen at the
    same epoch as in an uninterrupted run, which the resumed run then matches exactly."""
    import seqkit
    from seqkit.testing import interrupted_after_epoch

    write_reviews(tmp_path / "reviews.csv")
    sets = [f"model.init_from={source_run.path}", "model.freeze_epochs=2", "seed=3"]
    (tmp_path / "tiny.yaml").write_text(TINY_RECIPE.format(epochs=4, runs=tmp_path / "runs"))
    straight = run_tiny_recipe(tmp_path / "tiny.yaml", tmp_path / "straight", sets)
    with interrupted_after_epoch(1), pytest.raises(KeyboardInterrupt):
        run_tiny_recipe(tmp_path / "tiny.yaml", tmp_path / "resumed", sets)
    (path,) = (tmp_path / "resumed" / "runs").glob("*/*/checkpoints")
    resumed = seqkit.resume(path.parent, quiet=True)
    assert (path.parent / "history.csv").read_text() == (straight.path / "history.csv").read_text()
    assert resumed.metrics["test"] == straight.metrics["test"]
    # The embedding trained in epochs 3 and 4: no longer the earlier run's rows.
    assert not np.array_equal(_weights(source_run, "backbone")[0], _weights(resumed, "backbone")[0])
