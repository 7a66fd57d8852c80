"""Loading saved models safely."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Sequence

from seqkit.errors import RunError


#: The modules of seqkit's own custom Keras layers, imported before every load.
CORE_LAYER_MODULES = ("seqkit.models.backbone", "seqkit.models.encoders", "seqkit.models.heads")


def import_modules(modules: Sequence[str]) -> list[str]:
    """Import the modules that register custom Keras layers (seqkit's own first); the
    modules imported, in order. A module that cannot be imported is a PluginError."""
    import importlib

    from seqkit.errors import PluginError

    names = list(dict.fromkeys([*CORE_LAYER_MODULES, *modules]))
    for module in names:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise PluginError(f"cannot import Keras layers module {module!r}: {exc}") from None
    return names


def load_model(path: Path, layer_modules: Sequence[str] = ()):
    """Load a ``.keras`` file with ``safe_mode=True``: no code from the file runs (lambda
    layers are refused). ``layer_modules``: the modules that define the file's custom layers
    beyond seqkit's own (a plugin's encoder / head ``keras_module``; the runner and
    :func:`seqkit.api.load_model` pass every installed plugin's), imported first."""
    import keras

    import_modules(layer_modules)
    path = Path(path)
    if not path.is_file():
        raise RunError(f"{path}: model file not found")
    if not zipfile.is_zipfile(path):
        raise RunError(f"{path}: not a .keras model file (expected a zip archive written by Keras)")
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except ValueError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "safe_mode" in str(exc) or "lambda" in str(exc).lower():
            raise RunError(f"{path}: refused to load: the model contains code (a Lambda layer); seqkit loads models with safe_mode=True") from None
        raise RunError(f"{path}: cannot load model: {message}") from None
    except (OSError, KeyError) as exc:
        raise RunError(f"{path}: cannot load model: not a valid .keras file ({type(exc).__name__})") from None
    except TypeError as exc:
        import re

        found = re.search(r"Could not locate (?:class|function) '([^']+)'", str(exc))
        if not found:
            raise
        raise RunError(
            f"{path}: cannot load model: Keras does not know its layer {found.group(1)!r}; the plugin that defines it "
            "must be installed and its encoder / head spec must name the layer's module in keras_module"
        ) from None
