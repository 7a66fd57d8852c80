"""The runner: recipe -> data -> model -> fit -> evaluate -> a complete run directory.

A run directory is marked ``running`` at the start and ``completed`` only after every
file is in place; a failure marks it ``failed`` with the error, Ctrl-C ``interrupted``.
``resume_run`` continues from the last per-epoch checkpoint.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from seqkit.data import DataBundle, DataContext, pipeline, stream
from seqkit.errors import RunError, SeqkitError, TrainingError
from seqkit.plugins import get_plugin_manager
from seqkit.recipe import Recipe
from seqkit.recipe.loader import read_recipe_file
from seqkit.task import decode_rows, describe_rows
from seqkit.recipe import validate as validate_recipe
from seqkit.train.rundir import COMPLETED, FAILED, INTERRUPTED, RUNNING, RunDirectory, atomic_write_csv, now

Echo = Callable[[str], None]


PREPROCESSOR = "preprocessor.keras"


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
    sizes = {k: len(v) for k, v in (("train", bundle.train), ("validation", bundle.validation), ("test", bundle.test)) if v is not None}
    echo("seqkit: data " + ", ".join(f"{k}={n}" for k, n in sizes.items()))
    unseen = classes_without_training_examples(bundle) if info is None else []
    if unseen:
        echo(f"seqkit: note: no training example of class {', '.join(map(repr, unseen))}; the model cannot learn to predict it")
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
    encoder = manager.encoders.get(recipe.get("model.encoder.type"))(recipe.get("model.encoder"), bundle.info, base_dir=recipe.base_dir)
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
    from seqkit.train.optim import build_optimizer

    import keras

    train = parts.recipe.section("train")
    keras.mixed_precision.set_dtype_policy(train.get("precision", "float32"))
    try:
        model = build_training_model(parts, preprocessor)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    model.compile(
        optimizer=build_optimizer(train, steps_per_epoch),
        loss=parts.head.loss(),
        metrics=parts.head.metrics(),
        jit_compile=resolve_jit_compile(train.get("jit_compile", "auto"), bool(train.get("deterministic"))),
        steps_per_execution=steps_per_execution(train),
    )
    return model


def steps_per_execution(train) -> int:
    """``train.steps_per_execution``; Keras's PyTorch backend runs one step per call only."""
    import keras

    value = int(train.get("steps_per_execution", 1))
    if value > 1 and keras.backend.backend() == "torch":
        from seqkit.errors import RecipeError

        raise RecipeError(f"train.steps_per_execution: {value}: the PyTorch backend (KERAS_BACKEND=torch) runs 1 step per call; remove the key or set 1")
    return value


def resolve_jit_compile(setting, deterministic: bool = False):
    """``auto`` is Keras's own choice (XLA on GPU and with JAX, off on CPU-only TensorFlow,
    where bench/throughput.py measured it slower for LSTMs on this project's machines), except
    that TensorFlow op determinism, which XLA does not support, turns it off."""
    import keras

    if setting == "auto":
        return False if deterministic and keras.backend.backend() == "tensorflow" else "auto"
    return bool(setting)


def encode_splits(parts: Parts, preprocessor):
    """Model-ready training arrays and validation data, checked for NaN / inf."""
    bundle = parts.bundle
    x_train = apply_preprocessor(preprocessor, bundle.train.x)
    y_train = _targets(bundle.train.y, parts.head)
    pipeline.check_finite("train", x_train, y_train, bundle.train.raw)
    validation = None
    if bundle.validation is not None:
        x_val = apply_preprocessor(preprocessor, bundle.validation.x)
        validation = (x_val, _targets(bundle.validation.y, parts.head))
        pipeline.check_finite("validation", *validation, bundle.validation.raw)
    return x_train, y_train, validation


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


def apply_preprocessor(preprocessor, x, batch: int = 4096):
    if preprocessor is None or x is None:
        return x
    import keras

    chunks = [keras.ops.convert_to_numpy(preprocessor(x[i : i + batch])) for i in range(0, len(x), batch)]
    return np.concatenate(chunks) if chunks else x


def _targets(y, head) -> np.ndarray | None:
    if y is None:
        return None
    if head.loss() == "binary_crossentropy" and np.asarray(y).ndim == 1:
        return np.asarray(y, dtype="float32").reshape(-1, 1)
    return np.asarray(y)


