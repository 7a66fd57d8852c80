"""The adapter protocol: a recipe's ``data:`` section -> train / validation / test splits.

An adapter is a class registered under a name (``seqkit_register_adapters``). seqkit
creates it with the validated ``data:`` section and a :class:`DataContext`, then calls
:meth:`Adapter.load`. At predict time the same adapter turns new raw inputs (command-line
strings or a file) into what the saved model takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from seqkit.errors import DataError


@dataclass
class Split:
    """One split. ``x`` is what the model's preprocessing takes (e.g. raw strings);
    ``y`` the encoded targets; ``raw`` a printable form of each input for predictions.csv."""

    x: Any
    y: np.ndarray | None
    raw: Sequence[Any] | None = None

    def __len__(self) -> int:
        return len(self.y) if self.y is not None else len(self.x)


@dataclass
class DataBundle:
    train: Split
    validation: Split | None
    test: Split | None
    # JSON-serialisable facts the model, head and task need (class names, feature count...).
    info: dict[str, Any] = field(default_factory=dict)


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
    info: dict | None = None

    def resolve(self, path: str) -> Path:
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else (self.base_dir / candidate)


class Adapter:
    """Base class for data adapters.

    Class attributes:
        schema: JSON Schema piece (``properties``, ``required``) for the ``data:`` section.
        description: one line for ``seqkit plugins``.
    """

    schema: dict = {"properties": {}}
    description: str = ""

    def __init__(self, config: dict, context: DataContext):
        self.config = config
        self.context = context

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
        raise DataError(f"adapter {type(self).__name__} does not predict raw inputs (seqkit predict); see the task's own command")

    def read_inputs(self, path: Path, info: dict) -> list[Any]:
        """Read raw inputs for ``seqkit predict --input FILE``."""
        raise DataError(f"{path}: adapter {type(self).__name__} cannot read prediction inputs from files")


def require_file(path: Path, what: str = "data file") -> Path:
    """Fail with one line if a data file is missing, not a regular file (a directory, FIFO or
    device such as /dev/zero), unreadable or empty."""
    from seqkit.files import open_regular

    with open_regular(path, what, DataError) as handle:
        try:
            first = handle.read(1)
        except OSError as exc:
            raise DataError(f"{path}: cannot read {what}: {exc.strerror}") from None
    if not first:
        raise DataError(f"{path}: {what} is empty")
    return path
