"""The adapter protocol: a recipe's ``data:`` section -> train / validation / test splits.

An adapter is a class registered under a name (``seqkit_register_adapters``). seqkit
creates it with the validated ``data:`` section and a :class:`DataContext`, then calls
:meth:`Adapter.load`. At predict time the same adapter turns new raw inputs (command-line
strings or a file) into what the saved model takes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from numbers import Integral
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from seqkit.errors import DataError, PluginError

if TYPE_CHECKING:  # annotations only: `seqkit --help` checks adapter classes without loading NumPy
    import numpy as np


@dataclass
class Split:
    """One split. ``x`` is what the model's preprocessing takes (e.g. raw strings);
    ``y`` the encoded targets; ``raw`` a printable form of each input for predictions.csv."""

    x: Any
    y: np.ndarray | None
    raw: Sequence[Any] | None = None

    def __len__(self) -> int:
        return len(self.y) if self.y is not None else len(self.x)


class DataInfo(dict):
    """The data description an adapter returns with its splits (``DataBundle.info``), saved as
    the run's ``data_info.json`` and handed to the encoder, the head and the task.

    It is a plain JSON-serialisable ``dict`` (``info["classes"]`` keeps working) whose *core*
    keys, the ones seqkit's own parts read, are typed properties; every other key belongs to
    the plugin that wrote it (a forecaster's ``lookback``, a tagger's ``tags`` ...). The
    ``numeric`` encoder also reads ``steps`` (a fixed input length, if an integer), a key whose
    meaning differs between plugins (the music adapters count steps per split in it), so it is
    not a core key.

    Core keys (all optional; set the ones your data has):
        classes: class names in index order (``ClassificationTask``, the ``classifier`` head).
        multilabel: ``y`` is a 0/1 matrix, one column per class, instead of class indices.
        targets: names of real-valued targets, one model output each (``RegressionTask``,
            the ``regressor`` head).
        outputs: number of regression outputs when the targets have no names.
        features: values per step of a numeric input (the ``numeric`` encoder).
        prepared: the folder of data written by ``seqkit prepare`` (the ``tfrecord`` adapter).

    Example:

    >>> info = DataInfo({"classes": ["neg", "pos"], "vocabulary_size": 812})
    >>> info.classes, info.multilabel, info.plugin_keys()
    (['neg', 'pos'], False, {'vocabulary_size': 812})
    """

    #: core key -> what :meth:`validate` expects of it, in words.
    CORE_KEYS: dict[str, str] = {
        "classes": "a list of class names",
        "multilabel": "true or false",
        "targets": "a list of target names (strings)",
        "outputs": "a positive integer",
        "features": "a positive integer",
        "prepared": "a folder path (a string)",
    }

    @property
    def classes(self) -> list | None:
        return self.get("classes")

    @property
    def multilabel(self) -> bool:
        return bool(self.get("multilabel", False))

    @property
    def targets(self) -> list[str] | None:
        return self.get("targets")

    @property
    def outputs(self) -> int | None:
        return self.get("outputs")

    @property
    def features(self) -> int | None:
        return self.get("features")

    @property
    def prepared(self) -> str | None:
        return self.get("prepared")

    def plugin_keys(self) -> dict[str, Any]:
        """The task- and adapter-specific rest: every key that is not a core key."""
        return {k: v for k, v in self.items() if k not in self.CORE_KEYS}

    def problems(self) -> list[tuple[str, str]]:
        """(key, message) for each core key whose value has the wrong type."""
        found = []
        for key, expected in self.CORE_KEYS.items():
            if key in self and not _core_value_ok(key, self[key]):
                text = repr(self[key])
                text = text if len(text) <= 60 else text[:57] + "..."
                found.append((key, f"expected {expected}. Received: {text}"))
        return found

    @classmethod
    def from_json(cls, value: Any, where: str, error: type[Exception] = DataError) -> DataInfo:
        """A data description read back from JSON (a run's ``data_info.json``), validated."""
        if not isinstance(value, dict):
            raise error(f"{where}: expected a mapping of facts about the data. Received: {type(value).__name__}")
        return cls(value).validate(where, error)

    def validate(self, where: str, error: type[Exception] = DataError) -> DataInfo:
        """Raise ``error("{where}: {key}: expected ... Received: ...")`` naming every core key of
        the wrong type (e.g. a hand-edited ``data_info.json``); return self when all are right."""
        found = self.problems()
        if found:
            raise error(f"{where}: " + "; ".join(f"{key}: {message}" for key, message in found))
        return self


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _core_value_ok(key: str, value: Any) -> bool:
    if key == "classes":
        return isinstance(value, list) and all(isinstance(v, (str, int, float, bool)) for v in value)
    if key == "multilabel":
        return isinstance(value, bool)
    if key == "targets":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if key in ("outputs", "features"):
        return _is_int(value) and value >= 1
    if key == "prepared":
        return isinstance(value, str) and bool(value)
    return True


@dataclass
class DataBundle:
    """What :meth:`Adapter.load` returns. ``info`` may be given as a plain dict: it becomes a
    :class:`DataInfo` (checked: a core key of the wrong type is a :class:`PluginError`)."""

    train: Split
    validation: Split | None
    test: Split | None
    # JSON-serialisable facts the model, head and task need (class names, feature count...).
    info: DataInfo = field(default_factory=DataInfo)

    def __post_init__(self):
        if not isinstance(self.info, DataInfo):
            self.info = DataInfo(self.info or {})
        self.info.validate(f"{type(self).__name__}.info (the adapter's data description)", PluginError)


@dataclass
class DataContext:
    """What an adapter may need beyond its own section."""

    base_dir: Path
    seed: int
    task: Any = None
    # What a trained model learned about its data (the run's data_info.json) when data is
    # loaded to score that model (``seqkit evaluate``): encode targets with it (same class
    # order, same scaling...), not with what the new files alone would give. None in training.
    # Only the bundle's test split is used then: an adapter whose test split comes from a file
    # of its own should not read the training data (it may be elsewhere, or gone); see
    # :meth:`Adapter.scoring_a_test_file`.
    info: DataInfo | None = None

    def resolve(self, path: str) -> Path:
        """A recipe's path made absolute against the recipe's folder; for in-memory data (its
        placeholder in the recipe) the :class:`~seqkit.data.memory.InMemoryData` itself."""
        from seqkit.data import memory

        if isinstance(path, memory.InMemoryData):
            return path
        if memory.is_in_memory(path):
            return memory.lookup(path)
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else (self.base_dir / candidate)

    def resolve_files(self, value: Any, key: str) -> list:
        """``data.<key>`` as the files it names: one path, a glob (``data/part-*.csv``,
        ``**`` for any depth; matches sorted by name) or a list of both; in-memory data as
        itself. A pattern that matches nothing is an error naming it."""
        import glob

        from seqkit.data import memory

        if isinstance(value, (list, tuple)) and not isinstance(value, memory.InMemoryData):
            if not value:
                raise DataError(f"data.{key}: the list of files is empty")
            return [found for item in value for found in self.resolve_files(item, key)]
        resolved = self.resolve(value)
        if isinstance(resolved, memory.InMemoryData) or not any(c in str(value) for c in "*?["):
            return [resolved]
        matches = sorted(Path(p) for p in glob.glob(str(resolved), recursive=True) if Path(p).is_file())
        if not matches:
            raise DataError(f"data.{key}: the pattern {str(value)!r} matches no files (in {resolved.parent})")
        return matches


class Adapter:
    """Base class for data adapters.

    Class attributes:
        name: what recipes call it (``data.adapter``); required to register.
        schema: JSON Schema piece (``properties``, ``required``) for the ``data:`` section.
        description: one line for ``seqkit plugins``.
    """

    name: str = ""
    schema: dict = {"properties": {}}
    description: str = ""

    def __init__(self, config: dict, context: DataContext):
        self.config = config
        self.context = context
        # Lines seqkit prints after load() (e.g. bad lines skipped with data.on_bad_lines: warn).
        self.notes: list[str] = []

    def scoring_a_test_file(self, key: str = "test") -> bool:
        """True when the data is loaded to score a trained run (``context.info``) and
        ``data.<key>`` names the test file: only that file needs reading."""
        return self.context.info is not None and bool(self.config.get(key))

    @classmethod
    def check(cls, config: dict) -> list[tuple[str, str]]:
        """Cross-key checks a schema cannot express: a list of (key, message). Optional."""
        return []

    def load(self) -> DataBundle:
        raise NotImplementedError

    def encode_inputs(self, raw_inputs: Sequence[Any], info: dict) -> Any:
        """New raw inputs (e.g. strings from the command line) -> model input."""
        raise DataError(
            f"adapter {type(self).__name__} does not predict raw inputs (seqkit predict); see the task's own command"
        )

    def read_inputs(self, path: Path, info: dict) -> list[Any]:
        """Read raw inputs for ``seqkit predict --input FILE``."""
        raise DataError(f"{path}: adapter {type(self).__name__} cannot read prediction inputs from files")


# -- optional capabilities: an adapter that has one defines these methods -----------------------


@runtime_checkable
class StreamingAdapter(Protocol):
    """An adapter that can read its data a row at a time, so ``seqkit prepare`` can write data
    larger than memory as TFRecord shards (e.g. ``text_table``). seqkit checks for it with
    ``isinstance(adapter, StreamingAdapter)`` (or ``issubclass`` on the registered class)."""

    def iter_examples(self) -> Iterator[tuple[str, Any, Any, str]]:
        """Yield ``(split, raw input, raw label, origin)`` for every row; ``split`` is one of
        ``"train"``, ``"validation"``, ``"test"``, ``origin`` a "file:line" for errors. Called
        more than once (each pass reads the data again)."""
        ...

    def stream_info(self, raw_labels: list[Any]) -> dict[str, Any]:
        """The data description (``DataBundle.info``) from the distinct raw labels seen, in
        order of first appearance."""
        ...

    def encode_stream_labels(self, labels: list[Any], origins: list[str], info: dict) -> np.ndarray:
        """Raw labels of a batch of rows -> encoded targets, as ``load`` would encode them."""
        ...


@runtime_checkable
class PreprocessingAdapter(Protocol):
    """An adapter whose data is already preprocessed and that brings the fitted preprocessing
    layer itself (the ``tfrecord`` adapter: shards written by ``seqkit prepare``). Training
    uses this layer instead of fitting the encoder's ``preprocessor`` on the training inputs."""

    def preprocessor(self, info: dict, layer_modules: Sequence[str] = ()) -> Any:
        """The fitted, non-trainable Keras layer (raw inputs -> model inputs), or None when the
        inputs need none (numeric data). ``layer_modules``: the modules that define custom
        layers it may hold (imported before it is loaded)."""
        ...


# The data files read while a run loads its data (``require_file`` notes each): hashed into
# the run's environment.json. None outside :func:`recording_files_read`.
_files_read: list[Path] | None = None


class recording_files_read:
    """``with recording_files_read() as files:`` collects every data file that
    :func:`require_file` (and so :func:`seqkit.plugin_api.read_text`) checks inside the block."""

    def __enter__(self) -> list[Path]:
        global _files_read
        self._outer = _files_read
        _files_read = []
        return _files_read

    def __exit__(self, *exc) -> None:
        global _files_read
        found, _files_read = _files_read, self._outer
        if self._outer is not None and found:
            self._outer.extend(found)


def require_file(path: Path, what: str = "data file") -> Path:
    """Fail with one line if a data file is missing, not a regular file (a directory, FIFO or
    device such as /dev/zero), unreadable or empty. The file is noted as read by the run (its
    SHA-256 goes into environment.json)."""
    from seqkit.data.memory import InMemoryData
    from seqkit.files import open_regular

    if isinstance(path, InMemoryData):
        if not len(path):
            raise DataError(f"{path}: no rows (the in-memory data is empty)")
        return path
    with open_regular(path, what, DataError) as handle:
        try:
            first = handle.read(1)
        except OSError as exc:
            raise DataError(f"{path}: cannot read {what}: {exc.strerror}") from None
    if not first:
        raise DataError(f"{path}: {what} is empty")
    if _files_read is not None and Path(path) not in _files_read:
        _files_read.append(Path(path))
    return path