def _save_preprocessor(path: Path, parts: Parts, preprocessor) -> None:
    import keras

    from seqkit.train.callbacks import save_model_atomic

    spec = parts.encoder.raw_input_spec()
    raw = keras.Input(shape=spec["shape"], dtype=spec["dtype"])
    save_model_atomic(keras.Model(raw, preprocessor(raw)), path)


def _load_preprocessor(path: Path):
    from seqkit.export.saving import load_model

    return load_model(path).layers[-1]


# -- running --------------------------------------------------------------------------------


def start_run(recipe: Recipe, evaluate: bool = True, manager=None, echo: Echo = print) -> "RunResult":
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
    from seqkit.recipe.loader import apply_overrides

    from seqkit.errors import RecipeError

    meta = run_dir.read_json("run.json")
    data, source = read_recipe_file(run_dir.file("recipe.yaml"))
    apply_overrides(data, overrides, source)
    try:
        validate_recipe(data, source, manager)
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
            [f"{run_dir.path}: trained with plugin(s) not installed here: {', '.join(missing)}; install them to use this run"]
            + exc.problems
        ) from None
    return Recipe(data, source, Path(meta["base_dir"]) / "recipe.yaml")


def resume_run(path, manager=None, echo: Echo = print, distribution: dict | None = None) -> "RunResult":
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
    with run_dir.lock():
        status = run_dir.status().get("status")  # read again under the lock
        if status == COMPLETED:
            raise RunError(f"{run_dir.path}: run already completed; nothing to resume")
        run_dir.set_status(RUNNING, resumed=now())
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


