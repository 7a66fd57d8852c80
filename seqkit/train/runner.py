"""The runner: recipe -> data -> model -> fit -> evaluate -> a complete run directory.

A run directory is marked ``running`` at the start and ``completed`` only after every
file is in place; a failure marks it ``failed`` with the error, Ctrl-C ``interrupted``.
``resume_run`` continues from the last per-epoch checkpoint.
"""

from __future__ import annotations

import contextlib
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seqkit.data import DataBundle, DataContext, memory, pipeline, stream
from seqkit.errors import RunError, SeqkitError, TrainingError
from seqkit.plugins import get_plugin_manager
from seqkit.recipe import Recipe
from seqkit.recipe import validate as validate_recipe
from seqkit.recipe.loader import read_recipe_file
from seqkit.train import faults
from seqkit.train.rundir import (
    COMPLETED,
    FAILED,
    FULL_DISK,
    INTERRUPTED,
    RUNNING,
    RunDirectory,
    atomic_write_csv,
    now,
    remove_temporary_files,
    write_error,
)

Echo = Callable[[str], None]


PREPROCESSOR = "preprocessor.keras"
REPORT_FILE = "report.html"


def fit_verbosity(setting) -> int:
    """``train.verbose``; ``auto`` is Keras's live bar on a terminal and one line per epoch when
    standard output is a pipe or a file (the bar's ANSI codes would fill a log)."""
    import sys

    if setting == "auto":
        try:
            return 1 if sys.stdout.isatty() else 2
        except (AttributeError, ValueError):
            return 2
    return int(setting)


def silent(_message: str) -> None:
    """The echo of a quiet run (``--quiet``, ``quiet=True``): nothing printed, Keras's
    per-epoch lines included."""


@dataclass
class Parts:
    """Everything a recipe resolves to before a model exists."""

    recipe: Recipe
    task: Any
    adapter: Any
    bundle: DataBundle
    encoder: Any
    head: Any


def load_data(recipe: Recipe, manager=None, echo: Echo = print, info: dict | None = None):
    """Read the recipe's data through its adapter: (task, adapter, bundle). No TensorFlow.
    ``info``: a trained model's data facts, when the data is loaded to score it."""
    manager = manager or get_plugin_manager()
    task = manager.tasks.get(recipe.task)
    adapter_cls = manager.adapters.get(recipe.get("data.adapter"))
    adapter = adapter_cls(recipe.section("data"), DataContext(recipe.base_dir, recipe.seed, task, info))
    bundle = adapter.load()
    for note in adapter.notes:
        echo(f"seqkit: warning: {note}")
    in_memory = memory.records(recipe.section("data"))
    if in_memory:  # what was trained on, where a file path would be
        bundle.info["in_memory"] = in_memory
    sizes = {
        k: len(v)
        for k, v in (("train", bundle.train), ("validation", bundle.validation), ("test", bundle.test))
        if v is not None
    }
    echo("seqkit: data " + ", ".join(f"{k}={n}" for k, n in sizes.items()))
    unseen = classes_without_training_examples(bundle) if info is None else []
    if unseen:
        echo(
            f"seqkit: note: no training example of class {', '.join(map(repr, unseen))}; the model cannot learn to predict it"
        )
    return task, adapter, bundle


def classes_without_training_examples(bundle: DataBundle) -> list:
    """Classes (``info['classes']``, e.g. listed in ``data.labels``) that no training row has."""
    classes = bundle.info.get("classes")
    y = getattr(bundle.train, "y", None)
    if not classes or y is None or not len(y):
        return []
    y = np.asarray(y)
    if bundle.info.get("multilabel") and y.ndim == 2 and y.shape[1] == len(classes):
        counts = y.sum(axis=0)
    elif y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        counts = np.bincount(y, minlength=len(classes))
    else:
        return []
    return [c for c, n in zip(classes, counts) if n == 0]


def resolve_parts(recipe: Recipe, manager=None, echo: Echo = print) -> Parts:
    manager = manager or get_plugin_manager()
    task, adapter, bundle = load_data(recipe, manager, echo)
    return make_parts(recipe, task, adapter, bundle, manager)


def make_parts(recipe: Recipe, task, adapter, bundle: DataBundle, manager=None) -> Parts:
    """Encoder and head specs for `recipe` over already loaded data (tuning reuses the data)."""
    manager = manager or get_plugin_manager()
    encoder = manager.encoders.get(recipe.get("model.encoder.type"))(
        recipe.get("model.encoder"), bundle.info, base_dir=recipe.base_dir
    )
    head = manager.heads.get(recipe.get("model.head.type"))(recipe.get("model.head"), bundle.info)
    return Parts(recipe, task, adapter, bundle, encoder, head)


# -- model assembly --------------------------------------------------------------------------


