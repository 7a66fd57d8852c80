"""Warm starts (``model.init_from``): the encoder and backbone weights of an earlier run.

The source is a completed run directory, or a ``.keras`` / ``.weights.h5`` file inside one (the
run's ``model.keras``, or a checkpoint's ``model.keras`` / ``best.weights.h5``); the run's recipe
and ``data_info.json`` say what its layers are and which token each embedding row holds. Layers
are matched by name (the encoder's and ``backbone``); a weight loads when its shape matches,
and an embedding whose rows are tokens is mapped token by token (a token the earlier run did not
know keeps its new initialisation, pretrained or random). The head is always new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from seqkit.errors import RecipeError

KEY = "model.init_from"


@dataclass
class WarmStartReport:
    source: str
    loaded: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    mapped: dict[str, dict] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"source": self.source, "loaded": self.loaded, "new": self.new, "vocabulary": self.mapped}

    def lines(self) -> list[str]:
        out = [f"init_from {self.source}: loaded {', '.join(self.loaded) or 'nothing'}; new {', '.join(self.new)}"]
        for name, m in self.mapped.items():
            out.append(
                f"init_from: {name} rows mapped by token: {m['found']:,} of {m['rows']:,} tokens known to the earlier "
                f"run ({100 * m['found'] / max(m['rows'], 1):.1f}%)"
            )
        return out


def _run_folder(path: Path) -> Path | None:
    """The run directory ``path`` is, or holds ``path`` (a checkpoint inside it)."""
    for folder in [path, *path.parents][:4]:
        if folder.is_dir() and (folder / "data_info.json").is_file() and (folder / "recipe.yaml").is_file():
            return folder
    return None


def _source_model(path: Path, manager):
    """(the source's training model, its encoder vocabulary or None, label)."""
    import keras

    from seqkit.api import Run
    from seqkit.export.saving import load_model
    from seqkit.train.rundir import RunDirectory
    from seqkit.train.runner import PREPROCESSOR, _load_preprocessor, layer_modules, load_run_recipe

    if not path.exists():
        raise RecipeError(f"{KEY}: {path}: no such run directory or model file")
    folder = _run_folder(path)
    if folder is None:
        raise RecipeError(
            f"{KEY}: {path}: not a seqkit run directory nor a model file inside one (no data_info.json and "
            "recipe.yaml beside it), so its layers and vocabulary are unknown"
        )
    run_dir = RunDirectory.open(folder)
    recipe = load_run_recipe(run_dir, manager)
    run = Run(run_dir, recipe, model=None)
    if path.is_dir():
        path = folder / "model.keras"
        if not path.is_file():
            raise RecipeError(f"{KEY}: {folder}: the run has no model.keras (not completed?)")
    weights = None
    if path.name.endswith(".weights.h5"):  # a checkpoint's weights: the run's model gives the layers
        weights, path = path, folder / "model.keras"
    saved = load_model(path, layer_modules(manager))
    preprocessor, trained = None, saved
    inner = [layer for layer in saved.layers if isinstance(layer, keras.Model)]
    if inner:  # raw inputs -> preprocessing -> training model
        trained = inner[-1]
        preprocessor = next((layer for layer in saved.layers[1:] if layer is not trained), None)
    if weights is not None:
        trained.load_weights(weights)
    if preprocessor is None and (folder / "checkpoints" / PREPROCESSOR).exists():  # a checkpoint's training model
        preprocessor = _load_preprocessor(folder / "checkpoints" / PREPROCESSOR, manager)
    spec_cls = manager.encoders.get(recipe.get("model.encoder.type"))
    spec = spec_cls(recipe.get("model.encoder"), dict(run.info), base_dir=recipe.base_dir)
    return trained, spec.vocabulary(preprocessor), str(path if weights is None else weights)


def warm_start(model, encoder_spec, preprocessor, source: str, manager=None) -> WarmStartReport:
    """Load ``source``'s encoder and backbone weights into ``model`` (the new training model)."""
    from seqkit.plugins import get_plugin_manager

    manager = manager or get_plugin_manager()
    trained, old_vocabulary, label = _source_model(Path(source).expanduser(), manager)
    new_vocabulary = encoder_spec.vocabulary(preprocessor)
    report = WarmStartReport(label)
    layers = [layer for layer in model.layers if layer.weights]
    head = layers[-1]
    by_name = {layer.name: layer for layer in trained.layers}
    for layer in layers:
        old = by_name.get(layer.name)
        if layer is head or old is None or len(old.weights) != len(layer.weights):
            report.new.append(layer.name)
            continue
        values, mapped = _matched_values(layer, old, old_vocabulary, new_vocabulary)
        if values is None:
            report.new.append(f"{layer.name} (shapes differ)")
            continue
        for variable, value in zip(layer.weights, values):
            variable.assign(value)
        report.loaded.append(layer.name)
        if mapped is not None:
            report.mapped[layer.name] = mapped
    return report


def _matched_values(layer, old, old_vocabulary, new_vocabulary):
    """The source's values for each of ``layer``'s weights, or None if one cannot be matched."""
    import keras

    values, mapped = [], None
    for new_var, old_var in zip(layer.weights, old.weights):
        old_value = keras.ops.convert_to_numpy(old_var)
        rows_are_tokens = (
            old_vocabulary is not None
            and new_vocabulary is not None
            and old_value.ndim == 2
            and old_value.shape[0] == len(old_vocabulary)
            and tuple(new_var.shape)[0] == len(new_vocabulary)
            and old_value.shape[1] == tuple(new_var.shape)[1]
        )
        if rows_are_tokens:
            value = keras.ops.convert_to_numpy(new_var).copy()
            index = {token: i for i, token in enumerate(old_vocabulary)}
            found = 0
            for row, token in enumerate(new_vocabulary):
                if token in index:
                    value[row] = old_value[index[token]]
                    found += row >= 2  # padding and the unknown token are not words
            values.append(value)
            mapped = {"rows": max(len(new_vocabulary) - 2, 0), "found": int(found)}
        elif new_vocabulary is not None and old_value.ndim == 2 and tuple(new_var.shape)[0] == len(new_vocabulary):
            return None, None  # token rows of an earlier run whose tokens are unknown: not copied by index
        elif tuple(old_value.shape) == tuple(new_var.shape):
            values.append(old_value)
        else:
            return None, None
    return values, mapped


def set_frozen(model, names: list[str], frozen: bool) -> None:
    """(Un)freeze the layers a warm start loaded (``model.freeze_epochs``)."""
    for name in names:
        model.get_layer(name).trainable = not frozen
