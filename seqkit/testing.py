"""Helpers for testing seqkit plugins (the built-in plugins' tests use them too).

- :func:`check_round_trip`: the config round trip and registry check alone, for layers with
  several inputs or call arguments.
- :func:`run_layer_test`: a Keras layer's output shape, weight counts, ``get_config`` ->
  ``from_config`` round trip with identical outputs, and serialization through Keras's registry,
  in the style of ``keras.src.testing.TestCase.run_layer_test``.
- :func:`run_tiny_recipe`: train a small recipe (a dict or YAML text) into a folder, quietly,
  and return the :class:`seqkit.api.Run`.
- :func:`run_cli`: the ``seqkit`` command in-process; returns its exit status.
- :func:`predict_without_seqkit`: run an export (``seqkit export``) in a fresh Python process
  that does not import seqkit (seqkit/export/standalone.py) and return its outputs.
- :func:`registered_plugin`: a plugin object registered in-process for the ``with`` block.
- :data:`TINY_REVIEWS`, :func:`write_reviews`, :data:`TINY_RECIPE`, :func:`write_recipe`: a
  small three-class review table and a recipe that trains on it in seconds.

Importing this module is cheap; Keras loads when a helper that needs it is called.
"""

from __future__ import annotations

import contextlib
import csv
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "TINY_RECIPE",
    "TINY_REVIEWS",
    "predict_without_seqkit",
    "registered_plugin",
    "run_cli",
    "check_round_trip",
    "interrupted_after_epoch",
    "run_layer_test",
    "run_tiny_recipe",
    "write_recipe",
    "write_reviews",
]

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
    """Write ``rows`` ((text, label) pairs; default :data:`TINY_REVIEWS` twice) as a table with
    columns ``review`` and ``sentiment``: ``fmt`` is ``csv``, ``tsv`` or ``jsonl``."""
    rows = TINY_REVIEWS * 2 if rows is None else rows
    path = Path(path)
    if fmt == "jsonl":
        path.write_text("".join(json.dumps({"review": t, "sentiment": s}) + "\n" for t, s in rows), encoding="utf-8")
        return path
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="," if fmt == "csv" else "\t")
        writer.writerow(["review", "sentiment"])
        writer.writerows(rows)
    return path


#: A sentiment recipe over ``reviews.csv`` beside it (:func:`write_reviews`); fill in ``epochs``
#: and ``runs`` (the output folder) with ``str.format``.
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


def write_recipe(path: Path, text: str) -> Path:
    """Write a recipe's YAML text (dedented) to ``path``."""
    path = Path(path)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run_tiny_recipe(recipe: dict | str | Path, folder: Path, overrides: list[str] | None = None, **kwargs: Any):
    """Train ``recipe`` (a dict, YAML text, or a file) quietly with its runs under
    ``folder/runs`` and no TensorBoard logs; return the :class:`seqkit.api.Run`.

    YAML text is written to ``folder/recipe.yaml`` first, so relative data paths in it resolve
    against ``folder``. ``overrides`` are ``--set`` strings; ``kwargs`` go to :func:`seqkit.run`."""
    import seqkit

    folder = Path(folder)
    if isinstance(recipe, str) and "\n" in recipe:
        recipe = write_recipe(folder / "recipe.yaml", recipe)
    sets = [f"output.dir={folder / 'runs'}", "output.tensorboard=false", *(overrides or [])]
    return seqkit.run(recipe, overrides=sets, quiet=kwargs.pop("quiet", True), **kwargs)


def run_cli(argv: list[str]) -> int:
    """Run ``seqkit ARGV...`` in this process and return its exit status (errors are printed to
    stderr as on the command line, so ``capsys`` sees them)."""
    from seqkit.cli import main

    return main([str(arg) for arg in argv])