def build_training_model(parts: Parts, preprocessor):
    """encoder -> shared stacked-LSTM backbone -> head, on preprocessed inputs."""
    import keras

    from seqkit.models.backbone import StackedLSTM

    l2 = parts.recipe.get("train.l2") or 0.0
    regularizer = keras.regularizers.L2(l2) if l2 else None
    spec = parts.encoder.input_spec(preprocessor)
    inputs = keras.Input(shape=spec["shape"], dtype=spec["dtype"], name="inputs")
    x = parts.encoder.build(preprocessor, regularizer=regularizer)(inputs)
    backbone_config = dict(parts.recipe.get("model.backbone") or {})
    x = StackedLSTM(
        **backbone_config,
        return_sequences=parts.head.wants_sequence(),
        kernel_regularizer=regularizer,
        name="backbone",
    )(x)
    head = parts.head.build(regularizer=regularizer)
    # A head may also read the model's inputs (e.g. a forecaster adding the last observed value back).
    outputs = head(x, inputs) if parts.head.needs_inputs else head(x)
    return keras.Model(inputs, outputs, name=parts.recipe.name.replace(".", "_"))


def compile_new_model(parts: Parts, preprocessor, steps_per_epoch: int):
    """Build the training model and compile it with the recipe's optimizer, loss and metrics."""
    import keras

    train = parts.recipe.section("train")
    keras.mixed_precision.set_dtype_policy(train.get("precision", "float32"))
    try:
        model = build_training_model(parts, preprocessor)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    compile_model(model, parts, steps_per_epoch)
    return model


def compile_model(model, parts: Parts, steps_per_epoch: int) -> None:
    """Compile ``model`` with the recipe's optimizer (a new one), loss and metrics."""
    from seqkit.train.optim import build_optimizer

    train = parts.recipe.section("train")
    model.compile(
        optimizer=build_optimizer(train, steps_per_epoch, parts.encoder.learning_rate_multipliers(model)),
        loss=parts.head.loss(),
        metrics=parts.head.metrics(),
        jit_compile=resolve_jit_compile(train.get("jit_compile", "auto"), bool(train.get("deterministic"))),
        steps_per_execution=steps_per_execution(train),
    )


def steps_per_execution(train) -> int:
    """``train.steps_per_execution``; Keras's PyTorch backend runs one step per call only."""
    import keras

    value = int(train.get("steps_per_execution", 1))
    if value > 1 and keras.backend.backend() == "torch":
        from seqkit.errors import RecipeError

        raise RecipeError(
            f"train.steps_per_execution: {value}: the PyTorch backend (KERAS_BACKEND=torch) runs 1 step per call; remove the key or set 1"
        )
    return value


def bucket_multiple(train) -> int:
    """Length buckets' cut lengths round up to 8 where each new shape compiles anew (JAX, XLA)."""
    import keras

    return 8 if keras.backend.backend() == "jax" or train.get("jit_compile") is True else 1


def resolve_jit_compile(setting, deterministic: bool = False):
    """``auto`` is Keras's own choice (XLA on GPU and with JAX, off on CPU-only TensorFlow,
    where bench/throughput.py measured it slower for LSTMs on this project's machines), except
    that TensorFlow op determinism, which XLA does not support, turns it off."""
    import keras

    if setting == "auto":
        return False if deterministic and keras.backend.backend() == "tensorflow" else "auto"
    return bool(setting)


def encode_splits(parts: Parts, preprocessor):
    """Model-ready training arrays, the validation split (or None; scored in length buckets
    when training is) and the training length buckets (or None) of in-memory data, checked
    for NaN / inf (the tuner's trials train on them)."""
    data = pipeline.TrainingData(parts.bundle, parts.head).encode(preprocessor)
    x_train, y_train = data.train.encoded()
    buckets = None
    if parts.recipe.get("train.bucket_by_length", True):
        multiple = bucket_multiple(parts.recipe.section("train"))
        buckets = data.train.length_buckets(parts.encoder, parts.head, multiple)
        if buckets is not None and data.validation is not None:
            data.validation.length_buckets(parts.encoder, parts.head, multiple)
    return x_train, y_train, data.validation, buckets


def build_export_model(parts: Parts, preprocessor, model):
    """The saved model: raw inputs -> preprocessor -> trained model, without the optimizer
    (an uncompiled copy of the weights: smaller, and nothing to restore but the model)."""
    import keras

    trained = keras.models.clone_model(model)
    trained.set_weights(model.get_weights())
    model = trained
    if preprocessor is None:
        return model
    spec = parts.encoder.raw_input_spec()
    raw = keras.Input(shape=spec["shape"], dtype=spec["dtype"], name="raw_inputs")
    return keras.Model(raw, model(preprocessor(raw)), name=model.name)


