"""Keras layers, losses and metrics of the tagging plugin, written with ``keras`` /
``keras.ops`` only (TensorFlow, JAX and PyTorch backends).

- :class:`WordCharEncoder`: word embeddings + character features (CNN or BiLSTM, Lample et
  al. 2016) + casing embeddings per token, concatenated.
- :class:`TokenTagger`: a per-token softmax over tags.
- :class:`CRF`: a linear-chain conditional random field: emission scores from the backbone,
  learnt tag-to-tag transitions, start and end scores; trained with the forward algorithm
  (:class:`CRFLoss`), decoded with Viterbi.

Targets are tag ids ``(batch, steps)`` with -1 on padding steps; losses and metrics skip them.

A Keras model has one output tensor per head here, and a loss sees only ``(y_true, y_pred)``,
so the CRF packs what its loss needs into its output, per step:
``[K scores | K emissions | K*K transitions | K start | K end]`` (K tags). The first K
channels are the one-hot Viterbi path at inference (the emissions while training), so
``argmax(y_pred[..., :K])`` is the predicted tag for both heads.
"""

from __future__ import annotations

import keras
from keras import ops

PACKAGE = "seqkit_tagging"
CHAR_ENCODERS = ("cnn", "lstm")


def _positive_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected a positive integer. Received: {name}={value!r}"
        )
    return value


def _rate(name, value):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected a float in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


