"""Run directories: ``runs/<name>/<run-id>/``, written atomically, with a status file.

Every file is written to a temporary name in the same folder and renamed into place, so a
kill at any moment leaves the old file or the new one, never a torn one. ``status.json``
says whether the run is ``running``, ``completed``, ``failed`` or ``interrupted``; only a
completed run has ``metrics.json``.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import secrets
import shutil
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from seqkit.errors import RunError, WriteError

STATUS_FILE = "status.json"
LOCK_FILE = ".lock"
RUNNING, COMPLETED, FAILED, INTERRUPTED = "running", "completed", "failed", "interrupted"


TEMPORARY_SUFFIX = ".tmp"
FULL_DISK = (errno.ENOSPC, errno.EDQUOT)


def write_error(path: Path, exc: OSError) -> WriteError:
    """The one-line error for a write of ``path`` that failed with ``exc``."""
    if exc.errno == errno.ENOSPC:
        error = WriteError(f"no space left on device while writing {path}")
    elif exc.errno == errno.EDQUOT:
        error = WriteError(f"disk quota exceeded while writing {path}")
    else:
        error = WriteError(f"cannot write {path}: {exc.strerror or exc}")
        error.exit_code = 2  # a folder the user cannot write, a name that is taken: their input
    return error


def check_free_space(folder: Path, needed: int, path: Path) -> None:
    """Refuse a write of ``needed`` bytes under ``folder`` that cannot fit (one-line
    :class:`WriteError` naming ``path``) before anything is written. A file system that does not
    report its free space is not checked."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    blocks = 4096
    if free < needed + 4 * blocks:
        raise write_error(path, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))


def atomic_write_bytes(path: Path, data: bytes, fault: str | None = None) -> None:
    """Write ``data`` to a temporary name beside ``path``, fsync, and rename it into place: the
    old file or the new one, never a torn one; the temporary file is removed if anything fails
    (a full disk, a signal). An ``OSError`` becomes a one-line :class:`WriteError`.
    ``fault``: the name of this write as a checkpoint step of :mod:`seqkit.train.faults`."""
    from seqkit.train import faults

    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}{TEMPORARY_SUFFIX}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            if fault:
                handle.write(data[: len(data) // 2])
                handle.flush()
                faults.step(f"{fault}:half")
                handle.write(data[len(data) // 2 :])
            else:
                handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise write_error(path, exc) from None
    except BaseException:
        _unlink_quietly(tmp)
        raise
    if fault:
        faults.step(fault)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def fsync_directory(path: Path) -> None:
    """Make a rename in ``path`` durable (POSIX); a no-op where folders cannot be opened."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_temporary_files(folder: Path) -> list[Path]:
    """Remove what writes left half-done under ``folder`` (a process killed mid-write): the
    temporary files of :func:`atomic_write_bytes` and ``*.partial`` checkpoint folders and files."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for path in [
        *folder.glob(f".*{TEMPORARY_SUFFIX}"),
        *folder.glob(f"*/.*{TEMPORARY_SUFFIX}"),
        *folder.glob("*.partial*"),
        *folder.glob("*/*.partial*"),
    ]:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            _unlink_quietly(path)
        removed.append(path)
    return removed


def check_output_file(path, suffixes: tuple[str, ...], flag: str = "--output") -> Path:
    """Refuse an output file name before any work is done: a wrong extension, a directory, or
    a place that cannot be written (one-line :class:`DataError`)."""
    from seqkit.errors import DataError

    path = Path(path)
    if path.suffix.lower() not in suffixes:
        names = suffixes[0] if len(suffixes) == 1 else ", ".join(suffixes[:-1]) + " or " + suffixes[-1]
        raise DataError(f"{path}: {flag} must end in {names}")
    if path.is_dir():
        raise DataError(f"{path}: {flag} is a directory; expected a {suffixes[0]} file name")
    existing = next(p for p in (path.absolute().parent, *path.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise DataError(f"{path}: {flag} lies under {existing}, which is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DataError(f"{path}: {flag} cannot be written (no permission to write in {existing})")
    return path


def atomic_write_text(path: Path, text: str, fault: str | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), fault)


def json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=False, default=_jsonable) + "\n").encode("utf-8")


def atomic_write_json(path: Path, data: Any, fault: str | None = None) -> None:
    atomic_write_bytes(path, json_bytes(data), fault)


def atomic_write_csv(
    path: Path, rows: list[dict], fieldnames: list[str] | None = None, fault: str | None = None
) -> None:
    fieldnames = fieldnames or (list(dict.fromkeys(k for row in rows for k in row)) if rows else [])
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue(), fault)


def _jsonable(value):
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
    except ImportError:  # numpy is a dependency; keep json usable without it anyway
        pass
    if isinstance(value, Path):
        return str(value)
    return str(value)


# -- reading back what seqkit wrote --------------------------------------------------------

_TEXT = {"type": "string", "maxLength": 100000}
_WHEN = {"type": "string", "maxLength": 100}
_COUNT = {"type": "integer", "minimum": 0}
_NUMBERS = {
    "type": "object",
    "additionalProperties": {"type": ["number", "null", "string", "boolean", "array", "object"]},
}

#: What each JSON file of a run directory must look like (keys seqkit reads; others are kept).
DATA_INFO = "data_info.json"
FILE_SCHEMAS: dict[str, dict] = {
    STATUS_FILE: {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"enum": [RUNNING, COMPLETED, FAILED, INTERRUPTED]},
            "error": _TEXT,
            "updated": _WHEN,
            "started": _WHEN,
            "finished": _WHEN,
            "resumed": _WHEN,
            "seconds": {"type": "object", "additionalProperties": {"type": "number"}},
        },
    },
    "run.json": {
        "type": "object",
        "required": ["base_dir"],
        "properties": {
            "recipe_path": {"type": ["string", "null"]},
            "base_dir": {"type": "string", "minLength": 1},
            "evaluate": {"type": "boolean"},
            "created": _WHEN,
        },
    },
    "environment.json": {
        "type": "object",
        "properties": {"plugins": {"type": "object", "additionalProperties": {"type": "string"}}, "seed": _COUNT},
    },
    DATA_INFO: {
        "type": "object",
        "properties": {
            "classes": {"type": "array", "minItems": 1, "items": {"type": ["string", "integer"]}},
            "multilabel": {"type": "boolean"},
            "sizes": {"type": "object", "additionalProperties": _COUNT},
        },
    },
    "metrics.json": {
        "type": "object",
        "properties": {"test": _NUMBERS, "validation": _NUMBERS, "epochs_trained": _COUNT},
    },
    "checkpoints/state.json": {
        "type": "object",
        "required": ["epochs_done"],
        "properties": {
            "epochs_done": {**_COUNT, "maximum": 1000000},
            "history": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["epoch"],
                    "properties": {"epoch": {"type": "integer", "minimum": 1}},
                    "additionalProperties": {"type": ["number", "null"]},
                },
            },
            "monitor": {"type": "string"},
            "best": {"type": ["number", "null"]},
            "best_epoch": {"type": ["integer", "null"], "minimum": 1},
            "early_stopping": {
                "type": "object",
                "properties": {"wait": _COUNT, "best": {"type": ["number", "null"]}, "best_epoch": _COUNT},
            },
            # Keras's SeedGenerator state: two integers per dropout layer.
            "rng": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
            },
            "training_finished": {"type": "boolean"},
        },
    },
}


