"""``seqkit tune``: KerasTuner search over a recipe's ``tune.space``.

Writes ``runs/<name>/tune-<id>/``: the recipe, KerasTuner's own project (so ``--resume``
continues without repeating finished trials), ``results.csv`` / ``results.json`` (one row
per trial: values, objective, epochs, seconds), ``best_recipe.yaml`` (runs with
``seqkit run``) and ``best_model.keras`` (raw inputs in, like a run's model).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seqkit.errors import RecipeError, RunError, SeqkitError
from seqkit.plugins import get_plugin_manager
from seqkit.recipe import Recipe
from seqkit.train.rundir import COMPLETED, FAILED, INTERRUPTED, RUNNING, RunDirectory, atomic_write_csv, now

Echo = Callable[[str], None]
PROJECT = "keras_tuner"


@dataclass
class TuneResult:
    directory: RunDirectory
    rows: list[dict]
    best: dict | None
    best_recipe: Path | None


def objective_direction(tune: dict) -> tuple[str, str]:
    name = tune.get("objective", "val_loss")
    direction = tune.get("direction")
    if not direction:
        direction = "min" if any(word in name for word in ("loss", "error", "mae", "mse", "rmse")) else "max"
    return name, direction


def make_tuner(
    recipe: Recipe,
    hypermodel,
    directory: Path,
    role: str | None = None,
    worker_timeout: float = 120.0,
    echo: Echo = print,
):
    import keras_tuner

    tune = recipe.section("tune")
    name, direction = objective_direction(tune)
    common = dict(
        hypermodel=hypermodel,
        objective=keras_tuner.Objective(name, direction),
        executions_per_trial=tune.get("executions_per_trial", 1),
        seed=recipe.seed,
        directory=str(directory),
        project_name=PROJECT,
        overwrite=False,
        max_consecutive_failed_trials=3,
    )
    kind = tune.get("tuner", "random")
    classes = {
        "random": keras_tuner.RandomSearch,
        "grid": keras_tuner.GridSearch,
        "bayesian": keras_tuner.BayesianOptimization,
        "hyperband": keras_tuner.Hyperband,
    }
    if kind == "hyperband":
        extra = {
            "max_epochs": int(tune.get("max_epochs") or recipe.get("train.epochs")),
            "factor": tune.get("factor", 3),
        }
    else:
        extra = {"max_trials": tune.get("max_trials", 10)}
    if kind == "grid":
        for key, entry in (tune.get("space") or {}).items():
            if "float" in entry and not entry.get("step"):
                raise RecipeError(
                    f"{recipe.where(f'tune.space.{key}')}: tune.space.{key}: grid search needs a step for float ranges"
                )
    base = _recording(classes[kind], directory)
    if role == "chief":
        from seqkit.tune.distributed import serve_chief

        def search(self, *args, **kwargs):  # the chief only serves the oracle
            self.save()
            serve_chief(self.oracle, worker_timeout, echo)

        base = type(f"Seqkit{base.__name__}", (base,), {"search": search})
    elif role == "worker":
        from seqkit.tune.distributed import WorkerHeartbeat

        parent = base

        def on_search_begin(self):
            parent.on_search_begin(self)
            self._heartbeat = WorkerHeartbeat(self.oracle)
            self._heartbeat.start()

        def on_trial_begin(self, trial):
            self._heartbeat.trial_id = trial.trial_id
            parent.on_trial_begin(self, trial)

        def on_trial_end(self, trial):
            parent.on_trial_end(self, trial)
            self._heartbeat.trial_id = None

        def on_search_end(self):
            self._heartbeat.stop()
            parent.on_search_end(self)

        methods = {
            "on_search_begin": on_search_begin,
            "on_trial_begin": on_trial_begin,
            "on_trial_end": on_trial_end,
            "on_search_end": on_search_end,
        }
        base = type(f"Seqkit{base.__name__}Worker", (base,), methods)
    return base(**common, **extra)


TRIALS = "trials"


def _recording(base, directory: Path):
    """``base`` whose trials leave their per-epoch history in ``trials/<id>/history.json``
    (the tune report draws the best trial's curves from it). KerasTuner's public
    ``run_trial`` returns one ``History`` per execution."""

    def run_trial(self, trial, *args, **kwargs):
        results = base.run_trial(self, trial, *args, **kwargs)
        executions = results if isinstance(results, list) else [results]
        histories = [
            {
                k: [float(v) for v in values]
                for k, values in getattr(r, "history", {}).items()
                if not k.startswith("trial_")
            }
            for r in executions
        ]
        from seqkit.train.rundir import atomic_write_json

        atomic_write_json(
            Path(directory) / TRIALS / str(trial.trial_id) / "history.json",
            {"trial": trial.trial_id, "values": dict(trial.hyperparameters.values), "executions": histories},
        )
        return results

    return type(f"Seqkit{base.__name__}", (base,), {"run_trial": run_trial})


def results_rows(tuner, space: dict) -> list[dict]:
    objective = tuner.oracle.objective.name
    rows = []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        values = trial.hyperparameters.values
        metric = trial.metrics.get_last_value
        epochs = metric("trial_epochs") if trial.metrics.exists("trial_epochs") else None
        seconds = metric("trial_seconds") if trial.metrics.exists("trial_seconds") else None
        row = {"trial": trial_id, "status": trial.status}
        row.update({key: values.get(key) for key in space})
        if "tuner/epochs" in values:
            row["bracket_epochs"] = values["tuner/epochs"]
        score = trial.score
        row[objective] = None if score is None or (isinstance(score, float) and math.isnan(score)) else float(score)
        row["epochs"] = int(epochs) if epochs is not None else None
        row["seconds"] = round(float(seconds), 2) if seconds is not None else None
        rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    if not rows:
        return "(no trials)"
    columns = list(dict.fromkeys(k for row in rows for k in row))

    def cell(value):
        if isinstance(value, float):
            return f"{value:.4g}"
        return "" if value is None else str(value)

    widths = {c: max(len(c), *(len(cell(r.get(c))) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(cell(r.get(c)).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)


def _load(recipe: Recipe, manager, echo):
    from seqkit.train.runner import load_data
    from seqkit.tune.hypermodel import RecipeHyperModel

    task, adapter, bundle = load_data(recipe, manager, echo)
    return RecipeHyperModel(recipe, task, adapter, bundle, manager)


def tune(
    recipe: Recipe,
    directory: str | os.PathLike | None = None,
    role: str | None = None,
    oracle: str | None = None,
    tuner_id: str | None = None,
    worker_timeout: float = 120.0,
    manager=None,
    echo: Echo = print,
) -> TuneResult:
    """Run (or continue) a search. ``directory`` = an existing tune directory continues it."""
    import keras

    from seqkit.tune import distributed

    manager = manager or get_plugin_manager()
    if not recipe.get("tune.space"):
        # An empty space given is to blame; a missing one is the recipe's, not a --set of tune.max_trials.
        if recipe.get("tune.space") is not None:
            where = recipe.where("tune.space")
        else:
            where = str(recipe.path) if recipe.path else "recipe"
        raise RecipeError(
            f"{where}: tune.space: the recipe has no search space; add a tune: section with space: "
            "{dotted.key: {choice: [...]}} (docs/tuning.md)"
        )
    if role and not directory:
        raise SeqkitError("--role needs --directory: a folder every chief and worker can reach")
    if directory:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        tune_dir = RunDirectory(path)
    else:
        tune_dir = RunDirectory.create(Path(recipe.get("output.dir") or "runs"), recipe.name, prefix="tune-")
    is_worker = role == "worker"
    if not is_worker:
        if not tune_dir.file("recipe.yaml").exists():
            tune_dir.write_yaml(
                "recipe.yaml", recipe.portable_dict(), header="# The recipe of this search (defaults filled in).\n"
            )
            tune_dir.write_json(
                "run.json",
                {"recipe_path": str(recipe.path), "base_dir": str(recipe.base_dir.resolve()), "created": now()},
            )
        tune_dir.set_status(RUNNING)
    echo(f"seqkit: tune directory {tune_dir.path}")
    keras.utils.set_random_seed(recipe.seed)
    hypermodel = _load(recipe, manager, echo)  # imports keras_tuner (hypermodel.py)
    import keras_tuner

    from seqkit.train.runner import silent

    if role:
        distributed.configure_role(role, oracle or "", tuner_id)
    try:
        tuner = make_tuner(recipe, hypermodel, tune_dir.path, role, worker_timeout, echo)
        # --quiet: KerasTuner's trial reports too. A TensorBoard callback makes KerasTuner log each
        # trial under tensorboard/<trial-id>/ with its hyperparameters (the HParams dashboard).
        tuner.search(verbose=0 if echo is silent else 1, callbacks=_tensorboard_callbacks(recipe, tune_dir))
    except KeyboardInterrupt:
        if not is_worker:
            tune_dir.set_status(INTERRUPTED, error=f"interrupted; continue with: seqkit tune --resume {tune_dir.path}")
        raise
    except keras_tuner.errors.FatalError as exc:  # e.g. an objective no model logs: one line, no traceback
        if not is_worker:
            tune_dir.set_status(FAILED, error=str(exc))
        raise SeqkitError(str(exc)) from None
    except BaseException as exc:
        if not is_worker:
            tune_dir.set_status(
                FAILED, error=f"{type(exc).__name__}: {exc}" if not isinstance(exc, SeqkitError) else str(exc)
            )
            _write_tune_report(tune_dir, silent)
        raise
    finally:
        if role:
            distributed.clear_role()
    if is_worker:
        echo("seqkit: worker finished: the chief reports the results")
        return TuneResult(tune_dir, [], None, None)
    return _report(recipe, tuner, hypermodel, tune_dir, echo)


def _report(recipe, tuner, hypermodel, tune_dir: RunDirectory, echo: Echo) -> TuneResult:
    from seqkit.train.callbacks import save_model_atomic
    from seqkit.train.runner import build_export_model

    space = recipe.get("tune.space")
    rows = results_rows(tuner, space)
    atomic_write_csv(tune_dir.file("results.csv"), rows)
    objective, direction = objective_direction(recipe.section("tune"))
    best_trials = tuner.oracle.get_best_trials(1)
    best = None
    best_recipe_path = None
    if best_trials:
        trial = best_trials[0]
        values = {k: v for k, v in trial.hyperparameters.values.items() if k in space}
        best = {"trial": trial.trial_id, objective: trial.score, "values": values}
        best_recipe = hypermodel.trial_recipe(values)
        header = (
            f"# Best recipe of {tune_dir.path} ({objective}={trial.score:.4f}, trial {trial.trial_id}).\n"
            f"# Reproduce: seqkit run {tune_dir.path / 'best_recipe.yaml'}\n"
        )
        best_recipe_path = tune_dir.write_yaml("best_recipe.yaml", best_recipe.portable_dict(), header=header)
        try:
            with warnings.catch_warnings():
                # The checkpoint holds optimizer slots the rebuilt (unused) optimizer lacks.
                warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
                model = tuner.load_model(trial)
        except Exception as exc:  # a worker's checkpoint may live on another machine
            echo(f"seqkit: best model not saved here ({type(exc).__name__}: {exc}); run the best recipe to train it")
        else:
            _recipe, parts, preprocessor, _key = hypermodel.current
            save_model_atomic(build_export_model(parts, preprocessor, model), tune_dir.file("best_model.keras"))
    tune_dir.write_json(
        "results.json",
        {"objective": objective, "direction": direction, "best": best, "trials": rows, "finished": now()},
    )
    echo(format_table(rows))
    if best:
        echo(
            f"seqkit: best trial {best['trial']}: {objective}={best[objective]:.4f} with "
            + ", ".join(f"{k}={v}" for k, v in best["values"].items())
        )
        echo(f"seqkit: best recipe: {best_recipe_path}")
    tune_dir.set_status(COMPLETED)
    _write_tune_report(tune_dir, echo)
    return TuneResult(tune_dir, rows, best, best_recipe_path)


def _tensorboard_callbacks(recipe: Recipe, tune_dir: RunDirectory) -> list:
    import importlib.util

    import keras

    if not recipe.get("output.tensorboard", True) or keras.backend.backend() != "tensorflow":
        return []
    if importlib.util.find_spec("tensorboard") is None:
        return []
    return [keras.callbacks.TensorBoard(log_dir=str(tune_dir.file("tensorboard")), write_graph=False, profile_batch=0)]


def _write_tune_report(tune_dir: RunDirectory, echo: Echo) -> Path | None:
    """The search's report.html; one that cannot be written is a note, not a failure."""
    from seqkit.tune.report import build_tune_report

    try:
        path = build_tune_report(tune_dir.path)
    except Exception as exc:
        echo(f"seqkit: note: report.html not written: {type(exc).__name__}: {exc}")
        return None
    echo(f"seqkit: report {path}")
    return path


def resume(directory, manager=None, echo: Echo = print, **kwargs) -> TuneResult:
    """Continue a search in its tune directory: finished trials are not run again."""
    from seqkit.train.runner import load_run_recipe

    path = Path(directory)
    if not (path / "run.json").is_file() or not (path / PROJECT).is_dir():
        raise RunError(f"{path}: not a seqkit tune directory (no run.json / {PROJECT}/)")
    tune_dir = RunDirectory(path)
    if tune_dir.status().get("status") == COMPLETED:
        echo(f"seqkit: {path} is already complete; reporting its results")
    recipe = load_run_recipe(tune_dir, manager)
    return tune(recipe, directory=path, manager=manager, echo=echo, **kwargs)
