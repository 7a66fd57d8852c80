"""The ``text_table`` adapter: labelled texts from CSV, TSV, JSONL or ``LABEL text`` lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqkit.plugin_api import (
    Adapter,
    BadLines,
    DataBundle,
    DataError,
    Split,
    class_order,
    detect_format,
    is_in_memory,
    iter_rows,
    read_text,
    require_columns,
    require_file,
    split_indices,
    text_lines,
    unknown_label,
)
from seqkit_text.augment import SCHEMA as AUGMENT_SCHEMA
from seqkit_text.augment import augment_split
from seqkit_text.augment import check as augment_problems

RATIO = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}
# One file, a glob, or a list of them (in-memory data stands here too, as a placeholder).
FILES = {
    "type": ["string", "array"],
    "items": {"type": "string", "format": "path", "minLength": 1},
    "minItems": 1,
    "format": "path",
}


class TextTableAdapter(Adapter):
    """Labelled texts from one file split by ratio, or from explicit train / validation / test files.

    Labels may be names (``positive``) or integers (``0``..``n-1``; ``labels`` names them).
    """

    name = "text_table"
    description = "labelled texts from CSV / TSV / JSONL files or 'LABEL text' lines (SST)"
    schema = {
        "properties": {
            "path": {
                **FILES,
                "description": "One file (or a glob, or a list of files), split by `split` ratios. Relative to the recipe.",
            },
            "train": {**FILES, "description": "Training file(s) (instead of `path`): a path, a glob or a list."},
            "validation": {
                **FILES,
                "description": "Validation file(s); else taken from path / train by `split.validation`.",
            },
            "test": {
                **FILES,
                "description": "Test file(s); else taken from path / train by `split.test`.",
            },
            "format": {
                "enum": ["auto", "csv", "tsv", "jsonl", "label_text"],
                "default": "auto",
                "description": 'File format; auto: from the extension (label_text: "LABEL text" lines, as SST-2).',
            },
            "text": {"type": "string", "default": "text", "description": "Column (field) holding the text."},
            "label": {"type": "string", "default": "label", "description": "Column (field) holding the label."},
            "labels": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 2,
                "uniqueItems": True,
                "description": "Class names in index order; integer labels in the data index into this list.",
            },
            "multilabel": {
                "type": "boolean",
                "default": False,
                "description": "Each text may carry several labels, joined by label_separator (sigmoid outputs).",
            },
            "label_separator": {
                "type": "string",
                "minLength": 1,
                "default": "|",
                "description": "multilabel: the separator between a text's labels.",
            },
            "split": {
                "type": "object",
                "additionalProperties": False,
                "default": {},
                "description": "Held-out fractions of path / train (a validation or test file replaces its ratio).",
                "properties": {
                    "validation": {
                        **RATIO,
                        "default": 0.15,
                        "description": "Fraction of the training data held out for validation (seeded).",
                    },
                    "test": {
                        **RATIO,
                        "default": 0.15,
                        "description": "Fraction of the training data held out for testing when no test file is given (seeded).",
                    },
                    "stratify": {
                        "type": "boolean",
                        "default": True,
                        "description": "Keep class proportions in each split (single-label data).",
                    },
                },
            },
            "encoding": {
                "type": "string",
                "default": "utf-8",
                "description": "Text encoding of the files (e.g. latin-1).",
            },
            "header": {
                "type": "boolean",
                "default": True,
                "description": "CSV / TSV: the first line names the columns; false: every line is data "
                "and `columns` names them by position.",
            },
            "columns": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "minItems": 1,
                "description": "CSV / TSV column names by position, e.g. [text, label] for a header-less "
                "`text<TAB>label` file (with a header: replaces its names).",
            },
            "quoting": {
                "enum": ["double", "none"],
                "default": "double",
                "description": 'CSV / TSV quoting: double (CSV rules, "..." quotes a field) or none '
                '(a " is an ordinary character, as in most TSV exports).',
            },
            "on_bad_lines": {
                "enum": ["error", "skip", "warn"],
                "default": "error",
                "description": "A line that cannot be read (wrong field count, no text or no label): error "
                "(stop, naming the first bad lines and their count), skip (drop them; the count is in "
                "data_info.json), warn (drop them and print the count and the first ones).",
            },
            "augment": AUGMENT_SCHEMA,
        }
    }

    def __init__(self, config, context):
        super().__init__(config, context)
        self.bad_lines: dict[str, dict] = {}  # data key -> lines skipped (data.on_bad_lines)

    @classmethod
    def check(cls, config):
        problems = []
        if config.get("header") is False and not config.get("columns"):
            problems.append(
                ("header", "a header-less file needs its column names: set data.columns (e.g. [text, label])")
            )
        if bool(config.get("path")) == bool(config.get("train")):
            problems.append(
                ("", "give either `path` (one file, split by ratio) or `train` (with optional validation / test files)")
            )
        split = config.get("split") or {}
        if split.get("validation", 0) + split.get("test", 0) >= 1:
            problems.append(("split", "validation + test must be less than 1"))
        return problems + augment_problems(config.get("augment") or {})

    # -- reading ---------------------------------------------------------------------------

    def _read(self, key: str) -> tuple[list[str], list[str], list[str]]:
        """Return (texts, raw labels, 'file:line' origins) of the files (or in-memory data)
        named by data.<key>; bad lines go by data.on_bad_lines."""
        bad = BadLines(self.config.get("on_bad_lines", "error"), f"data.{key}")
        texts, labels, origins = [], [], []
        for path in self.context.resolve_files(self.config[key], key):
            self._read_one(path, bad, texts, labels, origins)
        bad.check()
        if bad.count:
            self.bad_lines[key] = bad.record()
            if bad.policy == "warn":
                self.notes.append(bad.note())
        if not texts:
            where = self.config[key] if isinstance(self.config[key], list) else self.context.resolve(self.config[key])
            raise DataError(f"{where}: no rows found")
        return texts, labels, origins

    def _read_one(self, path, bad: BadLines, texts: list, labels: list, origins: list) -> None:
        fmt = detect_format(path, self.config.get("format"))
        encoding = self.config.get("encoding", "utf-8")
        if fmt == "label_text":
            require_file(path)
            for number, line in enumerate(text_lines(read_text(path, encoding)), start=1):
                if not line.strip():
                    continue
                label, sep, text = line.strip().partition(" ")
                if not sep or not text.strip():
                    bad.add(f"{path}:{number}: expected 'LABEL text' (a label, a space, then the text)")
                    continue
                texts.append(text.strip())
                labels.append(label)
                origins.append(f"{path}:{number}")
            return
        columns = {"text": self.config.get("text", "text"), "label": self.config.get("label", "label")}
        names = self.config.get("columns")
        if names is None and is_in_memory(path) and path.positional:  # (texts, labels): by position
            names = [columns["text"], columns["label"]]
        rows = iter_rows(
            path,
            fmt,
            encoding,
            header=self.config.get("header", True),
            columns=names,
            quoting=self.config.get("quoting", "double"),
            bad_lines=bad,
        )
        for number, row in rows:
            require_columns(path, number, row, columns)
            text, label = row[columns["text"]], row[columns["label"]]
            if text is None or (isinstance(text, str) and not text.strip()):
                bad.add(f"{path}:{number}: empty text in column {columns['text']!r}")
                continue
            if label is None or str(label).strip() == "":
                bad.add(f"{path}:{number}: empty label in column {columns['label']!r}")
                continue
            if not isinstance(text, str):
                raise DataError(f"{path}:{number}: column {columns['text']!r} must hold text. Received: {text!r}")
            texts.append(text.strip())
            labels.append(str(label).strip())
            origins.append(f"{path}:{number}")

    # -- labels ----------------------------------------------------------------------------

    def _classes(self, raw_labels: list[str]) -> list[str]:
        trained = (self.context.info or {}).get("classes")
        if trained:  # scoring a trained model: its classes, in its order
            return list(trained)
        declared = self.config.get("labels")
        if declared:
            return list(declared)
        key = "path" if self.config.get("path") else "train"
        value = self.config[key]
        origin = str(self.context.resolve(value)) if isinstance(value, str) else f"data.{key}"
        return class_order((part for label in raw_labels for part in self._parts(label)), origin)

    def _parts(self, label: str) -> list[str]:
        if self.config.get("multilabel"):
            return [p.strip() for p in label.split(self.config.get("label_separator", "|")) if p.strip()]
        return [label]

    def _encode_labels(self, labels: list[str], origins: list[str], classes: list[str]) -> np.ndarray:
        index = {name: i for i, name in enumerate(classes)}
        declared = bool(self.config.get("labels") or (self.context.info or {}).get("classes"))

        def lookup(value: str, origin: str) -> int:
            if value in index:
                return index[value]
            if declared and _is_int(value) and 0 <= int(value) < len(classes):
                return int(value)
            raise unknown_label(value, origin, classes)

        if self.config.get("multilabel"):
            y = np.zeros((len(labels), len(classes)), dtype="float32")
            for row, (label, origin) in enumerate(zip(labels, origins)):
                for part in self._parts(label):
                    y[row, lookup(part, origin)] = 1.0
            return y
        return np.asarray([lookup(label, origin) for label, origin in zip(labels, origins)], dtype="int64")

    # -- Adapter API -----------------------------------------------------------------------

    def load(self) -> DataBundle:
        """``path`` (or ``train``) is split by ``split`` ratios; a ``validation`` / ``test``
        file given beside it replaces that part of the split."""
        split = self.config.get("split") or {}
        if self.scoring_a_test_file():  # seqkit evaluate RUN --set data.test=FILE: that file only
            test = self._file_split("test")
            return DataBundle(
                train=None, validation=None, test=test, info=self._facts(self._classes([]), None, None, test)
            )
        texts, labels, origins = self._read("path" if self.config.get("path") else "train")
        classes = self._classes(labels)
        y = self._encode_labels(labels, origins, classes)
        x = np.asarray(texts, dtype=object)
        loaded = {key: self._file_split(key, classes) for key in ("validation", "test") if self.config.get(key)}
        carve_val = 0.0 if "validation" in loaded else split.get("validation", 0.15)
        carve_test = 0.0 if "test" in loaded else split.get("test", 0.15)
        stratify = y if (split.get("stratify", True) and y.ndim == 1) else None
        tr, va, te = split_indices(len(texts), carve_val, carve_test, self.context.seed, stratify)
        carved = [Split(x[i], y[i], list(x[i])) if len(i) else None for i in (tr, va, te)]
        train, validation, test = carved[0], loaded.get("validation", carved[1]), loaded.get("test", carved[2])
        augmented = None
        if self.config.get("augment") and train is not None and self.context.info is None:  # training only
            x_train, y_train, augmented = augment_split(train.x, train.y, self.config["augment"], self.context.seed)
            train = Split(x_train, y_train, list(x_train))
        info = self._facts(classes, train, validation, test)
        if augmented is not None:
            info["augment"] = augmented
        return DataBundle(train=train, validation=validation, test=test, info=info)

    # -- streaming (seqkit prepare: data larger than memory) -----------------------------------

    def iter_examples(self):
        """Yield (split, text, raw label, 'file:line') a row at a time, never holding a file.
        A path may name shards with a glob (``data/part-*.csv``), read in name order.

        Ratio splits (``split.validation`` / ``split.test``) are drawn per row from a seeded
        hash of the row's position, so they need no pass over the whole file (and are not
        stratified, unlike the in-memory split)."""
        from seqkit.plugin_api import hashed_split, stream_labelled_texts

        unsupported = [
            key
            for key, default in (("header", True), ("columns", None), ("quoting", "double"), ("on_bad_lines", "error"))
            if self.config.get(key, default) != default
        ]
        if unsupported:  # the streaming reader knows headed, quoted files only: refuse, never misread
            raise DataError(
                f"data.{unsupported[0]}: seqkit prepare (streaming) reads CSV / TSV files with a header and CSV "
                f"quoting, stopping at bad lines; remove {', '.join('data.' + k for k in unsupported)} or train "
                "without prepare"
            )
        split = self.config.get("split") or {}
        encoding = self.config.get("encoding", "utf-8")
        columns = {"text": self.config.get("text", "text"), "label": self.config.get("label", "label")}
        fmt_declared = self.config.get("format")
        first = "path" if self.config.get("path") else "train"
        sources = [(first, None)] + [(key, key) for key in ("validation", "test") if self.config.get(key)]
        carve_val = 0.0 if self.config.get("validation") else split.get("validation", 0.15)
        carve_test = 0.0 if self.config.get("test") else split.get("test", 0.15)
        for key, fixed in sources:
            index = 0
            for path in self.context.resolve_files(self.config[key], key):
                for text, label, origin in stream_labelled_texts(path, fmt_declared, encoding, columns):
                    yield fixed or hashed_split(index, self.context.seed, carve_val, carve_test), text, label, origin
                    index += 1

    def stream_info(self, raw_labels: list[str]) -> dict:
        return self._facts(self._classes(raw_labels))

    def _facts(self, classes: list[str], *splits) -> dict:
        """data_info of a text run; with the (train, validation, test) splits, their sizes."""
        facts = {
            "classes": classes,
            "multilabel": bool(self.config.get("multilabel")),
            "text_column": self.config.get("text", "text"),
        }
        if splits:
            facts["sizes"] = dict(zip(("train", "validation", "test"), (len(part or []) for part in splits)))
        if self.bad_lines:
            facts["bad_lines"] = dict(self.bad_lines)
        return facts

    def _file_split(self, key: str, classes: list[str] | None = None) -> Split:
        """The split in the file ``data.<key>``; labels encoded with ``classes`` (default: the
        run's, when scoring one)."""
        texts, labels, origins = self._read(key)
        classes = classes if classes is not None else self._classes(labels)
        return Split(np.asarray(texts, dtype=object), self._encode_labels(labels, origins, classes), texts)

    def encode_stream_labels(self, labels: list[str], origins: list[str], info: dict):
        return self._encode_labels(labels, origins, list(info["classes"]))

    def encode_inputs(self, raw_inputs, info):
        texts = [str(t) for t in raw_inputs]
        for number, text in enumerate(texts, start=1):
            if not text.strip():
                raise DataError(f"input {number}: empty text; nothing to predict from")
        return np.asarray(texts, dtype=object)

    def read_inputs(self, path: Path, info: dict) -> list[str]:
        """Texts to predict: a .txt file (one text a line), a CSV / TSV / JSONL table, or
        in-memory data (a DataFrame with the run's text column, a list or array of texts)."""
        if not is_in_memory(path) and path.suffix.lower() in (".txt", ""):
            lines = [line.strip() for line in text_lines(read_text(path))]
            while lines and not lines[-1]:  # blank lines at the very end are the file's end, not inputs
                lines.pop()
            if not lines:
                raise DataError(f"{path}: no texts found (one text a line)")
            for number, line in enumerate(lines, start=1):
                if not line:
                    raise DataError(
                        f"{path}:{number}: blank line; expected one text a line (remove it, or quote it in a CSV)"
                    )
            return lines
        fmt = detect_format(path, None)
        column = info.get("text_column", "text")
        texts = []
        for number, row in iter_rows(path, fmt, columns=[column] if is_in_memory(path) and path.positional else None):
            require_columns(path, number, row, {"text": column})
            text = row[column]
            if text is None or not str(text).strip():
                raise DataError(f"{path}:{number}: empty text in column {column!r}")
            texts.append(str(text))
        if not texts:
            raise DataError(f"{path}: no rows found")
        return texts


def _is_int(value: str) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True
