"""Symbols, vocabularies and the packed model input of the seq2seq plugin (NumPy only).

A model input row packs the source ids and the decoder's input ids into one int32 vector:
``[source (max_source_length) | <s> target (max_target_length)]``. The training rows carry the
reference after ``<s>`` (teacher forcing); rows to predict carry zeros there, and the decoder
then feeds back its own outputs (free-running greedy decoding inside the saved model).
Targets are ``target + </s>`` padded with 0, shape ``(n, max_target_length + 1)``; a split
scored against several references (CMUdict's alternates) has ``(n, references, length)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
UNITS = ("char", "token")


def split_units(text: str, unit: str) -> list[str]:
    """A string -> its symbols: characters, or whitespace-separated tokens."""
    return list(text) if unit == "char" else text.split()


def join_units(symbols: Sequence[str], unit: str) -> str:
    return "".join(symbols) if unit == "char" else " ".join(symbols)


def build_vocabulary(sequences: Iterable[Sequence[str]], min_count: int = 1) -> list[str]:
    """Specials first, then symbols by falling frequency (ties alphabetical)."""
    counts = Counter(symbol for sequence in sequences for symbol in sequence)
    kept = sorted((s for s, n in counts.items() if n >= min_count and s not in SPECIALS), key=lambda s: (-counts[s], s))
    return SPECIALS + kept


def ids_of(symbols: Sequence[str], index: dict[str, int]) -> list[int]:
    return [index.get(s, UNK) for s in symbols]


def symbols_of(ids: Iterable[int], vocabulary: Sequence[str]) -> list[str]:
    """Model ids -> symbols, stopping at ``</s>`` and skipping padding and ``<s>``."""
    out = []
    for i in ids:
        i = int(i)
        if i == EOS:
            break
        if i in (PAD, BOS) or i >= len(vocabulary) or i < 0:
            continue
        out.append(vocabulary[i])
    return out


def packed_width(info: dict) -> int:
    return int(info["max_source_length"]) + int(info["max_target_length"]) + 1


def pack(sources: Sequence[Sequence[int]], info: dict, teacher: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """Source ids (and, for training rows, the reference ids to force) -> packed int32 rows."""
    s = int(info["max_source_length"])
    x = np.zeros((len(sources), packed_width(info)), dtype="int32")
    for row, ids in enumerate(sources):
        x[row, : len(ids)] = ids
        if teacher is not None:
            target = teacher[row]
            x[row, s] = BOS
            x[row, s + 1 : s + 1 + len(target)] = target
    return x


def target_rows(references: Sequence[Sequence[Sequence[int]]], info: dict, grouped: bool) -> np.ndarray:
    """References (ids, one list per reference) -> ``target + </s>`` padded; grouped: all of a
    source's references as ``(n, R, length)``, else the first one, ``(n, length)``."""
    width = int(info["max_target_length"]) + 1
    depth = max((len(r) for r in references), default=1) if grouped else 1
    y = np.zeros((len(references), depth, width), dtype="int32")
    for row, refs in enumerate(references):
        for k, ids in enumerate(refs[:depth]):
            y[row, k, : len(ids)] = ids
            y[row, k, len(ids)] = EOS
    return y if grouped else y[:, 0]


def references_of(y_true: np.ndarray) -> list[list[list[int]]]:
    """Targets (either shape) -> per row, its references as id lists (up to ``</s>``)."""
    y = np.asarray(y_true)
    if y.ndim == 2:
        y = y[:, None, :]
    out = []
    for row in y:
        refs = []
        for ref in row:
            if not (ref > 0).any():
                continue
            ids = []
            for i in ref:
                if i == EOS or i == PAD:
                    break
                ids.append(int(i))
            refs.append(ids)
        out.append(refs)
    return out
