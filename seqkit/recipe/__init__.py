"""Recipes: YAML files -> validated, defaults-filled :class:`Recipe` objects.

Nothing here imports TensorFlow or Keras, so ``seqkit validate`` stays instant.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import jsonschema

from seqkit.errors import RecipeError, UnknownNameError, did_you_mean
from seqkit.recipe.loader import (
    SourceMap,
    apply_overrides,
    default_data_dir,
    interpolate,
    read_recipe_file,
)
from seqkit.recipe.schema import convert_interpolated, fill_defaults, recipe_validator, resolved_schema

__all__ = ["Recipe", "load_recipe", "recipe_from_dict"]


class Recipe:
    """A validated recipe: plain nested dicts plus where each key came from."""

    def __init__(self, data: dict, source: SourceMap, path: Path | None, in_memory: list | None = None):
        self.data = data
        self.source = source
        self.path = path
        # In-memory data (seqkit.data.memory.InMemoryData) the data section's placeholders
        # stand for: kept alive as long as the recipe is.
        self.in_memory = list(in_memory or [])

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def task(self) -> str:
        return self.data["task"]

    @property
    def seed(self) -> int:
        return self.data["seed"]

    @property
    def base_dir(self) -> Path:
        """Folder that relative data paths are resolved against: the recipe's own."""
        return self.path.parent if self.path else Path.cwd()

    def section(self, name: str) -> dict:
        return self.data.get(name) or {}

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def where(self, dotted: str) -> str:
        return self.source.where(dotted)

    def to_dict(self) -> dict:
        return copy.deepcopy(self.data)

    def portable_dict(self, manager=None) -> dict:
        """A copy whose relative file paths (schema ``format: path``) are made absolute, so
        the recipe can be saved in another folder (a run or tune directory) and still run."""
        data = self.to_dict()
        schema = schema_for(data, manager)
        _absolute_paths(schema, data, self.base_dir.resolve())
        return data


def _expected(schema: dict) -> str:
    if "x-expected" in schema:
        return schema["x-expected"]
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    kind = schema.get("type")
    words = {
        "integer": "an integer",
        "number": "a number",
        "string": "a string",
        "boolean": "true or false",
        "object": "a mapping",
        "array": "a list",
    }
    if isinstance(kind, list):
        text = " or ".join(words.get(k, str(k)) for k in kind)
    else:
        text = words.get(kind, str(kind)) if kind else "a valid value"
    bounds = []
    if "minimum" in schema:
        bounds.append(f">= {schema['minimum']}")
    if "exclusiveMinimum" in schema:
        bounds.append(f"> {schema['exclusiveMinimum']}")
    if "maximum" in schema:
        bounds.append(f"<= {schema['maximum']}")
    if "exclusiveMaximum" in schema:
        bounds.append(f"< {schema['exclusiveMaximum']}")
    if bounds:
        text += " " + " and ".join(bounds)
    return text


def _received(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})" if not isinstance(value, (dict, list)) else text