def layer_modules(manager=None) -> list[str]:
    """The modules of the custom Keras layers that installed plugins' encoder and head specs
    name in ``keras_module``: what :func:`seqkit.export.saving.load_model` must import."""
    manager = manager or get_plugin_manager()
    modules: list[str] = []
    for registry in (manager.encoders, manager.heads):
        for _name, spec in registry.items():
            module = spec.keras_module  # EncoderSpec / HeadSpec attribute, None by default
            if module and module not in modules:
                modules.append(module)
    return modules


def import_layer_modules(manager=None) -> list[str]:
    """Import seqkit's and the installed plugins' Keras layer modules; returns them."""
    from seqkit.export.saving import import_modules

    return import_modules(layer_modules(manager))


def _save_preprocessor(path: Path, parts: Parts, preprocessor) -> None:
    import keras

    from seqkit.train.callbacks import save_model_atomic

    spec = parts.encoder.raw_input_spec()
    raw = keras.Input(shape=spec["shape"], dtype=spec["dtype"])
    save_model_atomic(keras.Model(raw, preprocessor(raw)), path)


def _load_preprocessor(path: Path, manager=None):
    from seqkit.export.saving import load_model

    return load_model(path, layer_modules(manager)).layers[-1]


# -- running --------------------------------------------------------------------------------


def start_run(recipe: Recipe, evaluate: bool = True, manager=None, echo: Echo = print) -> RunResult:
    """Create a new run directory for `recipe` and execute it. In a distributed run only the
    chief does; the other workers train in a scratch folder (seqkit.train.distribute)."""
    from seqkit.train import distribute

    plan = distribute.plan_for(recipe)
    if not plan.is_chief:
        with distribute.worker_directory(plan) as scratch:
            return _execute(recipe, scratch, evaluate, manager, echo, resume=False)
    root = Path(recipe.get("output.dir") or "runs")
    run_dir = RunDirectory.create(root, recipe.name)
    header = f"# Resolved recipe of run {run_dir.path.name} (defaults filled in).\n"
    run_dir.write_yaml("recipe.yaml", recipe.portable_dict(manager), header=header)
    run_dir.write_json(
        "run.json",
        {
            "recipe_path": str(recipe.path) if recipe.path else None,
            "base_dir": str(recipe.base_dir.resolve()),
            "evaluate": evaluate,
            "created": now(),
        },
    )
    with run_dir.lock():
        run_dir.set_status(RUNNING)
        echo(f"seqkit: run directory {run_dir.path}")
        return _execute(recipe, run_dir, evaluate, manager, echo, resume=False)


def load_run_recipe(run_dir: RunDirectory, manager=None, overrides: dict | None = None) -> Recipe:
    from seqkit.errors import RecipeError
    from seqkit.recipe.loader import apply_overrides

    meta = run_dir.read_json("run.json")
    data, source = read_recipe_file(run_dir.file("recipe.yaml"))
    apply_overrides(data, overrides, source)
    try:
        validate_recipe(data, source, manager, check_parts=False)  # it trained: later part checks do not lock it
    except RecipeError as exc:
        # A run trained with a plugin that is not installed here: say which.
        try:
            trained = run_dir.read_json("environment.json").get("plugins") or {}
        except RunError:
            trained = {}
        installed = (manager or get_plugin_manager()).plugin_versions()
        missing = [f"{name} {version}" for name, version in sorted(trained.items()) if name not in installed]
        if not missing:
            raise
        raise RecipeError(
            [
                f"{run_dir.path}: trained with plugin(s) not installed here: {', '.join(missing)}; install them to use this run"
            ]
            + exc.problems
        ) from None
    return Recipe(data, source, Path(meta["base_dir"]) / "recipe.yaml")


def resume_run(path, manager=None, echo: Echo = print, distribution: dict | None = None) -> RunResult:
    """Continue a run; ``distribution`` overrides (dotted keys) set this worker's place."""
    from seqkit.train import distribute

    run_dir = RunDirectory.open(path)
    status = run_dir.status().get("status")
    if status == COMPLETED:
        raise RunError(f"{run_dir.path}: run already completed; nothing to resume")
    recipe = load_run_recipe(run_dir, manager, distribution)
    plan = distribute.plan_for(recipe)
    if not plan.is_chief:
        with distribute.worker_directory(plan, resume_from=run_dir.path) as scratch:
            echo(f"seqkit: worker {plan.worker_index} resuming {run_dir.path} (the chief writes it)")
            return _execute(recipe, scratch, True, manager, echo, resume=True)
    evaluate = bool(run_dir.read_json("run.json").get("evaluate", True))
    stale = run_dir.stale()  # before this process takes the lock
    with run_dir.lock():
        status = run_dir.status().get("status")  # read again under the lock
        if status == COMPLETED:
            raise RunError(f"{run_dir.path}: run already completed; nothing to resume")
        run_dir.set_status(RUNNING, resumed=now())
        if stale:
            echo(f"seqkit: note: {run_dir.path} was {stale}; resuming it")
            status = "stale"
        echo(f"seqkit: resuming {run_dir.path} (was {status})")
        return _execute(recipe, run_dir, evaluate, manager, echo, resume=True)


