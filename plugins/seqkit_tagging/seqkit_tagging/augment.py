"""Augmentation of the training sentences (``data.augment``), after Dai & Adel 2020 ("An analysis
of simple data augmentation for named entity recognition"): mention replacement (a mention
swapped for another training mention of the same type, tags rebuilt in the files' scheme) and
token dropout (words outside mentions dropped).

Each augmented copy of a training sentence applies every enabled operation; the originals are
kept. One NumPy generator seeded with ``augment.seed`` (default: the recipe's seed) draws
everything, so runs are reproducible.
"""

from __future__ import annotations

import numpy as np

from seqkit_tagging import schemes

RATE = {"type": "number", "minimum": 0, "maximum": 1}

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "description": "Augment the training sentences only (mention replacement, token dropout); recorded in data_info.json.",
    "properties": {
        "copies": {
            "type": "integer",
            "minimum": 1,
            "maximum": 32,
            "default": 1,
            "description": "Augmented copies added per training sentence with an entity (the originals are kept).",
        },
        "mention_replacement": {
            **RATE,
            "default": 0.0,
            "description": "Each mention replaced with this rate by another training mention of the same type.",
        },
        "token_dropout": {
            **RATE,
            "default": 0.0,
            "description": "Each word outside a mention dropped with this rate.",
        },
        "seed": {"type": "integer", "description": "Seed of the augmentation (default: the recipe's seed)."},
    },
}


def check(config: dict) -> list[tuple[str, str]]:
    if config and not (config.get("mention_replacement", 0) or config.get("token_dropout", 0)):
        return [("augment", "set mention_replacement or token_dropout above 0")]
    return []


def augment_sentences(sentences, config: dict, seed: int, scheme: str, make):
    """(augmented copies, record). ``sentences`` have ``tokens`` / ``tags`` (in ``scheme``);
    ``make(tokens, tags, original)`` builds a copy. Sentences without entities are not copied."""
    rng = np.random.default_rng(config.get("seed", seed))
    replace_rate, drop_rate = config.get("mention_replacement", 0.0), config.get("token_dropout", 0.0)
    mentions: dict[str, list[tuple[str, ...]]] = {}
    for sentence in sentences:
        for entity in schemes.entities(sentence.tags):
            mentions.setdefault(entity.type, []).append(tuple(sentence.tokens[entity.start : entity.end]))
    copies, replaced, dropped = [], 0, 0
    for _ in range(int(config.get("copies", 1))):
        for sentence in sentences:
            spans = schemes.entities(sentence.tags)
            if not spans:
                continue
            tokens, new_spans, at = [], [], 0
            for span in spans:
                for token in sentence.tokens[at : span.start]:
                    if drop_rate and rng.random() < drop_rate:
                        dropped += 1
                    else:
                        tokens.append(token)
                mention = tuple(sentence.tokens[span.start : span.end])
                pool = mentions[span.type]
                if replace_rate and len(pool) > 1 and rng.random() < replace_rate:
                    mention = pool[rng.integers(len(pool))]
                    replaced += 1
                new_spans.append(schemes.Entity(span.type, len(tokens), len(tokens) + len(mention)))
                tokens.extend(mention)
                at = span.end
            for token in sentence.tokens[at:]:
                if drop_rate and rng.random() < drop_rate:
                    dropped += 1
                else:
                    tokens.append(token)
            copies.append(make(tokens, schemes.from_entities(new_spans, len(tokens), scheme), sentence))
    record = {
        "config": dict(config),
        "original_rows": len(sentences),
        "augmented_rows": len(copies),
        "mentions_replaced": replaced,
        "tokens_dropped": dropped,
        "mention_pool": {kind: len(pool) for kind, pool in sorted(mentions.items())},
    }
    return copies, record