def predict_without_seqkit(export_dir: Path | list[Path], inputs: dict, timeout: float = 300) -> dict:
    """Load the export in ``export_dir`` (or each of a list: then ``{str(dir): outputs}``) in a fresh Python process that never imports seqkit
    (TensorFlow's ``saved_model.load``, ``tf.lite.Interpreter`` or ``onnxruntime``, by the
    export's format) and predict ``inputs`` ({input name: values}; ``text`` for token-id
    exports). Returns ``{output name: list}``; fails if the process imported seqkit."""
    import os
    import subprocess
    import sys
    import tempfile

    script = Path(__file__).resolve().parent / "export" / "standalone.py"
    dirs = export_dir if isinstance(export_dir, list) else [export_dir]
    with tempfile.TemporaryDirectory() as folder:
        feed = Path(folder) / "inputs.json"
        feed.write_text(json.dumps(inputs), encoding="utf-8")
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        # -I: no user site or PYTHONPATH, and the script's folder (not seqkit's parent) on sys.path
        done = subprocess.run(
            [sys.executable, "-I", str(script), *map(str, dirs), str(feed)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            cwd=folder,
        )
    if done.returncode != 0:
        raise AssertionError(f"standalone predict failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result.pop("_seqkit_imported"):
        raise AssertionError("the standalone process imported seqkit")
    return result


@contextlib.contextmanager
def registered_plugin(plugin: Any, name: str, version: str = "0") -> Iterator[Any]:
    """Register ``plugin`` (a module or object with ``@hookimpl`` functions) in the process-wide
    plugin manager for the ``with`` block, and unregister it afterwards, even on failure."""
    from seqkit.plugins import get_plugin_manager

    manager = get_plugin_manager()
    manager.register(plugin, name=name, version=version)
    try:
        yield manager
    finally:
        manager.unregister(name)


@contextlib.contextmanager
def interrupted_after_epoch(epoch: int) -> Iterator[None]:
    """Inside the ``with`` block, a training run stops with ``KeyboardInterrupt`` right after
    epoch ``epoch`` (from 1) is checkpointed, as Ctrl-C would; resume it with
    ``seqkit.resume(run_dir)`` (or ``seqkit run --resume``) to check that an interrupted run
    of your plugin's task or layers ends as an uninterrupted one."""
    from seqkit.train import callbacks

    original = callbacks.RunState.on_epoch_end

    def interrupt(self, index, logs=None):
        original(self, index, logs)
        if index + 1 == epoch:
            raise KeyboardInterrupt

    callbacks.RunState.on_epoch_end = interrupt
    try:
        yield
    finally:
        callbacks.RunState.on_epoch_end = original


def check_round_trip(layer, *inputs, rtol: float = 1e-5, atol: float = 1e-6, **call_kwargs):
    """A built layer's ``get_config`` -> ``from_config`` clone has the same config and, given the
    same weights, the same outputs on ``inputs`` (``rtol=0, atol=0``: identical); and Keras's
    serialization registry (what a saved ``.keras`` file uses) gives back the same class.
    Returns the layer's outputs as NumPy."""
    import keras
    import numpy as np

    first = keras.ops.convert_to_numpy(layer(*inputs, **call_kwargs))
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config, "from_config(get_config()) gives another config"
    clone(*inputs, **call_kwargs)
    clone.set_weights(layer.get_weights())
    assert len(clone.weights) == len(layer.weights)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(*inputs, **call_kwargs)), first, rtol=rtol, atol=atol)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer), (
        f"Keras's registry gives {type(restored).__name__}, not {type(layer).__name__}"
    )
    return first


def run_layer_test(
    layer_cls,
    init_kwargs: dict,
    input_data,
    expected_output_shape: tuple,
    expected_num_weights: int,
    expected_trainable: int | None = None,
    call_kwargs: dict | None = None,
):
    """Build ``layer_cls(**init_kwargs)`` on ``input_data`` and check what Keras's own layer
    tests check: the output shape (also from ``compute_output_shape``), the number of weights
    (and trainable weights), a ``get_config`` -> ``from_config`` clone with the same config and,
    given the same weights, the same outputs, and a round trip through Keras's serialization
    registry (what a saved ``.keras`` file uses). Returns the built layer."""

    call_kwargs = call_kwargs or {}
    layer = layer_cls(**init_kwargs)
    output = layer(input_data, **call_kwargs)
    assert tuple(output.shape) == tuple(expected_output_shape), (
        f"output shape {tuple(output.shape)} != {expected_output_shape}"
    )
    assert len(layer.weights) == expected_num_weights, f"{len(layer.weights)} weights, expected {expected_num_weights}"
    if expected_trainable is not None:
        assert len(layer.trainable_weights) == expected_trainable
    if not call_kwargs:
        assert tuple(layer.compute_output_shape(input_data.shape)) == tuple(expected_output_shape)
    check_round_trip(layer, input_data, **call_kwargs)
    return layer
