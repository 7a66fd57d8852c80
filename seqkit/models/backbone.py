"""The shared stacked-LSTM backbone, written with ``keras`` / ``keras.ops`` only."""

from __future__ import annotations

import keras
from keras import ops


def _check_rate(name: str, value) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected a float in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


@keras.saving.register_keras_serializable(package="seqkit")
class StackedLSTM(keras.layers.Layer):
    """N stacked LSTM layers, optionally bidirectional, with dropout, layer normalisation
    and residual connections.

    The default settings (tanh / sigmoid, no recurrent dropout, no unroll) keep each LSTM
    eligible for the fused cuDNN kernel on GPU with the TensorFlow backend. Setting
    ``recurrent_dropout > 0`` leaves that path (much slower on GPU).

    Args:
        units: Positive integer, or a list with one positive integer per layer.
        layers: Number of stacked layers. If ``units`` is a list, it must have this length
            (or ``layers`` is taken from it).
        bidirectional: Whether each layer reads the sequence both ways.
        merge_mode: How the two directions are combined: ``"concat"``, ``"sum"``, ``"ave"``
            or ``"mul"``.
        dropout: Dropout rate applied to each layer's output (between layers and after the
            last one).
        recurrent_dropout: Dropout rate on the recurrent state inside each LSTM.
        layer_norm: Whether to apply layer normalisation to each layer's output.
        residual: Whether to add a layer's input to its output when both have the same
            width (and the output is a sequence).
        return_sequences: Whether to return the whole sequence (``(batch, steps, width)``)
            or the final state of the last layer (``(batch, width)``). Padding masks are
            honoured: the final state is the one at each sequence's last real step.
        kernel_regularizer: Regularizer for the LSTM input and recurrent kernels.

    Call arguments:
        inputs: A 3D tensor ``(batch, steps, features)``.
        mask: Optional boolean tensor ``(batch, steps)``; True marks real steps.
        training: Whether dropout is active.

    Example:

    >>> x = keras.random.normal((4, 10, 8))
    >>> StackedLSTM(units=16, layers=2, bidirectional=True)(x).shape
    (4, 32)
    """

    def __init__(
        self,
        units=64,
        layers=1,
        bidirectional=False,
        merge_mode="concat",
        dropout=0.0,
        recurrent_dropout=0.0,
        layer_norm=False,
        residual=False,
        return_sequences=False,
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(units, (list, tuple)):
            units = [int(u) for u in units]
            if layers not in (None, 1, len(units)):
                raise ValueError(
                    "Invalid value received for argument `units`. Expected one entry per layer "
                    f"({layers} layers). Received: units={units}"
                )
            layers = len(units)
        elif layers is None:
            layers = 1
        if not isinstance(layers, int) or isinstance(layers, bool) or layers < 1:
            raise ValueError(
                f"Invalid value received for argument `layers`. Expected a positive integer. Received: layers={layers!r}"
            )
        units_list = units if isinstance(units, list) else [units] * layers
        for u in units_list:
            if not isinstance(u, int) or isinstance(u, bool) or u < 1:
                raise ValueError(
                    f"Invalid value received for argument `units`. Expected a positive integer. Received: units={u!r}"
                )
        if merge_mode not in ("concat", "sum", "ave", "mul"):
            raise ValueError(
                "Invalid value received for argument `merge_mode`. Expected one of "
                f"'concat', 'sum', 'ave', 'mul'. Received: merge_mode={merge_mode!r}"
            )
        self.units = units
        self.layers_count = layers
        self.units_per_layer = units_list
        self.bidirectional = bool(bidirectional)
        self.merge_mode = merge_mode
        self.dropout = _check_rate("dropout", dropout)
        self.recurrent_dropout = _check_rate("recurrent_dropout", recurrent_dropout)
        self.layer_norm = bool(layer_norm)
        self.residual = bool(residual)
        self.return_sequences = bool(return_sequences)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.supports_masking = True

        self.rnns = []
        self.norms = []
        self.drops = []
        for index, width in enumerate(self.units_per_layer):
            last = index == layers - 1
            rnn = keras.layers.LSTM(
                width,
                return_sequences=self.return_sequences or not last,
                recurrent_dropout=self.recurrent_dropout,
                kernel_regularizer=self.kernel_regularizer,
                recurrent_regularizer=self.kernel_regularizer,
                name=f"lstm_{index}",
            )
            if self.bidirectional:
                rnn = keras.layers.Bidirectional(rnn, merge_mode=merge_mode, name=f"bidirectional_{index}")
            self.rnns.append(rnn)
            self.norms.append(keras.layers.LayerNormalization(name=f"layer_norm_{index}") if self.layer_norm else None)
            self.drops.append(keras.layers.Dropout(self.dropout, name=f"dropout_{index}") if self.dropout else None)

    def _width(self, index: int) -> int:
        width = self.units_per_layer[index]
        return width * 2 if self.bidirectional and self.merge_mode == "concat" else width

    @property
    def output_width(self) -> int:
        return self._width(self.layers_count - 1)

    def _uses_residual(self, index: int, input_width) -> bool:
        sequence_out = self.return_sequences or index < self.layers_count - 1
        return self.residual and sequence_out and input_width == self._width(index)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for index, rnn in enumerate(self.rnns):
            rnn.build(shape)
            out_shape = tuple(rnn.compute_output_shape(shape))
            if isinstance(out_shape[0], tuple):  # Bidirectional with return_state would nest
                out_shape = out_shape[0]
            if self.norms[index] is not None:
                self.norms[index].build(out_shape)
            shape = out_shape

    def _finish_layer(self, index: int, x, y, training=None):
        """Layer ``index``'s normalisation, dropout and residual on its LSTM output ``y``
        (``x`` is the layer's input): shared by :meth:`call` and the stepping methods."""
        if self.norms[index] is not None:
            y = self.norms[index](y)
        if self.drops[index] is not None:
            y = self.drops[index](y, training=training)
        if self._uses_residual(index, x.shape[-1]):
            y = ops.add(x, y)
        return y

    def call(self, inputs, mask=None, training=None):
        x = inputs
        for index, rnn in enumerate(self.rnns):
            x = self._finish_layer(index, x, rnn(x, mask=mask, training=training), training)
        return x

    # -- stepping (generation): see seqkit.models.stepping -------------------------------------

    def _require_unidirectional(self):
        if self.bidirectional:
            raise ValueError(
                "Invalid value received for argument `bidirectional`. Stepping a backbone one step at a time "
                "needs a unidirectional one: a bidirectional layer also reads each sequence backwards, from steps "
                "not seen yet. Received: bidirectional=True"
            )

    @property
    def state_sizes(self) -> list[int]:
        """Units of each layer: its LSTM carries two states (h, c) of this width."""
        return list(self.units_per_layer)

    def initial_states(self, batch_size) -> list[tuple]:
        """Zero states, ``[(h, c), ...]`` one pair per layer, each ``(batch_size, units)``:
        the states a full-sequence call starts from."""
        self._require_unidirectional()
        return [tuple(rnn.get_initial_state(batch_size)) for rnn in self.rnns]

    def step(self, inputs, states, mask=None):
        """One step of every layer.

        Args:
            inputs: ``(batch, features)``, one step of the input sequence.
            states: ``[(h, c), ...]`` one pair per layer, as returned by
                :meth:`initial_states`, :meth:`call_with_states` or a previous step.
            mask: Optional boolean ``(batch,)``; False keeps a row's states unchanged, as a
                masked step of a full-sequence call does.

        Returns:
            ``(output, new_states)``: the top layer's output ``(batch, width)`` (what
            :meth:`call` returns at this step) and the new states.
        """
        self._require_unidirectional()
        x, new_states = inputs, []
        for index, rnn in enumerate(self.rnns):
            h, c = states[index]
            _, (h_new, c_new) = rnn.cell(x, [h, c], training=False)
            if mask is not None:  # a masked step repeats the previous output, as LSTM.call does
                keep = ops.expand_dims(ops.cast(mask, "bool"), -1)
                h_new, c_new = ops.where(keep, h_new, h), ops.where(keep, c_new, c)
            new_states.append((h_new, c_new))
            # An LSTM's output is its new h.
            x = self._finish_layer(index, x, ops.cast(h_new, self.compute_dtype), training=False)
        return x, new_states

    def call_with_states(self, inputs, states=None, mask=None):
        """A whole sequence through every layer, starting from ``states`` (zeros if None).

        Returns:
            ``(output, new_states)``: what :meth:`call` returns (the last step of its output
            is what :meth:`step` would have returned there) and the states after the last
            step, ready for :meth:`step`.
        """
        self._require_unidirectional()
        if states is None:
            states = self.initial_states(ops.shape(inputs)[0])
        x, new_states = inputs, []
        for index, rnn in enumerate(self.rnns):
            initial = [ops.convert_to_tensor(s, dtype=rnn.cell.compute_dtype) for s in states[index]]
            # LSTM.inner_loop is the loop LSTM.call runs (cuDNN where it can), here with the
            # final states kept; written for Keras 3.15, and a test checks it against call.
            last, outputs, (h, c) = rnn.inner_loop(sequences=x, initial_state=initial, mask=mask, training=False)
            y = outputs if rnn.return_sequences else last
            new_states.append((ops.cast(h, self.compute_dtype), ops.cast(c, self.compute_dtype)))
            x = self._finish_layer(index, x, ops.cast(y, self.compute_dtype), training=False)
        return x, new_states

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.output_width)
        return (input_shape[0], self.output_width)

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def get_config(self):
        base_config = super().get_config()
        config = {
            "units": self.units,
            "layers": self.layers_count,
            "bidirectional": self.bidirectional,
            "merge_mode": self.merge_mode,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "layer_norm": self.layer_norm,
            "residual": self.residual,
            "return_sequences": self.return_sequences,
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }
        return {**base_config, **config}
