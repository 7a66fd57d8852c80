"""Real data sets (slow; run with `make test-slow` or `pytest -m slow`)."""

from __future__ import annotations

import pytest
from conftest import ROOT

import seqkit


@pytest.mark.slow
def test_sst2_recipe_beats_plain_keras_bilstm(tmp_path):
    recipe = seqkit.load_recipe(
        ROOT / "recipes" / "sentiment" / "sst2.yaml", [f"output.dir={tmp_path}", "train.verbose=0"]
    )
    from pathlib import Path

    if not Path(recipe.get("data.train")).is_file():
        pytest.skip("SST-2 not found under SEQKIT_DATA")
    run = seqkit.run(recipe, quiet=True)
    assert run.metrics["test"]["accuracy"] >= 0.795


@pytest.mark.slow
def test_reviews_recipe_predicts_the_seed_examples(tmp_path):
    run = seqkit.run(
        ROOT / "recipes" / "sentiment" / "reviews.yaml",
        overrides=[f"output.dir={tmp_path}", "train.verbose=0"],
        quiet=True,
    )
    assert run.metrics["test"]["accuracy"] >= 0.70
    rows = run.predict(["The product exceeded my expectations!", "I regret buying this item."])
    assert [r["label"] for r in rows] == ["positive", "negative"]
