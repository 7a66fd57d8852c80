"""Shared fixtures: tiny data, tiny recipes, an isolated plugin manager."""

from __future__ import annotations

import csv
import os
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]

# Hand-written, varied rows so that a tiny model has something to learn in a few epochs.
TINY_REVIEWS = [
    ("great product works perfectly", "positive"),
    ("love it, excellent quality", "positive"),
    ("fantastic value and great sound", "positive"),
    ("excellent battery, love the screen", "positive"),
    ("works great, very happy", "positive"),
    ("perfect fit and great colour", "positive"),
    ("broke after two days, terrible", "negative"),
    ("awful quality, waste of money", "negative"),
    ("terrible support and it broke", "negative"),
    ("stopped working, awful experience", "negative"),
    ("cheap plastic, broke quickly, terrible", "negative"),
    ("waste of money, returned it", "negative"),
    ("it is okay, nothing special", "neutral"),
    ("average product, does the job", "neutral"),
    ("okay for the price, average", "neutral"),
    ("nothing special but it works okay", "neutral"),
    ("average sound, okay battery", "neutral"),
    ("does the job, nothing special", "neutral"),
]


def write_reviews(path: Path, rows=None, fmt: str = "csv") -> Path:
    rows = TINY_REVIEWS * 2 if rows is None else rows
    if fmt == "jsonl":
        import json

        path.write_text("".join(json.dumps({"review": t, "sentiment": s}) + "\n" for t, s in rows), encoding="utf-8")
        return path
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="," if fmt == "csv" else "\t")
        writer.writerow(["review", "sentiment"])
        writer.writerows(rows)
    return path


TINY_RECIPE = """\
name: tiny
task: sentiment
seed: 7
data:
  path: reviews.csv
  text: review
  label: sentiment
  split: {{validation: 0.2, test: 0.2}}
model:
  encoder: {{type: token_embedding, max_tokens: 100, sequence_length: 8, dim: 8}}
  backbone: {{layers: 1, units: 8}}
  head: {{type: classifier}}
train:
  epochs: {epochs}
  batch_size: 8
  verbose: 0
  deterministic: true
  optimizer: {{learning_rate: 0.01}}
output: {{dir: {runs}, tensorboard: false}}
"""


@pytest.fixture
def tiny_recipe(tmp_path) -> Path:
    """A recipe file beside a small reviews.csv; runs go to tmp_path/runs."""
    write_reviews(tmp_path / "reviews.csv")
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_RECIPE.format(epochs=2, runs=tmp_path / "runs"), encoding="utf-8")
    return path


def write_recipe(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def manager():
    """The process-wide plugin manager; in-process plugins are unregistered by the tests."""
    from seqkit.plugins import get_plugin_manager

    return get_plugin_manager()
