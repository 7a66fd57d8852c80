"""Shared fixtures: tiny data, tiny recipes, an isolated plugin manager."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["SEQKIT_CACHE"] = tempfile.mkdtemp(prefix="seqkit-test-cache-")  # not the user's ~/.cache/seqkit

ROOT = Path(__file__).resolve().parents[1]

from seqkit.testing import TINY_RECIPE, TINY_REVIEWS, write_recipe, write_reviews  # noqa: E402, F401 (tests import them from here)


@pytest.fixture
def tiny_recipe(tmp_path) -> Path:
    """A recipe file beside a small reviews.csv; runs go to tmp_path/runs."""
    write_reviews(tmp_path / "reviews.csv")
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_RECIPE.format(epochs=2, runs=tmp_path / "runs"), encoding="utf-8")
    return path


@pytest.fixture
def manager():
    """The process-wide plugin manager; in-process plugins are unregistered by the tests."""
    from seqkit.plugins import get_plugin_manager

    return get_plugin_manager()
