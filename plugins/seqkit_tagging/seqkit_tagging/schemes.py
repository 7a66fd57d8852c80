"""Tag schemes for chunks (entities): BIO (IOB2) and BIOES (IOBES).

BIO marks the first token of an entity ``B-TYPE`` and the following ones ``I-TYPE``.
BIOES also marks the last token ``E-TYPE`` and one-token entities ``S-TYPE``. Conversion goes
through entity spans, read with conlleval's rules (an ``I-`` that does not continue an entity
of its type starts one), so converting a BIO file to BIOES and back gives the same entities.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

SCHEMES = ("bio", "bioes")
PREFIXES = {"bio": ("B", "I"), "bioes": ("B", "I", "E", "S")}


class Entity(NamedTuple):
    type: str
    start: int  # first token
    end: int  # one past the last token


def check_tag(tag: str, scheme: str) -> str | None:
    """Return why ``tag`` is not a valid tag of ``scheme``, or None when it is."""
    if tag == "O":
        return None
    prefix, dash, kind = tag.partition("-")
    if not dash or not kind or prefix not in PREFIXES[scheme]:
        allowed = ", ".join(f"{p}-TYPE" for p in PREFIXES[scheme])
        return f"invalid {scheme.upper()} tag {tag!r}: expected O, {allowed}"
    return None


def check_bioes_sequence(tags: Sequence[str]) -> tuple[int, str] | None:
    """Strict BIOES transitions: (index, problem) of the first bad tag, or None.

    ``B``/``I`` must be followed by ``I``/``E`` of the same type; ``I``/``E`` must follow
    ``B``/``I`` of the same type."""
    previous = "O"
    for index, tag in enumerate(list(tags) + ["O"]):
        open_chunk = previous[:1] in ("B", "I")
        continues = tag[:1] in ("I", "E")
        if open_chunk and not (continues and tag[2:] == previous[2:]):
            if index == len(tags):
                return index - 1, f"{previous!r} ends the sentence; BIOES ends an entity with E- or S-"
            return index, f"{tag!r} after {previous!r}; BIOES continues an entity with I-/E- of the same type"
        if continues and not open_chunk:
            return index, f"{tag!r} after {previous!r}; BIOES starts an entity with B- or S-"
        previous = tag
    return None


def entities(tags: Sequence[str]) -> list[Entity]:
    """Entity spans of a BIO or BIOES tag sequence, with conlleval's rules for ill-formed ones."""
    spans: list[Entity] = []
    start, kind = None, None
    for index, tag in enumerate(list(tags) + ["O"]):
        prefix, _, tag_kind = tag.partition("-")
        # Does this tag end the open entity before it?
        if start is not None and (prefix in ("O", "B", "S") or tag == "O" or tag_kind != kind):
            spans.append(Entity(kind, start, index))
            start, kind = None, None
        if tag == "O":
            continue
        if start is None:
            start, kind = index, tag_kind
        if prefix in ("E", "S"):
            spans.append(Entity(kind, start, index + 1))
            start, kind = None, None
    return spans


def from_entities(spans: Iterable[Entity], length: int, scheme: str) -> list[str]:
    tags = ["O"] * length
    for span in spans:
        size = span.end - span.start
        if scheme == "bioes" and size == 1:
            tags[span.start] = f"S-{span.type}"
            continue
        tags[span.start] = f"B-{span.type}"
        for index in range(span.start + 1, span.end):
            tags[index] = f"I-{span.type}"
        if scheme == "bioes":
            tags[span.end - 1] = f"E-{span.type}"
    return tags


def convert(tags: Sequence[str], scheme: str) -> list[str]:
    """Rewrite a BIO or BIOES sequence in ``scheme`` (same entities)."""
    return from_entities(entities(tags), len(tags), scheme)


def tag_inventory(types: Iterable[str], scheme: str) -> list[str]:
    """Every tag of ``scheme`` for these entity types: ``O`` first, then by type."""
    return ["O"] + [f"{prefix}-{kind}" for kind in sorted(set(types)) for prefix in PREFIXES[scheme]]
