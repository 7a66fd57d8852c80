"""In-memory data: pandas DataFrames, NumPy arrays and Python lists where a recipe names a file.

``seqkit.run(recipe, data=df)`` (or ``"data": {"train": df}`` in a recipe dict) puts an
:class:`InMemoryData` where a file path would be. The recipe itself then holds a
placeholder string that describes the data (``<in-memory DataFrame: 120 rows, sha256 ...>``):
it validates like a path, is written to the run's ``recipe.yaml`` as the record of what was
trained on, and :meth:`seqkit.data.adapter.DataContext.resolve` turns it back into the data
while the objects are alive. The shared readers (``iter_rows``, ``require_file``,
``detect_format``) accept it wherever they accept a path, so an adapter that reads through
them takes in-memory data with no code of its own; one that reads files itself asks
:func:`is_in_memory` and uses :meth:`InMemoryData.rows`, :meth:`~InMemoryData.arrays`,
:meth:`~InMemoryData.pairs` or :meth:`~InMemoryData.frame`.

Rows are named ``data.<key> (<kind>):<row>`` in errors: the DataFrame's index label, else the
position counted from 0 (``df.loc[row]`` / ``items[row]`` shows it).
"""

from __future__ import annotations

import hashlib
import json
import math
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

from seqkit.errors import DataError

PREFIX = "<in-memory "
#: recipe ``data:`` keys that may hold in-memory data instead of a file path.
DATA_KEYS = ("path", "train", "validation", "test")
#: names of the columns of a tuple ``(x, y[, lengths])``.
POSITIONAL = ("x", "y", "lengths")

# placeholder -> data; weak, so data a finished run no longer needs is freed (a Recipe keeps
# its own sources alive: Recipe.in_memory).
_LIVE: weakref.WeakValueDictionary[str, InMemoryData] = weakref.WeakValueDictionary()


def _is_pandas(value: Any, name: str) -> bool:
    return type(value).__module__.startswith("pandas") and type(value).__name__ == name


def _is_array(value: Any) -> bool:
    return type(value).__module__ == "numpy" and type(value).__name__ == "ndarray"


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple)) or _is_array(value) or _is_pandas(value, "Series")


def is_data_object(value: Any) -> bool:
    """Is ``value`` data held in memory (not a path, a list of paths or a setting)?"""
    if isinstance(value, InMemoryData) or _is_pandas(value, "DataFrame") or _is_pandas(value, "Series"):
        return True
    if _is_array(value) or isinstance(value, tuple):
        return True
    if isinstance(value, dict):
        return bool(value) and all(_is_sequence(v) for v in value.values())
    if isinstance(value, list):
        return bool(value) and not all(isinstance(v, str) for v in value)
    return False


def is_in_memory(value: Any) -> bool:
    """True for in-memory data and for the placeholder that stands for it in a recipe."""
    return isinstance(value, InMemoryData) or (isinstance(value, str) and value.startswith(PREFIX))


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return type(value).__name__ in ("NAType", "NaTType")


def _plain(value: Any) -> Any:
    """NumPy scalars -> Python values; NaN / None / pd.NA -> None."""
    if _missing(value):
        return None
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy":
        value = item()
        return None if _missing(value) else value
    return value


