"""Docs are part of the feature: every hook is documented with its exact signature, the
plugin guide's code is the tested example plugin, and the README's API example runs."""

from __future__ import annotations

import inspect
import re

import pytest

from conftest import ROOT, write_reviews
from seqkit import hookspecs

GUIDE = (ROOT / "docs" / "plugins.md").read_text()
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("name", [n for n in dir(hookspecs) if n.startswith("seqkit_")])
def test_every_hook_is_documented_with_its_signature(name):
    function = getattr(hookspecs, name)
    params = ", ".join(inspect.signature(function).parameters)
    assert f"`{name}({params})`" in GUIDE
    assert function.__doc__ and function.__doc__.strip()


def test_plugin_guide_shows_the_tested_example_plugin():
    folder = ROOT / "tests" / "plugin_example"
    for path in (folder / "pyproject.toml", folder / "seqkit_example_sum" / "__init__.py", folder / "sum.yaml"):
        assert path.read_text() in GUIDE, f"{path} differs from docs/plugins.md"


def test_readme_quickstart_gives_make_run_and_make_test_first():
    quickstart = README.split("## Quickstart", 1)[1]
    commands = re.findall(r"^make \w+", quickstart, flags=re.M)
    assert commands[:2] == ["make run", "make test"]


def test_readme_api_example_runs(tmp_path, monkeypatch):
    block = re.search(r"<!-- api-example -->\s*```python\n(.*?)```", README, flags=re.S)
    assert block, "README has no API example marked <!-- api-example -->"
    code = block.group(1)
    # Same example on a tiny copy of the data, for speed: point the recipe at it.
    write_reviews(tmp_path / "reviews.csv")
    monkeypatch.chdir(tmp_path)
    code = code.replace('"recipes/sentiment/reviews.yaml"', repr(str(ROOT / "recipes/sentiment/reviews.yaml")))
    code = code.replace('overrides=["train.epochs=3"]', f'overrides=["train.epochs=1", "data.path={tmp_path / "reviews.csv"}", "model.encoder.dim=8", "model.backbone.units=8"]')
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["run"].status == "completed"
    assert len(namespace["predictions"]) == 2


def test_readme_recipe_example_is_a_valid_recipe(tmp_path, monkeypatch):
    from seqkit.recipe import load_recipe

    block = README.split("## Recipes", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    path = tmp_path / "readme.yaml"
    path.write_text(block)
    recipe = load_recipe(path)
    assert recipe.get("train.lr_schedule.type") == "cosine"
