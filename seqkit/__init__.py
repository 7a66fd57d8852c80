"""seqkit: sequence modeling with stacked LSTMs.

YAML recipes, task plugins, a shared stacked-LSTM backbone and Keras Tuner search.
Importing seqkit is cheap; Keras and TensorFlow load when a model is built.
"""

from __future__ import annotations

__version__ = "0.1.0"

from seqkit.commands import Command
from seqkit.hookspecs import hookimpl

__all__ = [
    "__version__",
    "hookimpl",
    "Command",
    "Task",
    "ClassificationTask",
    "RegressionTask",
    "run",
    "load_run",
    "load_recipe",
    "resume",
    "search",
]


def __getattr__(name):
    # The task base classes import NumPy: loaded on first use, so `seqkit --help` stays fast.
    if name in ("Task", "ClassificationTask", "RegressionTask"):
        from seqkit import task

        return getattr(task, name)
    raise AttributeError(f"module 'seqkit' has no attribute {name!r}")


def _quiet_tensorflow():
    """TensorFlow's start-up notices and C++ log lines off, as on the command line, when seqkit
    is what first loads TensorFlow (seqkit/quiet.py; TF_CPP_MIN_LOG_LEVEL=0 shows them)."""
    from seqkit import quiet

    quiet.install(level="3")


def run(recipe, overrides=None, **kwargs):
    """Train and evaluate a recipe (path or dict); return a :class:`seqkit.api.Run`."""
    from seqkit.api import run as _run

    _quiet_tensorflow()
    return _run(recipe, overrides=overrides, **kwargs)


def resume(path, quiet=False, **kwargs):
    """Continue an interrupted or failed run directory from its last checkpoint, as
    ``seqkit run --resume RUN_DIR`` does; return a :class:`seqkit.api.Run`."""
    from seqkit.api import resume as _resume

    _quiet_tensorflow()
    return _resume(path, quiet=quiet, **kwargs)


def load_run(path):
    """Open a finished run directory; ``.predict([...])`` on raw inputs."""
    from seqkit.api import load_run as _load_run

    _quiet_tensorflow()
    return _load_run(path)


def search(recipe, overrides=None, quiet=False, data=None, **kwargs):
    """Hyperparameter search over the recipe's ``tune.space`` (path, dict or Recipe), as
    ``seqkit tune`` does; returns a :class:`seqkit.tune.search.TuneResult` (rows, best,
    best_recipe). ``quiet=True`` prints nothing. ``data``: in-memory data, as
    :func:`seqkit.run` takes it. (``seqkit.tune`` is the package of the tuning code.)"""
    from seqkit.api import _as_recipe
    from seqkit.tune import search

    if quiet:
        from seqkit.train.runner import silent

        kwargs.setdefault("echo", silent)
    _quiet_tensorflow()
    return search.tune(_as_recipe(recipe, overrides, data), **kwargs)


def load_recipe(path, overrides=None):
    """Load and validate a recipe file without training."""
    from seqkit.recipe import load_recipe as _load

    return _load(path, overrides)
