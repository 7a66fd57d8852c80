"""Search spaces over dotted recipe keys.

A ``tune.space`` entry maps a dotted recipe key to one of::

    {int: [lo, hi], step: 1, sampling: linear | log}
    {float: [lo, hi], step: 0.1, sampling: linear | log | reverse_log}
    {choice: [a, b, c]}
    {bool: true}                          # true / false, the value is the default
    {fixed: value}
    ... plus  when: {other.dotted.key: [values]}   # only active for those parent values

The KerasTuner hyperparameter of each entry is named by its dotted key. Nothing here
imports Keras or KerasTuner, so ``seqkit validate`` checks spaces instantly.
"""

from __future__ import annotations

import copy
from typing import Any

KINDS = ("int", "float", "choice", "bool", "fixed")

ENTRY_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "int": {
            "type": "array",
            "items": {"type": "integer"},
            "minItems": 2,
            "maxItems": 2,
            "description": "[low, high]: an integer range, both ends included.",
        },
        "float": {
            "type": "array",
            "items": {"type": "number"},
            "minItems": 2,
            "maxItems": 2,
            "description": "[low, high]: a real range (grid search needs a step).",
        },
        "choice": {
            "type": "array",
            "minItems": 1,
            "description": "The values to choose from (numbers, strings or booleans of one type).",
        },
        "bool": {"type": "boolean", "description": "True or false; the value is the default."},
        "fixed": {"description": "One value, recorded as a hyperparameter but not searched."},
        "step": {"type": "number", "exclusiveMinimum": 0, "description": "int / float: spacing of the values tried."},
        "sampling": {
            "enum": ["linear", "log", "reverse_log"],
            "description": "int / float: how the range is sampled (default linear; log for rates).",
        },
        "when": {
            "type": "object",
            "additionalProperties": {"type": "array", "minItems": 1},
            "minProperties": 1,
            "description": "{parent.key: [values]}: the entry is active only when the parent takes one of them.",
        },
    },
}


def entry_kind(entry: dict) -> str | None:
    kinds = [k for k in KINDS if k in entry]
    return kinds[0] if len(kinds) == 1 else None


def sample_values(entry: dict) -> list:
    """Values the entry can take at its edges (for validation)."""
    kind = entry_kind(entry)
    if kind in ("int", "float"):
        return list(entry[kind])
    if kind == "choice":
        return list(entry["choice"])
    if kind == "bool":
        return [True, False]
    if kind == "fixed":
        return [entry["fixed"]]
    return []


def check_space(space: dict) -> list[tuple[str, str]]:
    """Cross-entry checks: (dotted key under tune.space, message)."""
    problems = []
    for key, entry in space.items():
        if not isinstance(entry, dict):
            continue
        kind = entry_kind(entry)
        if kind is None:
            problems.append((key, f"give exactly one of {', '.join(KINDS)}"))
            continue
        if kind == "choice":
            types = {type(v) for v in entry["choice"]}
            if len(types) > 1 or not types <= {int, float, str, bool}:
                problems.append((key, "choice values must be numbers, strings or booleans, all of one type"))
        if kind in ("int", "float"):
            lo, hi = entry[kind]
            if lo > hi:
                problems.append((key, f"{kind} range must be [low, high]. Received: [{lo}, {hi}]"))
            if entry.get("sampling") in ("log", "reverse_log") and lo <= 0:
                problems.append((key, "log sampling needs a positive low bound"))
        when = entry.get("when") or {}
        if len(when) > 1:
            problems.append((key, "when: one parent key only"))
        for parent in when:
            if parent not in space:
                problems.append((key, f"when: {parent!r} is not a key of tune.space"))
            elif parent == key:
                problems.append((key, "when: an entry cannot depend on itself"))
    return problems


def apply_values(recipe_data: dict, values: dict[str, Any]) -> dict:
    from seqkit.recipe.loader import SourceMap, apply_overrides

    return apply_overrides(copy.deepcopy(recipe_data), values, SourceMap("<tune>"))


def declare(hp, space: dict) -> dict[str, Any]:
    """Declare every entry on a KerasTuner ``HyperParameters``; return the active values."""
    values: dict[str, Any] = {}
    for key, entry in space.items():
        conditions = entry.get("when") or {}
        if conditions:
            ((parent, parent_values),) = conditions.items()  # check_space allows one parent
            with hp.conditional_scope(parent, parent_values):
                value = _declare_one(hp, key, entry)
            if hp.is_active(key):
                values[key] = value
        else:
            values[key] = _declare_one(hp, key, entry)
    return values


def _declare_one(hp, key: str, entry: dict):
    kind = entry_kind(entry)
    if kind == "int":
        lo, hi = entry["int"]
        return hp.Int(
            key,
            lo,
            hi,
            step=int(entry["step"]) if entry.get("step") else None,
            sampling=entry.get("sampling", "linear"),
        )
    if kind == "float":
        lo, hi = entry["float"]
        return hp.Float(key, lo, hi, step=entry.get("step"), sampling=entry.get("sampling", "linear"))
    if kind == "choice":
        return hp.Choice(key, entry["choice"])
    if kind == "bool":
        return hp.Boolean(key, default=bool(entry["bool"]))
    return hp.Fixed(key, entry["fixed"])