# -- encoder ------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=PACKAGE)
class WordCharEncoder(keras.layers.Layer):
    """Per-token vectors from word ids, casing classes and character ids.

    Args:
        vocabulary_size: Number of word ids (0 padding, 1 unknown).
        char_vocabulary_size: Number of character ids (0 padding, 1 unknown).
        max_chars: Characters per token in the input.
        word_dim: Size of the word vectors.
        char_dim: Size of the character vectors.
        char_encoder: ``"cnn"`` (convolution + max over characters) or ``"lstm"`` (a
            bidirectional LSTM over characters, final states concatenated).
        char_units: Filters of the CNN, or units per direction of the LSTM.
        char_kernel: Width of the CNN's window, in characters.
        casing_classes: Number of casing classes (0 padding).
        casing_dim: Size of the casing vectors (0: no casing features).
        word_dropout: Rate at which known words are replaced by the unknown word while
            training, so the model learns to tag from characters and casing when a word
            was never seen.
        dropout: Dropout rate on the concatenated token vectors.
        trainable_words: Whether the word vectors are updated (False keeps pretrained ones).
        seed: Seed of the word dropout.

    Call arguments:
        inputs: Integer tensor ``(batch, steps, 2 + max_chars)``: word id, casing class,
            character ids. Steps whose word id is 0 are padding (masked).
        training: Whether dropout is active.

    Example:

    >>> x = np.zeros((2, 5, 2 + 10), "int32"); x[:, :3] = 2
    >>> WordCharEncoder(50, 30, max_chars=10, word_dim=8, char_dim=4, char_units=6, casing_dim=2)(x).shape
    (2, 5, 16)
    """

    def __init__(
        self,
        vocabulary_size,
        char_vocabulary_size,
        max_chars,
        word_dim=100,
        char_dim=25,
        char_encoder="cnn",
        char_units=50,
        char_kernel=3,
        casing_classes=12,
        casing_dim=8,
        word_dropout=0.0,
        dropout=0.0,
        trainable_words=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if char_encoder not in CHAR_ENCODERS:
            raise ValueError(
                f"Invalid value received for argument `char_encoder`. Expected one of {CHAR_ENCODERS}. Received: char_encoder={char_encoder!r}"
            )
        self.vocabulary_size = _positive_int("vocabulary_size", vocabulary_size)
        self.char_vocabulary_size = _positive_int("char_vocabulary_size", char_vocabulary_size)
        self.max_chars = _positive_int("max_chars", max_chars)
        self.word_dim = _positive_int("word_dim", word_dim)
        self.char_dim = int(char_dim)
        self.char_encoder = char_encoder
        self.char_units = int(char_units)
        self.char_kernel = _positive_int("char_kernel", char_kernel)
        self.casing_classes = _positive_int("casing_classes", casing_classes)
        self.casing_dim = int(casing_dim)
        self.word_dropout = _rate("word_dropout", word_dropout)
        self.dropout = _rate("dropout", dropout)
        self.trainable_words = bool(trainable_words)
        self.seed = seed
        self.uses_chars = self.char_dim > 0 and self.char_units > 0
        self.word_embedding = keras.layers.Embedding(
            vocabulary_size, self.word_dim, trainable=self.trainable_words, name="word_embedding"
        )
        self.casing_embedding = (
            keras.layers.Embedding(casing_classes, self.casing_dim, name="casing_embedding")
            if self.casing_dim
            else None
        )
        self.char_embedding = (
            keras.layers.Embedding(char_vocabulary_size, self.char_dim, name="char_embedding")
            if self.uses_chars
            else None
        )
        if not self.uses_chars:
            self.char_layer = None
        elif char_encoder == "cnn":
            self.char_layer = keras.layers.Conv1D(
                self.char_units, self.char_kernel, padding="same", activation="tanh", name="char_cnn"
            )
        else:
            self.char_layer = keras.layers.Bidirectional(keras.layers.LSTM(self.char_units), name="char_lstm")
        self.drop = keras.layers.Dropout(self.dropout, seed=seed) if self.dropout else None
        self.seed_generator = keras.random.SeedGenerator(seed) if self.word_dropout else None
        self.supports_masking = True

    @property
    def output_dim(self) -> int:
        chars = (self.char_units * (2 if self.char_encoder == "lstm" else 1)) if self.uses_chars else 0
        return self.word_dim + self.casing_dim + chars

    def build(self, input_shape):
        self.word_embedding.build(input_shape[:-1])
        if self.casing_embedding is not None:
            self.casing_embedding.build(input_shape[:-1])
        if self.uses_chars:
            self.char_embedding.build((None, self.max_chars))
            self.char_layer.build((None, self.max_chars, self.char_dim))

    def call(self, inputs, training=None):
        inputs = ops.cast(inputs, "int32")
        words, cases, chars = inputs[..., 0], inputs[..., 1], inputs[..., 2 : 2 + self.max_chars]
        if training and self.word_dropout:
            drop = keras.random.uniform(ops.shape(words), seed=self.seed_generator) < self.word_dropout
            words = ops.where(ops.logical_and(drop, words > 1), ops.ones_like(words), words)
        parts = [self.word_embedding(words)]
        if self.casing_embedding is not None:
            parts.append(self.casing_embedding(cases))
        if self.uses_chars:
            parts.append(self._char_features(chars, parts[0].dtype))
        x = ops.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]
        if self.drop is not None:
            x = self.drop(x, training=training)
        return x

    def _char_features(self, chars, dtype):
        shape = ops.shape(chars)
        flat = ops.reshape(chars, (-1, self.max_chars))
        mask = ops.not_equal(flat, 0)
        vectors = self.char_embedding(flat)
        if self.char_encoder == "cnn":
            features = self.char_layer(vectors)
            very_negative = ops.cast(-1e4, features.dtype)
            features = ops.max(ops.where(ops.expand_dims(mask, -1), features, very_negative), axis=1)
            features = ops.where(ops.any(mask, axis=1, keepdims=True), features, ops.zeros_like(features))
            width = self.char_units
        else:
            # Padding tokens have no characters; keep their first position so that no row of
            # the LSTM is fully masked, then zero their features.
            first = ops.expand_dims(ops.arange(self.max_chars) == 0, 0)
            features = self.char_layer(vectors, mask=ops.logical_or(mask, first))
            features = ops.where(ops.any(mask, axis=1, keepdims=True), features, ops.zeros_like(features))
            width = 2 * self.char_units
        return ops.cast(ops.reshape(features, (shape[0], shape[1], width)), dtype)

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs[..., 0], 0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.output_dim)

    def get_config(self):
        base_config = super().get_config()
        config = {
            "vocabulary_size": self.vocabulary_size,
            "char_vocabulary_size": self.char_vocabulary_size,
            "max_chars": self.max_chars,
            "word_dim": self.word_dim,
            "char_dim": self.char_dim,
            "char_encoder": self.char_encoder,
            "char_units": self.char_units,
            "char_kernel": self.char_kernel,
            "casing_classes": self.casing_classes,
            "casing_dim": self.casing_dim,
            "word_dropout": self.word_dropout,
            "dropout": self.dropout,
            "trainable_words": self.trainable_words,
            "seed": self.seed,
        }
        return {**base_config, **config}


# -- heads --------------------------------------------------------------------------------------