class InMemoryData:
    """Data held in memory, standing where ``data.<key>`` would name a file.

    Args:
        value: a pandas DataFrame (named columns), a dict of equal-length columns
            (``{"text": [...], "label": [...]}``), a tuple ``(x, y)`` or ``(x, y, lengths)`` of
            NumPy arrays or lists (columns by position), a list of ``(tokens, tags)`` pairs, or
            a single array / list (inputs without labels, for prediction).
        key: the recipe key it stands for (``train``), used in error messages.
    """

    def __init__(self, value: Any, key: str = "path"):
        if isinstance(value, InMemoryData):
            value = value.value
        self.value = value
        self.key = key
        self.positional = False
        self._frame = None
        if _is_pandas(value, "DataFrame"):
            self.kind = "DataFrame"
            self._frame = value
            self.columns = {str(c): value[c] for c in value.columns}
            if len(set(self.columns)) != len(value.columns):
                raise DataError(f"{self.where}: duplicate column names: {', '.join(map(str, value.columns))}")
            self.index = list(value.index) if not _is_range_index(value) else list(range(len(value)))
        elif _is_pandas(value, "Series"):
            self.kind = "Series"
            self.columns = {str(value.name or "x"): value}
            self.index = list(range(len(value)))
        elif isinstance(value, dict):
            self.kind = "dict of columns"
            self.columns = {str(k): v for k, v in value.items()}
            self.index = None
        elif isinstance(value, tuple):
            if not 1 <= len(value) <= 3:
                raise DataError(
                    f"data.{key}: expected a tuple (x, y) or (x, y, lengths). Received a tuple of {len(value)} items"
                )
            self.kind = "arrays" if any(_is_array(v) for v in value) else "lists"
            self.positional = True
            self.columns = dict(zip(POSITIONAL, value))
            self.index = None
        elif _is_array(value):
            self.kind = "array"
            self.positional = True
            self.columns = {"x": value}
            self.index = None
        elif isinstance(value, list):
            if value and all(isinstance(item, (list, tuple)) and len(item) == 2 for item in value):
                self.kind = "list of pairs"
                self.positional = True
                self.columns = {"x": [item[0] for item in value], "y": [item[1] for item in value]}
            else:
                self.kind = "list"
                self.positional = True
                self.columns = {"x": value}
            self.index = None
        else:
            raise DataError(
                f"data.{key}: expected a file path, a pandas DataFrame, a dict of columns, a tuple (x, y) of "
                f"arrays or lists, or a list of (tokens, tags) pairs. Received: {type(value).__name__}"
            )
        for name, column in self.columns.items():
            if not _is_sequence(column):
                raise DataError(
                    f"{self.where}: column {name!r} must be a list or an array. Received: {type(column).__name__}"
                )
        sizes = {name: len(column) for name, column in self.columns.items()}
        if len(set(sizes.values())) > 1:
            raise DataError(
                f"{self.where}: columns differ in length ("
                + ", ".join(f"{name}: {size}" for name, size in sizes.items())
                + "); every column needs one value per row"
            )
        self.length = next(iter(sizes.values()), 0)
        if self.index is None:
            self.index = list(range(self.length))
        self.sha256 = self._digest()
        self.placeholder = (
            f"{PREFIX}{self.kind}: {self.length} rows"
            + (f", columns {', '.join(self.columns)}" if not self.positional else "")
            + f", sha256 {self.sha256[:16]}>"
        )
        _LIVE[self.placeholder] = self

    # -- naming ----------------------------------------------------------------------------

    @property
    def where(self) -> str:
        """How errors name it: ``data.train (DataFrame)``."""
        kind = getattr(self, "kind", type(self.value).__name__)
        return f"data.{self.key} ({kind})"

    def __str__(self) -> str:
        return self.where

    def __repr__(self) -> str:
        return f"InMemoryData({self.placeholder!r})"

    def __len__(self) -> int:
        return self.length

    def record(self) -> dict:
        """What the run directory keeps about it (``data_info.json``: ``in_memory``)."""
        return {
            "kind": self.kind,
            "rows": self.length,
            "columns": list(self.columns),
            "sha256": self.sha256,
        }

    def _digest(self) -> str:
        digest = hashlib.sha256(self.kind.encode())
        for name, column in self.columns.items():
            digest.update(b"\0" + name.encode() + b"\0")
            array = column.to_numpy() if hasattr(column, "to_numpy") else column
            if _is_array(array) and array.dtype.kind in "biufcmM":
                digest.update(f"{array.dtype.str}{array.shape}".encode())
                digest.update(array.tobytes())
            else:
                values = array.tolist() if _is_array(array) else list(array)
                digest.update(json.dumps(values, default=_jsonable, ensure_ascii=False).encode())
        if self._frame is not None and not _is_range_index(self._frame):
            digest.update(json.dumps(self.index, default=str).encode())
        return digest.hexdigest()

    # -- reading ---------------------------------------------------------------------------

    def column_names(self, names: Sequence[str] | None = None) -> list[str]:
        """The column names rows carry: ``names`` by position for a positional source (a tuple,
        a list), else the source's own."""
        if self.positional and names:
            if len(names) < len(self.columns):
                raise DataError(
                    f"{self.where}: {len(self.columns)} columns by position, but only {len(names)} names "
                    f"({', '.join(names)})"
                )
            return list(names[: len(self.columns)])
        return list(self.columns)

    def rows(self, names: Sequence[str] | None = None) -> Iterator[tuple[Any, dict]]:
        """Yield (row label, row as dict) like :func:`seqkit.data.tables.iter_rows`; values are
        Python scalars (NaN, None and pd.NA become None) or, in list columns, lists."""
        keys = self.column_names(names)
        columns = [column.tolist() if hasattr(column, "tolist") else list(column) for column in self.columns.values()]
        for position, label in enumerate(self.index):
            yield label, {key: _plain(column[position]) for key, column in zip(keys, columns)}

    def arrays(self, required: Sequence[str] = ("x",)) -> dict:
        """The columns as NumPy arrays (``x``, ``y``, ``lengths`` for a tuple); missing
        ``required`` columns are named."""
        import numpy as np

        for name in required:
            if name not in self.columns:
                raise DataError(
                    f"{self.where}: missing {name!r}. Received: {', '.join(self.columns)} "
                    "(give a tuple (x, y) or (x, y, lengths), or a dict with keys x, y, lengths)"
                )
        out = {}
        for name, column in self.columns.items():
            try:
                out[name] = np.asarray(column.to_numpy() if hasattr(column, "to_numpy") else column)
            except ValueError as exc:  # ragged lists
                raise DataError(f"{self.where}: {name} is not a regular array ({str(exc).splitlines()[0]})") from None
            if out[name].dtype == object and name == "x":
                raise DataError(
                    f"{self.where}: x must be numbers of one shape (n, steps, features); pad ragged sequences "
                    "and give their lengths"
                )
        return out

    def pairs(self, first: str, second: str | None) -> Iterator[tuple[Any, list, list | None]]:
        """Yield (row label, first, second) for sources of list pairs (``[(tokens, tags), ...]``,
        or a DataFrame / dict with list columns ``first`` and ``second``); ``second=None`` reads
        only the first."""
        wanted = [first] + ([second] if second else [])
        names = self.column_names(wanted)
        missing = [n for n in wanted if n not in names]
        if missing:
            from seqkit.errors import did_you_mean

            hint = did_you_mean(missing[0], names)
            raise DataError(
                f"{self.where}: missing column {missing[0]!r}. {hint + ' ' if hint else ''}Columns: {', '.join(names)}"
            )
        for label, row in self.rows(wanted):
            yield label, row[first], (row[second] if second else None)

    def frame(self, index_name: str | None = None):
        """The data as a pandas DataFrame. A DataFrame indexed by something other than 0..n-1
        (e.g. timestamps) gets its index as the column ``index_name`` unless it has that column."""
        import pandas as pd

        if self._frame is not None:
            frame = self._frame
            if index_name and index_name not in frame.columns and not _is_range_index(frame):
                frame = frame.rename_axis(index_name).reset_index()
            return frame
        return pd.DataFrame({name: list(column) for name, column in self.columns.items()})


