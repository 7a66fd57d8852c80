"""Shared readers for tabular files (CSV, TSV, JSONL) with line-numbered errors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

from seqkit.data.adapter import require_file
from seqkit.errors import DataError

FORMATS = ("csv", "tsv", "jsonl")
_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


def detect_format(path: Path, declared: str | None) -> str:
    if declared and declared != "auto":
        return declared
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"{path}: cannot tell the format from the extension {path.suffix!r}; "
            f"set data.format to one of: {', '.join(FORMATS)}, label_text"
        )
    return fmt


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """A text file read whole: a regular file of at most 2 GiB (larger data streams with
    ``seqkit prepare``), decoded with line-numbered errors."""
    from seqkit.files import WHOLE_FILE_LIMIT, read_bounded

    require_file(path)
    raw = read_bounded(
        path, "data file", WHOLE_FILE_LIMIT, DataError, hint="; stream it with seqkit prepare (data larger than memory)"
    )
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path}:{line}: not valid {encoding.upper()} text (byte {exc.start}); set data.encoding"
        ) from None
    except LookupError:
        raise DataError(f"{path}: unknown encoding {encoding!r} (data.encoding)") from None


def iter_rows(path: Path, fmt: str, encoding: str = "utf-8") -> Iterator[tuple[int, dict]]:
    """Yield (line number, row as dict) from a CSV, TSV or JSONL file."""
    text = read_text(path, encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    if fmt == "jsonl":
        yield from _iter_jsonl(path, text)
    elif fmt in ("csv", "tsv"):
        yield from _iter_delimited(path, text, "," if fmt == "csv" else "\t")
    else:
        raise DataError(f"{path}: unsupported table format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _iter_jsonl(path: Path, text: str):
    yield from iter_jsonl_lines(path, enumerate(text.splitlines(), start=1))


def iter_jsonl_lines(path: Path, numbered_lines):
    """Yield (line number, object) from (line number, line) pairs of a JSONL file."""
    for number, line in numbered_lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number}: invalid JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise DataError(f"{path}:{number}: invalid JSON (nested too deeply)") from None
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            raise DataError(f"{path}:{number}: invalid JSON ({str(exc).splitlines()[0][:120]})") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{number}: expected a JSON object per line. Received: {type(row).__name__}")
        yield number, row


def _iter_delimited(path: Path, text: str, delimiter: str):
    yield from iter_delimited_lines(path, io.StringIO(text, newline=""), delimiter)


def iter_delimited_lines(path: Path, lines, delimiter: str):
    """Yield (line number, row as dict) from the lines of a CSV / TSV file with a header."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{path}: file is empty") from None
    except csv.Error as exc:
        raise DataError(f"{path}:1: malformed header ({exc})") from None
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise DataError(f"{path}:1: duplicate column names: {', '.join(dupes)}")
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"{path}:{reader.line_num}: malformed row ({exc})") from None
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        if len(fields) != len(header):
            raise DataError(
                f"{path}:{reader.line_num}: expected {len(header)} fields ({', '.join(header)}), found {len(fields)}"
            )
        yield reader.line_num, dict(zip(header, fields))


def require_columns(path: Path, number: int, row: dict, columns: dict[str, str]) -> None:
    """Check that every column the recipe names exists; columns maps recipe key -> column."""
    for key, column in columns.items():
        if column not in row:
            from seqkit.errors import did_you_mean

            hint = did_you_mean(column, list(row))
            names = list(map(str, row))
            separator = next((c for c in ";,\t|" if len(names) == 1 and c in names[0]), None)
            if separator:  # e.g. a ';'-separated file read as CSV
                hint = (
                    f"The header is one column holding {separator!r}: the file looks {separator!r}-separated; "
                    "seqkit reads .csv with ',' and .tsv with tabs (data.format)."
                )
            raise DataError(
                f"{path}:{number}: missing column {column!r} (data.{key}). "
                + (f"{hint} " if hint else "")
                + f"Columns: {', '.join(names)}"
            )