class _TagHead(keras.layers.Layer):
    """What both heads share: the tag count, dropout on the backbone's output, the kernel
    regularizer of their dense scores, and that config."""

    def __init__(self, num_tags, dropout=0.0, kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.num_tags = _positive_int("num_tags", num_tags)
        self.dropout = _rate("dropout", dropout)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.drop = keras.layers.Dropout(self.dropout) if self.dropout else None
        self.supports_masking = True

    def get_config(self):
        base_config = super().get_config()
        config = {
            "num_tags": self.num_tags,
            "dropout": self.dropout,
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }
        return {**base_config, **config}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TokenTagger(_TagHead):
    """Per-token softmax over tags.

    Args:
        num_tags: Number of tags.
        dropout: Dropout rate on the backbone's output.
        kernel_regularizer: Regularizer of the output kernel.

    Call arguments:
        inputs: ``(batch, steps, features)``.

    Example:

    >>> TokenTagger(num_tags=5)(keras.random.normal((2, 7, 8))).shape
    (2, 7, 5)
    """

    def __init__(self, num_tags, dropout=0.0, kernel_regularizer=None, **kwargs):
        super().__init__(num_tags, dropout, kernel_regularizer, **kwargs)
        self.out = keras.layers.Dense(
            num_tags, kernel_regularizer=self.kernel_regularizer, dtype="float32", name="output"
        )

    def build(self, input_shape):
        self.out.build(input_shape)

    def call(self, inputs, training=None):
        x = self.drop(inputs, training=training) if self.drop is not None else inputs
        # A fresh tensor from ops (not the Dense output, which carries the padding mask):
        # Keras would otherwise apply the mask to the per-sentence loss.
        return ops.softmax(self.out(x), axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None  # losses and metrics skip padding through the -1 targets

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_tags)


# -- the linear-chain CRF ----------------------------------------------------------------------


def _time_major(x):
    return ops.moveaxis(x, 1, 0)


def _scan_inputs(emissions, mask):
    """One time-major tensor ``(steps, batch, K + 2)``: emissions, mask, first-step flag.

    (A single scanned tensor: Keras's TensorFlow ``scan`` fails on several inputs whose
    length is unknown when the graph is traced.)"""
    steps = ops.shape(emissions)[1]
    first = ops.cast(ops.equal(ops.arange(steps), 0), emissions.dtype)
    first = ops.zeros_like(emissions[..., :1]) + ops.reshape(first, (1, -1, 1))
    return _time_major(
        ops.concatenate([emissions, ops.expand_dims(ops.cast(mask, emissions.dtype), -1), first], axis=-1)
    )


def _split_step(inputs):
    return inputs[:, :-2], inputs[:, -2:-1] > 0.5, inputs[:, -1:] > 0.5


def crf_log_partition(emissions, mask, transitions, start, end):
    """log Z: log-sum-exp of the scores of every tag path (forward algorithm).

    Args:
        emissions: ``(batch, steps, K)`` scores of each tag at each step.
        mask: ``(batch, steps)`` booleans, True on real steps (padding after them).
        transitions: ``(K, K)`` score of tag i followed by tag j.
        start, end: ``(K,)`` scores of the first and the last tag.
    """

    def step(alpha, inputs):
        e, keep, is_first = _split_step(inputs)
        moved = ops.logsumexp(ops.expand_dims(alpha, 2) + transitions, axis=1) + e
        new = ops.where(is_first, start + e, moved)
        return ops.where(keep, new, alpha), None

    init = ops.zeros_like(emissions[:, 0, :])
    alpha, _ = ops.scan(step, init, _scan_inputs(emissions, mask))
    return ops.logsumexp(alpha + end, axis=1)


def crf_path_score(emissions, tags, mask, transitions, start, end):
    """Score of the given tag paths ``(batch, steps)`` (values on padding steps are ignored)."""
    num_tags = ops.shape(emissions)[-1]
    weights = ops.cast(mask, emissions.dtype)
    unary = ops.sum(ops.take_along_axis(emissions, ops.expand_dims(tags, -1), axis=-1)[..., 0] * weights, axis=1)
    pairs = tags[:, :-1] * num_tags + tags[:, 1:]
    binary = ops.sum(ops.take(ops.reshape(transitions, (-1,)), pairs) * weights[:, 1:], axis=1)
    last = ops.maximum(ops.sum(ops.cast(mask, "int32"), axis=1) - 1, 0)
    last_tags = ops.take_along_axis(tags, ops.expand_dims(last, -1), axis=1)[:, 0]
    return unary + binary + ops.take(start, tags[:, 0]) + ops.take(end, last_tags)


def crf_viterbi(emissions, mask, transitions, start, end):
    """Best tag path per sequence: (tags ``(batch, steps)`` int32, 0 on padding; its score)."""
    num_tags = emissions.shape[-1]
    identity = ops.expand_dims(ops.arange(num_tags, dtype="int32"), 0)

    def forward(alpha, inputs):
        e, keep, is_first = _split_step(inputs)
        scores = ops.expand_dims(alpha, 2) + transitions
        best_previous = ops.cast(ops.argmax(scores, axis=1), "int32")
        new = ops.where(is_first, start + e, ops.max(scores, axis=1) + e)
        pointers = ops.where(ops.logical_and(keep, ops.logical_not(is_first)), best_previous, identity)
        # Scan outputs share the carry's dtype on some backends: pointers travel as floats.
        return ops.where(keep, new, alpha), ops.cast(pointers, alpha.dtype)

    init = ops.zeros_like(emissions[:, 0, :])
    alpha, pointers = ops.scan(forward, init, _scan_inputs(emissions, mask))
    pointers = ops.cast(pointers, "int32")
    final = alpha + end
    last = ops.cast(ops.argmax(final, axis=1), "int32")

    def backward(tag, step_pointers):
        previous = ops.take_along_axis(step_pointers, ops.expand_dims(tag, -1), axis=1)[:, 0]
        return previous, tag

    _, path = ops.scan(backward, last, pointers, reverse=True)
    path = ops.where(mask, _time_major(path), ops.zeros_like(_time_major(path)))
    return path, ops.max(final, axis=1)


def crf_channels(num_tags: int) -> int:
    return num_tags * (num_tags + 4)


def unpack_crf(packed, num_tags: int):
    """(emissions, transitions, start, end) from a :class:`CRF` output."""
    k = num_tags
    emissions = packed[..., k : 2 * k]
    transitions = ops.reshape(packed[0, 0, 2 * k : 2 * k + k * k], (k, k))
    start = packed[0, 0, 2 * k + k * k : 3 * k + k * k]
    end = packed[0, 0, 3 * k + k * k : 4 * k + k * k]
    return emissions, transitions, start, end


@keras.saving.register_keras_serializable(package=PACKAGE)
class CRF(_TagHead):
    """Linear-chain CRF head: emission scores (a dense layer over the backbone's outputs),
    tag-to-tag transition scores, and start / end scores.

    Train it with :class:`CRFLoss` (negative log-likelihood by the forward algorithm);
    at inference its first ``num_tags`` channels are the one-hot Viterbi path.

    Args:
        num_tags: Number of tags.
        dropout: Dropout rate on the backbone's output.
        kernel_regularizer: Regularizer of the emission kernel.

    Call arguments:
        inputs: ``(batch, steps, features)``.
        mask: ``(batch, steps)`` booleans, True on real steps.
        training: While training the Viterbi decoding is skipped (the loss does not use it).

    Output: ``(batch, steps, num_tags * (num_tags + 4))``, see the module docstring.

    Example:

    >>> CRF(num_tags=3)(keras.random.normal((2, 7, 8))).shape
    (2, 7, 21)
    """

    def __init__(self, num_tags, dropout=0.0, kernel_regularizer=None, **kwargs):
        super().__init__(num_tags, dropout, kernel_regularizer, **kwargs)
        self.emission = keras.layers.Dense(
            num_tags, kernel_regularizer=self.kernel_regularizer, dtype="float32", name="emission"
        )

    def build(self, input_shape):
        self.emission.build(input_shape)
        k = self.num_tags
        self.transitions = self.add_weight(
            shape=(k, k),
            initializer=keras.initializers.RandomUniform(-0.1, 0.1, seed=0),
            name="transitions",
            dtype="float32",
        )
        self.start_scores = self.add_weight(shape=(k,), initializer="zeros", name="start_scores", dtype="float32")
        self.end_scores = self.add_weight(shape=(k,), initializer="zeros", name="end_scores", dtype="float32")

    def call(self, inputs, mask=None, training=None):
        x = self.drop(inputs, training=training) if self.drop is not None else inputs
        emissions = ops.cast(self.emission(x), "float32")
        batch, steps = ops.shape(emissions)[0], ops.shape(emissions)[1]
        if mask is None:
            mask = ops.ones((batch, steps), dtype="bool")
        if training:
            scores = emissions
        else:
            path, _ = crf_viterbi(emissions, mask, self.transitions, self.start_scores, self.end_scores)
            scores = ops.one_hot(path, self.num_tags, dtype="float32")
        k = self.num_tags
        constant = ops.concatenate([ops.reshape(self.transitions, (k * k,)), self.start_scores, self.end_scores])
        constant = ops.broadcast_to(
            ops.reshape(ops.cast(constant, "float32"), (1, 1, -1)), (batch, steps, k * k + 2 * k)
        )
        return ops.concatenate([scores, emissions, constant], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], crf_channels(self.num_tags))


