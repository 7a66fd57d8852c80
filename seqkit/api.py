"""The Python API; mirrors the command line.

>>> run = seqkit.run("recipes/sentiment/reviews.yaml", overrides=["train.epochs=2"])
>>> run.metrics["test"]["accuracy"]
>>> seqkit.load_run(run.path).predict(["I regret buying this item."])
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqkit.data import DataContext
from seqkit.data.adapter import DataInfo
from seqkit.errors import DataError, RunError
from seqkit.plugins import get_plugin_manager
from seqkit.recipe import Recipe, load_recipe, recipe_from_dict
from seqkit.recipe.loader import SourceMap, apply_overrides
from seqkit.task import GeneratingTask, SearchingTask
from seqkit.train.rundir import COMPLETED, RunDirectory


def load_model(path, manager=None):
    """Load a ``.keras`` file safely (``safe_mode=True``) with the custom layers of seqkit and
    of every installed plugin (seqkit.export.saving.load_model with their modules)."""
    from seqkit.export import saving
    from seqkit.train.runner import layer_modules

    return saving.load_model(Path(path), layer_modules(manager))


class Run:
    """A run directory with its recipe, metrics and (lazily loaded) model."""

    def __init__(self, run_dir: RunDirectory, recipe: Recipe, model=None):
        self.run_dir = run_dir
        self.recipe = recipe
        self._model = model
        manager = get_plugin_manager()
        self.task = manager.tasks.get(recipe.task)
        self.info = DataInfo.from_json(
            run_dir.read_json("data_info.json"), str(run_dir.file("data_info.json")), RunError
        )
        adapter_cls = manager.adapters.get(recipe.get("data.adapter"))
        self.adapter = adapter_cls(recipe.section("data"), DataContext(recipe.base_dir, recipe.seed, self.task))

    @property
    def path(self) -> Path:
        return self.run_dir.path

    @property
    def status(self) -> str:
        return self.run_dir.status().get("status", "unknown")

    @property
    def metrics(self) -> dict:
        return self.run_dir.read_json("metrics.json")

    @property
    def model(self):
        """The saved Keras model (raw inputs -> outputs), loaded with ``safe_mode=True``."""
        if self._model is None:
            self._model = load_model(self.run_dir.file("model.keras"))
        return self._model

    def predict(self, inputs: Sequence[Any], beam: int | None = None, n_best: int | None = None) -> list[dict] | Any:
        """Predict raw inputs: one decoded dict per input. ``inputs`` is a list (texts, token
        lists, sequences), a NumPy array of sequences, or in-memory data as training takes it
        (a DataFrame with the run's input column; labels, if there, are ignored): given a
        DataFrame, the predictions come back as a DataFrame with the same index.

        ``beam`` / ``n_best``: for tasks that search (:class:`seqkit.task.SearchingTask`, e.g.
        seq2seq), beam search with ``beam`` hypotheses and the ``n_best`` best outputs (1 to
        ``beam``) with their scores; other tasks refuse them."""
        from seqkit.data.memory import InMemoryData

        searching = beam is not None or n_best is not None
        if searching:
            check_search_options(beam, n_best)
            if not isinstance(self.task, SearchingTask):
                raise RunError(
                    f"{self.path}: task {self.recipe.task!r} does not decode by beam search; --beam and --n-best "
                    "apply to tasks that do (e.g. seq2seq)"
                )

        frame = inputs if type(inputs).__name__ == "DataFrame" else None
        # A DataFrame, Series or array is read as training reads it; lists and tuples are inputs.
        if type(inputs).__name__ in ("DataFrame", "Series", "ndarray"):
            source = InMemoryData(inputs, "predict")
            inputs = self.adapter.read_inputs(source, self.info) if len(source) else []
        inputs = list(inputs)
        rows = []
        if inputs and searching:
            with self._model_must_fit():
                rows = self.task.search(self, inputs, beam=beam, n_best=n_best or 1)
        elif inputs:
            outputs = self._predict_encoded(self.adapter.encode_inputs(inputs, self.info))
            with self._model_must_fit():
                rows = self.task.decode(outputs, self.info, inputs=inputs)
        if frame is None:
            return rows
        import pandas as pd

        return pd.DataFrame(rows, index=frame.index)

    #: Up to this many inputs are one ``predict_on_batch`` call: no tf.data pipeline is built
    #: (about 0.2 s less per call, and less tracing for a cold ``seqkit predict``).
    _ONE_BATCH = 256

    def _predict_encoded(self, x):
        import numpy as np

        if isinstance(x, np.ndarray) and len(x) <= self._ONE_BATCH:
            return np.asarray(self.model.predict_on_batch(x))
        return self.model.predict(x, verbose=0)

    @contextlib.contextmanager
    def _model_must_fit(self):
        """A model.keras whose outputs do not fit the run's data_info.json (another run's
        model copied in) is named in one line."""
        try:
            yield
        except RunError as exc:
            raise RunError(f"{self.run_dir.file('model.keras')}: does not belong to this run: {exc}") from None

    def generate(self, **options) -> Any:
        """Generate new sequences with the saved model, for tasks that define
        ``generate(run, **options)`` (e.g. the music plugin's ``melody`` and ``piano_roll``:
        ``steps``, ``temperature``, ``top_k``, ``beam``, ``primer``, ``seed``, ``out``)."""
        if not isinstance(self.task, GeneratingTask):
            raise RunError(f"{self.path}: task {self.recipe.task!r} does not generate sequences")
        return self.task.generate(self, **options)

    def export(self, format: str, output: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the model as ``format`` (``saved_model``, ``tflite`` or ``onnx``) into the folder
        ``output``, with ``export.json`` (signature, classes, versions) beside it; loads without
        seqkit. See docs/deploy.md for what each format carries."""
        from seqkit.export.formats import export_run

        return export_run(self, format, output, overwrite=overwrite)

    def explain(
        self, inputs: Sequence[Any], target: str | None = None, output: str | os.PathLike | None = None, **options
    ) -> list:
        """Explain the predictions of raw ``inputs``: one :class:`seqkit.explain.Explanation`
        each (integrated-gradients attributions per step and feature with their completeness
        check, gate and cell-state traces per layer and direction). ``target`` is the output
        of interest (the task's ``explain_target``: a class name, a forecast step ...);
        ``output`` a folder to write the figures into; ``options``: ``points``, ``tolerance``,
        ``top_units`` (see :func:`seqkit.explain.explain`)."""
        from seqkit import explain as explaining

        explanations = explaining.explain(self, inputs, target=target, **options)
        if output is not None:
            from seqkit.explain.figures import write_figures

            write_figures(explanations, Path(output))
        return explanations

    def predict_file(
        self, path: str | os.PathLike, beam: int | None = None, n_best: int | None = None
    ) -> tuple[list[Any], list[dict]]:
        inputs = self.adapter.read_inputs(Path(path), self.info)
        return inputs, self.predict(inputs, beam=beam, n_best=n_best)

    def evaluate(self, overrides: list[str] | dict | None = None) -> dict:
        """Score the saved model on the recipe's test split (``overrides`` may point
        ``data.*`` at other files), with what the task's ``evaluate_model`` adds (e.g. a
        forecaster's comparison with its baselines)."""
        from seqkit.recipe import resolve_override_paths, validate
        from seqkit.train.runner import load_data, silent

        data = self.recipe.to_dict()
        source = SourceMap(str(self.run_dir.file("recipe.yaml")))
        source.lines = dict(self.recipe.source.lines)
        apply_overrides(data, overrides, source)
        validate(data, source, check_parts=False)  # a trained run's recipe (see load_run_recipe)
        resolve_override_paths(data, source)
        recipe = Recipe(data, source, self.recipe.path)
        # The adapter encodes the targets with what the model learned (self.info): other
        # files may hold fewer classes, or list them in another order.
        _task, _adapter, bundle = load_data(recipe, echo=silent, info=self.info)
        if bundle.test is None:
            raise DataError("the recipe's data has no test split (set data.test or data.split.test)")
        if "classes" in self.info and list(bundle.info.get("classes", [])) != list(self.info["classes"]):
            raise DataError(
                f"{recipe.where('data')}: the data's classes ({', '.join(map(str, bundle.info.get('classes', [])))}) are not "
                f"the run's ({', '.join(map(str, self.info['classes']))}); adapter {recipe.get('data.adapter')!r} "
                "does not encode labels with the run's classes"
            )
        test = bundle.test
        outputs = self.model.predict(test.x, verbose=0)
        info = DataInfo({**bundle.info, **self.info})
        with self._model_must_fit():
            metrics = self.task.evaluate(test.y, outputs, info)
            # What the task adds at the end of a run (a forecaster's comparison with baselines),
            # on these data; its plots go to a scratch folder (the run's own stay as they are).
            import tempfile

            with tempfile.TemporaryDirectory() as scratch:
                metrics.update(self.task.evaluate_model(self.model, bundle, info, Path(scratch), silent) or {})
            return metrics

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, status={self.status!r})"


