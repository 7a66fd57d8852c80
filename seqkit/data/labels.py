"""Class labels shared by classification adapters: their order and unknown-label errors."""

from __future__ import annotations

from seqkit.errors import DataError, did_you_mean


def _number(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def class_order(values, origin: str) -> list[str]:
    """Distinct labels in index order: numbers numerically ('2' before '10'), then names
    alphabetically. A classifier needs at least two."""
    distinct = set(values)
    ordered = sorted(distinct, key=lambda v: (_number(v) is None, _number(v) or 0.0, v))
    if len(ordered) < 2:
        raise DataError(
            f"{origin}: only one class ({ordered[0]!r}) in the training data; a classifier needs at least two"
        )
    return ordered


def unknown_label(value: str, origin: str, classes, key: str = "data.label") -> DataError:
    hint = did_you_mean(value, classes)
    return DataError(
        f"{origin}: unknown label {value!r} ({key}). Expected one of: {', '.join(classes)}"
        + (f". {hint}" if hint else "")
    )
