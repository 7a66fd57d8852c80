"""Checkpoints commit as one unit: the store on its own (commit, verify, fall back, prune), its
fault-injection steps, disk-full handling (injected ENOSPC and a real, tiny tmpfs), and the run
directory's stale-run detection and atomic writers."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seqkit.errors import WriteError
from seqkit.train import callbacks as train_callbacks
from seqkit.train import faults
from seqkit.train.rundir import RUNNING, RunDirectory, atomic_write_bytes, remove_temporary_files


def _model(seed: int = 1):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=1, verbose=0)  # optimizer state exists
    return model


def _state(epoch: int, best: float | None = None) -> dict:
    history = [{"epoch": e, "loss": 1.0 / e} for e in range(1, epoch + 1)]
    return {
        "epochs_done": epoch,
        "history": history,
        "monitor": "loss",
        "best": best,
        "best_epoch": epoch,
        "early_stopping": {},
        "stopped_early": False,
        "rng": [],
    }


def _fit_once(model):
    model.fit(np.ones((4, 3)) * 2, np.zeros((4, 1)), epochs=1, verbose=0)


def test_commit_writes_one_folder_per_epoch_and_keeps_the_previous_one(tmp_path):
    model = _model()
    store = train_callbacks.CheckpointStore(tmp_path / "checkpoints")
    history = tmp_path / "history.csv"
    for epoch in (1, 2, 3):
        _fit_once(model)
        store.commit(epoch, model, _state(epoch), best_is_this_epoch=epoch == 2, history_path=history)
    folders = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert folders == ["epoch-0002", "epoch-0003", "latest.json"]
    pointer = json.loads((tmp_path / "checkpoints" / "latest.json").read_text())
    assert pointer["epoch"] == 3 and pointer["folder"] == "epoch-0003"
    assert set(pointer["files"]) == {"model.keras", "state.json", "best.keras"}
    assert len(history.read_text().splitlines()) == 4  # header + 3 epochs
    # The best epoch (2) is linked into epoch 3's folder, not rewritten; it outlives epoch 2's folder.
    best3 = tmp_path / "checkpoints" / "epoch-0003" / "best.keras"
    assert best3.stat().st_ino == (tmp_path / "checkpoints" / "epoch-0002" / "model.keras").stat().st_ino

    fresh = train_callbacks.CheckpointStore(tmp_path / "checkpoints")
    checkpoint = fresh.latest(echo=pytest.fail)
    assert checkpoint.epoch == 3 and checkpoint.state["history"] == _state(3)["history"]
    from seqkit.export.saving import load_model

    loaded = load_model(checkpoint.model)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)  # optimizer state included


@pytest.mark.parametrize(
    "damage",
    [
        "flip a byte of model.keras",
        "truncate state.json",
        "no manifest",
        "lying epochs_done",
        "manifest of another epoch",
    ],
)
def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, damage):
    model = _model()
    store = train_callbacks.CheckpointStore(tmp_path)
    for epoch in (1, 2):
        _fit_once(model)
        store.commit(epoch, model, _state(epoch), best_is_this_epoch=True)
    newest = tmp_path / "epoch-0002"
    if damage == "flip a byte of model.keras":
        raw = bytearray((newest / "model.keras").read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        (newest / "model.keras").unlink()  # best.keras is a hard link to the same bytes: break the link first
        (newest / "model.keras").write_bytes(bytes(raw))
    elif damage == "truncate state.json":
        (newest / "state.json").write_text('{"epochs_done": 2')
    elif damage == "no manifest":
        (newest / "manifest.json").unlink()
    elif damage == "lying epochs_done":
        state = {**_state(2), "epochs_done": 7}
        (newest / "state.json").write_text(json.dumps(state))
        manifest = json.loads((newest / "manifest.json").read_text())
        data = (newest / "state.json").read_bytes()
        import hashlib

        manifest["files"]["state.json"] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        (newest / "manifest.json").write_text(json.dumps(manifest))
    else:
        manifest = json.loads((newest / "manifest.json").read_text())
        (newest / "manifest.json").write_text(json.dumps({**manifest, "epoch": 1}))
    notes = []
    checkpoint = train_callbacks.CheckpointStore(tmp_path).latest(echo=notes.append)
    assert checkpoint.epoch == 1
    assert len(notes) == 1 and "epoch-0002 is damaged" in notes[0] and "using the one before it" in notes[0]
    # The next commit of epoch 2 replaces the damaged folder.
    store = train_callbacks.CheckpointStore(tmp_path)
    store.latest(echo=lambda _m: None)
    store.commit(2, model, _state(2), best_is_this_epoch=False)
    assert train_callbacks.CheckpointStore(tmp_path).latest(echo=pytest.fail).epoch == 2


def test_resume_stops_in_one_line_when_every_checkpoint_is_damaged(tmp_path):
    model = _model()
    store = train_callbacks.CheckpointStore(tmp_path)
    store.commit(1, model, _state(1), best_is_this_epoch=True)
    shutil.copytree(tmp_path / "epoch-0001", tmp_path / "epoch-0002.partial")  # never renamed: not a checkpoint
    (tmp_path / "epoch-0001" / "manifest.json").write_text("{}")
    notes = []
    from seqkit.errors import RunError

    with pytest.raises(
        RunError, match=r"epoch-0001/manifest.json does not describe this folder; no complete checkpoint to resume from"
    ):
        train_callbacks.CheckpointStore(tmp_path).latest(echo=notes.append)
    assert len(notes) == 1


def test_a_commit_reaches_every_fault_step_in_order(tmp_path):
    model = _model()
    store = train_callbacks.CheckpointStore(tmp_path / "checkpoints")
    seen = []
    with faults.observe(lambda point, count, label: seen.append(label)):
        store.commit(1, model, _state(1), best_is_this_epoch=True, history_path=tmp_path / "history.csv")
        store.commit(2, model, _state(2), best_is_this_epoch=False, history_path=tmp_path / "history.csv")
    assert seen == list(train_callbacks.COMMIT_STEPS) * 2


@pytest.mark.parametrize("step", range(1, len(train_callbacks.COMMIT_STEPS) + 1))
def test_disk_full_at_any_step_of_a_commit_keeps_the_last_complete_checkpoint(tmp_path, monkeypatch, step):
    """An injected ENOSPC at every write step of epoch 2's commit: one-line error naming a file,
    no partial folder or temporary file left, epoch 1 (or, once renamed, epoch 2) intact."""
    model = _model()
    folder = tmp_path / "checkpoints"
    store = train_callbacks.CheckpointStore(folder)
    store.commit(1, model, _state(1), best_is_this_epoch=True, history_path=tmp_path / "history.csv")
    _fit_once(model)
    monkeypatch.setattr(faults, "_counts", {"checkpoint": len(train_callbacks.COMMIT_STEPS)})
    monkeypatch.setenv(faults.ENV, f"checkpoint:{len(train_callbacks.COMMIT_STEPS) + step}:enospc")
    with pytest.raises(WriteError, match=r"^no space left on device while writing \S+$") as info:
        store.commit(2, model, _state(2), best_is_this_epoch=False, history_path=tmp_path / "history.csv")
    assert str(tmp_path) in str(info.value)
    monkeypatch.delenv(faults.ENV)
    assert not list(folder.glob("*.partial")) and not list(folder.glob(".*.tmp")) and not list(tmp_path.glob(".*.tmp"))
    committed = step - 1 >= train_callbacks.COMMIT_STEPS.index("rename")  # the "rename" step is reached once renamed
    checkpoint = train_callbacks.CheckpointStore(folder).latest(echo=pytest.fail)
    assert checkpoint.epoch == (2 if committed else 1)


@contextlib.contextmanager
def _tmpfs(path: Path, size: str):
    """A small tmpfs mounted at ``path`` (root on Linux only); skips the test elsewhere."""
    path.mkdir()
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("a tmpfs mount needs root on Linux")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(folder: Path, leave: int) -> Path:
    """Fill the file system of ``folder`` until about ``leave`` bytes are free."""
    filler = folder / "filler"
    free = shutil.disk_usage(folder).free
    with open(filler, "wb") as handle:
        with contextlib.suppress(OSError):
            handle.write(b"\0" * max(0, free - leave))
    return filler


def test_a_real_full_disk_is_one_line_and_the_last_checkpoint_resumes_once_space_is_freed(tmp_path, monkeypatch):
    model = _model()
    with _tmpfs(tmp_path / "small", "1m") as small:
        store = train_callbacks.CheckpointStore(small / "checkpoints")
        store.commit(1, model, _state(1), best_is_this_epoch=True, history_path=small / "history.csv")
        filler = _fill(small, leave=8192)
        _fit_once(model)
        with pytest.raises(
            WriteError, match=r"^no space left on device while writing .*epoch-0002\.partial/model\.keras$"
        ):
            store.commit(2, model, _state(2), best_is_this_epoch=True, history_path=small / "history.csv")
        # Past the free-space check (a file system that reports more room than it has): the write
        # itself fails, cleanly, and leaves nothing behind.
        monkeypatch.setattr(train_callbacks, "check_free_space", lambda *args: None)
        with pytest.raises(WriteError, match=r"^no space left on device while writing .*epoch-0002\.partial/"):
            store.commit(2, model, _state(2), best_is_this_epoch=True, history_path=small / "history.csv")
        assert sorted(p.name for p in (small / "checkpoints").iterdir()) == ["epoch-0001", "latest.json"]
        assert train_callbacks.CheckpointStore(small / "checkpoints").latest(echo=pytest.fail).epoch == 1
        filler.unlink()
        store.commit(2, model, _state(2), best_is_this_epoch=True, history_path=small / "history.csv")
        assert train_callbacks.CheckpointStore(small / "checkpoints").latest(echo=pytest.fail).epoch == 2


def test_saving_a_model_on_a_full_disk_is_one_line_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    model = _model()
    with _tmpfs(tmp_path / "small", "1m") as small:
        _fill(small, leave=8192)
        with pytest.raises(WriteError, match=r"^no space left on device while writing .*model\.keras$"):
            train_callbacks.save_model_atomic(model, small / "model.keras")
        monkeypatch.setattr(train_callbacks, "check_free_space", lambda *args: None)
        with pytest.raises(WriteError, match=r"^no space left on device while writing .*model\.keras$"):
            train_callbacks.save_model_atomic(model, small / "model.keras")
        assert sorted(p.name for p in small.iterdir()) == ["filler"]


def test_status_is_marked_failed_even_when_the_disk_is_full(tmp_path):
    with _tmpfs(tmp_path / "small", "256k") as small:
        run = RunDirectory.create(small, "tiny")
        run.set_status(RUNNING)
        _fill(small, leave=0)
        with pytest.raises(WriteError):
            atomic_write_bytes(run.file("metrics.json"), b"x" * 100_000)
        run.set_status("failed", error="no space left on device while writing metrics.json")
        assert run.status()["status"] == "failed"
        assert not list(run.path.glob(".*.tmp"))


def test_a_write_that_fails_leaves_no_temporary_file_and_names_the_file(tmp_path):
    target = tmp_path / "out.json"
    with faults.observe(lambda *a: (_ for _ in ()).throw(KeyboardInterrupt)):
        with pytest.raises(KeyboardInterrupt):
            atomic_write_bytes(target, b"{}", fault="out.json")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "folder").mkdir()
    with pytest.raises(WriteError, match=r"^cannot write .*folder: Is a directory$") as info:
        atomic_write_bytes(tmp_path / "folder", b"{}")
    assert info.value.exit_code == 2
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]


def test_remove_temporary_files_clears_what_a_kill_left(tmp_path):
    (tmp_path / "checkpoints" / "epoch-0003.partial").mkdir(parents=True)
    (tmp_path / ".metrics.json.123.abcdef.tmp").write_text("{")
    (tmp_path / "checkpoints" / ".latest.json.9.ab.tmp").write_text("{")
    (tmp_path / "checkpoints" / "epoch-0002").mkdir()
    (tmp_path / "metrics.json").write_text("{}")
    removed = remove_temporary_files(tmp_path)
    assert len(removed) == 3
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "checkpoints",
        "checkpoints/epoch-0002",
        "metrics.json",
    ]


def test_legacy_checkpoints_are_resumed(tmp_path):
    model = _model()
    train_callbacks.save_model_atomic(model, tmp_path / "last.keras")
    (tmp_path / "state.json").write_text(json.dumps({**_state(2), "training_finished": True}))
    checkpoint = train_callbacks.CheckpointStore(tmp_path).latest(echo=pytest.fail)
    assert checkpoint.epoch == 2 and checkpoint.model == tmp_path / "last.keras" and checkpoint.best is None
    assert checkpoint.state["stopped_early"] is True


# -- stale runs ------------------------------------------------------------------------------


def test_a_running_run_whose_process_is_gone_is_stale(tmp_path):
    run = RunDirectory.create(tmp_path, "tiny")
    with run.lock():
        run.set_status(RUNNING)
        assert run.stale() is None  # this process holds the lock
    status = run.status()
    assert status["pid"] == os.getpid() and status["host"]
    assert "marked running, but its process" in run.stale() and "is gone" in run.stale()
    run.set_status("interrupted")
    assert run.stale() is None


def test_stale_is_told_by_the_pid_where_there_is_no_lock(tmp_path):
    run = RunDirectory.create(tmp_path, "tiny")
    run.set_status(RUNNING)  # no .lock file: a file system without locks, or a run of an older seqkit
    (run.file(".lock")).mkdir()
    assert run.stale() is None  # our own pid is alive
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    status = {**run.status(), "pid": int(child.stdout)}
    run.file("status.json").write_text(json.dumps(status))
    assert "process " + child.stdout.strip() in run.stale()


def test_a_lock_that_is_a_folder_is_one_line(tmp_path):
    from seqkit.errors import RunError

    run = RunDirectory.create(tmp_path, "tiny")
    run.file(".lock").mkdir()
    with pytest.raises(RunError, match=r"\.lock: expected the run's lock file, found a folder"):
        with run.lock():
            pass