@dataclass
class WorkerRun:
    """What a worker other than the chief returns from a distributed run: it wrote no run
    directory (the chief did)."""

    worker_index: int
    history: list[dict]  # per-epoch logs, the same as the chief's history.csv
    model: Any  # the trained network (preprocessed inputs), an undistributed copy


def check_search_options(beam: int | None, n_best: int | None) -> None:
    """``--beam`` at least 1 and ``--n-best`` from 1 to the beam (when given): a one-line error otherwise."""
    for flag, value in (("--beam", beam), ("--n-best", n_best)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise RunError(f"{flag}: expected a positive integer. Received: {value!r}")
    if beam is not None and n_best is not None and n_best > beam:
        raise RunError(f"--n-best: expected an integer from 1 to {beam} (the beam width). Received: {n_best}")


def _as_recipe(recipe, overrides, data=None) -> Recipe:
    """A Recipe from a path, a dict or a Recipe, with ``data`` (in-memory data objects, see
    :func:`run`) put in its data section."""
    if isinstance(recipe, Recipe):
        if overrides or data is not None:
            rebuilt = recipe_from_dict(recipe.to_dict(), overrides, base_dir=recipe.base_dir, in_memory=data)
            rebuilt.in_memory += recipe.in_memory
            return rebuilt
        return recipe
    if isinstance(recipe, dict):
        return recipe_from_dict(recipe, overrides, in_memory=data)
    return load_recipe(recipe, overrides, in_memory=data)


def overrides_dict(overrides: list[str] | dict | None) -> dict:
    """``--set``-style overrides (strings or a mapping) as one mapping of dotted keys."""
    from seqkit.recipe.loader import parse_override

    if not overrides:
        return {}
    return dict(overrides) if isinstance(overrides, dict) else dict(parse_override(text) for text in overrides)


def run(
    recipe, overrides=None, evaluate: bool = True, quiet: bool = False, workers=None, worker_index=None, data=None
) -> Run | WorkerRun:
    """Train (and, unless ``evaluate=False``, test) a recipe: a path, a dict or a Recipe.

    ``data`` is the data itself, held in memory, instead of the recipe's files: a pandas
    DataFrame (columns named as in the recipe), a tuple ``(x, y)`` / ``(x, y, lengths)`` of
    NumPy arrays or lists, a list of ``(tokens, tags)`` pairs, or a dict of them by split
    (``{"train": df, "test": test_df}``). One object replaces ``data.path`` (or ``data.train``);
    the recipe's split, stratification and checks apply as to files. The run directory records
    it (kind, rows, sha256) where a path would be. See docs/python-api.md.

    ``workers`` (``"HOST:PORT,HOST:PORT"`` or a list, the chief first) and ``worker_index``
    make this process one worker of a distributed run (like ``--workers`` / ``--worker-index``).
    Only the chief (index 0) writes a run directory and returns a :class:`Run`; the other
    workers return a :class:`WorkerRun`.
    """
    from seqkit.train.distribute import overrides_for
    from seqkit.train.runner import silent, start_run

    distribution = overrides_for(workers, worker_index)
    if distribution:
        overrides = {**overrides_dict(overrides), **distribution}
    result = start_run(_as_recipe(recipe, overrides, data), evaluate=evaluate, echo=silent if quiet else print)
    if result.model is None:
        return WorkerRun(result.metrics["worker"], result.metrics["history"], result.trained)
    return Run(result.run_dir, result.recipe, model=result.model)


def resume(
    path, quiet: bool = False, workers=None, worker_index=None, distribution: dict | None = None
) -> Run | WorkerRun:
    """Continue an interrupted or failed run from its last checkpoint. In a distributed run
    every worker resumes the same run directory (shared storage or a copy of it)."""
    from seqkit.train.distribute import overrides_for
    from seqkit.train.runner import resume_run, silent

    distribution = {**(distribution or {}), **overrides_for(workers, worker_index)}
    result = resume_run(path, echo=silent if quiet else print, distribution=distribution or None)
    if result.model is None:
        return WorkerRun(result.metrics["worker"], result.metrics["history"], result.trained)
    return Run(result.run_dir, result.recipe, model=result.model)


def load_run(path) -> Run:
    """Open a completed run directory."""
    from seqkit.train.runner import load_run_recipe

    run_dir = RunDirectory.open(path)
    status = run_dir.status().get("status")
    stale = run_dir.stale()
    if stale:
        raise RunError(
            f"{run_dir.path}: run is stale ({stale}); no final model to use; continue it with: "
            f"seqkit run --resume {run_dir.path}"
        )
    if status != COMPLETED:
        raise RunError(f"{run_dir.path}: run is {status}, not completed; no final model to use")
    return Run(run_dir, load_run_recipe(run_dir))


PREDICTION_SUFFIXES = (".csv", ".jsonl", ".ndjson")


def write_predictions(path: Path, inputs: list, rows: list[dict]) -> None:
    """Write predictions as CSV or JSONL (by the file's extension); ``-``: CSV on standard output."""
    from seqkit.train.rundir import atomic_write_csv, atomic_write_text

    table = [{"input": i, **row} for i, row in zip(inputs, rows)]
    try:
        if str(path) == "-":  # standard output, as CSV
            import csv
            import sys

            writer = csv.DictWriter(sys.stdout, fieldnames=list(dict.fromkeys(k for r in table for k in r)))
            writer.writeheader()
            writer.writerows(table)
            sys.stdout.flush()
        elif path.suffix.lower() in (".jsonl", ".ndjson"):
            atomic_write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in table))
        elif path.suffix.lower() == ".csv":
            atomic_write_csv(path, table)
        else:
            raise DataError(f"{path}: output must end in .csv or .jsonl")
    except OSError as exc:
        raise DataError(f"{path}: cannot write the predictions: {exc.strerror or exc}") from None
