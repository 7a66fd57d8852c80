"""What a run's data looked like, for its report: split sizes, class balance, input lengths,
vocabulary coverage, and a fingerprint of the data. Written as ``data_summary.json``.

Everything here reads the :class:`DataBundle` an adapter returned, whatever the task: inputs
that are strings are counted in whitespace tokens, sequences (lists, arrays) in steps.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

SPLITS = ("train", "validation", "test")
SAMPLE = 200_000  # inputs looked at per split for lengths and vocabulary (all of them below this)
HASH_CHUNK = 1 << 20


def _tokens(item: Any) -> list[str] | None:
    if isinstance(item, str):
        return item.split()
    if isinstance(item, (list, tuple)) and item and all(isinstance(t, str) for t in item[:50]):
        return list(item)
    symbols = getattr(item, "symbols", None)  # e.g. a tagged sentence
    if isinstance(symbols, (list, tuple)):
        return [str(t) for t in symbols]
    return None


def _length(item: Any) -> int | None:
    tokens = _tokens(item)
    if tokens is not None:
        return len(tokens)
    if isinstance(item, np.ndarray):
        if item.ndim == 0:
            return None
        if item.dtype.kind == "f" and item.ndim >= 1:  # NaN rows pad a shorter series
            flat = item.reshape(item.shape[0], -1)
            return int((~np.isnan(flat).all(axis=1)).sum())
        return int(item.shape[0])
    if isinstance(item, (list, tuple)):
        return len(item)
    return None


def _items(split) -> list:
    x = split.x
    if isinstance(x, dict) or x is None or not hasattr(x, "__getitem__"):
        return []  # several inputs, or inputs read lazily (prepared shards): no sample here
    try:
        n = min(len(x), SAMPLE)
    except TypeError:
        return []
    return [x[i] for i in range(n)]


def _class_counts(y, classes: list, multilabel: bool) -> dict[str, int] | None:
    if y is None or not classes:
        return None
    y = np.asarray(y)
    if multilabel and y.ndim == 2 and y.shape[1] == len(classes):
        counts = y.sum(axis=0)
    elif y.ndim == 1 and np.issubdtype(y.dtype, np.integer) and len(y):
        if y.min() < 0 or y.max() >= len(classes):
            return None
        counts = np.bincount(y, minlength=len(classes))
    else:
        return None
    return {str(c): int(n) for c, n in zip(classes, counts)}


def summarize(bundle) -> dict[str, Any]:
    """The data summary of ``bundle`` (a :class:`seqkit.data.DataBundle`): JSON-serialisable."""
    info = bundle.info or {}
    classes = list(info.get("classes") or [])
    summary: dict[str, Any] = {"sizes": {}, "class_counts": {}, "lengths": {}}
    vocab: Counter | None = None
    for name in SPLITS:
        split = getattr(bundle, name, None)
        if split is None:
            continue
        summary["sizes"][name] = len(split)
        counts = _class_counts(split.y, classes, bool(info.get("multilabel")))
        if counts is not None:
            summary["class_counts"][name] = counts
        items = _items(split)
        lengths = [n for n in (_length(item) for item in items) if n is not None]
        if lengths:
            arr = np.asarray(lengths)
            edges = np.histogram_bin_edges(arr, bins=min(30, max(1, int(arr.max() - arr.min()) + 1)))
            hist, edges = np.histogram(arr, bins=edges)
            summary["lengths"][name] = {
                "unit": "tokens" if _tokens(items[0]) is not None else "steps",
                "min": int(arr.min()),
                "median": float(np.median(arr)),
                "mean": round(float(arr.mean()), 2),
                "p95": float(np.percentile(arr, 95)),
                "max": int(arr.max()),
                "counted": len(lengths),
                "histogram": {"counts": hist.tolist(), "edges": [round(float(e), 3) for e in edges]},
            }
        token_lists = [t for t in (_tokens(item) for item in items) if t is not None]
        if token_lists:
            counter = Counter(tok.lower() for toks in token_lists for tok in toks)
            if name == "train":
                vocab = counter
                summary["vocabulary"] = {"train_types": len(counter), "train_tokens": int(sum(counter.values()))}
            elif vocab is not None:
                total = sum(counter.values())
                seen = sum(n for tok, n in counter.items() if tok in vocab)
                summary["vocabulary"][f"{name}_token_coverage"] = round(seen / total, 4) if total else None
                summary["vocabulary"][f"{name}_type_coverage"] = (
                    round(sum(1 for tok in counter if tok in vocab) / len(counter), 4) if counter else None
                )
    summary["fingerprint"] = data_fingerprint(bundle)
    return summary


def _update(digest, value: Any) -> None:
    if value is None:
        digest.update(b"\x00none")
    elif isinstance(value, np.ndarray):
        if value.dtype == object:
            for item in value.reshape(-1):
                _update(digest, item)
        else:
            digest.update(str(value.dtype).encode() + str(value.shape).encode())
            digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (str, bytes)):
        digest.update(value.encode() if isinstance(value, str) else value)
        digest.update(b"\x1f")
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            _update(digest, str(key))
            _update(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(b"[")
        for item in value:
            _update(digest, item)
        digest.update(b"]")
    else:
        digest.update(repr(value).encode())


def data_fingerprint(bundle) -> dict[str, str]:
    """SHA-256 of each split's inputs and targets as the model sees them (in-memory data, or
    what the files were read into): equal fingerprints, equal data."""
    found = {}
    for name in SPLITS:
        split = getattr(bundle, name, None)
        if split is None:
            continue
        digest = hashlib.sha256()
        try:
            _update(digest, split.x)
            _update(digest, split.y)
        except (TypeError, ValueError):  # an input type this cannot walk: no fingerprint for it
            continue
        found[name] = digest.hexdigest()
    return found


def file_hashes(paths: list[Path]) -> list[dict[str, Any]]:
    """``[{"path", "bytes", "sha256"}, ...]`` of the data files a run read."""
    rows = []
    for path in paths:
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as handle:
                while chunk := handle.read(HASH_CHUNK):
                    digest.update(chunk)
            size = Path(path).stat().st_size
        except OSError:
            continue
        rows.append({"path": str(Path(path).resolve()), "bytes": size, "sha256": digest.hexdigest()})
    return rows