@dataclass
class RunResult:
    run_dir: RunDirectory
    recipe: Recipe
    metrics: dict
    parts: Parts
    model: Any  # the exported model (raw inputs); None on a worker that is not the chief
    trained: Any = None  # the trained network (model inputs), undistributed
    stage_seconds: dict = field(default_factory=dict)  # wall seconds of each stage (status.json's seconds)


def _execute(recipe, run_dir, evaluate, manager, echo, resume) -> RunResult:
    """Run the stages in `run_dir` and record how it ended in its status."""
    from seqkit import progress
    from seqkit.train.callbacks import signals_interrupt

    manager = manager or get_plugin_manager()
    remove_temporary_files(run_dir.path)  # what a killed run left half-written
    # A report describes the run as it ended; the one of an earlier attempt goes now.
    run_dir.file(REPORT_FILE).unlink(missing_ok=True)
    try:
        # SIGTERM, like Ctrl-C, ends the run marked interrupted (fit stops at a batch instead).
        with signals_interrupt(), progress.silenced(echo is silent):
            result = Runner(recipe, run_dir, evaluate, manager, echo, resume).run()
    except KeyboardInterrupt:
        _unfinished(run_dir)
        run_dir.set_status(INTERRUPTED, error=f"interrupted; continue with: seqkit run --resume {run_dir.path}")
        _write_report(run_dir, manager, echo)
        echo(
            f"seqkit: interrupted; the last epoch checkpoint is kept; continue with: seqkit run --resume {run_dir.path}"
        )
        raise
    except SeqkitError as exc:
        _unfinished(run_dir)
        run_dir.set_status(FAILED, error=str(exc))
        _write_report(run_dir, manager, echo)
        raise
    except OSError as exc:
        _unfinished(run_dir)
        if exc.errno not in FULL_DISK:
            run_dir.set_status(FAILED, error=f"{type(exc).__name__}: {exc}")
            raise
        error = write_error(Path(exc.filename) if exc.filename else run_dir.path, exc)
        run_dir.set_status(FAILED, error=str(error))
        raise error from None
    except BaseException as exc:
        _unfinished(run_dir)
        run_dir.set_status(FAILED, error=f"{type(exc).__name__}: {exc}")
        _write_report(run_dir, manager, echo)
        raise
    run_dir.set_status(COMPLETED, **({"seconds": result.stage_seconds} if result.stage_seconds else {}))
    if result.model is not None:
        report = _write_report(run_dir, manager, echo)
        if report is not None:
            echo(f"seqkit: report {report}")
    if result.model is None:
        echo("seqkit: worker finished; the chief wrote the run directory")
    else:
        echo(f"seqkit: completed {run_dir.path}")
    return result


def _write_report(run_dir: RunDirectory, manager, echo: Echo) -> Path | None:
    """report.html of the run as it now stands (its status shown); a report that cannot be
    written is a note, never the run's failure."""
    from seqkit.export.report import build_report

    if not run_dir.path.is_dir() or not run_dir.file("status.json").exists():
        return None  # a worker's scratch folder
    try:
        return build_report(run_dir.path, manager)
    except Exception as exc:
        echo(f"seqkit: note: report.html not written: {type(exc).__name__}: {exc}")
        return None


def _unfinished(run_dir: RunDirectory) -> None:
    """A run that did not complete has no ``metrics.json`` and no half-written files."""
    remove_temporary_files(run_dir.path)
    if run_dir.path.is_dir():
        run_dir.file("metrics.json").unlink(missing_ok=True)