def _is_range_index(frame) -> bool:
    import pandas as pd

    index = frame.index
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1 and index.name is None


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def lookup(placeholder: str) -> InMemoryData:
    """The data a placeholder stands for, while it is alive."""
    found = _LIVE.get(placeholder)
    if found is None:
        raise DataError(
            f"{placeholder} was in-memory data of the Python session that made this recipe; "
            "pass the data again (seqkit.run(recipe, data=...)) or give a file"
        )
    return found


def extract(section: dict, data: Any = None, schema_keys: Sequence[str] = DATA_KEYS) -> tuple[dict, list]:
    """A copy of a recipe's ``data:`` section with in-memory data (in the section, or given as
    ``data``) replaced by placeholders; returns (section, the InMemoryData objects).

    ``data`` is one object (it goes to ``path`` when the section has no ``train``, and to
    ``train`` otherwise) or a dict with keys among path / train / validation / test. The
    section's own ``x`` / ``y`` / ``lengths`` arrays become the training data."""
    section = dict(section or {})
    sources = []
    if any(k in section and (_is_array(section[k]) or isinstance(section[k], list)) for k in POSITIONAL):
        arrays = {k: section.pop(k) for k in POSITIONAL if k in section}
        section["train"] = arrays
    if data is not None:
        if isinstance(data, dict) and data and set(data) <= set(DATA_KEYS):
            given = dict(data)
        else:
            use_path = "path" in schema_keys and not section.get("train")
            given = {"path" if use_path else "train": data}
        section.update(given)
        # Data given for train replaces the recipe's path, and the other way round.
        if "train" in given and "path" not in given:
            section.pop("path", None)
        if "path" in given and "train" not in given:
            section.pop("train", None)
    for key in DATA_KEYS:
        value = section.get(key)
        paths = isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        if value is not None and not paths:  # data, or something that is neither (named by InMemoryData)
            source = value if isinstance(value, InMemoryData) else InMemoryData(value, key)
            source.key = key
            sources.append(source)
            section[key] = source.placeholder
    return section, sources


def records(section: dict) -> dict:
    """``{key: record}`` of the in-memory data a data section's placeholders stand for."""
    found = {}
    for key in DATA_KEYS:
        value = section.get(key)
        if isinstance(value, str) and value.startswith(PREFIX):
            source = _LIVE.get(value)
            found[key] = source.record() if source is not None else {"placeholder": value}
    return found
