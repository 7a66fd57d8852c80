"""Every shipped recipe parses and validates (no training), and documents how to run it."""

from __future__ import annotations

import pytest
from conftest import ROOT

from seqkit.recipe import load_recipe

RECIPES = sorted((ROOT / "recipes").rglob("*.yaml"))


def test_there_are_recipes():
    assert any(p.name == "reviews.yaml" for p in RECIPES)


@pytest.mark.parametrize("path", RECIPES, ids=[str(p.relative_to(ROOT)) for p in RECIPES])
def test_recipe_validates_and_starts_with_its_command(path, monkeypatch):
    monkeypatch.setenv("SEQKIT_DATA", "/data")  # validation does not open data files
    recipe = load_recipe(path)
    assert recipe.name and recipe.task
    header = path.read_text().split("\nname:")[0]
    assert f"seqkit run {path.relative_to(ROOT)}" in header
    assert "--set" in header