class Runner:
    """One training run of a recipe in a run directory, as the stages :meth:`run` calls.

    Each stage reads what the ones before it set on the runner and sets what it makes:

    1. :meth:`setup_engine`: the distribution session, seeds, determinism; environment.json.
    2. :meth:`setup_data`: the data, data_info.json, ``predict.examples`` encoded, the
       preprocessing (fitted, or the checkpointed one on resume) and the model's splits.
    3. :meth:`setup_model`: the model, compiled new or, on resume, loaded from the last
       checkpoint (with the checkpointed training state).
    4. :meth:`setup_callbacks`: checkpoints and history, the NaN guard, early stopping...
    5. :meth:`fit`: training, the NaN guard's verdict, the best weights restored.
    6. :meth:`export`: model.keras (raw inputs -> outputs), by the chief only.
    7. :meth:`score`: validation / test metrics, predictions.csv, plots, and metrics.json last.
    """

    def __init__(self, recipe: Recipe, run_dir: RunDirectory, evaluate: bool, manager, echo: Echo, resume: bool):
        self.recipe, self.run_dir, self.evaluate, self.resume = recipe, run_dir, evaluate, resume
        self.manager, self.echo = manager, echo
        self.train = recipe.section("train")
        self.batch_size = int(self.train.get("batch_size", 32))
        self.epochs = int(self.train.get("epochs", 10))
        self.checkpoints = run_dir.checkpoints
        self.stage_seconds: dict[str, float] = {}
        self.score_in_buckets = False
        self.frozen: list[str] = []  # warm-started layers frozen for the first model.freeze_epochs
        self.freeze_epochs = int(recipe.get("model.freeze_epochs") or 0)

    def run(self) -> RunResult:
        from seqkit import progress

        with self.timed("engine"):
            self.setup_engine()
        faults.phase("data")
        with self.timed("data"), progress.phase("loading the data"):
            self.setup_data()
        faults.phase("model")
        with self.timed("model"):
            self.setup_model()
            self.setup_callbacks()
        faults.phase("fit")
        with self.timed("fit"):
            self.fit()
        if not self.session.is_chief:  # the chief exports, evaluates and writes the run directory
            return self.finish_worker()
        faults.phase("evaluate")
        with self.timed("export"):
            self.export()
        with self.timed("score"), progress.phase("evaluating the model"):
            result = self.score()
        result.stage_seconds = {name: round(seconds, 2) for name, seconds in self.stage_seconds.items()}
        return result

    @contextlib.contextmanager
    def timed(self, stage: str):
        """Wall seconds of a stage, for status.json's ``seconds`` (where a run's time went)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds[stage] = time.perf_counter() - started

    # -- 1. engine ----------------------------------------------------------------------------

    def setup_engine(self) -> None:
        import keras

        from seqkit.train import distribute
        from seqkit.train.environment import environment_record

        # Before anything else touches the engine: strategies and JAX's cluster start first.
        self.session = distribute.start(distribute.plan_for(self.recipe), self.echo)
        keras.utils.set_random_seed(self.recipe.seed)
        if self.train.get("deterministic") and keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.experimental.enable_op_determinism()
        from seqkit.train.environment import git_record, packages

        self.environment = environment_record(self.recipe.seed, self.manager.plugin_versions())
        self.environment["recipe_git"] = git_record(self.recipe.base_dir)
        self.environment["packages"] = packages()
        self.run_dir.write_json("environment.json", self.environment)

    # -- 2. data ------------------------------------------------------------------------------

    def setup_data(self) -> None:
        from seqkit.data.adapter import recording_files_read
        from seqkit.data.summary import file_hashes, summarize

        with recording_files_read() as files:
            self.parts = resolve_parts(self.recipe, self.manager, self.echo)
        self.info = self.parts.bundle.info
        self.run_dir.write_json("data_info.json", self.info)
        # What the data were: the files read (SHA-256) and the splits as loaded, for the report
        # and to prove two runs used the same data.
        summary = summarize(self.parts.bundle)
        self.run_dir.write_json("data_summary.json", summary)
        self.environment["data_files"] = file_hashes(files)
        self.environment["data_fingerprint"] = summary["fingerprint"]
        self.run_dir.write_json("environment.json", self.environment)
        # predict.examples are encoded now, so an example the task cannot take stops the run
        # before training, not after it.
        self.examples = self.recipe.get("predict.examples")
        self.example_inputs = self.parts.adapter.encode_inputs(self.examples, self.info) if self.examples else None
        data = stream.training_data(self.parts.bundle, self.parts.head)
        self.preprocessor = self._preprocessor(data)
        self.data = data.encode(self.preprocessor)
        self._length_buckets()

    def _length_buckets(self) -> None:
        """``train.bucket_by_length``: training batches of similar lengths, cut to their longest
        example; how much padding that saves goes to data_info.json and the terminal."""
        if not self.recipe.get("train.bucket_by_length", True):
            return
        buckets = self.data.train.length_buckets(self.parts.encoder, self.parts.head, bucket_multiple(self.train))
        if buckets is None:
            return
        # Validation (every epoch) and test are scored in length buckets too, except across
        # workers, where Keras shards the arrays itself.
        self.score_in_buckets = not self.session.distributed
        if self.score_in_buckets and self.data.validation is not None:
            self._score_buckets(self.data.validation)
        x, _ = self.data.train.encoded()
        fixed, bucketed = buckets.padding_share(self.batch_size, int(x.shape[1]), self.recipe.seed)
        self.info["length_buckets"] = {
            "window_batches": buckets.window,
            "multiple": buckets.multiple,
            "padding_fixed": round(fixed, 4),
            "padding_bucketed": round(bucketed, 4),
        }
        self.run_dir.write_json("data_info.json", self.info)
        self.echo(
            f"seqkit: length buckets: padding {fixed:.0%} -> {bucketed:.0%} of the training steps "
            "(train.bucket_by_length: false turns them off)"
        )

    def _score_buckets(self, split: pipeline.ModelSplit) -> None:
        split.length_buckets(self.parts.encoder, self.parts.head, bucket_multiple(self.train))

    def _preprocessor(self, data: pipeline.TrainingData):
        """The checkpointed preprocessing on resume; else fitted (or the prepared data's) and saved."""
        path = self.checkpoints / PREPROCESSOR
        if self.resume and path.exists():
            return _load_preprocessor(path, self.manager)
        preprocessor = data.fit_preprocessor(self.parts.adapter, self.parts.encoder, layer_modules(self.manager))
        if preprocessor is not None:
            _save_preprocessor(path, self.parts, preprocessor)
        return preprocessor

    # -- 3. model -----------------------------------------------------------------------------

    def setup_model(self) -> None:
        from seqkit.train import callbacks as train_callbacks

        # The newest complete checkpoint (a damaged one is named and the one before it taken).
        self.checkpoint = train_callbacks.CheckpointStore(self.checkpoints).latest(self.echo) if self.resume else None
        self.state = self.checkpoint.state if self.checkpoint is not None else None
        steps = pipeline.steps_per_epoch(len(self.data.train), self.batch_size)
        if self.checkpoint is not None:
            from seqkit.export.saving import load_training_model

            with self.session.scope():
                self.model = load_training_model(self.checkpoint.model, layer_modules(self.manager))
            if not train_callbacks.restore_seed_generator_states(self.model, self.state.get("rng", [])):
                self.echo(
                    "seqkit: note: dropout random states not restored; results may differ from an uninterrupted run"
                )
            self.echo(f"seqkit: resumed from epoch {self.state['epochs_done']}")
            self._frozen_on_resume()
        else:
            with self.session.scope():
                self.model = compile_new_model(self.parts, self.preprocessor, steps)
                self._warm_start(steps)
        for note in self.parts.encoder.notes:
            self.echo(f"seqkit: {note}")
        if self.parts.encoder.facts and self.checkpoint is None:
            self.info["encoder"] = self.parts.encoder.facts
            self.run_dir.write_json("data_info.json", self.info)
        self.echo(f"seqkit: model {self.model.name}: {self.model.count_params():,} parameters")

    def _frozen_on_resume(self) -> None:
        """The warm-started layers still frozen at the epoch a run resumes at (init_from.json)."""
        path = self.run_dir.file("init_from.json")
        if not path.exists():
            return
        found = self.run_dir.read_json("init_from.json")
        if self.state["epochs_done"] < int(found.get("frozen_epochs") or 0):
            self.frozen = list(found.get("loaded") or [])

    def _warm_start(self, steps: int) -> None:
        """``model.init_from``: an earlier run's encoder and backbone weights (init_from.json says which)."""
        source = self.recipe.get("model.init_from")
        if not source:
            return
        from seqkit.train.warmstart import set_frozen, warm_start

        report = warm_start(self.model, self.parts.encoder, self.preprocessor, source, self.manager)
        for line in report.lines():
            self.echo(f"seqkit: {line}")
        freeze = self.freeze_epochs
        if freeze and report.loaded:
            self.frozen = report.loaded
            set_frozen(self.model, self.frozen, True)
            compile_model(self.model, self.parts, steps)
            self.echo(f"seqkit: init_from: {', '.join(self.frozen)} frozen for the first {freeze} epoch(s)")
        self.run_dir.write_json("init_from.json", {**report.as_dict(), "frozen_epochs": freeze if self.frozen else 0})

    # -- 4. callbacks -------------------------------------------------------------------------

    def setup_callbacks(self) -> None:
        from seqkit.train import callbacks as train_callbacks

        self.early = early = self.train.get("early_stopping")
        monitor = early["monitor"] if early else "val_loss"
        if self.data.validation is None and monitor.startswith("val_"):
            monitor = monitor[4:]
        self.monitor = monitor
        mode = early.get("mode", "auto") if early else "auto"
        self.run_state = train_callbacks.RunState(
            self.checkpoints, self.run_dir.file("history.csv"), monitor, mode, checkpoint=self.checkpoint
        )
        self.nan_guard = train_callbacks.NanGuard()
        self.run_state.nan_guard = self.nan_guard
        callbacks = [self.nan_guard]
        if early:
            callbacks.insert(
                0, train_callbacks.MonitorCheck(monitor, self.recipe.where("train.early_stopping.monitor"))
            )
            stopper = train_callbacks.ResumableEarlyStopping(
                state=(self.state or {}).get("early_stopping"),
                monitor=monitor,
                patience=early.get("patience", 3),
                min_delta=early.get("min_delta", 0.0),
                mode=mode,
            )
            callbacks.append(stopper)
            self.run_state.early_stopper = stopper
        callbacks.append(self.run_state)
        callbacks.extend(self._optional_callbacks())
        self.stop_request = train_callbacks.StopOnSignal()
        self.run_state.stop_request = self.stop_request  # an epoch a signal cuts short is not recorded
        callbacks.append(self.stop_request)
        self.callbacks = callbacks

    def _optional_callbacks(self) -> list:
        """The learning-rate plateau schedule and TensorBoard logs, where the recipe asks."""
        import keras

        from seqkit.train.optim import plateau_callback

        found = [c for c in [plateau_callback(self.train)] if c is not None]
        if self.recipe.get("output.tensorboard", True) and keras.backend.backend() == "tensorflow":
            if importlib.util.find_spec("tensorboard") is None:
                self.echo("seqkit: TensorBoard is not installed; no tensorboard/ logs (pip install tensorboard)")
            else:
                log_dir = str(self.run_dir.file("tensorboard"))
                found.append(keras.callbacks.TensorBoard(log_dir=log_dir, write_graph=False, profile_batch=0))
        return found

    # -- 5. fit -------------------------------------------------------------------------------

    def fit(self) -> None:
        started = time.perf_counter()
        # What trains changes at these epochs (model.freeze_epochs after a warm start, an
        # encoder's gradual unfreezing): training runs in phases, compiled anew between them.
        for epoch in self._phase_epochs():
            self._fit_until(epoch)
            self._next_phase(epoch)
        self._fit_until(self.epochs)
        self.train_seconds = time.perf_counter() - started
        self._check_nan_guard()
        best = self.run_state.best_weights()
        if self.early and self.early.get("restore_best_weights", True) and best is not None:
            self.model.load_weights(best)
            self.echo(
                f"seqkit: restored best weights (epoch {self.run_state.best_epoch}, {self.monitor}={self.run_state.best:.4f})"
            )
        self.model = self.session.local_model(self.model, self.parts.head.loss(), self.parts.head.metrics)

    def _phase_epochs(self) -> list[int]:
        done = self.run_state.epochs_done
        marks = set(self.parts.encoder.thaw_epochs(self.model))
        if self.frozen:
            marks.add(self.freeze_epochs)
        self._next_phase(done)  # a resumed run: the setting of the epoch it resumes at
        return sorted(m for m in marks if done < m < self.epochs)

    def _next_phase(self, epoch: int) -> None:
        """Set what trains from ``epoch`` on; compile anew when that changed."""
        lines = []
        if self.frozen and epoch >= self.freeze_epochs:
            from seqkit.train.warmstart import set_frozen

            set_frozen(self.model, self.frozen, False)
            lines.append(f"init_from: {', '.join(self.frozen)} unfrozen")
            self.frozen = []
        line = self.parts.encoder.thaw(self.model, epoch)
        lines += [line] if line else []
        if not lines:
            return
        compile_model(self.model, self.parts, pipeline.steps_per_epoch(len(self.data.train), self.batch_size))
        if self.early is not None and self.run_state.early_stopper is not None:
            self.run_state.early_stopper._initial = self.run_state.early_stopper.state()
        for line in lines:
            self.echo(f"seqkit: {line}")

    def _fit_until(self, epochs: int) -> None:
        if self.run_state.finished(epochs):
            return
        fit_data = self.data.train.fit_arguments(
            self.batch_size,
            self.recipe.seed,
            self.run_state.epochs_done,
            epochs,
            self._class_weights(),
            adapt=self.session.training_dataset,
        )
        validation = self.data.validation.validation_data(self.batch_size) if self.data.validation else None
        with self.stop_request.installed(self.echo):
            self.model.fit(
                **fit_data,
                epochs=epochs,
                initial_epoch=self.run_state.epochs_done,
                validation_data=validation,
                validation_batch_size=self.batch_size,
                callbacks=self.callbacks,
                verbose=0 if self.echo is silent else fit_verbosity(self.train.get("verbose", "auto")),
            )
        if self.stop_request.requested:
            raise self.stop_request.interrupt()

    def _class_weights(self) -> dict | None:
        """``train.class_weight`` resolved over the training targets (refused where the data cannot)."""
        from seqkit.train.optim import class_weights

        for key, reason in self.data.refuses.items():
            if self.recipe.get(key):
                raise SeqkitError(f"{key}: {reason}")
        targets = self.data.train.targets
        if targets is None or "classes" not in self.info:
            return None
        return class_weights(self.train.get("class_weight"), targets, list(self.info["classes"]))

    def _check_nan_guard(self) -> None:
        if not self.nan_guard.failure:
            return
        epoch, step, value = self.nan_guard.failure
        done = self.run_state.epochs_done
        kept = f"; the last good checkpoint (epoch {done}) is kept in {self.checkpoints}" if done else ""
        raise TrainingError(
            f"loss became {value} at epoch {epoch}, step {step}{kept}. Usual causes: a learning rate too high "
            "(train.optimizer.learning_rate), no gradient clipping (train.optimizer.clipnorm), or NaN / infinite "
            "values in the data"
        )

    def finish_worker(self) -> RunResult:
        """A worker that is not the chief: wait for the chief, return the training summary."""
        self.session.finish(self.echo)
        summary = {
            "epochs_trained": self.run_state.epochs_done,
            "history": self.run_state.history,
            "worker": self.session.plan.worker_index,
        }
        return RunResult(
            run_dir=self.run_dir, recipe=self.recipe, metrics=summary, parts=self.parts, model=None, trained=self.model
        )

    # -- 6. export ----------------------------------------------------------------------------

    def export(self) -> None:
        from seqkit.train.callbacks import save_model_atomic

        self.exported = build_export_model(self.parts, self.preprocessor, self.model)
        save_model_atomic(self.exported, self.run_dir.file("model.keras"))

    # -- 7. score -----------------------------------------------------------------------------

    def score(self) -> RunResult:
        """Metrics, predictions and plots; metrics.json is written last (a run without it failed)."""
        from seqkit.export.plots import plot_learning_curves

        parts, info, run_state = self.parts, self.info, self.run_state
        metrics: dict[str, Any] = {
            "task": self.recipe.task,
            "epochs_trained": run_state.epochs_done,
            "best_epoch": run_state.best_epoch,
            "monitor": self.monitor,
            "train_seconds": round(self.train_seconds, 2),
        }
        if self.data.validation is not None:
            metrics["validation"] = parts.task.evaluate(
                self.data.validation.targets, self._predict(self.data.validation), info
            )
        if self.evaluate and self.data.test is not None:
            metrics.update(self._score_test(self.data.test))
        elif self.evaluate:
            self.echo(
                "seqkit: no test split, so no test metrics (the data gave no test examples; set data.test or data.split.test)"
            )
        faults.phase("outputs")
        best_epoch = run_state.best_epoch if self.early and self.early.get("restore_best_weights", True) else None
        plot_learning_curves(
            run_state.history, self.run_dir.plots / "learning_curves.png", best_epoch=best_epoch, monitor=self.monitor
        )
        # The examples are predicted before metrics.json is written: a run that fails has none.
        examples = self.examples or []
        rows = (
            parts.task.decode(self.exported.predict(self.example_inputs, verbose=0), info, inputs=examples)
            if examples
            else []
        )
        self._tensorboard_summary(metrics)
        self.run_dir.write_json("metrics.json", metrics)
        for raw, row in zip(examples, rows):
            self.echo(parts.task.format_prediction(raw, row))
        self.session.finish(self.echo)
        return RunResult(
            run_dir=self.run_dir,
            recipe=self.recipe,
            metrics=metrics,
            parts=parts,
            model=self.exported,
            trained=self.model,
        )

    def _tensorboard_summary(self, metrics: dict) -> None:
        """Test metrics, the figures and the recipe's settings (hparams) into tensorboard/."""
        import keras

        if not self.recipe.get("output.tensorboard", True) or keras.backend.backend() != "tensorflow":
            return
        if importlib.util.find_spec("tensorboard") is None:
            return
        from seqkit.train.tensorboard import write_run_summary

        try:
            plots = sorted(self.run_dir.plots.glob("*.png")) if self.run_dir.plots.is_dir() else []
            write_run_summary(
                self.run_dir.file("tensorboard"), self.run_dir.path.name, self.recipe.to_dict(), metrics, plots
            )
        except Exception as exc:  # logs are a convenience: a failure is a note, never the run's
            self.echo(f"seqkit: note: TensorBoard summary not written: {type(exc).__name__}: {exc}")

    def _predict(self, split: pipeline.ModelSplit):
        return split.predict(self.model, self.batch_size)

    def _score_test(self, test: pipeline.ModelSplit) -> dict:
        """Test metrics (``test`` and what the task's evaluate_model adds); writes
        predictions.csv and the task's plots."""
        parts, info, plots = self.parts, self.info, self.run_dir.plots
        if self.score_in_buckets:
            self._score_buckets(test)
        test_pred = self._predict(test)
        scores = self.model.evaluate(**test.evaluation_arguments(self.batch_size), verbose=0, return_dict=True)
        found = {"test": {**parts.task.evaluate(test.targets, test_pred, info), "loss": float(scores["loss"])}}
        _write_predictions(self.run_dir, parts, test, test_pred)
        plots.mkdir(exist_ok=True)
        parts.task.plots(plots, test.targets, test_pred, info)
        found.update(parts.task.evaluate_model(self.model, parts.bundle, info, plots, self.echo) or {})
        self.echo(f"seqkit: test {parts.task.summary(found['test'])}")
        return found


def _write_predictions(run_dir: RunDirectory, parts: Parts, split: pipeline.ModelSplit, y_pred) -> None:
    raw = split.raw()
    rows = parts.task.decode(y_pred, parts.bundle.info, inputs=raw)
    targets = parts.task.describe_targets(split.targets, parts.bundle.info, inputs=raw)
    raw = raw if raw is not None else [""] * len(rows)
    table = [{"input": r, "target": t, **row} for r, t, row in zip(raw, targets, rows)]
    atomic_write_csv(run_dir.file("predictions.csv"), table)
