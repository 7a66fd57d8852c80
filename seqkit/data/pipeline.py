"""Training input pipelines whose order depends only on (seed, epoch).

Each epoch's order is a stateless shuffle seeded by ``(seed, epoch)``, so a run resumed
from the checkpoint of epoch k sees exactly the batches an uninterrupted run would have
seen from epoch k+1 on. Batches are gathered from in-memory arrays with ``tf.data`` and
prefetched.

Inputs of varying length (padded texts, tweets, sensor recordings) are batched by length
(:class:`LengthBuckets`): each epoch's shuffled order is cut into windows of
``BUCKET_WINDOW`` batches, each window is sorted by length, the full batches are shuffled,
and every batch is cut to its own longest example. The masks make the cut padding
irrelevant to the model, so only the batches' composition changes, and it too depends only
on (seed, epoch).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


def steps_per_epoch(n: int, batch_size: int) -> int:
    return max(1, math.ceil(n / batch_size))


def sample_weights(y: np.ndarray, class_weight: dict[int, float] | None) -> np.ndarray | None:
    if not class_weight:
        return None
    labels = np.asarray(y).reshape(len(y), -1)[:, 0].astype(int)
    table = np.array([class_weight.get(i, 1.0) for i in range(int(labels.max()) + 1)], dtype="float32")
    return table[labels]


#: Batches per window whose examples are sorted by length before batching (length bucketing).
BUCKET_WINDOW = 50


def padded_lengths(valid) -> np.ndarray:
    """Per row of a right-padded batch, the number of steps up to the last valid one.

    ``valid``: boolean ``(rows, steps)``, True where a step holds data. A row with no valid
    step has length 0.

    >>> padded_lengths(np.array([[True, True, False], [True, False, True], [False, False, False]])).tolist()
    [2, 3, 0]
    """
    valid = np.asarray(valid, dtype=bool)
    if valid.ndim != 2:
        raise ValueError(f"padded_lengths takes a (rows, steps) mask. Received shape {valid.shape}")
    last = valid.shape[1] - np.argmax(valid[:, ::-1], axis=1)
    return np.where(valid.any(axis=1), last, 0).astype("int64")


class LengthBuckets:
    """How a training split is batched by length.

    Args:
        lengths: Steps holding data in each example (axis 1 of the inputs, right-padded).
        trim_targets: Whether the targets are per step (``(rows, steps, ...)``, e.g. tags) and
            are cut with the inputs.
        multiple: Cut lengths are rounded up to a multiple of this (fewer distinct shapes for
            compilers that specialise on shapes: XLA, JAX).
        window: Batches per window sorted by length.
    """

    def __init__(self, lengths, trim_targets: bool = False, multiple: int = 1, window: int = BUCKET_WINDOW):
        self.lengths = np.maximum(np.asarray(lengths, dtype="int64"), 1)
        self.trim_targets = bool(trim_targets)
        self.multiple = max(1, int(multiple))
        self.window = max(1, int(window))

    def cut_length(self, lengths, steps: int) -> int:
        """The length a batch of examples of these ``lengths`` is cut to (at most ``steps``)."""
        return min(steps, -(-int(np.max(lengths)) // self.multiple) * self.multiple)

    def padding_share(self, batch_size: int, steps: int, seed: int = 0) -> tuple[float, float]:
        """(share of computed steps that are padding with fixed-length batches, the same with
        length buckets) for one epoch's batches."""
        n = len(self.lengths)
        order = np.asarray(bucketed_order(self, n, batch_size, seed, 0))
        real = float(self.lengths.sum())
        cut = sum(
            self.cut_length(self.lengths[order[i : i + batch_size]], steps) * len(order[i : i + batch_size])
            for i in range(0, n, batch_size)
        )
        return 1.0 - real / (n * steps), 1.0 - real / cut


