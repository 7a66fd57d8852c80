"""Row-at-a-time readers for CSV / TSV / JSONL / ``LABEL text`` files (``seqkit prepare``).

Unlike :mod:`seqkit.data.tables`, which reads a file whole, these never hold more than one
row, so a file of any size streams in constant memory. Errors name the file and line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from seqkit.data.adapter import require_file
from seqkit.data.tables import detect_format, iter_delimited_lines, iter_jsonl_lines, require_columns
from seqkit.errors import DataError


def hashed_split(index: int, seed: int, validation: float, test: float) -> str:
    """The split of row `index`: a seeded hash, so no pass over the data is needed."""
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=8).digest()
    u = int.from_bytes(digest, "big") / 2.0**64
    if u < test:
        return "test"
    if u < test + validation:
        return "validation"
    return "train"


def expand_shards(path: Path, key: str) -> list[Path]:
    """A path, or the files its glob pattern (``*``, ``?``, ``[``) names, sorted."""
    if not any(c in path.name for c in "*?["):
        return [path]
    matches = sorted(p for p in path.parent.glob(path.name) if p.is_file())
    if not matches:
        raise DataError(f"{path}: no files match this pattern ({key})")
    return matches


# A line longer than this is not a row of a table but a damaged or foreign file; without a
# bound, one newline-free file would be read whole into memory.
MAX_LINE = 64 << 20


def _open(path: Path, encoding: str):
    import io

    from seqkit.files import open_regular

    require_file(path)
    try:
        "".encode(encoding)
    except LookupError:
        raise DataError(f"{path}: unknown encoding {encoding!r} (data.encoding)") from None
    return io.TextIOWrapper(open_regular(path, "data file", DataError), encoding=encoding, newline="")


def _lines(path: Path, handle) -> Iterator[tuple[int, str]]:
    number = 0
    try:
        while True:
            line = handle.readline(MAX_LINE + 1)
            if not line:
                return
            number += 1
            if len(line) > MAX_LINE:
                raise DataError(f"{path}:{number}: line longer than {MAX_LINE:,} characters; not a table row")
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            yield number, line
    except UnicodeDecodeError:
        raise DataError(f"{path}:{number + 1}: not valid {handle.encoding.upper()} text; set data.encoding") from None


def stream_rows(path: Path, fmt: str, encoding: str = "utf-8") -> Iterator[tuple[int, dict]]:
    """Yield (line number, row as dict) from a CSV, TSV or JSONL file, one row at a time."""
    with _open(path, encoding) as handle:
        if fmt == "jsonl":
            yield from iter_jsonl_lines(path, _lines(path, handle))
            return
        if fmt not in ("csv", "tsv"):
            raise DataError(f"{path}: unsupported table format {fmt!r}; expected csv, tsv or jsonl")
        lines = (line for _n, line in _lines(path, handle))
        yield from iter_delimited_lines(path, lines, "," if fmt == "csv" else "\t")


def stream_labelled_texts(
    path: Path, declared_format: str | None, encoding: str, columns: dict[str, str]
) -> Iterator[tuple[str, str, str]]:
    """Yield (text, raw label, 'file:line') from a table or a ``LABEL text`` file."""
    fmt = detect_format(path, declared_format)
    found = False
    if fmt == "label_text":
        with _open(path, encoding) as handle:
            for number, line in _lines(path, handle):
                if not line.strip():
                    continue
                label, sep, text = line.strip().partition(" ")
                if not sep or not text.strip():
                    raise DataError(f"{path}:{number}: expected 'LABEL text' (a label, a space, then the text)")
                found = True
                yield text.strip(), label, f"{path}:{number}"
    else:
        for number, row in stream_rows(path, fmt, encoding):
            require_columns(path, number, row, columns)
            text, label = row[columns["text"]], row[columns["label"]]
            if not isinstance(text, str) or not text.strip():
                raise DataError(
                    f"{path}:{number}: column {columns['text']!r} must hold non-empty text. Received: {text!r}"
                )
            if label is None or str(label).strip() == "":
                raise DataError(f"{path}:{number}: empty label in column {columns['label']!r}")
            found = True
            yield text.strip(), str(label).strip(), f"{path}:{number}"
    if not found:
        raise DataError(f"{path}: no rows found")
