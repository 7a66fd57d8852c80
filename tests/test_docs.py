"""Docs are part of the feature: every hook is documented with its exact signature, the
plugin guide's code is the tested example plugin, the README's API example runs, the README
stays a front page, and every link between the pages leads somewhere."""

from __future__ import annotations

import inspect
import re

import pytest

from conftest import ROOT, write_reviews
from seqkit import hookspecs

GUIDE = (ROOT / "docs" / "plugins.md").read_text()
README = (ROOT / "README.md").read_text()
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("plugins/*/README.md"))]


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

    guide = (ROOT / "docs" / "recipes-guide.md").read_text()
    for page in (README.split("## Recipes", 1)[1], guide):
        block = page.split("```yaml", 1)[1].split("```", 1)[0]
        path = tmp_path / "readme.yaml"
        path.write_text(block)
        recipe = load_recipe(path)
        assert recipe.get("train.lr_schedule.type") == "cosine"


def test_readme_is_a_front_page():
    assert len(README.splitlines()) <= 250, "README.md is a front page; move details to docs/ or a plugin README"


def test_python_api_page_shows_the_tested_example():
    def example(text):
        return re.search(r"<!-- api-example -->\s*```python\n(.*?)```", text, flags=re.S).group(1)

    assert example((ROOT / "docs" / "python-api.md").read_text()) == example(README)


def test_readme_lists_every_built_in_plugin_with_its_readme():
    for folder in sorted(ROOT.glob("plugins/*/pyproject.toml")):
        name = folder.parent.name
        assert f"](plugins/{name}/README.md)" in README, f"README's plugin table has no line for {name}"


def _anchors(text):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    headings = re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", text, flags=re.S), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_somewhere(page):
    text = page.read_text()
    for target in re.findall(r"\]\(([^)\s]+)\)", re.sub(r"```.*?```", "", text, flags=re.S)):
        if re.match(r"\w+://", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.relative_to(ROOT)}: link to {target}: no such file"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved.read_text()), f"{page.relative_to(ROOT)}: link to {target}: no such heading"


def test_every_recipe_key_has_a_description():
    from seqkit.recipe.reference import merged, missing_descriptions

    missing = missing_descriptions(merged())
    assert not missing, f"{len(missing)} recipe keys have no description in their schema: {', '.join(missing)}"


def test_recipe_reference_is_generated_from_the_schema():
    from seqkit.recipe.reference import markdown, merged

    assert (ROOT / "docs" / "recipes.md").read_text() == markdown(merged()), "docs/recipes.md is out of date: run `make docs`"


def test_recipe_reference_names_every_registered_part():
    from seqkit.plugins import get_plugin_manager

    reference = (ROOT / "docs" / "recipes.md").read_text()
    manager = get_plugin_manager()
    for word, registry in (("adapter", manager.adapters), ("encoder", manager.encoders), ("head", manager.heads)):
        for name in registry.names():
            assert f"({word} `{name}`)" in reference
