"""Callbacks: per-epoch checkpoints that commit as one unit, history, early stopping that
survives a resume, a NaN guard that names the epoch and step, and stopping on a signal.

A checkpoint is a folder ``checkpoints/epoch-NNNN/`` holding everything a resume needs:

- ``model.keras``  the model with its optimizer state after epoch N,
- ``best.keras``   the best epoch so far by the monitored metric (a hard link when it is
  this epoch's model or an earlier checkpoint's best),
- ``state.json``   epochs done, history, best value and epoch, early-stopping counters, the
  dropout RNG states, whether early stopping ended training,
- ``manifest.json`` the size and SHA-256 of each file above, written last.

The folder is written as ``epoch-NNNN.partial/`` (each file fsynced), renamed into place
(the commit), then ``checkpoints/latest.json`` names it and older folders are removed (the
previous one is kept as a fallback). A resume takes the newest folder whose manifest matches
its files, so a kill at any moment resumes from a whole epoch N or a whole epoch N-1, never a
mix. ``history.csv`` in the run directory is written after the commit and rewritten from the
checkpoint at resume. Models are serialized in memory first: a full disk is a clean
``OSError`` from a plain write (a one-line error), never a crash inside h5py.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from seqkit.compat.keras_saving import model_bytes as compat_model_bytes
from seqkit.data.cache import file_digest
from seqkit.errors import Interrupted
from seqkit.train import faults
from seqkit.train.rundir import (
    atomic_write_bytes,
    atomic_write_csv,
    atomic_write_json,
    check_free_space,
    fsync_directory,
    json_bytes,
    write_error,
)

MODEL = "model.keras"
BEST = "best.keras"
STATE = "state.json"
MANIFEST = "manifest.json"
POINTER = "latest.json"
FORMAT = 1
PREFIX = "epoch-"
_FOLDER = re.compile(r"^epoch-(\d{4,})$")
# The files of a checkpoint written by seqkit before checkpoint folders (still resumable).
LEGACY_MODEL, LEGACY_BEST, LEGACY_STATE = "last.keras", "best.weights.h5", "state.json"

# One commit's fault-injection steps (seqkit.train.faults), in order: "X:half" is reached with
# half of file X written, "X" once X is complete; a commit is visible from "rename" on.
COMMIT_STEPS = (
    "begin",
    "model.keras:half",
    "model.keras",
    "best.keras",
    "state.json:half",
    "state.json",
    "manifest.json:half",
    "manifest.json",
    "rename",
    "latest.json:half",
    "latest.json",
    "prune",
    "history.csv:half",
    "history.csv",
)


def model_bytes(model: keras.Model) -> bytes:
    """The model as a ``.keras`` archive, in memory (no file is open while Keras and h5py write)."""
    return compat_model_bytes(model)


def save_model_atomic(model: keras.Model, path: Path) -> None:
    """Serialize in memory, check the disk has room, then write and rename into place."""
    path = Path(path)
    data = model_bytes(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    check_free_space(path.parent, len(data), path)
    atomic_write_bytes(path, data)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_new(path: Path, data: bytes, label: str) -> None:
    """Write a new file of a partial checkpoint (fsynced), with its two fault steps."""
    with open(path, "xb") as handle:
        handle.write(data[: len(data) // 2])
        handle.flush()
        faults.step(f"{label}:half")
        handle.write(data[len(data) // 2 :])
        handle.flush()
        os.fsync(handle.fileno())
    faults.step(label)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copyfile(source, target)
        with open(target, "rb+") as handle:
            os.fsync(handle.fileno())


@dataclass
class Checkpoint:
    """A complete, verified checkpoint."""

    folder: Path
    epoch: int
    state: dict
    model: Path
    best: Path | None
    files: dict = field(default_factory=dict)  # name -> {"bytes", "sha256"}, from the manifest


class CheckpointStore:
    """The checkpoints of one run: commit one epoch as a unit, find the newest complete one."""

    def __init__(self, folder: Path, keep: int = 2):
        self.folder = Path(folder)
        self.keep = max(1, int(keep))
        self.current: Checkpoint | None = None  # the newest checkpoint committed or resumed from

    def path_for(self, epoch: int) -> Path:
        return self.folder / f"{PREFIX}{epoch:04d}"

    def folders(self) -> list[tuple[int, Path]]:
        """Committed checkpoint folders (``epoch-NNNN``), newest first."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.iterdir():
            match = _FOLDER.match(path.name)
            if match and path.is_dir() and not path.is_symlink():
                found.append((int(match.group(1)), path))
        return sorted(found, reverse=True)

    # -- commit ----------------------------------------------------------------------------

    def commit(
        self, epoch: int, model: keras.Model, state: dict, best_is_this_epoch: bool, history_path: Path | None = None
    ) -> Checkpoint:
        """Write epoch ``epoch``'s checkpoint as one unit (see the module docstring). An
        ``OSError`` (a full disk) is a one-line :class:`~seqkit.errors.WriteError` naming the
        file; the partial folder is removed and the last complete checkpoint stays."""
        final = self.path_for(epoch)
        partial = final.with_name(final.name + ".partial")
        try:
            faults.step("begin")
            return self._commit(epoch, model, state, best_is_this_epoch, history_path, final, partial)
        except OSError as exc:
            shutil.rmtree(partial, ignore_errors=True)
            raise write_error(exc.filename or self._writing or partial, exc) from None
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise

    _writing: Path | None = None

    def _commit(self, epoch, model, state, best_is_this_epoch, history_path, final, partial) -> Checkpoint:
        data = model_bytes(model)
        state = {**state, "format": FORMAT, "epoch": epoch}
        state_data = json_bytes(state)
        previous = self.current
        files = {
            MODEL: {"bytes": len(data), "sha256": _sha256(data)},
            STATE: {"bytes": len(state_data), "sha256": _sha256(state_data)},
        }
        self._writing = partial / MODEL
        self.folder.mkdir(parents=True, exist_ok=True)
        check_free_space(self.folder, len(data) + len(state_data) + 8192, partial / MODEL)
        for leftover in self.folder.glob("*.partial"):
            shutil.rmtree(leftover, ignore_errors=True)
        partial.mkdir()
        _write_new(partial / MODEL, data, MODEL)
        if best_is_this_epoch:
            self._writing = partial / BEST
            _link_or_copy(partial / MODEL, partial / BEST)
            files[BEST] = files[MODEL]
        elif previous is not None and previous.best is not None and previous.best.is_file():
            # The best epoch is an earlier one (its file keeps its name: a checkpoint of the
            # older layout has best.weights.h5).
            name = previous.best.name
            self._writing = partial / name
            _link_or_copy(previous.best, partial / name)
            files[name] = previous.files.get(name) or {
                "bytes": (partial / name).stat().st_size,
                "sha256": file_digest(partial / name),
            }
        faults.step(BEST)
        self._writing = partial / STATE
        _write_new(partial / STATE, state_data, STATE)
        self._writing = partial / MANIFEST
        _write_new(partial / MANIFEST, json_bytes({"format": FORMAT, "epoch": epoch, "files": files}), MANIFEST)
        fsync_directory(partial)
        self._writing = final
        if final.exists():  # a damaged checkpoint, or one of a timeline the resume left
            shutil.rmtree(final)
        os.rename(partial, final)
        fsync_directory(self.folder)
        faults.step("rename")
        checkpoint = Checkpoint(final, epoch, state, final / MODEL, _best_in(final, files), files)
        self.current = checkpoint
        self._writing = self.folder / POINTER
        atomic_write_json(
            self.folder / POINTER,
            {"format": FORMAT, "epoch": epoch, "folder": final.name, "files": files},
            fault=POINTER,
        )
        self.prune()
        faults.step("prune")
        if history_path is not None:
            self._writing = Path(history_path)
            atomic_write_csv(Path(history_path), state.get("history", []), fault="history.csv")
        self._writing = None
        return checkpoint

    def prune(self) -> None:
        """Remove all but the ``keep`` newest checkpoints, and files of the older layout."""
        for _epoch, path in self.folders()[self.keep :]:
            shutil.rmtree(path, ignore_errors=True)
        for name in (LEGACY_MODEL, LEGACY_BEST, LEGACY_STATE):
            with contextlib.suppress(OSError):
                (self.folder / name).unlink()

    # -- resume ----------------------------------------------------------------------------

    def verify(self, folder: Path) -> tuple[Checkpoint | None, str]:
        """(the checkpoint in ``folder``, "") when its manifest matches its files, else (None, why)."""
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None, f"{MANIFEST} missing"
        except (OSError, ValueError) as exc:
            return None, f"{MANIFEST} unreadable ({type(exc).__name__})"
        match = _FOLDER.match(folder.name)
        files = manifest.get("files") if isinstance(manifest, dict) else None
        if (
            not isinstance(files, dict)
            or manifest.get("format") != FORMAT
            or not match
            or manifest.get("epoch") != int(match.group(1))
        ):
            return None, f"{MANIFEST} does not describe this folder"
        for name in (MODEL, STATE):
            if name not in files:
                return None, f"{MANIFEST} lists no {name}"
        for name, facts in files.items():
            if name not in (MODEL, BEST, LEGACY_BEST, STATE) or not isinstance(facts, dict):
                return None, f"{MANIFEST} lists an unexpected entry {name!r}"
            path = folder / name
            try:
                size = path.stat().st_size
                if size != facts.get("bytes") or file_digest(path) != facts.get("sha256"):
                    return None, f"{name} does not match its checksum"
            except OSError:
                return None, f"{name} missing or unreadable"
        try:
            state = json.loads((folder / STATE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None, f"{STATE} unreadable"
        problem = _state_problem(state, manifest["epoch"])
        if problem:
            return None, f"{STATE} is not a checkpoint state: {problem}"
        return Checkpoint(folder, manifest["epoch"], state, folder / MODEL, _best_in(folder, files), files), ""

    def latest(self, echo=print) -> Checkpoint | None:
        """The newest complete checkpoint; a damaged one is named and skipped for the one before.
        When every checkpoint is damaged: a one-line :class:`~seqkit.errors.RunError` naming the
        newest one's problem (training again from the start is the user's call, not a silent one)."""
        damaged = []
        for _epoch, folder in self.folders():
            checkpoint, problem = self.verify(folder)
            if checkpoint is not None:
                self.current = checkpoint
                return checkpoint
            damaged.append(f"{folder}/{problem}")  # each problem starts with the file's name
            echo(f"seqkit: note: checkpoint {folder} is damaged ({problem}); using the one before it")
        if damaged:
            from seqkit.errors import RunError

            raise RunError(
                f"{damaged[0]}; no complete checkpoint to resume from (remove {self.folder} to train from the start)"
            )
        legacy = self._legacy(echo)
        self.current = legacy
        return legacy

    def _legacy(self, echo) -> Checkpoint | None:
        """``last.keras`` + ``state.json`` in ``checkpoints/`` itself (runs of seqkit before checkpoint folders)."""
        model, state_path = self.folder / LEGACY_MODEL, self.folder / LEGACY_STATE
        if not (model.is_file() and state_path.is_file()):
            return None
        try:
            state = json.loads(state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            echo(f"seqkit: note: {state_path} unreadable; starting from the first epoch")
            return None
        epochs = state.get("epochs_done") if isinstance(state, dict) else None
        if _state_problem(state, epochs if isinstance(epochs, int) else -1):
            echo(f"seqkit: note: {state_path} is not a checkpoint state; starting from the first epoch")
            return None
        if state.get("training_finished"):
            state["stopped_early"] = True
        best = self.folder / LEGACY_BEST
        return Checkpoint(self.folder, state["epochs_done"], state, model, best if best.is_file() else None)


def _best_in(folder: Path, files: dict) -> Path | None:
    for name in (BEST, LEGACY_BEST):
        if name in files:
            return folder / name
    return None


def _state_problem(state, epoch: int) -> str:
    if not isinstance(state, dict):
        return "expected an object"
    done = state.get("epochs_done")
    if not isinstance(done, int) or isinstance(done, bool) or done != epoch or done < 1:
        return f"epochs_done is {done!r}, expected {epoch}"
    history = state.get("history")
    if not isinstance(history, list) or len(history) != done or not all(isinstance(row, dict) for row in history):
        return f"history must list {done} epoch(s)"
    if not isinstance(state.get("rng", []), list) or not isinstance(state.get("early_stopping", {}), dict):
        return "rng must be a list and early_stopping an object"
    best = state.get("best")
    if best is not None and not isinstance(best, (int, float)):
        return "best must be a number or null"
    return ""


def seed_generator_states(model: keras.Model) -> list:
    """Dropout RNG states, in model order. A ``.keras`` file does not store them, so a
    resumed run would draw other dropout masks without them."""
    return [keras.ops.convert_to_numpy(v).tolist() for v in model.variables if v.path.endswith("seed_generator_state")]


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

    Each epoch's checkpoint is one commit of a :class:`CheckpointStore`. On resume the runner
    passes the checkpoint it resumes from (``checkpoint``) or its state; ``history.csv`` is
    rewritten from it at once, so it never shows an epoch the checkpoint lacks. An epoch cut
    short by a signal (``stop_request``) or a non-finite loss is never recorded.
    """

    def __init__(
        self,
        checkpoint_dir: Path,
        history_path: Path,
        monitor: str,
        mode: str,
        state: dict | None = None,
        checkpoint: Checkpoint | None = None,
    ):
        super().__init__()
        self.checkpoint_dir = Path(checkpoint_dir)
        self.history_path = Path(history_path)
        self.store = CheckpointStore(self.checkpoint_dir)
        self.store.current = checkpoint
        self.monitor = monitor
        self.mode = _monitor_mode(monitor, mode)
        state = (checkpoint.state if checkpoint is not None else state) or {}
        self.history: list[dict] = list(state.get("history", []))
        self.best = state.get("best")
        self.best_epoch = state.get("best_epoch")
        self.early_stopping = state.get("early_stopping", {})
        self.epochs_done = int(state.get("epochs_done", 0))
        self.stopped_early = bool(state.get("stopped_early", False))
        self.early_stopper = None
        self.nan_guard = None
        self.stop_request: StopOnSignal | None = None
        self._write_history()

    def _write_history(self) -> None:
        if self.history:
            atomic_write_csv(self.history_path, self.history)
        else:
            with contextlib.suppress(FileNotFoundError):
                self.history_path.unlink()

    @property
    def checkpoint(self) -> Checkpoint | None:
        """The newest committed checkpoint (or the one resumed from)."""
        return self.store.current

    def best_weights(self) -> Path | None:
        """The file of the best epoch's weights in the newest checkpoint, if any."""
        return self.checkpoint.best if self.checkpoint is not None else None

    def finished(self, epochs: int) -> bool:
        """Training is over: every epoch done, or early stopping ended it."""
        return self.stopped_early or self.epochs_done >= epochs

    def _improved(self, value: float) -> bool:
        if value is None or not math.isfinite(value):
            return False
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_end(self, epoch, logs=None):
        if self.stop_request is not None and self.stop_request.requested:
            return  # a partial epoch: not recorded; the resume redoes it from its start
        logs = {k: float(v) for k, v in (logs or {}).items()}
        failed = self.nan_guard is not None and self.nan_guard.failure is not None
        if failed or not all(math.isfinite(v) for k, v in logs.items() if k.endswith("loss")):
            return  # the NaN guard reports it; keep the last good checkpoint
        lr = self.model.optimizer.learning_rate
        try:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(lr))
        except (TypeError, ValueError):
            pass
        history = [*self.history, {"epoch": epoch + 1, **logs}]
        value = logs.get(self.monitor)
        improved = self._improved(value)
        best, best_epoch = (value, epoch + 1) if improved else (self.best, self.best_epoch)
        early_stopping = self.early_stopper.state() if self.early_stopper is not None else self.early_stopping
        # Keras's EarlyStopping (before this callback) has just ended training at this epoch.
        stopped_early = bool(
            self.early_stopper is not None and self.model.stop_training and self.early_stopper.stopped_epoch == epoch
        )
        state = {
            "epochs_done": epoch + 1,
            "history": history,
            "monitor": self.monitor,
            "best": best,
            "best_epoch": best_epoch,
            "early_stopping": early_stopping,
            "stopped_early": stopped_early,
            "rng": seed_generator_states(self.model),
        }
        self.store.commit(epoch + 1, self.model, state, improved, self.history_path)
        self.history, self.epochs_done = history, epoch + 1
        self.best, self.best_epoch, self.early_stopping, self.stopped_early = (
            best,
            best_epoch,
            early_stopping,
            stopped_early,
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
    the epoch it cut short is not recorded (:class:`RunState` skips it), the run keeps its last
    epoch checkpoint and is marked interrupted. A second Ctrl-C interrupts at once."""

    def __init__(self):
        super().__init__()
        self.requested = False
        self.signum: int | None = None
        self._epoch = 0

    def interrupt(self) -> Interrupted:
        """The exception that ends the run after ``fit`` returned on a signal."""
        return Interrupted(self.signum or signal.SIGINT)

    @contextlib.contextmanager
    def installed(self, echo=print):
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

        def handler(signum, frame):
            if self.requested and signum == signal.SIGINT:
                raise Interrupted(signum)
            if self.requested:
                return
            self.requested, self.signum = True, signum
            echo("\nseqkit: stopping after this batch (Ctrl-C again to stop now)")

        for sig in previous:
            signal.signal(sig, handler)
        try:
            yield self
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        faults.batch(self._epoch + 1, batch + 1)
        if self.requested:
            self.model.stop_training = True


@contextlib.contextmanager
def signals_interrupt():
    """SIGINT and SIGTERM raise :class:`~seqkit.errors.Interrupted` inside the block (SIGTERM
    would otherwise end the process at once, leaving the run marked running), so the caller
    marks the run interrupted and removes its temporary files. Main thread only; elsewhere the
    block runs with the handlers it has."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum, frame):
        raise Interrupted(signum)

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
