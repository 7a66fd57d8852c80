"""What a run adds to its TensorBoard logs after training: the test metrics as scalars, the
task's figures as images, and the recipe's settings through the hparams plugin (so the HParams
dashboard of ``tensorboard --logdir runs`` compares runs by their settings and test scores).

Keras's ``TensorBoard`` callback writes ``tensorboard/train`` and ``tensorboard/validation``;
this writes ``tensorboard/`` itself (the hparams session those two belong to).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _flat(data: dict, prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            found.update(_flat(value, name + "."))
        elif isinstance(value, (bool, int, float, str)):
            found[name] = value
        elif isinstance(value, list) and value and all(isinstance(v, (int, float, str)) for v in value):
            found[name] = str(value)
    return found


def hparams_of(recipe: dict) -> dict[str, Any]:
    """The recipe's settings that decide a model (model, train, data but its paths), flat."""
    settings = {}
    for section in ("model", "train", "data"):
        for key, value in _flat(recipe.get(section) or {}, f"{section}.").items():
            if key.endswith(("path", "dir", "train", "test", "validation")) and isinstance(value, str):
                continue
            settings[key] = value
    settings["task"] = recipe.get("task", "")
    settings["seed"] = recipe.get("seed", 0)
    return settings


def test_scalars(metrics: dict) -> dict[str, float]:
    """``test/<metric>`` (and ``validation/``, and what evaluate_model added, e.g. the
    baselines' ``test_comparison/models/naive/mase``) for every numeric metric."""
    found = {}
    for key, value in _flat(metrics).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        found[key.replace(".", "/")] = float(value)
    return found


def write_run_summary(log_dir: Path, run_id: str, recipe: dict, metrics: dict, plots: list[Path]) -> None:
    import numpy as np
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        hp.hparams(hparams_of(recipe), trial_id=run_id)
        step = int(metrics.get("epochs_trained") or 0)
        for tag, value in test_scalars({k: v for k, v in metrics.items() if k != "history"}).items():
            tf.summary.scalar(tag, value, step=step)
        for path in plots:
            try:
                image = tf.io.decode_png(tf.io.read_file(str(path)), channels=4)
            except Exception:
                continue
            tf.summary.image(f"plots/{path.stem}", np.asarray(image)[None], step=step)
    writer.flush()
    writer.close()
