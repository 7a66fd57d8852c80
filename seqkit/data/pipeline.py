"""Training input pipelines whose order depends only on (seed, epoch).

Each epoch's order is a stateless shuffle seeded by ``(seed, epoch)``, so a run resumed
from the checkpoint of epoch k sees exactly the batches an uninterrupted run would have
seen from epoch k+1 on. Batches are gathered from in-memory arrays with ``tf.data`` and
prefetched.
"""

from __future__ import annotations

import math

import numpy as np


def steps_per_epoch(n: int, batch_size: int) -> int:
    return max(1, math.ceil(n / batch_size))


def sample_weights(y: np.ndarray, class_weight: dict[int, float] | None) -> np.ndarray | None:
    if not class_weight:
        return None
    labels = np.asarray(y).reshape(len(y), -1)[:, 0].astype(int)
    table = np.array([class_weight.get(i, 1.0) for i in range(int(labels.max()) + 1)], dtype="float32")
    return table[labels]


def training_dataset(x, y, batch_size: int, seed: int, first_epoch: int, epochs: int, weights=None):
    """A ``tf.data.Dataset`` of (x, y[, w]) batches for epochs ``first_epoch .. epochs - 1``.

    Returns None when TensorFlow is not installed (the caller then lets Keras shuffle).
    """
    try:
        import tensorflow as tf
    except ImportError:
        return None
    n = len(y)
    tensors = [tf.constant(x), tf.constant(y)] + ([tf.constant(weights)] if weights is not None else [])
    seed = tf.constant(int(seed), dtype=tf.int64)

    def epoch_order(epoch):
        order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed=tf.stack([seed, epoch]))
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    def gather(index):
        return tuple(tf.gather(t, index) for t in tensors)

    dataset = tf.data.Dataset.range(first_epoch, epochs).flat_map(epoch_order)
    return dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)


def check_finite(split: str, x, y, raw=None) -> None:
    """Report the first NaN / infinite value in numeric inputs or targets, with its row."""
    from seqkit.errors import DataError

    for what, array in (("input", x), ("target", y)):
        if array is None:
            continue
        array = np.asarray(array)
        if not np.issubdtype(array.dtype, np.floating):
            continue
        bad = ~np.isfinite(array.reshape(len(array), -1)).all(axis=1)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            shown = f" ({str(raw[row])[:60]!r})" if raw is not None and row < len(raw) else ""
            raise DataError(
                f"{split} split, row {row + 1}{shown}: NaN or infinite {what} value; "
                f"{int(bad.sum())} row(s) affected. Clean the data or declare a fill policy"
            )
