"""Keras layers, losses and metrics of the seq2seq plugin (``keras`` / ``keras.ops`` only).

The model is ``SourceEmbedding`` -> seqkit's stacked-LSTM backbone (the encoder) -> a head:

- ``AttentionDecoder``: an LSTM decoder whose state starts from the encoder's (a learned
  bridge), with Luong (general) or Bahdanau (additive) attention. Without input feeding (the
  default of the recipes) attention reads the decoder's output after each step, so a batch
  whose rows all carry a reference (teacher forcing, the training batches) runs as one LSTM
  over the whole shifted target and one batched attention over all steps. Other batches
  (and input feeding, where the previous step's attentional vector enters the cell, or
  scheduled sampling while training) run ``max_target_length + 1`` steps: rows that carry a
  reference are teacher forced, rows without one feed back their own argmax, so the saved
  model decodes greedily on its own. ``prepare`` and ``step`` expose the same computation
  one step at a time for beam search (seqkit_seq2seq.decoding).
- ``CTCHead``: per-frame scores over the target symbols plus a blank (the last channel);
  padded frames are forced to the blank so the CTC loss needs no lengths beside the tensors.

Outputs: the decoder gives log-probabilities ``(batch, steps, vocabulary)``; the CTC head
logits ``(batch, frames, vocabulary + 1)`` (the extra channel tells the task which it is).
"""

from __future__ import annotations

import keras
from keras import ops

PACKAGE = "seqkit_seq2seq"
PAD, BOS, EOS = 0, 1, 2
NEG = -1.0e4  # a logit that softmax turns into 0 (finite, so float16 and gradients stay sane)


def _positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected a positive integer. Received: {name}={value!r}"
        )
    return value