def _describe(error: jsonschema.ValidationError, source: SourceMap) -> list[str]:
    dotted = ".".join(str(p) for p in error.absolute_path)
    where = source.where(dotted) if dotted else source.filename
    label = dotted or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        problems = []
        for key in sorted(set(error.instance) - set(allowed)):
            key_path = f"{dotted}.{key}" if dotted else key
            hint = did_you_mean(key, allowed)
            message = f"{source.where(key_path)}: {key_path}: unknown key."
            if hint:
                message += f" {hint}"
            problems.append(message + f" Valid keys: {', '.join(allowed)}")
        return problems
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [f"{where}: {label}: missing required key {missing!r}"]
    if error.validator == "enum":
        hint = did_you_mean(error.instance, error.validator_value)
        return [
            f"{where}: {label}: expected {_expected(error.schema)}. Received: "
            f"{_received(error.instance)}." + (f" {hint}" if hint else "")
        ]
    if error.validator in ("anyOf", "oneOf"):
        return [f"{where}: {label}: expected {_expected(error.schema)}. Received: {_received(error.instance)}"]
    if error.validator in ("type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "const", "pattern"):
        message = f"{where}: {label}: expected {_expected(error.schema)}. Received: {_received(error.instance)}"
        if error.validator == "type" and "string" in str(error.validator_value) and isinstance(error.instance, bool):
            message += ". YAML reads yes / no / on / off / true / false as booleans: quote the value ('yes')"
        if error.validator == "type" and isinstance(error.instance, float):
            message += ". NaN and infinity are not numbers seqkit accepts"
        return [message]
    return [f"{where}: {label}: {error.message}"]


def _lookup(registry, kind: str, name: Any, dotted: str, source: SourceMap, problems: list[str]):
    if not isinstance(name, str):
        problems.append(
            f"{source.where(dotted)}: {dotted}: expected a {kind} name (a string). Received: {_received(name)}"
        )
        return None
    try:
        return registry.get(name)
    except UnknownNameError as exc:
        problems.append(f"{source.where(dotted)}: {dotted}: {exc}")
        return None


def validate(data: dict, source: SourceMap, manager=None, check_parts: bool = True) -> dict:
    """Validate and fill defaults in place. Raises one RecipeError listing every problem.

    ``check_parts=False`` skips the task's and head's whole-recipe checks
    (``Task.check_recipe``, ``HeadSpec.check_recipe``): the recipe of a run that already
    trained is read back with it, so a check added later does not lock a user out of a run."""
    from seqkit.plugins import get_plugin_manager

    manager = manager or get_plugin_manager()
    problems: list[str] = []
    task = adapter = encoder = head = None

    if isinstance(data.get("task"), (str, type(None))) and data.get("task") is not None:
        task = _lookup(manager.tasks, "task", data["task"], "task", source, problems)
    sections_ok = all(isinstance(data.get(s, {}), dict) for s in ("data", "model"))
    if sections_ok:
        data_section = data.get("data")
        if data.get("model") is None:
            data["model"] = {}
        model = data["model"]
        for key in ("encoder", "head"):
            if model.get(key) is None:
                model[key] = {}
        if isinstance(data_section, dict):
            if "adapter" not in data_section and task is not None:
                data_section["adapter"] = task.default_adapter
            if "adapter" in data_section:
                adapter = _lookup(
                    manager.adapters, "adapter", data_section["adapter"], "data.adapter", source, problems
                )
        parts = [("encoder", manager.encoders), ("head", manager.heads)]
        for key, registry in parts:
            section = model[key]
            if not isinstance(section, dict):
                continue
            if "type" not in section and task is not None:
                section["type"] = task.default_encoder if key == "encoder" else task.default_head
            if "type" in section:
                found = _lookup(registry, key, section["type"], f"model.{key}.type", source, problems)
                if key == "encoder":
                    encoder = found
                else:
                    head = found
    schema = resolved_schema(task, adapter, encoder, head)
    data.setdefault("name", _default_name(source, data))
    convert_interpolated(schema, data, source.interpolated)
    fill_defaults(schema, data)
    validator = recipe_validator(schema)
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        problems.extend(_describe(error, source))
    # Parts may check what a schema cannot express (e.g. a split that adds up to more than 1).
    model_section = data.get("model") if isinstance(data.get("model"), dict) else {}
    for part, prefix, section in (
        (adapter, "data", data.get("data")),
        (encoder, "model.encoder", model_section.get("encoder")),
        (head, "model.head", model_section.get("head")),
    ):
        if part is not None and isinstance(section, dict):
            for key, message in part.check(section):
                dotted = f"{prefix}.{key}" if key else prefix
                problems.append(f"{source.where(dotted)}: {dotted}: {message}")
    if check_parts and None not in (
        task,
        adapter,
        encoder,
        head,
    ):  # an unknown name is the problem to report, not a mismatch
        problems.extend(_check_whole_recipe(data, source, task, head))
    from seqkit.recipe.distribution import check_recipe as check_distribution

    problems.extend(check_distribution(data, source.where))
    if not problems and isinstance(data.get("tune"), dict) and data["tune"].get("space"):
        problems.extend(_check_tune_space(data, source, manager))
    if problems:
        # Deduplicate while keeping order (anyOf can repeat a message).
        raise RecipeError(list(dict.fromkeys(problems)))
    return data


def _check_whole_recipe(data: dict, source: SourceMap, task, head) -> list[str]:
    """The task's and the head's checks of the whole recipe (``Task.check_recipe``,
    ``HeadSpec.check_recipe``): parts that do not fit together, e.g. a tagging head under a
    sentiment task, or a bidirectional backbone under a next-step task. Keys are dotted from the
    recipe's top; one message a key (the task's first)."""
    recipe = Recipe(data, source, None)
    found: dict[str, str] = {}
    for part in (task, head):
        if part is not None:
            for dotted, message in part.check_recipe(recipe):
                found.setdefault(dotted, message)
    return [f"{source.where(dotted)}: {dotted}: {message}" for dotted, message in found.items()]


def schema_for(data: dict, manager=None) -> dict:
    """The resolved schema of a validated recipe's data."""
    from seqkit.plugins import get_plugin_manager

    manager = manager or get_plugin_manager()
    model = data.get("model") or {}
    return resolved_schema(
        manager.tasks.get(data["task"]),
        manager.adapters.get(data["data"]["adapter"]),
        manager.encoders.get(model["encoder"]["type"]),
        manager.heads.get(model["head"]["type"]),
    )


def _absolute_paths(schema: dict, data: Any, base: Path) -> None:
    if not isinstance(data, dict):
        return
    for key, prop in schema.get("properties", {}).items():
        value = data.get(key)
        if prop.get("format") == "path" and isinstance(value, (str, list)):
            data[key] = _absolute(value, base)
        elif isinstance(value, dict):
            _absolute_paths(prop, value, base)


def _absolute(value, base: Path):
    """A path (or each of a list of paths, or a glob) made absolute against ``base``; in-memory
    data's placeholders and ``${VAR}`` references stay as they are."""
    from seqkit.data.memory import is_in_memory

    if isinstance(value, list):
        return [_absolute(item, base) for item in value]
    if not isinstance(value, str) or not value or "${" in value or is_in_memory(value):
        return value
    return value if Path(value).expanduser().is_absolute() else str(base / value)


def resolve_override_paths(data: dict, source: SourceMap, manager=None, cwd: Path | None = None) -> None:
    """File paths given with ``--set`` (or API overrides) are relative to the current
    folder, as on any command line; the recipe's own paths stay relative to the recipe.
    ``data`` must be validated (its schema resolved)."""
    if not source.overridden:
        return
    schema = schema_for(data, manager)
    cwd = (cwd or Path.cwd()).resolve()
    for dotted in source.overridden:
        node, prop = data, schema
        parts = dotted.split(".")
        for part in parts[:-1]:
            node, prop = (node or {}).get(part), prop.get("properties", {}).get(part, {})
            if not isinstance(node, dict):
                break
        else:
            prop = prop.get("properties", {}).get(parts[-1], {})
            value = node.get(parts[-1])
            if prop.get("format") == "path" and isinstance(value, (str, list)):
                node[parts[-1]] = _absolute(value, cwd)
            elif isinstance(value, dict):  # a whole section given with --set: its paths too
                _absolute_paths(prop, value, cwd)


def _check_tune_space(data: dict, source: SourceMap, manager) -> list[str]:
    """Every space key must be a recipe key that accepts each edge value of its range."""
    from seqkit.tune.space import apply_values, check_space, sample_values

    space = data["tune"]["space"]
    problems = [f"{source.where(f'tune.space.{k}')}: tune.space.{k}: {m}" for k, m in check_space(space)]
    if data["tune"].get("tuner") == "grid":
        problems += [
            f"{source.where(f'tune.space.{k}')}: tune.space.{k}: grid search needs a step for float ranges"
            for k, entry in space.items()
            if isinstance(entry, dict) and "float" in entry and not entry.get("step")
        ]
    if problems:
        return problems
    base = {k: v for k, v in data.items() if k != "tune"}
    for key, entry in space.items():
        where = source.where(f"tune.space.{key}")
        for value in sample_values(entry):
            trial = apply_values(base, {key: value})
            try:
                validate(trial, SourceMap(source.filename), manager)
            except RecipeError as exc:
                first = exc.problems[0].split(": ", 1)[-1]
                problems.append(f"{where}: tune.space.{key}: with {key}={value!r}: {first}")
                break
    return problems


def _default_name(source: SourceMap, data: dict) -> str:
    stem = Path(source.filename).stem if source.filename and not source.filename.startswith("<") else ""
    return stem or str(data.get("task") or "run")


def _environment(path: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if "SEQKIT_DATA" not in env:
        starts = [Path.cwd()] + ([path.resolve().parent] if path else [])
        found = default_data_dir(starts)
        if found:
            env["SEQKIT_DATA"] = found
    return env


def load_recipe(
    path: str | os.PathLike, overrides: list[str] | dict | None = None, manager=None, in_memory=None
) -> Recipe:
    """Read, override, interpolate and validate a recipe file (``in_memory``: data objects
    for its data section, as in :func:`recipe_from_dict`)."""
    path = Path(path)
    data, source = read_recipe_file(path)
    sources = []
    if in_memory is not None:
        data, sources = _extract_in_memory(data, in_memory, manager)
    recipe = _finish(data, source, path, overrides, manager)
    recipe.in_memory = sources
    return recipe


def recipe_from_dict(
    data: dict, overrides=None, base_dir: str | os.PathLike | None = None, manager=None, in_memory=None
) -> Recipe:
    """Build a recipe from a dict (Python API). Relative paths resolve against base_dir.

    The ``data`` section may hold in-memory data (DataFrames, arrays, lists) where it names
    files, and ``in_memory`` gives more (see :func:`seqkit.data.memory.extract`)."""
    if not isinstance(data, dict):
        raise RecipeError(f"<dict>: a recipe must be a mapping. Received: {type(data).__name__}")
    data, sources = _extract_in_memory(data, in_memory, manager)
    source = SourceMap("<dict>")
    fake_path = Path(base_dir or Path.cwd()) / "<dict>"
    recipe = _finish(copy.deepcopy(data), source, fake_path, overrides, manager)
    recipe.in_memory = sources
    return recipe


def _extract_in_memory(data: dict, given, manager) -> tuple[dict, list]:
    """The recipe with its in-memory data replaced by placeholders, and that data."""
    from seqkit.data.memory import DATA_KEYS, extract

    section = data.get("data")
    if given is None and not isinstance(section, dict):
        return data, []
    if section is not None and not isinstance(section, dict):
        return data, []
    keys = DATA_KEYS
    try:
        from seqkit.plugins import get_plugin_manager

        adapter = (manager or get_plugin_manager()).adapters.get((section or {}).get("adapter"))
        keys = tuple(adapter.schema.get("properties", {}))
    except (UnknownNameError, TypeError):  # an unknown adapter: validation names it
        pass
    section, sources = extract(section or {}, given, keys)
    return {**data, "data": section}, sources


def _finish(data, source, path, overrides, manager) -> Recipe:
    from seqkit.files import check_output_dir

    data = apply_overrides(data, overrides, source)
    data = interpolate(data, source, _environment(path))
    validate(data, source, manager)
    problems = check_output_dir(data.get("output", {}).get("dir"), source.where("output.dir"))
    if problems:
        raise RecipeError(problems)
    resolve_override_paths(data, source, manager)
    return Recipe(data, source, path)
