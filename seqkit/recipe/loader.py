"""YAML -> plain data with a line for every dotted key, safe loading only.

Recipes are loaded with PyYAML's SafeLoader: tags that would construct Python objects
(``!!python/object`` ...) are refused with the line they are on. Every mapping key is
recorded with its line so later errors can say where a bad value is.

Bounded: a recipe is a regular file of at most 4 MiB, nested at most 64 levels, and expands to
at most 100,000 values, so aliases that refer to aliases ("billion laughs") stop at once.
Merge keys follow YAML: ``<<: *defaults`` then ``units: 8`` overrides the merged ``units``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from seqkit.errors import RecipeError


class RecipeLoader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-4`` as a float (YAML 1.1 wants ``1.0e-4``)."""


RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class SourceMap:
    """Where each dotted key of a recipe came from: ``file:line`` or ``--set key``."""

    def __init__(self, filename: str):
        self.filename = filename
        self.lines: dict[str, int] = {}
        self.overridden: set[str] = set()
        self.interpolated: set[str] = set()  # keys whose value came from ${VAR}

    def where(self, dotted: str) -> str:
        parts = dotted.split(".")
        for depth in range(len(parts), 0, -1):  # --set replaces a key's whole subtree
            if ".".join(parts[:depth]) in self.overridden:
                return f"--set {'.'.join(parts[:depth])}"
        probe = dotted
        while True:
            if probe in self.lines:
                return f"{self.filename}:{self.lines[probe]}"
            if "." not in probe:
                return self.filename
            probe = probe.rsplit(".", 1)[0]


def _join(prefix: str, key: Any) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


_PLAIN_TAGS = {yaml.MappingNode: "tag:yaml.org,2002:map", yaml.SequenceNode: "tag:yaml.org,2002:seq"}


MAX_DEPTH = 64
MAX_VALUES = 100_000  # values after alias expansion; shipped recipes have a few hundred
MAX_TEXT = 4 << 20
_MERGE = "tag:yaml.org,2002:merge"


class _TooMany(Exception):
    pass


def _pairs(node: yaml.MappingNode, source: SourceMap, depth: int) -> list[tuple[yaml.Node, yaml.Node, bool]]:
    """(key, value, merged) of a mapping with its ``<<`` merge keys expanded, in order of
    precedence (later wins): merged pairs first, the node's own pairs last. Unlike PyYAML's
    ``flatten_mapping`` this leaves the node as it is, so an aliased node reads the same twice."""
    if depth > MAX_DEPTH:
        raise RecursionError
    merged: list[tuple[yaml.Node, yaml.Node, bool]] = []
    own = []
    for key_node, value_node in node.value:
        if key_node.tag != _MERGE:
            own.append((key_node, value_node, False))
            continue
        subnodes = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for sub in reversed(subnodes):  # earlier mappings in a merge list take precedence
            if not isinstance(sub, yaml.MappingNode):
                raise RecipeError(
                    f"{source.filename}:{sub.start_mark.line + 1}: YAML error: a merge key (<<) takes a mapping "
                    f"or a list of mappings. Received: {sub.id}"
                )
            merged.extend((k, v, True) for k, v, _m in _pairs(sub, source, depth + 1))
    return merged + own


