"""Saving a Keras model to memory.

``keras.saving.save_model`` wants a path; Keras's own ``saving_lib.save_model`` also takes a file
object (Keras 3.0 to 3.15.1 checked). seqkit serializes checkpoints in memory so that no file is
open while Keras and h5py write (a full disk then fails in Python, never inside h5py), and falls
back to a temporary file when that private function is not there.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

VERIFIED_KERAS = "3.15.1"


def in_memory_saver():
    """Keras's private ``saving_lib.save_model(model, file_object)``, or None if it is gone."""
    try:
        from keras.src.saving import saving_lib
    except ImportError:
        return None
    return getattr(saving_lib, "save_model", None)


def model_bytes(model) -> bytes:
    """The model as a ``.keras`` archive, in memory."""
    save = in_memory_saver()
    if save is not None:
        buffer = io.BytesIO()
        save(model, buffer)
        return buffer.getvalue()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()
