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
    code = code.replace(
        'overrides=["train.epochs=3"]',
        f'overrides=["train.epochs=1", "data.path={tmp_path / "reviews.csv"}", "model.encoder.dim=8", "model.backbone.units=8"]',
    )
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
            assert anchor in _anchors(resolved.read_text()), (
                f"{page.relative_to(ROOT)}: link to {target}: no such heading"
            )


def test_every_recipe_key_has_a_description():
    from seqkit.recipe.reference import merged, missing_descriptions

    missing = missing_descriptions(merged())
    assert not missing, f"{len(missing)} recipe keys have no description in their schema: {', '.join(missing)}"


def test_recipe_reference_is_generated_from_the_schema():
    from seqkit.recipe.reference import markdown, merged

    assert (ROOT / "docs" / "recipes.md").read_text() == markdown(merged()), (
        "docs/recipes.md is out of date: run `make docs`"
    )


def test_recipe_reference_names_every_registered_part():
    from seqkit.plugins import get_plugin_manager

    reference = (ROOT / "docs" / "recipes.md").read_text()
    manager = get_plugin_manager()
    for word, registry in (("adapter", manager.adapters), ("encoder", manager.encoders), ("head", manager.heads)):
        for name in registry.names():
            assert f"({word} `{name}`)" in reference


# Every class a plugin subclasses or receives; docs/plugins.md's reference lists each public member.
PLUGIN_CLASSES = [
    "Task",
    "ClassificationTask",
    "RegressionTask",
    "GeneratingTask",
    "SearchingTask",
    "ExplainTarget",
    "Adapter",
    "StreamingAdapter",
    "PreprocessingAdapter",
    "DataContext",
    "DataBundle",
    "Split",
    "DataInfo",
    "EncoderSpec",
    "HeadSpec",
    "Command",
    "Run",
    "StepModel",
    "ReportContext",
    "ReportSection",
]
# Attributes Run sets in __init__ (not visible on the class).
RUN_ATTRIBUTES = ["recipe", "info", "task", "adapter", "run_dir"]


def _members(cls):
    import dataclasses

    names = [n for n in vars(cls) if not n.startswith("_") and n not in getattr(cls, "__dataclass_fields__", {})]
    if dataclasses.is_dataclass(cls):
        names = [f.name for f in dataclasses.fields(cls)] + names
    if cls.__name__ == "Run":
        names += RUN_ATTRIBUTES
    return list(dict.fromkeys(names))


def _documented_form(cls, name):
    """`Class.method(arg, *args, **options)` (no self / cls) for methods, `Class.attribute` otherwise."""
    value = inspect.getattr_static(cls, name, None)
    function = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
    if inspect.isfunction(function):
        params = [p for p in inspect.signature(function).parameters.values() if p.name not in ("self", "cls")]
        stars = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}
        return f"`{cls.__name__}.{name}({', '.join(stars.get(p.kind, '') + p.name for p in params)})`"
    return f"`{cls.__name__}.{name}`"


@pytest.mark.parametrize("class_name", PLUGIN_CLASSES)
def test_every_plugin_class_member_is_documented_with_its_arguments(class_name):
    from seqkit import plugin_api

    cls = getattr(plugin_api, class_name)
    missing = [form for form in (_documented_form(cls, n) for n in _members(cls)) if f"| {form} |" not in GUIDE]
    assert not missing, f"docs/plugins.md's reference lacks (or has other arguments for): {', '.join(missing)}"


def test_plugin_reference_documents_nothing_that_is_gone():
    from seqkit import plugin_api

    reference = GUIDE.split("## Reference: everything seqkit calls on a plugin object", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)\.(\w+)", reference, flags=re.M))
    existing = {(c, n) for c in PLUGIN_CLASSES for n in _members(getattr(plugin_api, c))}
    assert documented - existing == set(), f"documented but not in the code: {sorted(documented - existing)}"
