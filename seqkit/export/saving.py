"""Loading saved models safely."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

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


MAX_CONFIG_BYTES = 64 << 20  # config.json of a .keras archive; seqkit's are a few kB
MAX_CONFIG_DEPTH = 200  # nesting of config.json; a stacked-LSTM model is about 20 deep
MAX_WIDTH = 1 << 20  # units / dims a layer may ask for: beyond this, building it exhausts memory
_WIDTH_ARGUMENTS = ("units", "dim", "output_dim", "filters")  # not vocabulary sizes: data decides those


def _config_problem(config) -> str | None:
    """What is wrong with the shape of a model's config.json (None when it may be loaded):
    a mapping with class_name / config, nested at most MAX_CONFIG_DEPTH, and no layer asking
    for a width that cannot be allocated. Walked without recursion."""
    if not isinstance(config, dict):
        return f"config.json must hold a mapping (class_name, config). Received: {type(config).__name__}"
    if not isinstance(config.get("class_name"), str) or not isinstance(config.get("config"), dict):
        return "config.json lacks class_name (a string) and config (a mapping)"
    stack = [(config, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_CONFIG_DEPTH:
            return f"config.json is nested more than {MAX_CONFIG_DEPTH} levels deep"
        if isinstance(node, dict):
            for key, value in node.items():
                if (
                    key in _WIDTH_ARGUMENTS
                    and isinstance(value, int)
                    and not isinstance(value, bool)
                    and value > MAX_WIDTH
                ):
                    return f"config.json asks a layer for {key}={value} (more than {MAX_WIDTH:,})"
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)
    return None


def check_model_archive(path: Path) -> None:
    """Check a ``.keras`` file before Keras opens it: a regular file, a zip archive whose
    members pass their CRC check, a config.json of bounded size and depth shaped like a Keras
    model's. Every failure is one :class:`RunError` naming the file."""
    import json

    from seqkit.files import open_regular

    path = Path(path)
    with open_regular(path, "model file", RunError) as handle:
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            raise RunError(f"{path}: not a .keras model file (expected a zip archive written by Keras)") from None
        with archive:
            try:
                names = {info.filename: info for info in archive.infolist()}
                if "config.json" not in names:
                    raise RunError(f"{path}: not a .keras model file (no config.json in the archive)")
                for info in names.values():
                    if info.file_size > 1 << 20 and info.file_size > 1000 * max(info.compress_size, 1):
                        raise RunError(
                            f"{path}: {info.filename} expands {info.file_size // max(info.compress_size, 1):,} times; refused as a zip bomb"
                        )
                if names["config.json"].file_size > MAX_CONFIG_BYTES:
                    raise RunError(f"{path}: config.json is larger than {MAX_CONFIG_BYTES >> 20} MiB")
                damaged = archive.testzip()
                if damaged is not None:
                    raise RunError(f"{path}: damaged: {damaged} fails its CRC check")
                raw = archive.read("config.json")
            except RunError:
                raise
            except (
                zipfile.BadZipFile,
                zipfile.LargeZipFile,
                OSError,
                ValueError,
                EOFError,
                NotImplementedError,
            ) as exc:
                message = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
                raise RunError(f"{path}: damaged .keras archive ({message})") from None
    try:
        config = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise RunError(f"{path}: config.json is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise RunError(f"{path}: config.json is not valid JSON ({str(exc).splitlines()[0][:120]})") from None
    problem = _config_problem(config)
    if problem:
        raise RunError(f"{path}: {problem}")


def load_model(path: Path, layer_modules: Sequence[str] = ()):
    """Load a ``.keras`` file with ``safe_mode=True``: no code from the file runs (lambda
    layers are refused). ``layer_modules``: the modules that define the file's custom layers
    beyond seqkit's own (a plugin's encoder / head ``keras_module``; the runner and
    :func:`seqkit.api.load_model` pass every installed plugin's), imported first."""
    import keras

    import_modules(layer_modules)
    path = Path(path)
    check_model_archive(path)
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - anything Keras raises on a file is a damaged or foreign file
        raise _load_error(path, exc) from None


def load_training_model(path: Path, layer_modules: Sequence[str] = ()):
    """Load a training checkpoint (a compiled ``.keras`` file with its optimizer state), as
    :func:`load_model` does; a model saved with frozen layers (``trainable: false`` in their
    config) also loads. Keras rebuilds such layers' weights as trainable, so the optimizer's
    saved state, built for fewer weights, does not fit them (a long-standing Keras issue,
    keras-team/keras#6046): the model is then loaded uncompiled, the frozen layers' weights are
    frozen again, and it is compiled from its saved configuration with the optimizer's state
    read back from the archive, slot by slot, each checked against its weight's shape."""
    import keras

    import seqkit.train.optim  # noqa: F401 - registers the optimizers a checkpoint may be compiled with

    try:
        return load_model(path, layer_modules)
    except RunError as first:
        if "could not be loaded" not in str(first) or "optimizer" not in str(first).lower():
            raise
    path = Path(path)
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
        _refreeze(model)
        with zipfile.ZipFile(path) as archive:
            compile_config = json.loads(archive.read("config.json")).get("compile_config")
            model.compile_from_config(compile_config)
            model.optimizer.build(model.trainable_variables)
            _load_optimizer_state(archive, model.optimizer)
        return model
    except RunError:
        raise
    except Exception as exc:  # noqa: BLE001 - as load_model: a damaged or foreign file
        raise _load_error(path, exc) from None


def _refreeze(layer) -> None:
    """Setting ``trainable`` again reaches a frozen layer's weights (a reloaded layer's are not).
    The property's setter is called directly: under TensorFlow, ``layer.trainable = False``
    on a layer whose flag is already False is skipped as a no-op assignment."""
    for sub in getattr(layer, "layers", []):
        if not sub.trainable:
            type(sub).trainable.fset(sub, False)
        else:
            _refreeze(sub)


def _load_optimizer_state(archive: zipfile.ZipFile, optimizer) -> None:
    import io

    import h5py

    with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as weights:
        saved = weights["optimizer"]["vars"]
        values = [saved[str(i)][()] for i in range(len(saved))]
    if len(values) != len(optimizer.variables):
        raise RunError(
            f"optimizer state: {len(values)} saved values for {len(optimizer.variables)} optimizer variables"
        )
    for variable, value in zip(optimizer.variables, values):
        if tuple(variable.shape) != tuple(value.shape):
            raise RunError(f"optimizer state: {variable.path} has shape {tuple(variable.shape)}, saved {value.shape}")
        variable.assign(value)


def _load_error(path: Path, exc: Exception) -> RunError:
    """One line for what Keras (or zipfile, h5py) raised while loading ``path``."""
    import re

    text = str(exc)
    message = text.splitlines()[0][:200] if text.strip() else type(exc).__name__
    vocabulary = re.search(r"Vocabulary file: '([^']*)'", text)
    if vocabulary:
        return RunError(
            f"{path}: refused to load: a text layer reads its vocabulary from {vocabulary.group(1)!r}, a file outside "
            "the model archive; seqkit loads models with safe_mode=True, which only reads the archive's own files"
        )
    if isinstance(exc, ValueError) and ("safe_mode" in text or "lambda" in text.lower()):
        return RunError(
            f"{path}: refused to load: the model contains code (a Lambda layer); seqkit loads models with safe_mode=True"
        )
    found = re.search(r"Could not locate (?:class|function) '([^']+)'", text)
    if isinstance(exc, TypeError) and found:
        return RunError(
            f"{path}: cannot load model: Keras does not know its layer {found.group(1)!r}; the plugin that defines it "
            "must be installed and its encoder / head spec must name the layer's module in keras_module"
        )
    if isinstance(exc, RecursionError):
        return RunError(f"{path}: cannot load model: its config is nested too deeply")
    if isinstance(exc, (OSError, KeyError, zipfile.BadZipFile)):
        return RunError(f"{path}: cannot load model: not a valid .keras file ({type(exc).__name__}: {message})")
    return RunError(f"{path}: cannot load model: {message}")
