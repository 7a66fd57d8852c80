"""Seeded train / validation / test splits by ratio, stratified for classification."""

from __future__ import annotations

import numpy as np

from seqkit.errors import DataError


def split_indices(
    n: int,
    validation: float,
    test: float,
    seed: int,
    stratify: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (train, validation, test) index arrays.

    With ``stratify`` (one label per row), every class is split in the same proportions,
    so rare classes appear in each split when they have enough rows.
    """
    if validation < 0 or test < 0 or validation + test >= 1:
        raise DataError(
            f"split ratios must be >= 0 and add up to less than 1. Received: validation={validation}, test={test}"
        )
    rng = np.random.default_rng(seed)
    groups = [np.arange(n)] if stratify is None else [np.flatnonzero(stratify == c) for c in np.unique(stratify)]
    parts: list[list[np.ndarray]] = [[], [], []]
    for group in groups:
        group = rng.permutation(group)
        n_test = int(round(len(group) * test))
        n_val = int(round(len(group) * validation))
        parts[2].append(group[:n_test])
        parts[1].append(group[n_test : n_test + n_val])
        parts[0].append(group[n_test + n_val :])
    train, val, tst = (np.sort(np.concatenate(p)) if p else np.array([], dtype=int) for p in parts)
    if len(train) == 0:
        raise DataError(f"no rows left for training after the split ({n} rows)")
    return train, val, tst