def _execute(recipe, run_dir, evaluate, manager, echo, resume) -> RunResult:
    try:
        result = _train_and_evaluate(recipe, run_dir, evaluate, manager or get_plugin_manager(), echo, resume)
    except KeyboardInterrupt:
        run_dir.set_status(INTERRUPTED, error=f"interrupted; continue with: seqkit run --resume {run_dir.path}")
        echo(f"seqkit: interrupted; the last epoch checkpoint is kept; continue with: seqkit run --resume {run_dir.path}")
        raise
    except SeqkitError as exc:
        run_dir.set_status(FAILED, error=str(exc))
        raise
    except BaseException as exc:
        run_dir.set_status(FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    run_dir.set_status(COMPLETED)
    if result.model is None:
        echo("seqkit: worker finished; the chief wrote the run directory")
    else:
        echo(f"seqkit: completed {run_dir.path}")
    return result


def _train_and_evaluate(recipe: Recipe, run_dir: RunDirectory, evaluate: bool, manager, echo: Echo, resume: bool) -> RunResult:
    import keras

    from seqkit.train import callbacks as cb
    from seqkit.train.environment import environment_record
    from seqkit.train.optim import class_weights, plateau_callback

    from seqkit.train import distribute

    train = recipe.section("train")
    # Before anything else touches the engine: strategies and JAX's cluster start first.
    session = distribute.start(distribute.plan_for(recipe), echo)
    keras.utils.set_random_seed(recipe.seed)
    if train.get("deterministic") and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    run_dir.write_json("environment.json", environment_record(recipe.seed, manager.plugin_versions()))

    parts = resolve_parts(recipe, manager, echo)
    bundle, info = parts.bundle, parts.bundle.info
    run_dir.write_json("data_info.json", info)
    # predict.examples are encoded now, so an example the task cannot take stops the run before
    # training, not after it.
    examples = recipe.get("predict.examples")
    example_inputs = parts.adapter.encode_inputs(examples, info) if examples else None

    ckpt = run_dir.checkpoints
    state_path = ckpt / cb.STATE
    state = run_dir.read_json(f"checkpoints/{cb.STATE}") if resume and state_path.exists() else None
    pre_path = ckpt / PREPROCESSOR
    prepared = stream.is_prepared(bundle)  # shards from seqkit prepare, read lazily
    if resume and pre_path.exists():
        preprocessor = _load_preprocessor(pre_path)
    else:
        preprocessor = parts.adapter.preprocessor(info) if prepared else parts.encoder.preprocessor(bundle.train.x)
        if preprocessor is not None:
            _save_preprocessor(pre_path, parts, preprocessor)

    batch_size = int(train.get("batch_size", 32))
    if prepared:
        x_train = y_train = None
        validation = stream.with_targets(bundle.validation.x.dataset(batch_size), parts.head) if bundle.validation else None
    else:
        x_train, y_train, validation = encode_splits(parts, preprocessor)

    steps_per_epoch = pipeline.steps_per_epoch(len(bundle.train), batch_size)
    if state and (ckpt / cb.LAST).exists():
        from seqkit.export.saving import load_model

        with session.scope():
            model = load_model(ckpt / cb.LAST)
        if not cb.restore_seed_generator_states(model, state.get("rng", [])):
            echo("seqkit: note: dropout random states not restored; results may differ from an uninterrupted run")
        echo(f"seqkit: resumed from epoch {state['epochs_done']}")
    else:
        state = None
        with session.scope():
            model = compile_new_model(parts, preprocessor, steps_per_epoch)
    for note in parts.encoder.notes:
        echo(f"seqkit: {note}")
    echo(f"seqkit: model {model.name}: {model.count_params():,} parameters")

    early = train.get("early_stopping")
    monitor = early["monitor"] if early else "val_loss"
    if validation is None and monitor.startswith("val_"):
        monitor = monitor[4:]
    mode = early.get("mode", "auto") if early else "auto"
    run_state = cb.RunState(ckpt, run_dir.file("history.csv"), monitor, mode, state)
    nan_guard = cb.NanGuard()
    run_state.nan_guard = nan_guard
    callbacks = [nan_guard]
    stopper = None
    if early:
        callbacks.insert(0, cb.MonitorCheck(monitor, recipe.where("train.early_stopping.monitor")))
        stopper = cb.ResumableEarlyStopping(
            state=(state or {}).get("early_stopping"),
            monitor=monitor,
            patience=early.get("patience", 3),
            min_delta=early.get("min_delta", 0.0),
            mode=mode,
        )
        callbacks.append(stopper)
        run_state.early_stopper = stopper
    callbacks.append(run_state)
    plateau = plateau_callback(train)
    if plateau is not None:
        callbacks.append(plateau)
    if recipe.get("output.tensorboard", True) and keras.backend.backend() == "tensorflow":
        if importlib.util.find_spec("tensorboard") is None:
            echo("seqkit: TensorBoard is not installed; no tensorboard/ logs (pip install tensorboard)")
        else:
            callbacks.append(
                keras.callbacks.TensorBoard(log_dir=str(run_dir.file("tensorboard")), write_graph=False, profile_batch=0)
            )

    weights = None
    if prepared and train.get("class_weight"):
        raise SeqkitError("train.class_weight: not available with prepared data (data.adapter tfrecord); weight the data when preparing it")
    if bundle.train.y is not None and "classes" in info:
        weights = class_weights(train.get("class_weight"), bundle.train.y, list(info["classes"]))

    epochs = int(train.get("epochs", 10))
    started = time.perf_counter()
    stop_request = cb.StopOnSignal()
    callbacks.append(stop_request)
    if not (state or {}).get("training_finished") and run_state.epochs_done < epochs:
        if prepared:
            dataset = stream.with_targets(
                bundle.train.x.training_dataset(batch_size, recipe.seed, run_state.epochs_done, epochs), parts.head
            )
        else:
            dataset = pipeline.training_dataset(
                x_train, y_train, batch_size, recipe.seed, run_state.epochs_done, epochs, pipeline.sample_weights(y_train, weights)
            )
        dataset = session.training_dataset(dataset)
        fit_data = {"x": dataset, "steps_per_epoch": steps_per_epoch, "shuffle": False} if dataset is not None else {
            "x": x_train, "y": y_train, "batch_size": batch_size, "class_weight": weights, "shuffle": True
        }
        with stop_request.installed(echo):
            model.fit(
                **fit_data,
                epochs=epochs,
                initial_epoch=run_state.epochs_done,
                validation_data=validation,
                validation_batch_size=batch_size,
                callbacks=callbacks,
                verbose=0 if echo is silent else train.get("verbose", 2),
            )
        if stop_request.requested:
            raise KeyboardInterrupt
    train_seconds = time.perf_counter() - started
    if nan_guard.failure:
        epoch, step, value = nan_guard.failure
        kept = f"; the last good checkpoint (epoch {run_state.epochs_done}) is kept in {ckpt}" if run_state.epochs_done else ""
        raise TrainingError(
            f"loss became {value} at epoch {epoch}, step {step}{kept}. Usual causes: a learning rate too high "
            "(train.optimizer.learning_rate), no gradient clipping (train.optimizer.clipnorm), or NaN / infinite "
            "values in the data"
        )
    if early and early.get("restore_best_weights", True) and (ckpt / cb.BEST).exists():
        model.load_weights(ckpt / cb.BEST)
        echo(f"seqkit: restored best weights (epoch {run_state.best_epoch}, {monitor}={run_state.best:.4f})")
    state_now = run_dir.read_json(f"checkpoints/{cb.STATE}") if state_path.exists() else {}
    run_dir.write_json(f"checkpoints/{cb.STATE}", {**state_now, "training_finished": True})
    model = session.local_model(model, parts.head.loss(), parts.head.metrics)
    if not session.is_chief:  # the chief exports, evaluates and writes the run directory
        session.finish(echo)
        summary = {"epochs_trained": run_state.epochs_done, "history": run_state.history, "worker": session.plan.worker_index}
        return RunResult(run_dir=run_dir, recipe=recipe, metrics=summary, parts=parts, model=None, trained=model)

    exported = build_export_model(parts, preprocessor, model)
    cb.save_model_atomic(exported, run_dir.file("model.keras"))

    metrics: dict[str, Any] = {
        "task": recipe.task,
        "epochs_trained": run_state.epochs_done,
        "best_epoch": run_state.best_epoch,
        "monitor": monitor,
        "train_seconds": round(train_seconds, 2),
    }
    if validation is not None:
        val_x = bundle.validation.x.inputs(batch_size) if prepared else validation[0]
        val_pred = model.predict(val_x, batch_size=batch_size, verbose=0)
        metrics["validation"] = parts.task.evaluate(bundle.validation.y, val_pred, info)
    if evaluate and bundle.test is not None:
        if prepared:
            test_pred = model.predict(bundle.test.x.inputs(batch_size), verbose=0)
            scores = model.evaluate(stream.with_targets(bundle.test.x.dataset(batch_size), parts.head), verbose=0, return_dict=True)
        else:
            x_test = apply_preprocessor(preprocessor, bundle.test.x)
            test_pred = model.predict(x_test, batch_size=batch_size, verbose=0)
            scores = model.evaluate(x_test, _targets(bundle.test.y, parts.head), batch_size=batch_size, verbose=0, return_dict=True)
        metrics["test"] = {**parts.task.evaluate(bundle.test.y, test_pred, info), "loss": float(scores["loss"])}
        _write_predictions(run_dir, parts, bundle.test, test_pred)
        run_dir.plots.mkdir(exist_ok=True)
        parts.task.plots(run_dir.plots, bundle.test.y, test_pred, info)
        metrics.update(parts.task.evaluate_model(model, bundle, info, run_dir.plots, echo) or {})
        echo(f"seqkit: test {parts.task.summary(metrics['test'])}")
    elif evaluate:
        echo("seqkit: no test split, so no test metrics (the data gave no test examples; set data.test or data.split.test)")
    from seqkit.export.plots import plot_learning_curves

    plot_learning_curves(run_state.history, run_dir.plots / "learning_curves.png")
    # The examples are predicted before metrics.json is written: a run that fails has none.
    rows = decode_rows(parts.task, exported.predict(example_inputs, verbose=0), info, examples) if examples else []
    run_dir.write_json("metrics.json", metrics)
    for raw, row in zip(examples or [], rows):
        echo(parts.task.format_prediction(raw, row))
    session.finish(echo)
    return RunResult(run_dir=run_dir, recipe=recipe, metrics=metrics, parts=parts, model=exported, trained=model)


def _write_predictions(run_dir: RunDirectory, parts: Parts, split, y_pred) -> None:
    raw = split.raw if split.raw is not None else (split.x.raw() if isinstance(split.x, stream.PreparedInputs) else None)
    rows = decode_rows(parts.task, y_pred, parts.bundle.info, raw)
    targets = describe_rows(parts.task, split.y, parts.bundle.info, raw)
    raw = raw if raw is not None else [""] * len(rows)
    table = [{"input": r, "target": t, **row} for r, t, row in zip(raw, targets, rows)]
    atomic_write_csv(run_dir.file("predictions.csv"), table)
