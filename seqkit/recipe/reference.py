"""The recipe reference (docs/recipes.md), generated from the merged JSON Schema.

Every key of every installed plugin's sections is listed with its type, default, allowed
values and description; ``missing_descriptions`` names the keys that have none (a test holds
the schema to "every key is described"). Regenerate with ``make docs``, or
``python -m seqkit.recipe.reference > docs/recipes.md``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

HEADER = """# Recipe reference

Generated from `seqkit schema` (the core schema merged with every installed plugin's sections) by
`make docs`; do not edit by hand: change the `description` in the schema and regenerate. How to
write a recipe: [recipes-guide.md](recipes-guide.md).
"""

# Sections whose keys depend on a registered part: the switch key, and the heading word.
SWITCHES = {"data": ("adapter", "adapter"), "model.encoder": ("type", "encoder"), "model.head": ("type", "head")}


def _type(prop: dict) -> str:
    if "type" in prop:
        kind = prop["type"]
        kinds = kind if isinstance(kind, list) else [kind]
        if prop.get("format") == "path":
            kinds = ["path" if k == "string" else k for k in kinds]
        if "array" in kinds and isinstance(prop.get("items"), dict) and "type" in prop["items"]:
            kinds = [f"array of {_type(prop['items'])}" if k == "array" else k for k in kinds]
        return " or ".join(kinds)
    for combinator in ("anyOf", "oneOf"):
        if combinator in prop:
            return " or ".join(dict.fromkeys(_type(option) for option in prop[combinator]))
    if "const" in prop:
        return json.dumps(prop["const"])
    if "enum" in prop:
        names = {bool: "boolean", int: "integer", float: "number", str: "string"}
        return " or ".join(dict.fromkeys(names.get(type(v), "value") for v in prop["enum"]))
    return "any"


def _allowed(prop: dict) -> str:
    values = prop.get("enum")
    if values is None and "const" in prop:
        values = [prop["const"]]
    if values is None:
        for combinator in ("anyOf", "oneOf"):
            enums = [v for option in prop.get(combinator, []) for v in option.get("enum", [])]
            if enums:
                values = enums
    parts = [", ".join(f"`{json.dumps(v)}`" for v in values)] if values else []
    for word, key in ((">=", "minimum"), (">", "exclusiveMinimum"), ("<=", "maximum"), ("<", "exclusiveMaximum")):
        if key in prop:
            parts.append(f"{word} {prop[key]}")
    return "; ".join(parts)


def _default(prop: dict) -> str:
    if "default" not in prop:
        return ""
    value = prop["default"]
    if value == {} and prop.get("type") == "object":
        return ""
    return f"`{json.dumps(value)}`"


def _objects(prop: dict) -> Iterator[dict]:
    """The object schemas a property may take (itself, or the object branches of anyOf / oneOf)."""
    if "properties" in prop:
        yield prop
    for combinator in ("anyOf", "oneOf"):
        for option in prop.get(combinator, []):
            if "properties" in option:
                yield option
    items = prop.get("items")
    if isinstance(items, dict) and "properties" in items:
        yield items


def walk(schema: dict, prefix: str = "") -> Iterator[tuple[str, dict]]:
    """(dotted key, property schema) of every key under ``schema``, depth first, in schema order."""
    for obj in _objects(schema):
        for name, prop in obj["properties"].items():
            key = f"{prefix}{name}"
            yield key, prop
            yield from walk(prop, key + ".")
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and any(True for _ in _objects(extra)):
        # A mapping of any names to objects (tune.space: dotted key -> search entry).
        yield from walk(extra, prefix + "<key>.")


def _branches(section: dict) -> Iterator[tuple[str, dict]]:
    for branch in section.get("allOf", []):
        name = branch["if"]["properties"][next(iter(branch["if"]["properties"]))]["const"]
        yield name, branch["then"]


def every_key(schema: dict) -> Iterator[tuple[str, str, dict]]:
    """(heading, dotted key, property) for every key of the merged schema, parts' keys included."""
    for name, prop in schema["properties"].items():
        if name in ("data", "model"):
            continue
        yield name, name, prop
        for key, sub in walk(prop, name + "."):
            yield name, key, sub
    for section_key, (_switch, word) in SWITCHES.items():
        section = (
            schema["properties"]["data"]
            if section_key == "data"
            else schema["properties"]["model"]["properties"][section_key.split(".")[1]]
        )
        heading = section_key
        if section_key == "data":
            yield heading, "data", section
        else:
            yield "model", "model", schema["properties"]["model"]
            if section_key == "model.encoder":
                for key, sub in schema["properties"]["model"]["properties"].items():
                    if key not in ("encoder", "head"):
                        yield "model", f"model.{key}", sub
                        for inner, deeper in walk(sub, f"model.{key}."):
                            yield "model", inner, deeper
            yield heading, section_key, section
        for key, sub in section["properties"].items():
            yield heading, f"{section_key}.{key}", sub
            for inner, deeper in walk(sub, f"{section_key}.{key}."):
                yield heading, inner, deeper
        for part, then in _branches(section):
            for key, sub in walk(then, f"{section_key}."):
                yield f"{section_key} ({word} `{part}`)", key, sub


def missing_descriptions(schema: dict) -> list[str]:
    """Dotted keys (with their section) of the merged schema that have no description."""
    seen, missing = set(), []
    for heading, key, prop in every_key(schema):
        label = f"{heading}: {key}"
        if label not in seen and not str(prop.get("description", "")).strip():
            missing.append(label)
        seen.add(label)
    return missing


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;")


def _row(key: str, prop: dict) -> str:
    return f"| `{key}` | {_cell(_type(prop))} | {_cell(_default(prop))} | {_cell(_allowed(prop))} | {_cell(prop.get('description', ''))} |"


def markdown(schema: dict) -> str:
    """docs/recipes.md: one section per top-level key and per registered adapter / encoder / head."""
    sections: dict[str, list[tuple[str, dict]]] = {}
    for heading, key, prop in every_key(schema):
        rows = sections.setdefault(heading, [])
        if all(existing != key for existing, _ in rows):
            rows.append((key, prop))
    out = [HEADER]
    out.append("Top-level keys: " + ", ".join(f"`{k}`" for k in schema["properties"]) + ".\n")
    # Scalar top-level keys share one table; each section (an object) gets its own.
    scalars = [name for name, rows in sections.items() if len(rows) == 1 and name in schema["properties"]]
    sections = {
        "(top level)": [("(top level)", {})] + [rows[0] for name, rows in sections.items() if name in scalars],
        **{name: rows for name, rows in sections.items() if name not in scalars},
    }
    for heading, rows in sections.items():
        if heading == "(top level)":
            out.append("## Top-level settings\n")
            out.append("| key | type | default | allowed | description |")
            out.append("|---|---|---|---|---|")
            for key, prop in rows[1:]:
                out.append(_row(key, prop))
            out.append("")
            continue
        title, *rest = heading.split(" ", 1)
        out.append(f"## `{title}` {rest[0] if rest else ''}".rstrip() + "\n")
        head_key, head_prop = rows[0]
        if head_key == title and head_prop.get("description"):
            out.append(_cell(head_prop["description"]) + "\n")
        out.append("| key | type | default | allowed | description |")
        out.append("|---|---|---|---|---|")
        for key, prop in rows:
            if key == title:
                continue
            out.append(_row(key, prop))
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def merged() -> dict[str, Any]:
    from seqkit.plugins import get_plugin_manager
    from seqkit.recipe.schema import merged_schema

    return merged_schema(get_plugin_manager())


if __name__ == "__main__":
    print(markdown(merged()), end="")
