"""The environment record of a run: versions and settings that decide its results."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment_record(seed: int, plugins: dict[str, str]) -> dict:
    import keras

    record = {
        "seqkit": _version("seqkit"),
        "plugins": plugins,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "numpy": _version("numpy"),
        "seed": seed,
        "argv": sys.argv,
    }
    for name in ("tensorflow", "tensorflow-cpu", "jax", "torch"):
        version = _version(name)
        if version:
            record[name.replace("-", "_")] = version
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        record["devices"] = [d.name for d in tf.config.list_logical_devices()]
    return record


def packages() -> dict[str, str]:
    """Every installed distribution and its version (what ``pip freeze`` lists), by name."""
    found = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            found[name] = dist.version
    return dict(sorted(found.items(), key=lambda kv: kv[0].lower()))


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_record(folder: Path | None) -> dict | None:
    """The git commit of ``folder`` (the recipe's) and whether files under it differ from it
    (``dirty``: modified or untracked files there); None outside a repository or without git."""
    if folder is None or not Path(folder).is_dir():
        return None
    root = _git(folder, "rev-parse", "--show-toplevel")
    if not root:
        return None
    commit = _git(folder, "rev-parse", "HEAD")
    changes = _git(folder, "status", "--porcelain", "--", ".")
    return {
        "repository": root,
        "commit": commit,
        "dirty": bool(changes) if changes is not None else None,
        "changed_files": changes.splitlines()[:20] if changes else [],
    }
