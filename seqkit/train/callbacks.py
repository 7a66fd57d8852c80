"""Callbacks: per-epoch checkpoints with resumable state, history, early stopping that
survives a resume, and a NaN guard that names the epoch and step."""

from __future__ import annotations

import contextlib
import math
import signal
import threading
from pathlib import Path

import keras
import numpy as np

from seqkit.train.rundir import atomic_write_csv, atomic_write_json

LAST = "last.keras"
BEST = "best.weights.h5"
STATE = "state.json"


def save_model_atomic(model: keras.Model, path: Path) -> None:
    """Save to a temporary ``.keras`` file in the same folder, then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".partial" + path.suffix)
    model.save(tmp)
    tmp.replace(path)


def save_weights_atomic(model: keras.Model, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name.replace(".weights.h5", ".partial.weights.h5"))
    model.save_weights(tmp)
    tmp.replace(path)


def seed_generator_states(model: keras.Model) -> list:
    """Dropout RNG states, in model order. A ``.keras`` file does not store them, so a
    resumed run would draw other dropout masks without them."""
    return [
        keras.ops.convert_to_numpy(v).tolist() for v in model.variables if v.path.endswith("seed_generator_state")
    ]


def restore_seed_generator_states(model: keras.Model, states: list) -> bool:
    variables = [v for v in model.variables if v.path.endswith("seed_generator_state")]
    if len(variables) != len(states):
        return False
    for variable, value in zip(variables, states):
        variable.assign(np.asarray(value, dtype=variable.dtype))
    return True


def _monitor_mode(monitor: str, mode: str) -> str:
    if mode != "auto":
        return mode
    return "max" if any(word in monitor for word in ("acc", "f1", "auc", "precision", "recall")) else "min"


class RunState(keras.callbacks.Callback):
    """Keeps history, best value and the latest checkpoint on disk after every epoch.

    ``state.json`` is written last, after the model, so it never points at a checkpoint
    that is not there. On resume the runner reads it back and passes it in.
    """

    def __init__(self, checkpoint_dir: Path, history_path: Path, monitor: str, mode: str, state: dict | None = None):
        super().__init__()
        self.checkpoint_dir = Path(checkpoint_dir)
        self.history_path = Path(history_path)
        self.monitor = monitor
        self.mode = _monitor_mode(monitor, mode)
        state = state or {}
        self.history: list[dict] = list(state.get("history", []))
        self.best = state.get("best")
        self.best_epoch = state.get("best_epoch")
        self.early_stopping = state.get("early_stopping", {})
        self.epochs_done = int(state.get("epochs_done", 0))
        self.early_stopper = None
        self.nan_guard = None

    def _improved(self, value: float) -> bool:
        if value is None or not math.isfinite(value):
            return False
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        failed = self.nan_guard is not None and self.nan_guard.failure is not None
        if failed or not all(math.isfinite(v) for k, v in logs.items() if k.endswith("loss")):
            return  # the NaN guard reports it; keep the last good checkpoint
        lr = self.model.optimizer.learning_rate
        try:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(lr))
        except (TypeError, ValueError):
            pass
        self.history.append({"epoch": epoch + 1, **logs})
        self.epochs_done = epoch + 1
        value = logs.get(self.monitor)
        if self._improved(value):
            self.best, self.best_epoch = value, epoch + 1
            save_weights_atomic(self.model, self.checkpoint_dir / BEST)
        save_model_atomic(self.model, self.checkpoint_dir / LAST)
        atomic_write_csv(self.history_path, self.history)
        if self.early_stopper is not None:
            self.early_stopping = self.early_stopper.state()
        atomic_write_json(
            self.checkpoint_dir / STATE,
            {
                "epochs_done": self.epochs_done,
                "history": self.history,
                "monitor": self.monitor,
                "best": self.best,
                "best_epoch": self.best_epoch,
                "early_stopping": self.early_stopping,
                "rng": seed_generator_states(self.model),
            },
        )


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """EarlyStopping whose patience counter and best value carry over a resume.

    Best weights are restored by the runner from ``best.weights.h5`` (kept on disk), so
    ``restore_best_weights`` here stays off.
    """

    def __init__(self, state: dict | None = None, **kwargs):
        kwargs["restore_best_weights"] = False
        super().__init__(**kwargs)
        self._initial = state or {}

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self._initial:
            self.wait = int(self._initial.get("wait", 0))
            best = self._initial.get("best")
            if best is not None:
                self.best = float(best)
            self.best_epoch = int(self._initial.get("best_epoch", 0))

    def state(self) -> dict:
        best = self.best
        finite = best is not None and np.isfinite(best)
        return {"wait": int(self.wait), "best": float(best) if finite else None, "best_epoch": int(self.best_epoch)}


class MonitorCheck(keras.callbacks.Callback):
    """After the first epoch: the early-stopping metric must be one the model logs (else
    Keras fails with a traceback, or warns each epoch and never stops). Put it first."""

    def __init__(self, monitor: str, where: str):
        super().__init__()
        self.monitor, self.where = monitor, where

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            from seqkit.errors import RecipeError

            raise RecipeError(
                f"{self.where}: train.early_stopping.monitor: {self.monitor!r} is not a metric this model logs. "
                f"Logged: {', '.join(sorted(k for k in logs if k != 'learning_rate'))}"
            )


class NanGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite loss and remembers where it happened."""

    def __init__(self):
        super().__init__()
        self.epoch = 0
        self.failure: tuple[int, int, float] | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        value = float(loss)
        if not math.isfinite(value):
            self.failure = (self.epoch + 1, batch + 1, value)
            self.model.stop_training = True


class StopOnSignal(keras.callbacks.Callback):
    """The first Ctrl-C (SIGINT) or SIGTERM stops training at the end of the current batch;
    the run keeps its last epoch checkpoint and is marked interrupted. A second Ctrl-C
    interrupts at once."""

    def __init__(self):
        super().__init__()
        self.requested = False

    @contextlib.contextmanager
    def installed(self, echo=print):
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

        def handler(signum, frame):
            if self.requested and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self.requested = True
            echo("\nseqkit: stopping after this batch (Ctrl-C again to stop now)")

        for sig in previous:
            signal.signal(sig, handler)
        try:
            yield self
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def on_train_batch_end(self, batch, logs=None):
        if self.requested:
            self.model.stop_training = True