def _construct(node: yaml.Node, loader: RecipeLoader, prefix: str, source: SourceMap, depth: int = 0):
    if depth > MAX_DEPTH:
        raise RecursionError
    loader.values_seen = getattr(loader, "values_seen", 0) + 1
    if loader.values_seen > MAX_VALUES:
        raise _TooMany
    plain = _PLAIN_TAGS.get(type(node))
    if plain is not None and node.tag != plain:
        raise RecipeError(
            f"{source.filename}:{node.start_mark.line + 1}: YAML error: tag {node.tag!r} is not allowed: "
            "tags that construct Python objects are not allowed in recipes (safe YAML only)"
        )
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        own_keys: set[str] = set()
        for key_node, value_node, merged in _pairs(node, source, depth):
            key = _scalar(key_node, loader, source)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise RecipeError(
                    f"{source.filename}:{key_node.start_mark.line + 1}: keys must be plain names. Received: {key!r}"
                )
            key = str(key)
            dotted = _join(prefix, key)
            if key in own_keys and not merged:
                raise RecipeError(
                    f"{source.filename}:{key_node.start_mark.line + 1}: {dotted}: key appears "
                    f"twice (first at line {source.lines.get(dotted)})"
                )
            if not merged:
                own_keys.add(key)
            if key in result:  # a merged value overridden: forget where its parts were
                del result[key]
                for stale in [k for k in source.lines if k.startswith(dotted + ".")]:
                    del source.lines[stale]
            source.lines[dotted] = key_node.start_mark.line + 1
            result[key] = _construct(value_node, loader, dotted, source, depth + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            dotted = _join(prefix, index)
            source.lines.setdefault(dotted, item.start_mark.line + 1)
            items.append(_construct(item, loader, dotted, source, depth + 1))
        return items
    return _scalar(node, loader, source, prefix)


def _scalar(node: yaml.Node, loader: RecipeLoader, source: SourceMap, dotted: str = ""):
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError:
        raise
    except (ValueError, OverflowError) as exc:
        problem = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        if "digits" in problem:  # Python refuses integers of more than 4300 digits
            problem = f"an integer of {len(str(node.value).strip('+-'))} digits is not a value seqkit accepts"
        where = f" {dotted}:" if dotted else ""
        raise RecipeError(f"{source.filename}:{node.start_mark.line + 1}:{where} YAML error: {problem}") from None


def parse_yaml(text: str, filename: str) -> tuple[Any, SourceMap]:
    """Parse YAML text safely; return the data and its source map."""
    source = SourceMap(filename)
    loader = None
    if len(text) > MAX_TEXT:
        raise RecipeError(
            f"{filename}: YAML error: document too large ({len(text):,} characters; at most {MAX_TEXT:,})"
        )
    try:
        loader = RecipeLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None, source
        data = _construct(node, loader, "", source)
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise RecipeError(f"{filename}:{line}: YAML error: {exc.reason} (character #x{exc.character:04x})") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        if "could not determine a constructor" in str(problem):
            problem = (
                f"{problem.strip()}: tags that construct Python objects are not allowed in recipes (safe YAML only)"
            )
        raise RecipeError(f"{filename}{line}: YAML error: {problem}") from None
    except yaml.YAMLError as exc:
        raise RecipeError(f"{filename}: YAML error: {exc}") from None
    except RecursionError:
        raise RecipeError(f"{filename}: YAML error: nested too deeply (more than {MAX_DEPTH} levels)") from None
    except _TooMany:
        raise RecipeError(
            f"{filename}: YAML error: the document expands to more than {MAX_VALUES:,} values "
            "(aliases that repeat aliases?)"
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, source


def read_recipe_file(path: str | os.PathLike) -> tuple[dict, SourceMap]:
    from seqkit.files import RECIPE_LIMIT, read_bounded

    path = Path(path)
    raw = read_bounded(path, "YAML recipe file", RECIPE_LIMIT, RecipeError)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise RecipeError(f"{path}:{line}: recipe is not valid UTF-8 (byte {exc.start})") from None
    data, source = parse_yaml(text, str(path))
    if data is None:
        raise RecipeError(f"{path}: recipe is empty, expected a mapping with at least 'task' and 'data'")
    if not isinstance(data, dict):
        raise RecipeError(
            f"{path}:1: a recipe must be a mapping of sections (name, task, data, model, train). "
            f"Received: {type(data).__name__}"
        )
    return data, source


# -- overrides -----------------------------------------------------------------------------


def parse_override(text: str) -> tuple[str, Any]:
    """``a.b.c=value`` -> ("a.b.c", parsed value). Values are YAML scalars, lists or mappings."""
    if "=" not in text:
        raise RecipeError(f"--set {text}: expected dotted.key=value")
    key, _, raw_value = text.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise RecipeError(f"--set {text}: expected dotted.key=value with a non-empty key")
    try:
        value, _ = parse_yaml(raw_value, f"--set {key}") if raw_value.strip() else (None, None)
    except RecipeError as exc:
        raise RecipeError(f"--set {key}: value is not valid YAML: {raw_value!r} ({exc})") from None
    return key, value


def apply_overrides(data: dict, overrides: list[str] | dict | None, source: SourceMap) -> dict:
    if not overrides:
        return data
    items = overrides.items() if isinstance(overrides, dict) else map(parse_override, overrides)
    for key, value in items:
        parts = key.split(".")
        node = data
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part) if isinstance(node, dict) else None
            if child is None:
                child = node[part] = {}
                # A section only --set created is blamed on --set, not on the recipe file.
                source.overridden.add(".".join(parts[: depth + 1]))
            if not isinstance(child, dict):
                prefix = ".".join(parts[: depth + 1])
                raise RecipeError(f"--set {key}: {prefix} is a {type(child).__name__}, not a section")
            node = child
        node[parts[-1]] = value
        source.overridden.add(key)
    return data


# -- ${ENV} interpolation -----------------------------------------------------------------


def default_data_dir(start_points: list[Path]) -> str | None:
    """``../shared/data`` as seen from the project: the first ancestor with shared/data."""
    for start in start_points:
        for folder in [start, *start.parents]:
            candidate = folder / "shared" / "data"
            if candidate.is_dir():
                return str(candidate)
    return None


def interpolate(data: Any, source: SourceMap, env: dict[str, str], prefix: str = "") -> Any:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string value."""
    if isinstance(data, dict):
        return {k: interpolate(v, source, env, _join(prefix, k)) for k, v in data.items()}
    if isinstance(data, list):
        return [interpolate(v, source, env, _join(prefix, i)) for i, v in enumerate(data)]
    if isinstance(data, str) and "${" in data:
        source.interpolated.add(prefix)

        def replace(match: re.Match) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            hint = " (set it, or run from a checkout beside ../shared/data)" if name == "SEQKIT_DATA" else ""
            raise RecipeError(f"{source.where(prefix)}: {prefix}: environment variable {name} is not set{hint}")

        return _ENV.sub(replace, data)
    return data
