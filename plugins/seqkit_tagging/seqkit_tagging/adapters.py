"""The ``conll`` adapter: CoNLL-style files (a token and its tag per line, blank lines between
sentences) -> padded integer inputs and per-token tag ids.

Targets are ``(sentences, steps)`` tag ids in the model's scheme with -1 on padding steps,
so every loss and metric can ignore padding.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqkit.plugin_api import (
    Adapter,
    DataBundle,
    DataError,
    Split,
    is_in_memory,
    read_text,
    require_file,
    split_indices,
    text_lines,
)
from seqkit_tagging import schemes
from seqkit_tagging.augment import SCHEMA as AUGMENT_SCHEMA
from seqkit_tagging.augment import augment_sentences
from seqkit_tagging.augment import check as augment_problems
from seqkit_tagging.features import Sentence, build_vocabularies, encode_sentences, tokenize

RATIO = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}
# One file, a glob, or a list of them (in-memory data stands here too, as a placeholder).
FILES = {
    "type": ["string", "array"],
    "items": {"type": "string", "format": "path", "minLength": 1},
    "minItems": 1,
    "format": "path",
}
PADDING_TAG = -1


@dataclass
class TaggedSentence:
    tokens: list[str]
    tags: list[str]
    origin: str  # "file:line" of its first token


def _columns(line: str, separator: str) -> list[str]:
    if separator == "tab" or (separator == "auto" and "\t" in line):
        return [c.strip() for c in line.split("\t")]
    return line.split()


def read_conll(
    path: Path,
    token_column: int = 0,
    tag_column: int | None = -1,
    separator: str = "auto",
    scheme: str = "bio",
    skip_docstart: bool = True,
    encoding: str = "utf-8",
) -> list[TaggedSentence]:
    """Read sentences from a CoNLL-style file; ``tag_column=None`` reads tokens only.

    Raises DataError naming ``file:line`` for a missing column or a tag outside ``scheme``.
    ``path`` may be in-memory data: ``(tokens, tags)`` pairs, or a DataFrame / dict with list
    columns ``tokens`` and ``tags``."""
    require_file(path, "CoNLL file")
    if is_in_memory(path):
        return _read_pairs(path, tag_column is not None, scheme)
    sentences: list[TaggedSentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    start = 0

    def close() -> None:
        if tokens:
            origin = f"{path}:{start}"
            if tag_column is not None and scheme == "bioes":
                problem = schemes.check_bioes_sequence(tags)
                if problem:
                    raise DataError(f"{path}:{start + problem[0]}: {problem[1]}")
            sentences.append(TaggedSentence(list(tokens), list(tags), origin))
        tokens.clear()
        tags.clear()

    # Universal newlines, as a file opened in text mode (\r\n and \r end lines too).
    for number, raw in enumerate(io.StringIO(read_text(path, encoding), newline=None), start=1):
        # Byte-order marks (also stray ones inside a file) carry no token.
        line = raw.replace("\ufeff", "").rstrip("\r\n")
        if not line.strip():
            if "\ufeff" not in raw:
                close()
            continue
        columns = _columns(line, separator)
        if skip_docstart and columns[0] == "-DOCSTART-":
            close()
            continue
        if not _columns_present(len(columns), token_column, tag_column):
            what = f"a token (column {token_column})" + (
                "" if tag_column is None else f" and a tag (column {tag_column})"
            )
            raise DataError(f"{path}:{number}: expected {what}; found {len(columns)} column(s): {line.strip()[:60]!r}")
        token = columns[token_column]
        if not token:
            raise DataError(f"{path}:{number}: empty token in column {token_column}")
        if tag_column is not None:
            tag = columns[tag_column]
            problem = schemes.check_tag(tag, scheme)
            if problem:
                raise DataError(f"{path}:{number}: {problem} (data.scheme is {scheme!r})")
            tags.append(tag)
        if not tokens:
            start = number
        tokens.append(token)
    close()
    if not sentences:
        raise DataError(f"{path}: no sentences found (expected token and tag columns, blank lines between sentences)")
    return sentences


def _read_pairs(source, tagged: bool, scheme: str) -> list[TaggedSentence]:
    """Sentences from in-memory ``(tokens, tags)`` pairs (see read_conll)."""
    sentences = []
    for row, tokens, tags in source.pairs("tokens", "tags" if tagged else None):
        where = f"{source}:{row}"
        if isinstance(tokens, str) or not isinstance(tokens, (list, tuple)) or not tokens:
            raise DataError(f"{where}: tokens must be a non-empty list of strings. Received: {tokens!r:.60}")
        tokens = [str(t) for t in tokens]
        if any(not t.strip() for t in tokens):
            raise DataError(f"{where}: empty token")
        if tagged:
            if isinstance(tags, str) or not isinstance(tags, (list, tuple)) or len(tags) != len(tokens):
                count = len(tags) if isinstance(tags, (list, tuple)) else type(tags).__name__
                raise DataError(f"{where}: expected one tag per token ({len(tokens)} tokens). Received: {count}")
            tags = [str(t) for t in tags]
            for position, tag in enumerate(tags):
                problem = schemes.check_tag(tag, scheme)
                if problem:
                    raise DataError(f"{where}: token {position}: {problem} (data.scheme is {scheme!r})")
            if scheme == "bioes":
                problem = schemes.check_bioes_sequence(tags)
                if problem:
                    raise DataError(f"{where}: token {problem[0]}: {problem[1]}")
        sentences.append(TaggedSentence(tokens, list(tags) if tagged else [], f"{where}"))
    if not sentences:
        raise DataError(f"{source}: no sentences")
    return sentences


def _columns_present(count: int, token_column: int, tag_column: int | None) -> bool:
    token = token_column if token_column >= 0 else count + token_column
    if not 0 <= token < count:
        return False
    if tag_column is None:
        return True
    tag = tag_column if tag_column >= 0 else count + tag_column
    return 0 <= tag < count and tag != token


class ConllAdapter(Adapter):
    name = "conll"
    description = "CoNLL-style token / tag columns (BIO or BIOES), blank lines between sentences"
    schema = {
        "required": ["train"],
        "properties": {
            "train": {**FILES, "description": "Training file(s): a path, a glob or a list."},
            "extra_train": {
                "type": "array",
                "items": {"type": "string", "format": "path"},
                "default": [],
                "description": "More training files, read like train (e.g. a development set to learn from).",
            },
            "validation": {**FILES, "description": "Validation file(s); else split.validation of train."},
            "test": {**FILES, "description": "Test file(s); else split.test of train."},
            "split": {
                "type": "object",
                "additionalProperties": False,
                "default": {},
                "description": "Sentences of train held out when no validation / test file is given (seeded).",
                "properties": {
                    "validation": {
                        **RATIO,
                        "default": 0.1,
                        "description": "Fraction of the training sentences held out for validation.",
                    },
                    "test": {
                        **RATIO,
                        "default": 0.0,
                        "description": "Fraction of the training sentences held out for testing.",
                    },
                },
            },
            "token_column": {"type": "integer", "default": 0, "description": "Column of the token (0 first, -1 last)."},
            "tag_column": {"type": "integer", "default": -1, "description": "Column of the tag (0 first, -1 last)."},
            "separator": {
                "enum": ["auto", "tab", "whitespace"],
                "default": "auto",
                "description": "Column separator; auto: tabs when a line has one, else runs of whitespace.",
            },
            "scheme": {
                "enum": list(schemes.SCHEMES),
                "default": "bio",
                "description": "Tag scheme of the files (BIO = IOB2).",
            },
            "model_scheme": {
                "enum": list(schemes.SCHEMES),
                "description": "Scheme the model learns (default: the files'); entities are scored in the files' scheme.",
            },
            "docstart": {
                "type": "boolean",
                "default": True,
                "description": "Skip -DOCSTART- lines (they end a sentence).",
            },
            "encoding": {
                "type": "string",
                "default": "utf-8",
                "description": "Text encoding of the files (e.g. latin-1).",
            },
            "lowercase": {
                "type": "boolean",
                "default": False,
                "description": "Lower-case words for the word vocabulary (casing and characters keep the case).",
            },
            "min_count": {
                "type": "integer",
                "minimum": 1,
                "default": 1,
                "description": "Words seen fewer times are unknown.",
            },
            "max_words": {
                "type": "integer",
                "minimum": 3,
                "maximum": 10000000,
                "default": 100000,
                "description": "Word vocabulary size cap (the most frequent training words).",
            },
            "max_chars": {
                "type": "integer",
                "minimum": 1,
                "maximum": 200,
                "default": 20,
                "description": "Characters kept per token for the character features.",
            },
            "augment": AUGMENT_SCHEMA,
        },
    }

    @classmethod
    def check(cls, config):
        return augment_problems(config.get("augment") or {})

    # -- reading -------------------------------------------------------------------------------

    def _read(self, key: str, path: str | None = None) -> list[TaggedSentence]:
        """The sentences of every file data.<key> names (a path, a glob or a list)."""
        sentences = []
        for found in self.context.resolve_files(path or self.config[key], key):
            sentences += read_conll(
                found,
                token_column=self.config.get("token_column", 0),
                tag_column=self.config.get("tag_column", -1),
                separator=self.config.get("separator", "auto"),
                scheme=self.config.get("scheme", "bio"),
                skip_docstart=self.config.get("docstart", True),
                encoding=self.config.get("encoding", "utf-8"),
            )
        return sentences

    def load(self) -> DataBundle:
        if not self.config.get("train"):
            raise DataError("data.train: give the training file")
        # Scoring a run on a test file of its own (seqkit evaluate): the training files are not read.
        train = [] if self.scoring_a_test_file() else self._read("train")
        for extra in [] if self.scoring_a_test_file() else self.config.get("extra_train") or []:
            train += self._read("extra_train", extra)
        given = {key: self._read(key) for key in ("validation", "test") if self.config.get(key)}
        split = self.config.get("split") or {}
        val_ratio = 0.0 if "validation" in given else split.get("validation", 0.1)
        test_ratio = 0.0 if "test" in given else split.get("test", 0.0)
        empty = np.empty(0, dtype="int64")
        tr, va, te = (
            split_indices(len(train), val_ratio, test_ratio, self.context.seed) if train else (empty, empty, empty)
        )
        parts = {
            "train": [train[i] for i in tr],
            "validation": given.get("validation", [train[i] for i in va]),
            "test": given.get("test", [train[i] for i in te]),
        }
        file_scheme = self.config.get("scheme", "bio")
        model_scheme = self.config.get("model_scheme") or file_scheme
        trained = self.context.info
        if trained and trained.get("tags"):
            # Scoring a trained model (seqkit evaluate): its tags and vocabularies, whatever
            # these files would give; only the test split is scored, and an entity type the
            # model never learned is named.
            learned = set(trained["entity_types"])
            for sentence in parts["test"]:
                for entity in schemes.entities(sentence.tags):
                    if entity.type not in learned:
                        path, line = sentence.origin.rsplit(":", 1)
                        raise DataError(
                            f"{path}:{int(line) + entity.start}: entity type {entity.type!r} is not one the run "
                            f"learned ({', '.join(sorted(learned))})"
                        )
            info = {**trained, "scheme": file_scheme}
            return DataBundle(None, None, self._split(parts["test"], info), info)
        augmented = None
        if self.config.get("augment") and parts["train"]:  # the training sentences only
            copies, augmented = augment_sentences(
                parts["train"],
                self.config["augment"],
                self.context.seed,
                file_scheme,
                lambda tokens, tags, original: TaggedSentence(tokens, tags, original.origin),
            )
            parts["train"] = parts["train"] + copies
        # The tag set covers the entity types of every split, so a type that is rare in
        # training still has its tags (its scores then show how badly it is learnt).
        types = {e.type for sents in parts.values() for s in sents for e in schemes.entities(s.tags)}
        if not types:
            train = self.config["train"]
            where = self.context.resolve(train) if isinstance(train, str) else "data.train"
            raise DataError(f"{where}: no entities in any split; nothing to learn")
        lowercase = bool(self.config.get("lowercase", False))
        words, chars = build_vocabularies(
            (s.tokens for s in parts["train"]),
            lowercase,
            self.config.get("min_count", 1),
            self.config.get("max_words", 100000),
        )
        info = {
            "tags": schemes.tag_inventory(types, model_scheme),
            "entity_types": sorted(types),
            "scheme": file_scheme,
            "model_scheme": model_scheme,
            "lowercase": lowercase,
            "max_chars": int(self.config.get("max_chars", 20)),
            "casings": 12,
            "words": words,
            "chars": chars,
        }
        if augmented is not None:
            info["augment"] = augmented
        bundle = {key: self._split(sents, info) for key, sents in parts.items()}
        return DataBundle(bundle["train"], bundle["validation"], bundle["test"], info)

    def _split(self, sentences: list[TaggedSentence], info: dict) -> Split | None:
        if not sentences:
            return None
        x = encode_sentences([s.tokens for s in sentences], info)
        tag_index = {t: i for i, t in enumerate(info["tags"])}
        y = np.full(x.shape[:2], PADDING_TAG, dtype="int32")
        for row, sentence in enumerate(sentences):
            tags = schemes.convert(sentence.tags, info["model_scheme"])
            y[row, : len(tags)] = [tag_index[t] for t in tags]
        return Split(x, y, [Sentence(s.tokens) for s in sentences])

    # -- prediction ------------------------------------------------------------------------------

    def encode_inputs(self, raw_inputs, info):
        sentences = []
        for number, raw in enumerate(raw_inputs, start=1):
            if isinstance(raw, (list, tuple)):
                tokens = [str(t) for t in raw]
            elif isinstance(raw, str):
                tokens = list(getattr(raw, "tokens", None) or tokenize(raw))
            else:
                raise DataError(
                    f"input {number}: expected a sentence (a string or a list of tokens). Received: {type(raw).__name__}"
                )
            if not tokens:
                raise DataError(f"input {number}: no tokens to tag in {str(raw)[:60]!r}")
            sentences.append(tokens)
        return encode_sentences(sentences, info)

    def read_inputs(self, path: Path, info):
        """``.conll`` / ``.bio`` / ``.iob`` files, and files of any name whose every line holds
        a token and a tag (e.g. WNUT's ``emerging.test.annotated``): their token column,
        sentence by sentence; other files: one raw sentence a line (a blank line is an error naming it);
        in-memory data: its ``tokens`` (a DataFrame or dict column, or the first of pairs)."""
        if is_in_memory(path):
            return [Sentence(s.tokens) for s in read_conll(path, tag_column=None)]
        path = Path(path)
        require_file(path, "input file")
        encoding = self.config.get("encoding", "utf-8")
        lines = text_lines(read_text(path, encoding).replace("\ufeff", ""))
        if path.suffix.lower() in (".conll", ".bio", ".iob", ".bioes") or self._tagged(lines, info):
            sentences = read_conll(
                path,
                self.config.get("token_column", 0),
                None,
                self.config.get("separator", "auto"),
                skip_docstart=self.config.get("docstart", True),
                encoding=encoding,
            )
            return [Sentence(s.tokens) for s in sentences]
        inputs = [line.strip() for line in lines]
        while inputs and not inputs[-1]:  # blank lines at the very end are the file's end
            inputs.pop()
        if not inputs:
            raise DataError(f"{path}: no sentences (expected one sentence a line)")
        for number, line in enumerate(inputs, start=1):
            if not line:
                raise DataError(f"{path}:{number}: blank line; expected one sentence a line (remove it)")
        return inputs

    def _tagged(self, lines: list[str], info) -> bool:
        """Is every non-blank line 'token ... tag' with a tag of the run's scheme?"""
        separator = self.config.get("separator", "auto")
        token_column, tag_column = self.config.get("token_column", 0), self.config.get("tag_column", -1)
        scheme = info.get("scheme", self.config.get("scheme", "bio"))
        seen = False
        for line in lines:
            if not line.strip():
                continue
            columns = _columns(line.rstrip("\r\n"), separator)
            if columns[0] == "-DOCSTART-":
                continue
            if not _columns_present(len(columns), token_column, tag_column) or schemes.check_tag(
                columns[tag_column], scheme
            ):
                return False
            seen = True
        return seen
