"""Shared readers for tabular files (CSV, TSV, JSONL) with line-numbered errors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from seqkit.data.adapter import require_file
from seqkit.errors import DataError

FORMATS = ("csv", "tsv", "jsonl")
_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


def detect_format(path: Path, declared: str | None) -> str:
    """The table format of a file: ``declared`` unless it is ``auto``, else from the
    extension; ``"memory"`` for in-memory data (whatever was declared)."""
    from seqkit.data.memory import InMemoryData

    if isinstance(path, InMemoryData):
        return "memory"
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


def text_lines(text: str) -> list[str]:
    """``text`` split into lines at ``\\n``, ``\\r\\n`` and ``\\r`` only, as a file opened in
    text mode is; ``str.splitlines()`` also breaks at NEL (byte 0x85 in latin-1), form feeds and
    Unicode separators, which shifts every line number after them."""
    lines = io.StringIO(text, newline=None).read().split("\n")
    if lines[-1] == "":  # the end of the last line, or an empty text
        lines.pop()
    return lines


BAD_LINE_POLICIES = ("error", "skip", "warn")


class BadLines:
    """What a reader does with a line it cannot use (``data.on_bad_lines``): ``error`` (the
    default) reads on to count them and then fails naming the first few; ``skip`` and ``warn``
    drop them and keep the count and the first few for the run's record (:meth:`record`;
    ``warn`` also prints :meth:`note`).

    >>> bad = BadLines("skip", "data.train")
    >>> bad.add("reviews.tsv:7: expected 2 fields (text, label), found 1")
    >>> bad.count, bad.note()
    (1, 'skipped 1 bad line of data.train (data.on_bad_lines: skip): reviews.tsv:7: expected 2 fields (text, label), found 1')
    """

    def __init__(self, policy: str = "error", key: str = "data", keep: int = 5):
        if policy not in BAD_LINE_POLICIES:
            raise DataError(f"data.on_bad_lines: expected one of {', '.join(BAD_LINE_POLICIES)}. Received: {policy!r}")
        self.policy, self.key, self.keep = policy, key, keep
        self.count = 0
        self.first: list[str] = []

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.first) < self.keep:
            self.first.append(message)

    def check(self) -> None:
        """Raise the collected bad lines as one DataError (policy ``error``)."""
        if self.policy != "error" or not self.count:
            return
        more = self.count - 1
        text = self.first[0]
        if more:
            shown = "; ".join(self.first[1:])
            text += (
                f" (and {more} more bad line{'s' if more > 1 else ''}: {shown}{'; ...' if more >= self.keep else ''})"
            )
        raise DataError(text + "; set data.on_bad_lines: skip (or warn) to drop bad lines")

    def note(self) -> str | None:
        """One line about the dropped lines, or None when there were none."""
        if not self.count:
            return None
        lines = "line" if self.count == 1 else "lines"
        shown = "; ".join(self.first) + ("; ..." if self.count > len(self.first) else "")
        return f"skipped {self.count} bad {lines} of {self.key} (data.on_bad_lines: {self.policy}): {shown}"

    def record(self) -> dict:
        return {"skipped": self.count, "first": list(self.first)}


def _bad(bad_lines: BadLines | None, message: str) -> None:
    if bad_lines is None:
        raise DataError(message)
    bad_lines.add(message)


def iter_rows(
    path: Path,
    fmt: str,
    encoding: str = "utf-8",
    *,
    header: bool = True,
    columns: Sequence[str] | None = None,
    quoting: str = "double",
    bad_lines: BadLines | None = None,
) -> Iterator[tuple[int, dict]]:
    """Yield (line number, row as dict) from a CSV, TSV or JSONL file, or (row, dict) from
    in-memory data (:class:`~seqkit.data.memory.InMemoryData`).

    Args:
        header: the first line of a CSV / TSV file names its columns. Without one, ``columns``
            names them by position.
        columns: column names by position (CSV / TSV: instead of the header, or replacing it;
            in-memory tuples and lists: their names).
        quoting: ``double`` (CSV rules: ``"..."`` quotes a field) or ``none`` (a ``"`` is a
            character like any other).
        bad_lines: collects unreadable rows (wrong field count, malformed quoting, invalid JSON)
            instead of raising at the first; the caller calls ``bad_lines.check()`` after.
    """
    from seqkit.data.memory import InMemoryData

    if isinstance(path, InMemoryData):
        yield from path.rows(columns)
        return
    text = read_text(path, encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    if fmt == "jsonl":
        yield from iter_jsonl_lines(path, enumerate(text_lines(text), start=1), bad_lines)
    elif fmt in ("csv", "tsv"):
        yield from iter_delimited_lines(
            path,
            io.StringIO(text, newline=""),
            "," if fmt == "csv" else "\t",
            header=header,
            columns=columns,
            quoting=quoting,
            bad_lines=bad_lines,
        )
    else:
        raise DataError(f"{path}: unsupported table format {fmt!r}; expected one of {', '.join(FORMATS)}")


def iter_jsonl_lines(path: Path, numbered_lines, bad_lines: BadLines | None = None):
    """Yield (line number, object) from (line number, line) pairs of a JSONL file."""
    for number, line in numbered_lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            _bad(bad_lines, f"{path}:{number}: invalid JSON ({exc.msg} at column {exc.colno})")
            continue
        except RecursionError:
            _bad(bad_lines, f"{path}:{number}: invalid JSON (nested too deeply)")
            continue
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            _bad(bad_lines, f"{path}:{number}: invalid JSON ({str(exc).splitlines()[0][:120]})")
            continue
        if not isinstance(row, dict):
            _bad(bad_lines, f"{path}:{number}: expected a JSON object per line. Received: {type(row).__name__}")
            continue
        yield number, row


def iter_delimited_lines(
    path: Path,
    lines,
    delimiter: str,
    *,
    header: bool = True,
    columns: Sequence[str] | None = None,
    quoting: str = "double",
    bad_lines: BadLines | None = None,
):
    """Yield (line number, row as dict) from the lines of a CSV / TSV file (see
    :func:`iter_rows` for the options)."""
    if quoting not in ("double", "none"):
        raise DataError(f"data.quoting: expected 'double' or 'none'. Received: {quoting!r}")
    options = {"quoting": csv.QUOTE_NONE} if quoting == "none" else {}
    reader = csv.reader(lines, delimiter=delimiter, strict=True, **options)
    names = [str(c).strip() for c in columns] if columns else None
    if not header and not names:
        raise DataError(f"{path}: data.header is false: name the columns by position with data.columns")
    if header:
        try:
            found = next(reader)
        except StopIteration:
            raise DataError(f"{path}: file is empty") from None
        except csv.Error as exc:
            raise DataError(f"{path}:1: malformed header ({exc})") from None
        found = [h.strip() for h in found]
        if names and len(names) != len(found):
            raise DataError(
                f"{path}:1: data.columns names {len(names)} columns ({', '.join(names)}); the header has "
                f"{len(found)} ({', '.join(found)})"
            )
        names = names or found
    if len(set(names)) != len(names):
        dupes = sorted({h for h in names if names.count(h) > 1})
        where = f"{path}:1" if header and not columns else "data.columns"
        raise DataError(f"{where}: duplicate column names: {', '.join(dupes)}")
    seen_data = False
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            hint = '; a lone " in a field? set data.quoting: none' if "quote" in str(exc).lower() else ""
            _bad(bad_lines, f"{path}:{reader.line_num}: malformed row ({exc}{hint})")
            continue
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        seen_data = True
        if len(fields) != len(names):
            _bad(
                bad_lines,
                f"{path}:{reader.line_num}: expected {len(names)} fields ({', '.join(names)}), found {len(fields)}",
            )
            continue
        yield reader.line_num, dict(zip(names, fields))
    if not header and not seen_data:
        raise DataError(f"{path}: file is empty")


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