def _require_regular_or_absent(path: Path) -> None:
    import stat

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise RunError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        from seqkit.files import _kind

        raise RunError(f"{path}: not a regular file ({_kind(mode)}); the run directory is damaged")


def _where(error) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "top level"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_checked_json(path: Path, schema: dict | None = None) -> Any:
    """Parse a JSON file seqkit wrote earlier and check it against ``schema``; any failure is
    one :class:`RunError`: ``<file>: <what is wrong>``."""
    from seqkit.files import JSON_LIMIT, read_bounded

    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise RunError(f"{path}: missing")
    raw = read_bounded(path, "JSON file", JSON_LIMIT, RunError)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RunError(f"{path}: unreadable (not UTF-8 text: byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise RunError(f"{path}: unreadable ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise RunError(f"{path}: unreadable (nested too deeply)") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise RunError(f"{path}: unreadable ({str(exc).splitlines()[0][:100]})") from None
    check_json(path, data, schema)
    return data


# JSON Schema's type names as a user reads them.
_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def check_json(path: Path, data: Any, schema: dict | None) -> None:
    """Check parsed JSON read back from ``path`` against ``schema``: one :class:`RunError`
    naming the file, the key and what was expected."""
    if schema is None:
        return
    import jsonschema

    try:
        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
    except RecursionError:
        raise RunError(f"{path}: unreadable (nested too deeply)") from None
    if error is None:
        return
    if error.validator == "required":
        problem = f"missing key {error.message.split(chr(39))[1]!r}" if "'" in error.message else error.message
    elif error.validator == "enum":
        problem = f"expected one of {', '.join(map(repr, error.validator_value))}. Received: {_short(error.instance)}"
    elif error.validator == "type":
        types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        problem = f"expected {' or '.join(_TYPE_WORDS.get(t, t) for t in types)}. Received: {_short(error.instance)}"
    else:
        problem = error.message.splitlines()[0][:160]
    raise RunError(f"{path}: {_where(error)}: {problem}; the file is damaged or was not written by seqkit")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RunDirectory:
    """One run's folder and the files in it."""

    def __init__(self, path: Path):
        self.path = Path(path)

    # -- creation --------------------------------------------------------------------------

    @classmethod
    def create(cls, root: Path, name: str, prefix: str = "") -> RunDirectory:
        """Make a new, unique ``root/name/<prefix><run-id>``; safe when runs start at the same time."""
        parent = Path(root) / name
        parent.mkdir(parents=True, exist_ok=True)
        for _ in range(100):
            run_id = prefix + time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
            path = parent / run_id
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return cls(path)
        raise RunError(f"{parent}: could not create a unique run folder")

    @classmethod
    def open(cls, path: str | os.PathLike) -> RunDirectory:
        path = Path(path)
        if not path.is_dir():
            raise RunError(f"{path}: run directory not found")
        if (path / "keras_tuner").is_dir():
            raise RunError(
                f"{path}: a tune directory, not a run; train its best recipe first: seqkit run {path / 'best_recipe.yaml'}"
            )
        if not (path / STATUS_FILE).exists() or not (path / "recipe.yaml").exists():
            raise RunError(f"{path}: not a seqkit run directory (no status.json / recipe.yaml)")
        for name in (STATUS_FILE, "recipe.yaml", LOCK_FILE, "run.json"):
            _require_regular_or_absent(path / name)
        return cls(path)

    # -- files ----------------------------------------------------------------------------

    def file(self, *parts: str) -> Path:
        return self.path.joinpath(*parts)

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def plots(self) -> Path:
        return self.path / "plots"

    def write_json(self, name: str, data: Any) -> Path:
        atomic_write_json(self.file(name), data)
        return self.file(name)

    def read_json(self, name: str) -> Any:
        """A JSON file of the run, checked against its schema (:data:`FILE_SCHEMAS`): a file that
        is damaged, not a regular file, too large or says what seqkit never writes is one
        :class:`RunError` naming it."""
        key = name.replace(os.sep, "/")
        if key != DATA_INFO:
            return read_checked_json(self.file(name), FILE_SCHEMAS.get(key))
        # The data description's core keys are checked by DataInfo (the type tasks receive), the rest here.
        from seqkit.data.adapter import DataInfo

        data = read_checked_json(self.file(name))
        DataInfo.from_json(data, str(self.file(name)), RunError)
        check_json(self.file(name), data, FILE_SCHEMAS[key])
        return data

    def write_yaml(self, name: str, data: Any, header: str = "") -> Path:
        text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        atomic_write_text(self.file(name), text)
        return self.file(name)

    # -- status ---------------------------------------------------------------------------

    def status(self) -> dict:
        return self.read_json(STATUS_FILE)

    def stale(self) -> str | None:
        """Why a run marked ``running`` is no longer running (its process was killed, or the
        machine went down), or None: a run in another state, or one whose process is alive.

        The live process holds the run's ``flock``; where locks are not available the pid
        recorded in ``status.json`` is checked on the same host."""
        try:
            status = self.status()
        except RunError:
            return None
        if not isinstance(status, dict) or status.get("status") != RUNNING:
            return None
        pid, host = status.get("pid"), status.get("host")
        who = f"process {pid}" if isinstance(pid, int) else "process"
        held = self._lock_is_held()
        if held is True:
            return None
        if held is None:  # no locks here: ask the OS about the pid, on this machine only
            if not isinstance(pid, int) or (host and host != socket.gethostname()):
                return None
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                pass
            except OSError:
                return None
            else:
                return None
        where = f" on {host}" if host and host != socket.gethostname() else ""
        return f"marked running, but its {who}{where} is gone (killed, or the machine stopped)"

    def _lock_is_held(self) -> bool | None:
        """True when a live process holds the run's lock, False when none does, None when it
        cannot be told (no ``fcntl``, a file system without locks)."""
        try:
            import fcntl
        except ImportError:
            return None
        path = self.file(LOCK_FILE)
        if not path.is_file():
            return False if not path.exists() else None
        try:
            handle = open(path, "rb")
        except OSError:
            return None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return None
        else:
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
        finally:
            handle.close()

    @contextlib.contextmanager
    def lock(self):
        """Hold the run's lock while a process trains in it: a second process (``--resume``
        of a run that is still going) is refused with the holder's pid. An advisory
        ``flock``, released by the OS whenever the holder ends, even when killed."""
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            yield
            return
        path = self.file(LOCK_FILE)
        if path.exists() and not path.is_file():
            raise RunError(
                f"{path}: expected the run's lock file, found a folder or special file; remove it, then resume"
            )
        try:
            handle = open(path, "a+")
        except OSError as exc:
            raise RunError(f"{path}: cannot open the run's lock file: {exc.strerror or exc}") from None
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                raise RunError(
                    f"{self.path}: in use by another seqkit process (pid {holder}); "
                    "wait for it to end (or stop it), then resume"
                ) from None
            except OSError:  # a file system without locks: go on unlocked
                pass
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield
        finally:
            handle.close()

    def set_status(self, status: str, **extra: Any) -> None:
        current = {}
        if self.file(STATUS_FILE).exists():
            try:
                current = self.status()
            except RunError:
                current = {}
        if not isinstance(current, dict):
            current = {}
        current.update({"status": status, "updated": now(), **extra})
        if status == RUNNING:
            current.pop("error", None)
            current.pop("finished", None)
            current.setdefault("started", now())
            current.update(pid=os.getpid(), host=socket.gethostname())
        else:
            current["finished"] = now()
        data = json_bytes(current)
        try:
            atomic_write_bytes(self.file(STATUS_FILE), data)
        except WriteError as error:
            # A full disk has no room for the temporary copy: rewrite the file in place (its
            # blocks are already allocated), so the run is not left marked running.
            try:
                with open(self.file(STATUS_FILE), "r+b") as handle:
                    handle.write(data)
                    handle.truncate()
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError:
                raise error from None
