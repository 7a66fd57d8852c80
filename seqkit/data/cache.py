"""A cache of parsed data on disk: what a slow reader (music21 scores, large corpora) makes
from a file, kept as JSON in a folder of its own.

Entries live under ``$SEQKIT_CACHE`` (default ``$XDG_CACHE_HOME/seqkit``, else
``~/.cache/seqkit``); ``SEQKIT_CACHE=off`` turns caching off. An entry is keyed by the
reader's name and version and by the source file's bytes (its SHA-256), so an edited file or
a newer reader parses again. Entries are plain JSON (nothing in the cache can run code when
read), written atomically; an entry that cannot be read is parsed again and replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

OFF = ("off", "0", "false", "no", "none")


def cache_root() -> Path | None:
    """The cache folder, or None when ``SEQKIT_CACHE`` turns caching off."""
    setting = os.environ.get("SEQKIT_CACHE", "").strip()
    if setting.lower() in OFF:
        return None
    if setting:
        return Path(setting).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seqkit"


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_json(kind: str, version: str, source: Path, compute: Callable[[], Any]) -> Any:
    """``compute()``'s JSON-able result for ``source``, read from the cache when an entry for
    (``kind``, ``version``, the file's bytes) exists, else computed and stored.

    ``kind`` names the reader (a folder of the cache, e.g. ``music21-scores``); ``version``
    must change whenever what ``compute`` returns for the same file changes (e.g. the parsing
    library's version plus the reader's own format number).
    """
    root = cache_root()
    if root is None:
        return compute()
    try:
        key = hashlib.sha256(f"{version}\0{file_digest(source)}".encode()).hexdigest()
    except OSError:  # the reader reports a missing or unreadable file in its own words
        return compute()
    entry = root / kind / key[:2] / f"{key}.json"
    try:
        return json.loads(entry.read_text(encoding="utf-8"))["value"]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no entry yet, or one that was cut short: parse again
    value = compute()
    try:
        from seqkit.train.rundir import atomic_write_text

        entry.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(entry, json.dumps({"source": str(source), "version": version, "value": value}))
    except OSError:
        pass  # a read-only or full cache folder only costs the next run the parse
    return value