def bucketed_order(buckets: LengthBuckets, n: int, batch_size: int, seed, epoch):
    """One epoch's order of ``n`` examples (a tensor): shuffled by (seed, epoch), sorted by
    length within windows of batches, the full batches shuffled again; consecutive runs of
    ``batch_size`` are the batches (the smaller last one stays last)."""
    import tensorflow as tf

    seed = tf.cast(seed, tf.int64)
    epoch = tf.cast(epoch, tf.int64)
    order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed=tf.stack([seed, epoch]))
    lengths = tf.constant(buckets.lengths)
    span = buckets.window * batch_size
    keys = (tf.range(n, dtype=tf.int64) // span) * (int(buckets.lengths.max()) + 1) + tf.gather(lengths, order)
    order = tf.gather(order, tf.argsort(keys, stable=True))
    full = (n // batch_size) * batch_size
    batches = tf.reshape(order[:full], (-1, batch_size))
    batches = tf.random.experimental.stateless_shuffle(batches, seed=tf.stack([seed, epoch + 7919]))
    return tf.concat([tf.reshape(batches, (-1,)), order[full:]], axis=0)


def training_dataset(
    x, y, batch_size: int, seed: int, first_epoch: int, epochs: int, weights=None, buckets: LengthBuckets | None = None
):
    """A ``tf.data.Dataset`` of (x, y[, w]) batches for epochs ``first_epoch .. epochs - 1``;
    with ``buckets``, batched by length and cut to each batch's longest example.

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
        if buckets is not None:
            order = bucketed_order(buckets, n, batch_size, seed, epoch)
        else:
            order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed=tf.stack([seed, epoch]))
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    gather = _batch_gatherer(tensors, buckets, int(np.shape(x)[1]) if buckets is not None else 0)
    dataset = tf.data.Dataset.range(first_epoch, epochs).flat_map(epoch_order)
    return dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)


def _batch_gatherer(tensors, buckets: LengthBuckets | None, steps: int):
    """A ``tf.data`` map from a batch's row indices to its tensors, the inputs (and per-step
    targets) cut to the batch's longest example when ``buckets`` are given."""
    import tensorflow as tf

    if buckets is not None:
        lengths, multiple = tf.constant(buckets.lengths), buckets.multiple

    def gather(index):
        batch = [tf.gather(t, index) for t in tensors]
        if buckets is not None:
            longest = tf.reduce_max(tf.gather(lengths, index))
            longest = tf.minimum((longest + multiple - 1) // multiple * multiple, steps)
            batch[0] = batch[0][:, :longest]
            if buckets.trim_targets and len(batch) > 1:
                batch[1] = batch[1][:, :longest]
        return tuple(batch)

    return gather


def evaluation_order(buckets: LengthBuckets) -> np.ndarray:
    """The examples of a split scored in length buckets, shortest first (stable, so the
    order and every batch's composition are fixed)."""
    return np.argsort(buckets.lengths, kind="stable")


def evaluation_dataset(x, y, batch_size: int, buckets: LengthBuckets):
    """(x, y) batches of a validation or test split in :func:`evaluation_order`, each cut to
    its longest example: what ``model.evaluate`` and ``fit(validation_data=...)`` take.
    Accuracy-style metrics are unchanged; a loss averaged over each batch's steps weighs
    the batches slightly differently than fixed-length batches would."""
    import tensorflow as tf

    order = tf.constant(evaluation_order(buckets))
    gather = _batch_gatherer([tf.constant(x), tf.constant(y)], buckets, int(np.shape(x)[1]))
    dataset = tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
    return dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)


def predict_in_buckets(model, x, batch_size: int, buckets: LengthBuckets):
    """``model.predict(x)`` with the examples batched by length and each batch cut to its
    longest example; outputs in the order of ``x``. Per-step outputs (``trim_targets``) come
    back at ``x``'s full length, zero at the steps past each example's own length."""
    import keras

    x = np.asarray(x)
    steps, n = int(x.shape[1]), len(x)
    order = evaluation_order(buckets)
    outputs = None
    for start in range(0, n, batch_size):
        index = order[start : start + batch_size]
        lengths = buckets.lengths[index]
        longest = buckets.cut_length(lengths, steps)
        found = keras.tree.map_structure(np.asarray, model.predict_on_batch(x[index][:, :longest]))
        if outputs is None:
            outputs = keras.tree.map_structure(lambda a: _empty_outputs(a, n, steps, buckets.trim_targets), found)
        for out, part in zip(keras.tree.flatten(outputs), keras.tree.flatten(found)):
            if buckets.trim_targets and part.ndim >= 2:
                part = np.where(
                    (np.arange(part.shape[1]) < lengths[:, None]).reshape(part.shape[:2] + (1,) * (part.ndim - 2)),
                    part,
                    0,
                )
                out[index, : part.shape[1]] = part
            else:
                out[index] = part
    return outputs


def _empty_outputs(part: np.ndarray, n: int, steps: int, per_step: bool) -> np.ndarray:
    shape = (n, steps, *part.shape[2:]) if per_step and part.ndim >= 2 else (n, *part.shape[1:])
    return np.zeros(shape, dtype=part.dtype)


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


# -- the data a model trains on, whatever its source -------------------------------------------


def apply_preprocessor(preprocessor, x, batch: int = 4096):
    """``x`` through the fitted preprocessing layer, in chunks, as one numpy array."""
    if preprocessor is None or x is None:
        return x
    import keras

    chunks = [keras.ops.convert_to_numpy(preprocessor(x[i : i + batch])) for i in range(0, len(x), batch)]
    return np.concatenate(chunks) if chunks else x


def model_targets(y, head) -> np.ndarray | None:
    """Targets as the model's loss takes them (binary cross-entropy: float ``(n, 1)``)."""
    if y is None:
        return None
    if head.loss() == "binary_crossentropy" and np.asarray(y).ndim == 1:
        return np.asarray(y, dtype="float32").reshape(-1, 1)
    return np.asarray(y)


class ModelSplit:
    """One split as the model sees it: what ``fit``, ``predict`` and ``evaluate`` take.

    Implemented once for arrays in memory (:class:`ArraySplit`) and once for prepared
    TFRecord shards (:class:`seqkit.data.stream.PreparedSplit`); the runner uses only
    these methods, so it never asks where the data came from.
    """

    name: str
    #: The split's targets as the task scores them (the adapter's encoded ``y``).
    targets: np.ndarray | None

    def __len__(self) -> int:
        raise NotImplementedError

    def raw(self):
        """A printable form of each input (predictions.csv), or None."""
        raise NotImplementedError

    def check_finite(self) -> None:
        """Raise a DataError naming the first row with a NaN / infinite value, if checked here."""

    def training_dataset(self, batch_size: int, seed: int, first_epoch: int, epochs: int, class_weight=None):
        """(x, y[, w]) batches of epochs ``first_epoch .. epochs - 1``, each epoch in an order
        that depends only on (seed, epoch); None when TensorFlow is not installed."""
        raise NotImplementedError

    def length_buckets(self, encoder, head, multiple: int = 1) -> LengthBuckets | None:
        """Batch this split by length where it can; None: it is batched at fixed length."""
        return None

    def fit_arguments(
        self,
        batch_size: int,
        seed: int,
        first_epoch: int,
        epochs: int,
        class_weight=None,
        adapt: Callable | None = None,
    ) -> dict:
        """Keyword arguments of ``model.fit`` for this training split; ``adapt`` (e.g. a
        distributed session's share of each batch) is applied to the dataset."""
        dataset = self.training_dataset(batch_size, seed, first_epoch, epochs, class_weight)
        if dataset is not None and adapt is not None:
            dataset = adapt(dataset)
        if dataset is None:
            return self._unbatched_fit_arguments(batch_size, class_weight)
        return {"x": dataset, "steps_per_epoch": steps_per_epoch(len(self), batch_size), "shuffle": False}

    def _unbatched_fit_arguments(self, batch_size: int, class_weight) -> dict:
        raise NotImplementedError

    def validation_data(self, batch_size: int):
        """What ``model.fit(validation_data=...)`` takes: an (x, y) pair or a dataset."""
        raise NotImplementedError

    def inputs(self, batch_size: int):
        """What ``model.predict`` takes."""
        raise NotImplementedError

    def evaluation_arguments(self, batch_size: int) -> dict:
        """Keyword arguments of ``model.evaluate`` (inputs and targets)."""
        raise NotImplementedError

    def predict(self, model, batch_size: int):
        """The model's outputs for this split's inputs, in order."""
        return model.predict(self.inputs(batch_size), batch_size=batch_size, verbose=0)


class ArraySplit(ModelSplit):
    """A split held in memory: inputs encoded by the preprocessor when first needed."""

    def __init__(self, name: str, split, head, preprocessor):
        self.name, self.split, self.head, self.preprocessor = name, split, head, preprocessor
        self.targets = split.y
        self._encoded = None
        self.buckets: LengthBuckets | None = None

    def __len__(self) -> int:
        return len(self.split)

    def encoded(self) -> tuple:
        """(model inputs, model targets), computed once."""
        if self._encoded is None:
            self._encoded = (
                apply_preprocessor(self.preprocessor, self.split.x),
                model_targets(self.split.y, self.head),
            )
        return self._encoded

    def check_finite(self) -> None:
        check_finite(self.name, *self.encoded(), self.split.raw)

    def raw(self):
        return self.split.raw

    def training_dataset(self, batch_size, seed, first_epoch, epochs, class_weight=None):
        x, y = self.encoded()
        weights = sample_weights(y, class_weight)
        return training_dataset(x, y, batch_size, seed, first_epoch, epochs, weights, self.buckets)

    def length_buckets(self, encoder, head, multiple: int = 1) -> LengthBuckets | None:
        """Batch this split by length (see :class:`LengthBuckets`) when the encoder reports its
        examples' lengths and they vary; returns the buckets (None: fixed-length batches)."""
        x, y = self.encoded()
        lengths = encoder.sequence_lengths(x) if x is not None and np.ndim(x) >= 2 else None
        if lengths is None and getattr(head, "step_targets", False) and y is not None and np.ndim(y) >= 2:
            lengths = head.target_lengths(y)
        if lengths is None or len(lengths) == 0 or int(np.max(lengths)) == int(np.min(lengths)) == np.shape(x)[1]:
            self.buckets = None
        else:
            self.buckets = LengthBuckets(lengths, trim_targets=getattr(head, "step_targets", False), multiple=multiple)
        return self.buckets

    def _unbatched_fit_arguments(self, batch_size, class_weight):
        x, y = self.encoded()
        return {"x": x, "y": y, "batch_size": batch_size, "class_weight": class_weight, "shuffle": True}

    def validation_data(self, batch_size):
        if self.buckets is not None:
            return evaluation_dataset(*self.encoded(), batch_size, self.buckets)
        return self.encoded()

    def inputs(self, batch_size):
        return self.encoded()[0]

    def evaluation_arguments(self, batch_size):
        x, y = self.encoded()
        if self.buckets is not None:
            return {"x": evaluation_dataset(x, y, batch_size, self.buckets)}
        return {"x": x, "y": y, "batch_size": batch_size}

    def predict(self, model, batch_size):
        if self.buckets is not None:
            return predict_in_buckets(model, self.encoded()[0], batch_size, self.buckets)
        return super().predict(model, batch_size)


class TrainingData:
    """A :class:`~seqkit.data.adapter.DataBundle`'s splits as the model sees them.

    :meth:`fit_preprocessor` fits the preprocessing (or returns the one the data came
    with); :meth:`encode` then makes ``train`` / ``validation`` / ``test``
    :class:`ModelSplit` objects. ``refuses`` maps recipe keys this kind of data cannot
    honour to the reason. Arrays in memory: this class; prepared shards:
    :class:`seqkit.data.stream.PreparedData`; :func:`seqkit.data.stream.training_data`
    picks one for a bundle.
    """

    refuses: dict[str, str] = {}

    def __init__(self, bundle, head):
        self.bundle, self.head = bundle, head
        self.train: ModelSplit | None = None
        self.validation: ModelSplit | None = None
        self.test: ModelSplit | None = None

    def fit_preprocessor(self, adapter, encoder, layer_modules=()):
        """The encoder's preprocessing fitted on the training inputs (None: none needed).
        ``layer_modules``: where custom layers of a saved preprocessing are defined."""
        return encoder.preprocessor(self.bundle.train.x)

    def encode(self, preprocessor) -> TrainingData:
        """Make the model splits; training and validation data are checked for NaN / inf
        now (the test split is encoded when it is scored)."""
        for name in ("train", "validation", "test"):
            split = getattr(self.bundle, name)
            setattr(self, name, None if split is None else self._split(name, split, preprocessor))
        for split in (self.train, self.validation):
            if split is not None:
                split.check_finite()
        return self

    def _split(self, name, split, preprocessor) -> ModelSplit:
        return ArraySplit(name, split, self.head, preprocessor)
