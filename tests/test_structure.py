"""The package's layering: what may import what, and the one home of patches of private code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SEQKIT = Path(__file__).resolve().parents[1] / "seqkit"


def _imports(path: Path, root: Path = SEQKIT) -> list[tuple[int, str]]:
    """(line, module) of every import in a file of package `root`, relative imports resolved, at any depth."""
    package = ".".join(path.relative_to(root.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _offenders(folder: Path, forbidden: str, root: Path = SEQKIT) -> list[str]:
    return [
        f"{path.relative_to(root.parent)}:{line}: imports {module}"
        for path in sorted(folder.rglob("*.py"))
        for line, module in _imports(path, root)
        if module == forbidden or module.startswith(forbidden + ".")
    ]


def test_the_scan_sees_imports_at_any_depth(tmp_path):
    root = tmp_path / "seqkit"
    (root / "recipe").mkdir(parents=True)
    (root / "recipe" / "sample.py").write_text(
        "import os\ndef f():\n    from ..train import runner\n    import seqkit.train.rundir\n"
    )
    assert _offenders(root / "recipe", "seqkit.train", root) == [
        "seqkit/recipe/sample.py:3: imports seqkit.train.runner",
        "seqkit/recipe/sample.py:4: imports seqkit.train.rundir",
    ]


def test_recipe_does_not_import_train():
    assert _offenders(SEQKIT / "recipe", "seqkit.train") == []


def test_saving_and_the_data_layer_do_not_import_the_plugin_manager():
    assert _offenders(SEQKIT / "export", "seqkit.plugins") == []
    for module in ("seqkit.export.saving", "seqkit.data.stream", "seqkit.data.pipeline", "seqkit.recipe"):
        code = f"import sys, {module}; assert 'seqkit.plugins' not in sys.modules, sorted(m for m in sys.modules if m.startswith('seqkit'))"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 0, f"{module}: {result.stderr[-1500:]}"


def test_private_keras_and_keras_tuner_code_is_reached_only_through_seqkit_compat():
    offenders = [
        entry
        for private in ("keras.src", "keras_tuner.src")
        for entry in _offenders(SEQKIT, private)
        if not entry.startswith("seqkit/compat/")
    ]
    assert offenders == []


def test_keras_tuner_internals_are_the_verified_ones(tmp_path):
    keras_tuner = pytest.importorskip("keras_tuner")
    from seqkit.compat.keras_tuner_oracle import VERIFIED_KERAS_TUNER, keras_tuner_mismatches, require_internals
    from seqkit.errors import SeqkitError

    oracle = keras_tuner.oracles.RandomSearchOracle(objective="loss", max_trials=1, seed=1)
    assert keras_tuner_mismatches(oracle) == [], (
        f"KerasTuner {keras_tuner.__version__} (verified: {VERIFIED_KERAS_TUNER})"
    )
    require_internals(oracle)
    del oracle.tuner_ids
    assert keras_tuner_mismatches(oracle) == ["Oracle.tuner_ids"]
    with pytest.raises(SeqkitError, match=f"written for KerasTuner {VERIFIED_KERAS_TUNER}.*lacks Oracle.tuner_ids"):
        require_internals(oracle)
