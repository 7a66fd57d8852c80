"""The environment record of a run: versions and settings that decide its results."""

from __future__ import annotations

import importlib.metadata
import platform
import sys


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