# -- losses -------------------------------------------------------------------------------------


def _targets(y_true):
    y_true = ops.cast(y_true, "int32")
    mask = ops.greater_equal(y_true, 0)
    return ops.where(mask, y_true, ops.zeros_like(y_true)), mask


@keras.saving.register_keras_serializable(package=PACKAGE)
class CRFLoss(keras.losses.Loss):
    """Negative log-likelihood of the gold tag path under a :class:`CRF`'s output, per
    sentence (steps whose target is -1 are padding)."""

    def __init__(self, num_tags, name="crf_loss", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.num_tags = int(num_tags)

    def call(self, y_true, y_pred):
        tags, mask = _targets(y_true)
        emissions, transitions, start, end = unpack_crf(ops.cast(y_pred, "float32"), self.num_tags)
        log_z = crf_log_partition(emissions, mask, transitions, start, end)
        return log_z - crf_path_score(emissions, tags, mask, transitions, start, end)

    def get_config(self):
        return {**super().get_config(), "num_tags": self.num_tags}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TagCrossEntropy(keras.losses.Loss):
    """Cross-entropy of per-token tag probabilities, summed over each sentence's real steps
    (targets of -1 are padding), so it is on the same per-sentence scale as :class:`CRFLoss`."""

    def __init__(self, name="tag_crossentropy", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        tags, mask = _targets(y_true)
        probabilities = ops.clip(ops.cast(y_pred, "float32"), 1e-7, 1.0)
        picked = ops.take_along_axis(probabilities, ops.expand_dims(tags, -1), axis=-1)[..., 0]
        return -ops.sum(ops.log(picked) * ops.cast(mask, "float32"), axis=1)


# -- metrics ------------------------------------------------------------------------------------


class _TagCounts(keras.metrics.Metric):
    def __init__(self, num_tags, name, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.num_tags = int(num_tags)

    def _predicted(self, y_true, y_pred):
        tags, mask = _targets(y_true)
        predicted = ops.cast(ops.argmax(y_pred[..., : self.num_tags], axis=-1), "int32")
        return tags, predicted, mask

    def get_config(self):
        return {**super().get_config(), "num_tags": self.num_tags}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedTokenAccuracy(_TagCounts):
    """Share of real (non-padding) tokens whose predicted tag is right."""

    def __init__(self, num_tags, name="token_accuracy", dtype=None):
        super().__init__(num_tags, name=name, dtype=dtype)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        tags, predicted, mask = self._predicted(y_true, y_pred)
        weights = ops.cast(mask, "float32")
        self.correct.assign_add(ops.sum(ops.cast(ops.equal(tags, predicted), "float32") * weights))
        self.total.assign_add(ops.sum(weights))

    def result(self):
        return ops.divide_no_nan(self.correct, self.total)


@keras.saving.register_keras_serializable(package=PACKAGE)
class TagF1(_TagCounts):
    """Micro F1 over tokens of tags other than ``O`` (tag id 0): a fast per-epoch proxy of
    entity F1 for early stopping (``val_tag_f1``)."""

    def __init__(self, num_tags, name="tag_f1", dtype=None):
        super().__init__(num_tags, name=name, dtype=dtype)
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="true_positives")
        self.false_positives = self.add_variable(shape=(), initializer="zeros", name="false_positives")
        self.false_negatives = self.add_variable(shape=(), initializer="zeros", name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        tags, predicted, mask = self._predicted(y_true, y_pred)
        right = ops.logical_and(mask, ops.equal(tags, predicted))
        wrong = ops.logical_and(mask, ops.not_equal(tags, predicted))

        def count(condition):
            return ops.sum(ops.cast(condition, "float32"))

        self.true_positives.assign_add(count(ops.logical_and(right, tags > 0)))
        self.false_positives.assign_add(count(ops.logical_and(wrong, predicted > 0)))
        self.false_negatives.assign_add(count(ops.logical_and(wrong, tags > 0)))

    def result(self):
        tp = self.true_positives
        return ops.divide_no_nan(2 * tp, 2 * tp + self.false_positives + self.false_negatives)