def _rate(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected a float in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


def frame_mask(inputs, source_length: int, frames: int):
    """True on the encoder frames of real source symbols (each repeated ``frames // source_length`` times)."""
    mask = ops.not_equal(inputs[:, :source_length], PAD)
    upsample = frames // source_length
    return ops.repeat(mask, upsample, axis=1) if upsample > 1 else mask


@keras.saving.register_keras_serializable(package=PACKAGE)
class SourceEmbedding(keras.layers.Layer):
    """Embeds the source part of packed inputs; optionally repeats each symbol (CTC needs at
    least as many frames as output symbols).

    Args:
        vocabulary_size: Source symbols, padding (0) included.
        dim: Embedding width.
        source_length: Columns of the packed input that hold the source.
        upsample: Frames per source symbol.
        dropout: Dropout on the embeddings.

    Call arguments:
        inputs: int tensor ``(batch, source_length + ...)``.

    Example:

    >>> SourceEmbedding(10, 4, source_length=3, upsample=2)(np.array([[4, 5, 0, 1, 6]])).shape
    (1, 6, 4)
    """

    def __init__(self, vocabulary_size, dim=64, source_length=1, upsample=1, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = _positive("vocabulary_size", vocabulary_size)
        self.dim = _positive("dim", dim)
        self.source_length = _positive("source_length", source_length)
        self.upsample = _positive("upsample", upsample)
        self.dropout = _rate("dropout", dropout)
        self.embedding = keras.layers.Embedding(vocabulary_size, dim, name="embedding")
        self.drop = keras.layers.Dropout(self.dropout) if self.dropout else None
        self.supports_masking = True

    def build(self, input_shape):
        self.embedding.build((None, self.source_length))

    def call(self, inputs, training=None):
        x = self.embedding(inputs[:, : self.source_length])
        if self.upsample > 1:
            x = ops.repeat(x, self.upsample, axis=1)
        return self.drop(x, training=training) if self.drop is not None else x

    def compute_mask(self, inputs, mask=None):
        return frame_mask(inputs, self.source_length, self.source_length * self.upsample)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.source_length * self.upsample, self.dim)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "dim": self.dim,
            "source_length": self.source_length,
            "upsample": self.upsample,
            "dropout": self.dropout,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class AttentionDecoder(keras.layers.Layer):
    """LSTM decoder with attention over the encoder's outputs.

    Args:
        vocabulary_size: Target symbols (``<pad>``, ``<s>``, ``</s>``, ``<unk>`` first).
        units: Decoder LSTM units.
        source_length: Source columns of the packed input (the rest is ``<s>`` + reference).
        attention: ``"luong"`` (general: ``h W m``) or ``"bahdanau"`` (additive: ``v tanh(W m + U h)``).
        embedding_dim: Target embedding width.
        dropout: Dropout before the output layer.
        scheduled_sampling: While training, the probability of feeding the model's own
            previous output instead of the reference (Bengio et al. 2015).
        input_feeding: Feed the previous step's attentional vector into the cell (Luong et
            al. 2015); off, teacher forcing is parallel over the steps (one LSTM call and
            one batched attention). The layer's default stays on, as the models saved
            before the option were built.
        beam / length_penalty: Beam search defaults kept with the model (see ``decoding``).

    Call arguments:
        memory: Encoder outputs ``(batch, frames, width)``.
        inputs: The packed int inputs ``(batch, source_length + steps)``.

    Example:

    >>> AttentionDecoder(12, 8, source_length=3)(np.zeros((2, 3, 6)), np.array([[4, 5, 0, 1, 7, 2]] * 2)).shape
    (2, 3, 12)
    """

    def __init__(
        self,
        vocabulary_size,
        units=128,
        source_length=1,
        attention="luong",
        embedding_dim=32,
        dropout=0.0,
        scheduled_sampling=0.0,
        beam=1,
        length_penalty=0.0,
        seed=None,
        input_feeding=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if attention not in ("luong", "bahdanau"):
            raise ValueError(
                f"Invalid value received for argument `attention`. Expected 'luong' or 'bahdanau'. Received: attention={attention!r}"
            )
        self.vocabulary_size = _positive("vocabulary_size", vocabulary_size)
        self.units = _positive("units", units)
        self.source_length = _positive("source_length", source_length)
        self.attention = attention
        self.embedding_dim = _positive("embedding_dim", embedding_dim)
        self.dropout = _rate("dropout", dropout)
        self.scheduled_sampling = _rate("scheduled_sampling", scheduled_sampling)
        self.beam = _positive("beam", beam)
        self.length_penalty = float(length_penalty)
        self.seed = seed
        self.input_feeding = bool(input_feeding)
        self.embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, name="target_embedding")
        if self.input_feeding:
            self.cell = keras.layers.LSTMCell(units, name="decoder_cell")
        else:  # the same cell, also run over whole sequences (teacher forcing)
            self.lstm = keras.layers.LSTM(units, return_sequences=True, name="decoder_lstm")
            self.cell = self.lstm.cell
        self.bridge_h = keras.layers.Dense(units, activation="tanh", name="bridge_h")
        self.bridge_c = keras.layers.Dense(units, name="bridge_c")
        self.keys = keras.layers.Dense(units, use_bias=False, name="attention_keys")
        if attention == "bahdanau":
            self.query = keras.layers.Dense(units, use_bias=False, name="attention_query")
            self.score = keras.layers.Dense(1, use_bias=False, name="attention_score")
        self.combine = keras.layers.Dense(units, activation="tanh", name="attention_combine")
        self.drop = keras.layers.Dropout(self.dropout) if self.dropout else None
        self.output_layer = keras.layers.Dense(vocabulary_size, name="output")
        self.seed_generator = keras.random.SeedGenerator(seed) if self.scheduled_sampling else None
        self.supports_masking = True  # the frame mask is rebuilt from the packed inputs

    def compute_mask(self, *args, **kwargs):
        return None

    def build(self, memory_shape, inputs_shape=None):
        width = memory_shape[-1]
        self.embedding.build((None,))
        if self.input_feeding:
            self.cell.build((None, self.embedding_dim + self.units))
        else:
            self.lstm.build((None, None, self.embedding_dim))
        self.bridge_h.build((None, 2 * width))
        self.bridge_c.build((None, 2 * width))
        self.keys.build((None, None, width))
        if self.attention == "bahdanau":
            self.query.build((None, None, self.units))
            self.score.build((None, None, self.units))
        self.combine.build((None, width + self.units))
        self.output_layer.build((None, self.units))

    # -- one step at a time (also used by beam search) -------------------------------------------

    def prepare(self, memory, inputs):
        """Encoder outputs and packed inputs -> (attention keys, frame mask, initial state).
        The state is ``[h, c]``, with input feeding ``[h, c, attentional vector]``."""
        memory = ops.convert_to_tensor(memory)
        mask = frame_mask(inputs, self.source_length, memory.shape[1])
        # The bridge reads the first and the last real frame: for a bidirectional encoder the
        # final states of both directions (and more for a unidirectional one's last frame).
        last = ops.maximum(ops.sum(ops.cast(mask, "int32"), axis=1) - 1, 0)
        final = ops.take_along_axis(memory, ops.reshape(last, (-1, 1, 1)), axis=1)[:, 0]
        summary = ops.concatenate([memory[:, 0], final], axis=-1)
        h = self.bridge_h(summary)
        state = [h, self.bridge_c(summary)]
        if self.input_feeding:
            state.append(ops.zeros_like(h))
        return self.keys(memory), mask, state

    def _attend(self, h, memory, keys, mask, training=None):
        """Decoder outputs ``h`` (``(batch, units)`` or ``(batch, steps, units)``) -> (log-probabilities,
        attentional vectors, attention weights), each with the same leading axes."""
        steps = len(h.shape) == 3
        if self.attention == "luong":
            scores = ops.einsum("btu,bfu->btf", h, keys) if steps else ops.einsum("bu,bfu->bf", h, keys)
        else:
            query = self.query(h)
            query = query[:, :, None, :] if steps else query[:, None, :]
            scores = ops.squeeze(self.score(ops.tanh((keys[:, None] if steps else keys) + query)), axis=-1)
        frames = mask[:, None, :] if steps else mask
        scores = ops.where(frames, scores, ops.full_like(scores, -1.0e9))
        weights = ops.softmax(scores, axis=-1)
        context = ops.einsum("btf,bfw->btw", weights, memory) if steps else ops.einsum("bf,bfw->bw", weights, memory)
        attended = self.combine(ops.concatenate([context, h], axis=-1))
        hidden = self.drop(attended, training=training) if self.drop is not None else attended
        logits = ops.cast(self.output_layer(hidden), "float32")
        # <pad> and <s> are never outputs: the distribution is over the other symbols.
        never = ops.convert_to_tensor([i in (PAD, BOS) for i in range(self.vocabulary_size)])
        logits = ops.where(never, NEG, logits)
        return ops.log_softmax(logits, axis=-1), attended, weights

    def step(self, tokens, state, memory, keys, mask, training=None):
        """One decoder step: tokens ``(batch,)`` -> (log-probabilities, new state, attention weights)."""
        x = self.embedding(tokens)
        if self.input_feeding:
            x = ops.concatenate([x, state[2]], axis=-1)
        h, (h, c) = self.cell(x, state[:2], training=training)
        log_probs, attended, weights = self._attend(h, memory, keys, mask, training=training)
        return log_probs, ([h, c, attended] if self.input_feeding else [h, c]), weights

    # -- the whole sequence ------------------------------------------------------------------------

    def call(self, memory, inputs, training=None):
        memory = ops.convert_to_tensor(memory)
        keys, mask, state = self.prepare(memory, inputs)
        target_in = ops.cast(inputs[:, self.source_length :], "int32")
        loop = lambda: self._free_running(memory, keys, mask, state, target_in, training)  # noqa: E731
        if self.input_feeding or (training and self.scheduled_sampling):
            return loop()
        return ops.cond(
            ops.all(ops.equal(target_in[:, 0], BOS)),
            lambda: self._teacher_forced(memory, keys, mask, state, target_in, training),
            loop,
        )

    def _teacher_forced(self, memory, keys, mask, state, target_in, training=None):
        """Every row carries its reference: one LSTM over ``<s>`` + reference, then attention over all steps."""
        h = self.lstm(self.embedding(target_in), initial_state=state[:2], training=training)
        return self._attend(h, memory, keys, mask, training=training)[0]

    def _free_running(self, memory, keys, mask, state, target_in, training=None):
        """Step by step: rows with a reference are teacher forced (with scheduled sampling while
        training), rows without one read their own previous argmax."""
        steps = target_in.shape[1]
        teacher = ops.equal(target_in[:, 0], BOS)
        token = ops.full_like(target_in[:, 0], BOS)
        outputs = []
        previous = token
        for t in range(steps):
            if t:
                forced = teacher
                if training and self.scheduled_sampling:
                    draw = keras.random.uniform(ops.shape(teacher), seed=self.seed_generator)
                    forced = ops.logical_and(forced, draw >= self.scheduled_sampling)
                token = ops.where(forced, target_in[:, t], previous)
            log_probs, state, _weights = self.step(token, state, memory, keys, mask, training=training)
            previous = ops.cast(ops.argmax(log_probs, axis=-1), "int32")
            outputs.append(log_probs)
        return ops.stack(outputs, axis=1)

    def compute_output_shape(self, memory_shape, inputs_shape=None):
        steps = None if inputs_shape is None or inputs_shape[1] is None else inputs_shape[1] - self.source_length
        return (memory_shape[0], steps, self.vocabulary_size)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "units": self.units,
            "source_length": self.source_length,
            "attention": self.attention,
            "embedding_dim": self.embedding_dim,
            "dropout": self.dropout,
            "scheduled_sampling": self.scheduled_sampling,
            "beam": self.beam,
            "length_penalty": self.length_penalty,
            "seed": self.seed,
            "input_feeding": self.input_feeding,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class CTCHead(keras.layers.Layer):
    """Per-frame logits over the target symbols and a blank (the last channel).

    Args:
        vocabulary_size: Target symbols (the output has one more channel, the blank).
        source_length: Source columns of the packed input (to find the padded frames).
        dropout: Dropout on the encoder outputs.
        beam: Beam width kept with the model as the decoding default.

    Call arguments:
        memory: Encoder outputs ``(batch, frames, width)``.
        inputs: The packed int inputs.
    """

    def __init__(self, vocabulary_size, source_length=1, dropout=0.0, beam=1, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = _positive("vocabulary_size", vocabulary_size)
        self.source_length = _positive("source_length", source_length)
        self.dropout = _rate("dropout", dropout)
        self.beam = _positive("beam", beam)
        self.drop = keras.layers.Dropout(self.dropout) if self.dropout else None
        self.dense = keras.layers.Dense(vocabulary_size + 1, name="frame_logits")
        self.supports_masking = True  # padded frames are forced to the blank instead

    def compute_mask(self, *args, **kwargs):
        return None

    def build(self, memory_shape, inputs_shape=None):
        self.dense.build(memory_shape)

    def call(self, memory, inputs, training=None):
        x = self.drop(memory, training=training) if self.drop is not None else memory
        logits = ops.cast(self.dense(x), "float32")
        mask = frame_mask(inputs, self.source_length, memory.shape[1])
        blank_only = ops.concatenate([ops.full((self.vocabulary_size,), NEG), ops.zeros((1,))])
        return ops.where(mask[..., None], logits, ops.broadcast_to(blank_only, ops.shape(logits)))

    def compute_output_shape(self, memory_shape, inputs_shape=None):
        return (memory_shape[0], memory_shape[1], self.vocabulary_size + 1)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "source_length": self.source_length,
            "dropout": self.dropout,
            "beam": self.beam,
        }


# -- losses and metrics ----------------------------------------------------------------------------


def first_reference(y_true):
    """Targets ``(n, length)`` or ``(n, references, length)`` -> the first reference."""
    y_true = ops.cast(y_true, "int32")
    return y_true[:, 0] if len(y_true.shape) == 3 else y_true


@keras.saving.register_keras_serializable(package=PACKAGE)
class SequenceCrossEntropy(keras.losses.Loss):
    """Cross-entropy per target symbol (padding skipped), averaged over the batch's symbols;
    ``label_smoothing`` mixes in the uniform distribution."""

    def __init__(self, label_smoothing=0.0, name="sequence_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        y = first_reference(y_true)
        log_probs = ops.cast(y_pred, "float32")
        nll = -ops.take_along_axis(log_probs, y[..., None], axis=-1)[..., 0]
        if self.label_smoothing:
            nll = (1 - self.label_smoothing) * nll - self.label_smoothing * ops.mean(log_probs, axis=-1)
        mask = ops.cast(ops.not_equal(y, PAD), "float32")
        batch = ops.cast(ops.shape(y)[0], "float32")
        # Each row's share of the batch's per-symbol mean: Keras averages the rows.
        return ops.sum(nll * mask, axis=-1) * batch / ops.maximum(ops.sum(mask), 1.0)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package=PACKAGE)
class CTCLoss(keras.losses.Loss):
    """Connectionist temporal classification (Graves et al. 2006) over the unpadded frames;
    a target that cannot fit its frames (too many symbols and repeats) adds nothing."""

    def __init__(self, vocabulary_size, name="ctc", **kwargs):
        super().__init__(name=name, **kwargs)
        self.vocabulary_size = int(vocabulary_size)

    def call(self, y_true, y_pred):
        y = first_reference(y_true)
        labels = ops.where(ops.greater(y, EOS), y, ops.zeros_like(y))
        real = ops.cast(ops.greater(labels, 0), "int32")
        label_length = ops.sum(real, axis=-1)
        frames = ops.sum(ops.cast(ops.greater(y_pred[..., 0], NEG / 2), "int32"), axis=-1)
        repeats = ops.sum(ops.cast(ops.equal(labels[:, 1:], labels[:, :-1]), "int32") * real[:, 1:], axis=-1)
        fits = ops.less_equal(label_length + repeats, frames)
        loss = ops.ctc_loss(
            labels, y_pred, ops.where(fits, label_length, 0), ops.maximum(frames, 1), mask_index=self.vocabulary_size
        )
        return ops.where(fits, loss, ops.zeros_like(loss))

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size}


@keras.saving.register_keras_serializable(package=PACKAGE)
class SymbolAccuracy(keras.metrics.Mean):
    """Share of target symbols (``</s>`` included, padding not) predicted right."""

    def __init__(self, name="symbol_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y = first_reference(y_true)
        right = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y), "float32")
        mask = ops.cast(ops.not_equal(y, PAD), "float32")
        return super().update_state(right, sample_weight=mask)


@keras.saving.register_keras_serializable(package=PACKAGE)
class SequenceAccuracy(keras.metrics.Mean):
    """Share of sequences whose every symbol up to ``</s>`` is right (against the first
    reference; free-running on validation rows, so about 1 - WER)."""

    def __init__(self, name="sequence_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y = first_reference(y_true)
        wrong = ops.logical_and(ops.not_equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y), ops.not_equal(y, PAD))
        return super().update_state(1.0 - ops.cast(ops.any(wrong, axis=-1), "float32"))
