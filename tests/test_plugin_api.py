"""The public plugin API and the built-in plugins' packaging: each built-in plugin is a package
of its own that imports seqkit only through ``seqkit.plugin_api`` (its tests may also use the
top-level ``seqkit`` API and ``seqkit.testing``)."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib

import pytest
from conftest import ROOT

PLUGIN_DIRS = sorted(path for path in (ROOT / "plugins").iterdir() if (path / "pyproject.toml").exists())
ALLOWED_IN_CODE = {"seqkit.plugin_api"}
ALLOWED_IN_TESTS = {"seqkit", "seqkit.plugin_api", "seqkit.testing"}


def seqkit_imports(path):
    """(line, module) for every import of seqkit or a seqkit submodule in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "seqkit"]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and node.module.split(".")[0] == "seqkit"
        ):
            if node.module == "seqkit":  # `from seqkit import x` imports seqkit.x when x is a module
                found += [(node.lineno, f"seqkit.{alias.name}") for alias in node.names if _is_submodule(alias.name)]
                found.append((node.lineno, "seqkit"))
            else:
                found.append((node.lineno, node.module))
    return found


def _is_submodule(name):
    return (ROOT / "seqkit" / f"{name}.py").exists() or (ROOT / "seqkit" / name).is_dir()


def test_every_plugin_folder_is_installed_and_loaded(manager):
    # `make install` installs every plugins/*/pyproject.toml; seqkit loads each through its entry point.
    assert len(PLUGIN_DIRS) >= 5
    loaded = {info.name: info.distribution for info in manager.plugin_infos()}
    for plugin in PLUGIN_DIRS:
        name = plugin.name.removeprefix("seqkit_")
        assert loaded.get(name) == f"seqkit-{name}", f"{plugin.name} is not installed (make install) or not loaded"


@pytest.mark.parametrize("plugin", PLUGIN_DIRS, ids=lambda path: path.name)
def test_plugins_import_only_the_public_api(plugin):
    problems = []
    for path in sorted(plugin.rglob("*.py")):
        allowed = ALLOWED_IN_TESTS if "tests" in path.relative_to(plugin).parts else ALLOWED_IN_CODE
        problems += [
            f"{path.relative_to(ROOT)}:{line}: imports {module}"
            for line, module in seqkit_imports(path)
            if module not in allowed
        ]
    assert not problems, (
        "plugins may import only seqkit.plugin_api (tests: also seqkit, seqkit.testing):\n" + "\n".join(problems)
    )


def test_the_import_check_catches_a_private_import(tmp_path):
    path = tmp_path / "sneaky.py"
    path.write_text(
        "from seqkit.data.tables import read_text\nfrom seqkit import plugin_api\nimport seqkit.train.rundir\n"
    )
    assert [module for _line, module in seqkit_imports(path)] == [
        "seqkit.data.tables",
        "seqkit.plugin_api",
        "seqkit",
        "seqkit.train.rundir",
    ]


@pytest.mark.parametrize("plugin", PLUGIN_DIRS, ids=lambda path: path.name)
def test_each_plugin_is_a_package_of_its_own(plugin):
    name = plugin.name.removeprefix("seqkit_")
    project = tomllib.loads((plugin / "pyproject.toml").read_text())["project"]
    assert project["name"] == f"seqkit-{name}"
    assert project["entry-points"]["seqkit"] == {name: plugin.name}
    assert any(dep.startswith("seqkit") for dep in project["dependencies"])
    assert (plugin / plugin.name / "__init__.py").is_file()
    assert (plugin / "README.md").read_text().startswith(f"# seqkit-{name}")
    assert sorted(path.name for path in (plugin / "tests").glob("test_*.py")), f"{plugin.name} has no tests"
    # The standard layout: the plugin's tasks and, where it has them, adapters in modules so named.
    assert (plugin / plugin.name / "tasks.py").is_file()


def test_every_public_name_resolves():
    import seqkit.plugin_api as api

    for name in api.__all__:
        assert getattr(api, name) is not None, name
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        api.nothing_here  # noqa: B018


def test_importing_the_plugin_api_stays_light():
    # A plugin's __init__ imports hookimpl from it; `seqkit --help` loads every plugin.
    code = "import sys, seqkit.plugin_api; print(sorted(m for m in ('numpy', 'keras', 'matplotlib', 'tensorflow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
