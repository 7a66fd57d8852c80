"""Text augmentation of the training split (``data.augment``), after EDA (Wei & Zou 2019):
random deletion, swap and insertion of words, and replacement of words by their nearest
neighbours in pretrained vectors (in place of EDA's WordNet synonyms).

Each augmented copy of a training text applies one of the enabled operations, drawn at
random; the originals are kept. Everything draws from one NumPy generator seeded with
``augment.seed`` (default: the recipe's seed), so a recipe gives the same training set each run.
"""

from __future__ import annotations

import numpy as np

RATE = {"type": "number", "minimum": 0, "maximum": 1}
OPERATIONS = ("deletion", "swap", "insertion", "neighbours")
CANDIDATES = 30000  # neighbours are drawn from the vectors' most frequent words (GloVe's order)

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "description": "Augment the training split only (EDA-style word operations); recorded in data_info.json.",
    "properties": {
        "copies": {
            "type": "integer",
            "minimum": 1,
            "maximum": 32,
            "default": 1,
            "description": "Augmented copies added per training text (the originals are kept).",
        },
        "deletion": {**RATE, "default": 0.0, "description": "Random deletion: each word dropped with this rate."},
        "swap": {**RATE, "default": 0.0, "description": "Random swap: rate x words swapped pairwise (at least 1)."},
        "insertion": {
            **RATE,
            "default": 0.0,
            "description": "Random insertion: rate x words inserted (a neighbour of a word with vectors, else a word of the text).",
        },
        "neighbours": {
            **RATE,
            "default": 0.0,
            "description": "Each word with vectors replaced with this rate by one of its nearest neighbours (needs vectors).",
        },
        "vectors": {
            "type": "string",
            "format": "path",
            "description": "Vectors for neighbours / insertion: a name (glove-6b-50d) or a vectors file.",
        },
        "top_k": {
            "type": "integer",
            "minimum": 1,
            "maximum": 100,
            "default": 5,
            "description": "Neighbours drawn from the k nearest (cosine) of a word.",
        },
        "seed": {"type": "integer", "description": "Seed of the augmentation (default: the recipe's seed)."},
    },
}


def check(config: dict) -> list[tuple[str, str]]:
    if not config:
        return []
    problems = []
    if not any(config.get(op, 0) for op in OPERATIONS):
        problems.append(("augment", f"set a rate above 0 for at least one of {', '.join(OPERATIONS)}"))
    if config.get("neighbours", 0) and not config.get("vectors"):
        problems.append(("augment.vectors", "neighbours needs vectors (e.g. glove-6b-50d)"))
    return problems


def nearest_neighbours(words: set[str], source: str, k: int) -> dict[str, list[str]]:
    """Each of ``words`` (lower-cased) that the vectors know -> its k nearest words by cosine."""
    from seqkit.plugin_api import read_vectors

    vocabulary, matrix = read_vectors(source, key="data.augment.vectors")
    limit = min(len(vocabulary), CANDIDATES)
    candidates = np.asarray(matrix[:limit], dtype="float32")
    candidates = candidates / np.maximum(np.linalg.norm(candidates, axis=1, keepdims=True), 1e-8)
    position = {w: i for i, w in enumerate(vocabulary[:limit])}
    known = sorted(w for w in words if w in position)
    out: dict[str, list[str]] = {}
    for start in range(0, len(known), 512):
        chunk = known[start : start + 512]
        scores = candidates[[position[w] for w in chunk]] @ candidates.T
        for row, word in enumerate(chunk):
            scores[row, position[word]] = -np.inf
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        for row, word in enumerate(chunk):
            order = top[row][np.argsort(-scores[row, top[row]])]
            out[word] = [vocabulary[i] for i in order]
    return out


def _cased_like(word: str, original: str) -> str:
    return word.title() if original.istitle() else word.upper() if original.isupper() and len(original) > 1 else word


class TextAugmenter:
    def __init__(self, config: dict, seed: int, neighbours: dict[str, list[str]] | None = None):
        self.config = config
        self.rng = np.random.default_rng(config.get("seed", seed))
        self.neighbours = neighbours or {}
        self.operations = [op for op in OPERATIONS if config.get(op, 0) > 0]

    def _neighbour(self, word: str) -> str | None:
        options = self.neighbours.get(word.lower())
        return _cased_like(options[self.rng.integers(len(options))], word) if options else None

    def one(self, text: str) -> tuple[str, str]:
        words = text.split()
        op = self.operations[self.rng.integers(len(self.operations))]
        rate = self.config[op]
        n = max(1, int(round(rate * len(words))))
        if op == "deletion" and len(words) > 1:
            keep = self.rng.random(len(words)) >= rate
            if not keep.any():
                keep[self.rng.integers(len(words))] = True
            words = [w for w, k in zip(words, keep) if k]
        elif op == "swap" and len(words) > 1:
            for _ in range(n):
                i, j = self.rng.choice(len(words), 2, replace=False)
                words[i], words[j] = words[j], words[i]
        elif op == "insertion":
            for _ in range(n):
                source = words[self.rng.integers(len(words))]
                new = self._neighbour(source) or source
                words.insert(int(self.rng.integers(len(words) + 1)), new)
        elif op == "neighbours":
            words = [
                (self._neighbour(w) or w) if self.rng.random() < rate and w.lower() in self.neighbours else w
                for w in words
            ]
        return " ".join(words), op

    def augment(self, texts, y) -> tuple[np.ndarray, np.ndarray, dict]:
        copies = int(self.config.get("copies", 1))
        new_texts, rows, used = [], [], dict.fromkeys(self.operations, 0)
        changed = 0
        for _ in range(copies):
            for row, text in enumerate(texts):
                augmented, op = self.one(str(text))
                used[op] += 1
                changed += augmented != text
                new_texts.append(augmented)
                rows.append(row)
        x = np.concatenate([np.asarray(texts, dtype=object), np.asarray(new_texts, dtype=object)])
        y = np.concatenate([np.asarray(y), np.asarray(y)[rows]]) if len(rows) else np.asarray(y)
        record = {
            "config": dict(self.config),
            "original_rows": len(texts),
            "augmented_rows": len(new_texts),
            "changed_rows": int(changed),
            "operations": used,
            "words_with_neighbours": len(self.neighbours),
        }
        return x, y, record


def augment_split(texts, y, config: dict, seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Texts and targets of the training split with ``config``'s augmented copies appended."""
    neighbours = None
    if config.get("vectors") and (config.get("neighbours", 0) or config.get("insertion", 0)):
        words = {w.lower() for text in texts for w in str(text).split()}
        neighbours = nearest_neighbours(words, config["vectors"], int(config.get("top_k", 5)))
    return TextAugmenter(config, seed, neighbours).augment(texts, y)
