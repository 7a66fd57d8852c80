"""Adapters for multivariate numeric sequences of varying length."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

from seqkit.plugin_api import (
    Adapter,
    DataBundle,
    DataError,
    Split,
    class_order,
    detect_format,
    did_you_mean,
    is_in_memory,
    iter_rows,
    read_text,
    require_columns,
    require_file,
    split_indices,
    text_lines,
    unknown_label,
)
from seqkit_sensors.augment import SCHEMA as AUGMENT_SCHEMA
from seqkit_sensors.augment import augment_sequences
from seqkit_sensors.augment import check as augment_problems

RATIO = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}
# One file, a glob, or a list of them (in-memory data stands here too, as a placeholder).
FILES = {
    "type": ["string", "array"],
    "items": {"type": "string", "format": "path", "minLength": 1},
    "minItems": 1,
    "format": "path",
}
COMMON = {
    "train": {**FILES, "description": "Training file(s): a path, a glob or a list."},
    "test": {**FILES, "description": "Test file(s); else taken from train by split.test."},
    "split": {
        "type": "object",
        "additionalProperties": False,
        "default": {},
        "description": "Held-out fractions of train (stratified by label, seeded).",
        "properties": {
            "validation": {
                **RATIO,
                "default": 0.15,
                "description": "Fraction of the training data held out for validation (seeded).",
            },
            "test": {
                **RATIO,
                "default": 0.2,
                "description": "Fraction of the training data held out for testing when no test file is given (seeded).",
            },
        },
    },
    "normalize": {
        "type": "boolean",
        "default": True,
        "description": "Standardise each feature with training statistics.",
    },
    "augment": AUGMENT_SCHEMA,
}


class NamedSequence(str):
    """A sequence read for prediction: the string is its name (sequence id, ``file:line`` or
    ``file[index]``, what prediction files and the terminal show); ``steps`` holds the values."""

    steps: np.ndarray

    def __new__(cls, name: str, steps: np.ndarray):
        self = super().__new__(cls, name)
        self.steps = steps
        return self


class SequenceAdapter(Adapter):
    """Shared logic: labels, splits, per-feature standardisation, padding, augmentation."""

    @classmethod
    def check(cls, config):
        return augment_problems(config.get("augment") or {})

    def read(self, path: Path, labelled: bool = True) -> tuple[list[np.ndarray], list[str], list[str], list[str]]:
        """Return (sequences as (steps, features) arrays, labels, 'file:line' origins, names).
        With ``labelled=False`` (files to predict) labels may be absent (then None)."""
        raise NotImplementedError

    def _files(self):
        if not self.config.get("train"):
            raise DataError("data.train: give the training file")
        # Scoring a run on a test file of its own (seqkit evaluate): the training file is not read.
        train = ([], [], [], []) if self.scoring_a_test_file() else self._read_all("train")
        test = self._read_all("test") if self.config.get("test") else None
        return train, test

    def _read_all(self, key: str):
        """read() of every file data.<key> names (a path, a glob or a list), joined."""
        joined = ([], [], [], [])
        for path in self.context.resolve_files(self.config[key], key):
            for whole, part in zip(joined, self.read(path)):
                whole.extend(part)
        return joined

    def load(self) -> DataBundle:
        (x, labels, origins, names), test = self._files()
        # Scoring a trained model (seqkit evaluate): its classes, width and scaling, not the
        # ones these files alone would give.
        trained = self.context.info or {}
        n_features = trained.get("features") or x[0].shape[1]
        for seqs, where in ((x, origins), (test[0], test[2]) if test else ((), ())):
            for seq, origin in zip(seqs, where):
                if seq.shape[1] != n_features:
                    whose = "the run's model takes" if trained else f"{origins[0]} has"
                    raise DataError(f"{origin}: {seq.shape[1]} features per step; {whose} {n_features}")
        classes = list(trained["classes"]) if trained.get("classes") else class_order(labels, origins[0])
        y = self._encode(labels, origins, classes)
        split = self.config.get("split") or {}
        carve_test = 0.0 if test else split.get("test", 0.2)
        empty = np.empty(0, dtype="int64")
        tr, va, te = (
            split_indices(len(x), split.get("validation", 0.15), carve_test, self.context.seed, y)
            if x
            else (empty, empty, empty)
        )
        if trained.get("mean") is not None:
            mean, std = np.asarray(trained["mean"]), np.asarray(trained["std"])
        elif self.config.get("normalize", True):
            stacked = np.concatenate([x[i] for i in tr])
            mean, std = stacked.mean(axis=0), stacked.std(axis=0)
            std[std == 0] = 1.0
        else:
            mean, std = np.zeros(n_features), np.ones(n_features)
        lengths = [len(s) for s in x] + ([len(s) for s in test[0]] if test else [])
        lengths.append(trained.get("max_steps", trained.get("steps", 0)))  # a model's own padded length
        info = {
            "classes": classes,
            "features": int(n_features),
            # The longest sequence read (train and test): the padded length of the splits.
            # Not "steps", which would fix the model's input length: the model takes any.
            "max_steps": int(max(lengths)),
            "mean": mean.tolist(),
            "std": std.tolist(),
        }
        if trained.get("steps"):  # a model made when the input length was fixed
            info["steps"] = trained["steps"]

        def make(index=None, data=None):
            seqs, ys, named = data if data is not None else ([x[i] for i in index], y[index], [names[i] for i in index])
            if not len(seqs):
                return None
            return Split(self.pad(seqs, info), ys, [f"{n} ({len(s)} steps)" for n, s in zip(named, seqs)])

        test_split = make(data=(test[0], self._encode(test[1], test[2], classes), test[3])) if test else make(te)
        train_split = make(tr)
        if self.config.get("augment") and train_split is not None and not trained:  # training only
            originals = [x[i] for i in tr]
            copies, source, info["augment"] = augment_sequences(
                originals, self.config["augment"], self.context.seed, mean, std
            )
            train_names = [names[i] for i in tr]
            train_split = make(
                data=(
                    originals + copies,
                    np.concatenate([y[tr], y[tr][source]]),
                    train_names + [f"{train_names[i]} (augmented)" for i in source],
                )
            )
        return DataBundle(train_split, make(va), test_split, info)

    def _encode(self, labels, origins, classes):
        index = {c: i for i, c in enumerate(classes)}
        out = []
        for label, origin in zip(labels, origins):
            if label not in index:
                raise unknown_label(label, origin, classes, key="label")
            out.append(index[label])
        return np.asarray(out, dtype="int64")

    @staticmethod
    def pad(sequences, info) -> np.ndarray:
        """Standardise real steps, then pad with zeros (the mask value) to the longer of
        info['max_steps'] and the longest of ``sequences``."""
        features = info["features"]
        steps = max([info.get("max_steps", info.get("steps", 0))] + [len(s) for s in sequences])
        mean, std = np.asarray(info["mean"], "float32"), np.asarray(info["std"], "float32")
        out = np.zeros((len(sequences), steps, features), dtype="float32")
        for row, seq in enumerate(sequences):
            seq = np.asarray(seq, dtype="float32")
            if seq.ndim != 2 or seq.shape[1] != features:
                raise DataError(f"sequence {row + 1}: expected (steps, {features}) values. Received shape {seq.shape}")
            if info.get("steps") and len(seq) > info["steps"]:  # a run made when the length was fixed
                raise DataError(f"sequence {row + 1} has {len(seq)} steps; the model takes at most {info['steps']}")
            normalised = (seq - mean) / std
            # A real step that standardises to all zeros would look like padding: nudge it.
            normalised[np.all(normalised == 0, axis=1)] = 1e-6
            out[row, : len(seq)] = normalised
        return out

    def encode_inputs(self, raw_inputs, info):
        expected = f"each a list of {info['features']} numbers"
        sequences = []
        for number, item in enumerate(raw_inputs, start=1):
            if isinstance(item, NamedSequence):
                item = item.steps
            elif isinstance(item, str):
                try:
                    item = json.loads(item)
                except json.JSONDecodeError as exc:
                    raise DataError(
                        f"input {number}: not a JSON list of steps, {expected} ({exc.msg} at column {exc.colno})"
                    ) from None
            try:
                array = np.asarray(item, dtype="float32")
            except (TypeError, ValueError) as exc:
                raise DataError(f"input {number}: expected a list of steps, {expected} ({exc})") from None
            if not np.isfinite(array).all():
                raise DataError(f"input {number}: NaN, null or infinite value; {expected}")
            sequences.append(array)
        try:
            return self.pad(sequences, info)
        except (TypeError, ValueError) as exc:
            raise DataError(f"inputs must be lists of steps, {expected} ({exc})") from None

    def read_inputs(self, path: Path, info: dict):
        sequences, _, _, names = self.read(path, labelled=False)
        return [NamedSequence(name, seq) for name, seq in zip(names, sequences)]


class UeaTsAdapter(SequenceAdapter):
    """UEA / UCR ``.ts`` files (``dim1 values : dim2 values : ... : label`` per line), or a
    data set that sktime ships (``dataset: JapaneseVowels``), read from its files."""

    name = "uea_ts"
    description = "UEA / UCR .ts files, or a data set shipped with sktime (JapaneseVowels, BasicMotions...)"
    schema = {
        "properties": {
            **COMMON,
            "dataset": {
                "type": "string",
                "description": "A data set bundled with sktime (its TRAIN file, and its TEST file unless data.test is given).",
            },
        }
    }

    @classmethod
    def check(cls, config):
        problems = super().check(config)
        if bool(config.get("dataset")) == bool(config.get("train")):
            problems.append(("", "give either `dataset` (bundled with sktime) or `train` (a .ts file)"))
        return problems

    def _files(self):
        name = self.config.get("dataset")
        if not name:
            return super()._files()
        spec = importlib.util.find_spec("sktime")
        if spec is None or spec.origin is None:
            raise DataError(f"data.dataset: {name!r} comes with sktime, which is not installed (pip install sktime)")
        root = Path(spec.origin).parent / "datasets" / "data"
        folder = root / name
        if not (folder / f"{name}_TRAIN.ts").is_file():
            available = sorted(p.name for p in root.iterdir() if (p / f"{p.name}_TRAIN.ts").is_file())
            hint = did_you_mean(name, available)
            raise DataError(
                f"data.dataset: sktime has no .ts data set {name!r}."
                + (f" {hint}" if hint else "")
                + f" Available: {', '.join(available)}"
            )
        test = self.context.resolve(self.config["test"]) if self.config.get("test") else folder / f"{name}_TEST.ts"
        return self.read(folder / f"{name}_TRAIN.ts"), self.read(test)

    def read(self, path: Path, labelled: bool = True):
        require_file(path)
        sequences, labels, origins = [], [], []
        in_data = False
        has_label = True
        for number, line in enumerate(text_lines(read_text(path)), start=1):
            line = line.strip().lstrip("\ufeff")
            if not line or line.startswith("#"):
                continue
            if not in_data:
                words = line.lower().split()
                if words[0] in ("@classlabel", "@targetlabel") and len(words) > 1:
                    if words[0] == "@targetlabel" and words[1] == "true" and labelled:
                        raise DataError(
                            f"{path}:{number}: a regression data set (@targetLabel true): its targets are numbers, "
                            "and sequence_classification needs class labels (@classLabel true ...)"
                        )
                    has_label = words[1] == "true"
                in_data = words[0] == "@data"
                continue
            fields = line.split(":")
            if has_label and labelled and len(fields) < 2:
                raise DataError(f"{path}:{number}: expected 'values:values:...:label'")
            if has_label and len(fields) > 1:
                *dims, label = fields
            else:
                dims, label = fields, None
            try:
                columns = [np.asarray([float(v) for v in dim.split(",")], dtype="float32") for dim in dims]
            except ValueError:
                if "?" in line:
                    raise DataError(
                        f"{path}:{number}: missing value '?'; fill in or drop the sequences with gaps"
                    ) from None
                raise DataError(f"{path}:{number}: values must be numbers separated by ',' and ':'") from None
            if len({len(c) for c in columns}) != 1:
                raise DataError(f"{path}:{number}: dimensions have different lengths: {[len(c) for c in columns]}")
            sequence = np.stack(columns, axis=1)
            if not np.isfinite(sequence).all():
                raise DataError(f"{path}:{number}: NaN or infinite value")
            sequences.append(sequence)
            labels.append(None if label is None else label.strip())
            origins.append(f"{path}:{number}")
        if not sequences:
            raise DataError(f"{path}: no sequences found (expected '@data' followed by one sequence a line)")
        if labelled and None in labels:
            raise DataError(f"{origins[labels.index(None)]}: no class label (the file says @classLabel false)")
        return sequences, labels, origins, list(origins)

    def read_inputs(self, path: Path, info: dict):
        """Lines to predict may end in a label (ignored) or hold just the feature fields."""
        features = info["features"]
        sequences, labels, origins, names = self.read(path, labelled=False)
        out = []
        for seq, label, origin, name in zip(sequences, labels, origins, names):
            if label is not None and seq.shape[1] == features - 1:
                # No label field after all: the last field was the last feature.
                try:
                    last = np.asarray([float(v) for v in label.split(",")], dtype="float32")
                except ValueError:
                    raise DataError(f"{origin}: values must be numbers separated by ',' and ':'") from None
                if len(last) == len(seq):
                    seq = np.concatenate([seq, last[:, None]], axis=1)
            out.append(NamedSequence(name, seq))
        return out


class SequenceNpzAdapter(SequenceAdapter):
    """NumPy ``.npz``: ``x`` (n, steps, features), ``y`` (n,) and optional ``lengths`` (n,)."""

    name = "sequence_npz"
    description = "NumPy .npz files with arrays x (n, steps, features), y and optional lengths"
    schema = {"properties": dict(COMMON), "required": ["train"]}

    def read(self, path: Path, labelled: bool = True):
        require_file(path)
        if is_in_memory(path):  # (x, y[, lengths]) arrays, or a dict of them
            arrays = path.arrays(("x", "y") if labelled else ("x",))
        else:
            arrays = self._load_npz(path)
        if arrays["x"].ndim == 2 and arrays["x"].dtype != object:  # one feature per step
            arrays["x"] = arrays["x"][:, :, None]
        for key in ("x", "y") if labelled else ("x",):
            if key not in arrays:
                raise DataError(f"{path}: missing array {key!r}. Arrays: {', '.join(arrays) or '(none)'}")
        x = arrays["x"]
        y = arrays["y"] if "y" in arrays else np.full(len(x), None, dtype=object)
        if labelled:
            for i, value in enumerate(y.tolist()):
                if value is None or (isinstance(value, float) and value != value):
                    raise DataError(f"{path}[{i}]: no label (y[{i}] is {value!r})")
        if x.ndim != 3 or len(x) != len(y):
            raise DataError(
                f"{path}: expected x of shape (n, steps, features) and y of shape (n,). Received x {x.shape}, y {y.shape}"
            )
        lengths = arrays.get("lengths", np.full(len(x), x.shape[1]))
        if lengths.shape != (len(x),):
            raise DataError(f"{path}: expected lengths of shape ({len(x)},). Received {lengths.shape}")
        for i, n in enumerate(lengths.tolist()):
            if n != int(n) or not 1 <= n <= x.shape[1]:
                raise DataError(f"{path}: lengths[{i}] is {n}; expected 1 to {x.shape[1]} (steps of x)")
        sequences = [x[i, : int(lengths[i])].astype("float32") for i in range(len(x))]
        for i, s in enumerate(sequences):
            if not np.isfinite(s).all():
                raise DataError(f"{path}: sequence {i + 1}: NaN or infinite value")
        origins = [f"{path}[{i}]" for i in range(len(x))]
        return sequences, [None if v is None else str(v) for v in y.tolist()], origins, list(origins)

    @staticmethod
    def _load_npz(path: Path) -> dict:
        with path.open("rb") as handle:
            if handle.read(4) != b"PK\x03\x04":
                raise DataError(f"{path}: not a NumPy .npz archive (np.savez: arrays x, y and optional lengths)")
        try:
            with np.load(path, allow_pickle=False) as archive:
                return {k: archive[k] for k in archive.files}
        except (ValueError, OSError) as exc:
            raise DataError(f"{path}: not a readable .npz file ({exc})") from None


class SequenceCsvAdapter(SequenceAdapter):
    """Long-format CSV / TSV / JSONL: one row per step with a sequence id, a step number,
    feature columns and the sequence's label."""

    name = "sequence_csv"
    description = "long-format tables: sequence id, step, feature columns, label"
    schema = {
        "properties": {
            **COMMON,
            "id": {
                "type": "string",
                "default": "id",
                "description": "Column naming the sequence a row belongs to (and each prediction).",
            },
            "step": {
                "type": "string",
                "default": "step",
                "description": "Column giving a row's position in its sequence (rows are sorted by it).",
            },
            "features": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "description": "Columns holding the numeric features of a step, in model order.",
            },
            "label": {
                "type": "string",
                "default": "label",
                "description": "Column holding the sequence's class (same on each of its rows).",
            },
            "format": {
                "enum": ["auto", "csv", "tsv", "jsonl"],
                "default": "auto",
                "description": "File format; auto: from the extension.",
            },
        },
        "required": ["train", "features"],
    }

    def read(self, path: Path, labelled: bool = True):
        fmt = detect_format(path, self.config.get("format"))
        key, step, label = (
            self.config.get("id", "id"),
            self.config.get("step", "step"),
            self.config.get("label", "label"),
        )
        features = list(self.config["features"])
        rows: dict[str, list] = {}
        seq_labels: dict[str, tuple[str, str]] = {}
        seen_steps: dict[tuple[str, float], int] = {}
        for number, row in iter_rows(path, fmt):
            required = {"id": key, "step": step, **({"label": label} if labelled else {})}
            require_columns(path, number, row, {**required, **{f"features.{f}": f for f in features}})
            try:
                values = [float(row[f]) for f in features]
                position = float(row[step])
            except (TypeError, ValueError):
                raise DataError(f"{path}:{number}: step and feature values must be numbers") from None
            if not np.isfinite(values).all():
                raise DataError(f"{path}:{number}: NaN or infinite feature value")
            ident = str(row[key])
            first = seen_steps.setdefault((ident, position), number)
            if first != number:
                raise DataError(
                    f"{path}:{number}: sequence {ident!r} has step {row[step]} twice (first on line {first})"
                )
            rows.setdefault(ident, []).append((position, values))
            value = str(row[label]) if label in row else None
            previous = seq_labels.setdefault(ident, (value, f"{path}:{number}"))
            if previous[0] != value:
                raise DataError(
                    f"{path}:{number}: sequence {ident!r} has two labels: {previous[0]!r} and {row[label]!r}"
                )
        if not rows:
            raise DataError(f"{path}: no rows found")
        sequences = [np.asarray([v for _, v in sorted(steps)], dtype="float32") for steps in rows.values()]
        labels = [seq_labels[i][0] for i in rows]
        origins = [seq_labels[i][1] for i in rows]
        return sequences, labels, origins, list(rows)
