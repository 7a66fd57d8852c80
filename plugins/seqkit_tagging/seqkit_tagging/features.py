"""Token features for the tagger: a tokenizer for raw sentences, casing classes, and the
word / character vocabularies that turn tokens into the model's integer input.

The model takes one integer tensor ``(sentences, steps, 2 + max_chars)``: per token its word
id, its casing class and its character ids. Id 0 is padding everywhere (a word id of 0 marks
a padding step), id 1 is "unknown". The vocabularies are kept in the run's ``data_info.json``
so that ``seqkit predict`` encodes new sentences exactly as the training data were.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from seqkit.plugin_api import DataError

PAD, UNK = "<pad>", "<unk>"

# Raw sentences at predict time: URLs, @mentions, #hashtags, numbers, words (with inner
# hyphens / dots, as in "e-mail" or "U.S."), English clitics split off the way CoNLL and
# WNUT data split them ("It 's", "do n't"), and any other non-space character on its own.
_TOKEN = re.compile(
    r"""
    https?://\S+ | www\.\S+
  | [@#]\w+
  | \d+(?:[.,:/]\d+)*
  | \w+(?=n't\b) | n't\b
  | '(?:s|re|ve|ll|m|d)\b
  | (?:[^\W\d_]\.){2,}
  | \w+(?:[-.&]\w+)*
  | \S
    """,
    re.VERBOSE | re.IGNORECASE,
)


def tokenize(text: str) -> list[str]:
    """Split a raw sentence into tokens (see ``_TOKEN``)."""
    return _TOKEN.findall(text)


class Sentence(str):
    """A sentence's text that also carries its exact tokens (for data read from CoNLL files,
    whose tokens are given and must not be re-tokenized)."""

    tokens: tuple[str, ...]

    def __new__(cls, tokens: Sequence[str]):
        sentence = super().__new__(cls, " ".join(tokens))
        sentence.tokens = tuple(tokens)
        return sentence


def tokens_of(raw) -> list[str]:
    if isinstance(raw, (list, tuple)):
        return [str(t) for t in raw]
    tokens = getattr(raw, "tokens", None)
    return list(tokens) if tokens is not None else tokenize(str(raw))


# Casing classes (Reimers & Gurevych 2017 style, plus social-media shapes). 0 is padding.
CASINGS = (
    PAD,
    "other",
    "lower",
    "upper",
    "title",
    "mixed",
    "numeric",
    "has_digit",
    "punct",
    "mention",
    "hashtag",
    "url",
)
_CASE_ID = {name: index for index, name in enumerate(CASINGS)}


def casing(token: str) -> int:
    if token.startswith(("http://", "https://", "www.")):
        name = "url"
    elif len(token) > 1 and token[0] == "@":
        name = "mention"
    elif len(token) > 1 and token[0] == "#":
        name = "hashtag"
    elif token.isdigit() or re.fullmatch(r"\d+(?:[.,:/]\d+)*", token):
        name = "numeric"
    elif any(c.isdigit() for c in token):
        name = "has_digit"
    elif not any(c.isalnum() for c in token):
        name = "punct"
    elif token.islower():
        name = "lower"
    elif token.isupper():
        name = "upper"
    elif token[0].isupper() and (token[1:].islower() or not any(c.isalpha() for c in token[1:])):
        name = "title"
    elif any(c.isupper() for c in token):
        name = "mixed"
    else:
        name = "other"
    return _CASE_ID[name]


def build_vocabularies(
    sentences: Iterable[Sequence[str]], lowercase: bool, min_count: int, max_words: int
) -> tuple[list[str], list[str]]:
    """Word and character vocabularies of the training sentences: index 0 padding, 1 unknown,
    then by decreasing frequency (ties alphabetical, so the order is reproducible)."""
    words: Counter = Counter()
    chars: Counter = Counter()
    for tokens in sentences:
        for token in tokens:
            words[token.lower() if lowercase else token] += 1
            chars.update(token)
    ranked = sorted((w for w, n in words.items() if n >= min_count), key=lambda w: (-words[w], w))
    return [PAD, UNK] + ranked[: max(0, max_words - 2)], [PAD, UNK] + sorted(chars, key=lambda c: (-chars[c], c))


def encode_sentences(sentences: Sequence[Sequence[str]], info: dict, steps: int | None = None) -> np.ndarray:
    """Token lists -> int32 ``(sentences, steps, 2 + max_chars)`` (see the module docstring)."""
    word_index = {w: i for i, w in enumerate(info["words"])}
    char_index = {c: i for i, c in enumerate(info["chars"])}
    lowercase, max_chars = bool(info["lowercase"]), int(info["max_chars"])
    steps = steps or max((len(s) for s in sentences), default=1)
    out = np.zeros((len(sentences), max(steps, 1), 2 + max_chars), dtype="int32")
    for row, tokens in enumerate(sentences):
        if not tokens:
            raise DataError(f"sentence {row + 1}: no tokens to tag")
        for step, token in enumerate(tokens[:steps]):
            out[row, step, 0] = word_index.get(token.lower() if lowercase else token, 1)
            out[row, step, 1] = casing(token)
            ids = [char_index.get(c, 1) for c in token[:max_chars]]
            out[row, step, 2 : 2 + len(ids)] = ids
    return out
