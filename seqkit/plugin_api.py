"""The public plugin API: everything a seqkit plugin imports, and the promise that goes with it.

A plugin (built-in or third-party) imports seqkit only through this module::

    from seqkit.plugin_api import ClassificationTask, DataError, hookimpl, require_file

Names here keep their meaning across minor versions; anything else under ``seqkit.*`` is
internal and may change without notice (a test holds the built-in plugins to this rule).
Importing this module is cheap: NumPy, matplotlib and Keras load when a name that needs them
is first used, so a plugin's ``__init__`` can import ``hookimpl`` and stay instant for
``seqkit --help``. See docs/plugins.md for the contract, method by method.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from seqkit.commands import Command
from seqkit.errors import DataError, PluginError, RecipeError, RunError, SeqkitError, TrainingError, did_you_mean
from seqkit.hookspecs import hookimpl

# name -> module that defines it; loaded on first use (PEP 562).
_LAZY: dict[str, str] = {
    # tasks and their metrics
    "Task": "seqkit.task",
    "ClassificationTask": "seqkit.task",
    "RegressionTask": "seqkit.task",
    "GeneratingTask": "seqkit.task",
    "SearchingTask": "seqkit.task",
    "ExplainTarget": "seqkit.task",
    "confusion_matrix": "seqkit.task",
    "classification_metrics": "seqkit.task",
    "multilabel_metrics": "seqkit.task",
    # data: containers, the adapter base class, readers and split helpers
    "Adapter": "seqkit.data.adapter",
    "DataBundle": "seqkit.data.adapter",
    "DataContext": "seqkit.data.adapter",
    "DataInfo": "seqkit.data.adapter",
    "StreamingAdapter": "seqkit.data.adapter",
    "PreprocessingAdapter": "seqkit.data.adapter",
    "Split": "seqkit.data.adapter",
    "require_file": "seqkit.data.adapter",
    "cached_json": "seqkit.data.cache",
    "track": "seqkit.progress",
    "phase": "seqkit.progress",
    "padded_lengths": "seqkit.data.pipeline",
    "split_indices": "seqkit.data.splits",
    "class_order": "seqkit.data.labels",
    "unknown_label": "seqkit.data.labels",
    "detect_format": "seqkit.data.tables",
    "iter_rows": "seqkit.data.tables",
    "read_text": "seqkit.data.tables",
    "require_columns": "seqkit.data.tables",
    "text_lines": "seqkit.data.tables",
    "BadLines": "seqkit.data.tables",
    "InMemoryData": "seqkit.data.memory",
    "is_in_memory": "seqkit.data.memory",
    "expand_shards": "seqkit.data.stream_rows",
    "hashed_split": "seqkit.data.stream_rows",
    "stream_labelled_texts": "seqkit.data.stream_rows",
    # model parts
    "EncoderSpec": "seqkit.models.parts",
    "HeadSpec": "seqkit.models.parts",
    "load_pretrained_vectors": "seqkit.models.encoders",
    "pretrained_vectors": "seqkit.models.vectors",
    "read_vectors": "seqkit.models.vectors",
    "vectors_coverage_line": "seqkit.models.vectors",
    "pretrained_problems": "seqkit.models.vectors",
    "StepModel": "seqkit.models.stepping",
    # writing outputs and plots
    "atomic_write_bytes": "seqkit.train.rundir",
    "atomic_write_csv": "seqkit.train.rundir",
    "atomic_write_json": "seqkit.train.rundir",
    "atomic_write_text": "seqkit.train.rundir",
    "check_output_file": "seqkit.train.rundir",
    "pyplot": "seqkit.export.plots",
    "save_figure": "seqkit.export.plots",
    "plot_confusion_matrix": "seqkit.export.plots",
    # report.html: a task's sections (Task.report_sections)
    "ReportContext": "seqkit.export.report",
    "ReportSection": "seqkit.export.report",
    # the validated recipe a task's or head's check_recipe receives
    "Recipe": "seqkit.recipe",
    # trained runs (a plugin verb such as `seqkit forecast RUN` opens one)
    "Run": "seqkit.api",
    "load_run": "seqkit.api",
    "load_model": "seqkit.api",
}

__all__ = sorted(
    [
        "Command",
        "DataError",
        "PluginError",
        "RecipeError",
        "RunError",
        "SeqkitError",
        "TrainingError",
        "did_you_mean",
        "hookimpl",
        *_LAZY,
    ]
)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'seqkit.plugin_api' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and IDEs: the lazy names, imported for real
    from seqkit.api import Run, load_model, load_run
    from seqkit.data.adapter import (
        Adapter,
        DataBundle,
        DataContext,
        DataInfo,
        PreprocessingAdapter,
        Split,
        StreamingAdapter,
        require_file,
    )
    from seqkit.data.labels import class_order, unknown_label
    from seqkit.data.memory import InMemoryData, is_in_memory
    from seqkit.data.splits import split_indices
    from seqkit.data.stream_rows import expand_shards, hashed_split, stream_labelled_texts
    from seqkit.data.tables import BadLines, detect_format, iter_rows, read_text, require_columns, text_lines
    from seqkit.export.plots import plot_confusion_matrix, pyplot, save_figure
    from seqkit.export.report import ReportContext, ReportSection
    from seqkit.models.encoders import load_pretrained_vectors
    from seqkit.models.parts import EncoderSpec, HeadSpec
    from seqkit.models.stepping import StepModel
    from seqkit.models.vectors import pretrained_problems, pretrained_vectors, read_vectors, vectors_coverage_line
    from seqkit.progress import phase, track
    from seqkit.recipe import Recipe
    from seqkit.task import (
        ClassificationTask,
        ExplainTarget,
        GeneratingTask,
        RegressionTask,
        SearchingTask,
        Task,
        classification_metrics,
        confusion_matrix,
        multilabel_metrics,
    )
    from seqkit.train.rundir import (
        atomic_write_bytes,
        atomic_write_csv,
        atomic_write_json,
        atomic_write_text,
        check_output_file,
    )
