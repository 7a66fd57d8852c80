"""The backbone's LSTMs replayed step by step in NumPy, from their trained weights.

Keras's LSTM (``keras.layers.LSTM``, gate order i, f, c, o in the kernels) computes, at each
real step ``t`` with input ``x_t``::

    z   = x_t W + h_{t-1} U + b
    i   = sigmoid(z_i)    input gate: how much of the candidate is written
    f   = sigmoid(z_f)    forget gate: how much of the cell state is kept
    g   = tanh(z_c)       the candidate
    o   = sigmoid(z_o)    output gate: how much of the cell state is shown
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

and at a masked (padding) step keeps ``h`` and ``c`` unchanged. A backward direction reads
the steps last to first. Each layer is replayed on the input Keras itself gives it (after the
previous layer, its layer normalisation and residual connection), and the replayed outputs are
compared with the layer's own: :attr:`GateTrace.check_error` is the largest difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The quantities of a trace, in the order of :attr:`GateTrace.values`'s first axis.
QUANTITIES = ("input_gate", "forget_gate", "output_gate", "candidate", "cell_state", "hidden_state")


@dataclass
class NamedArray:
    """A NumPy array with named axes and, per axis, optional labels.

    Attributes:
        values: the array.
        axes: one name per axis (``("step", "feature")``).
        coords: ``{axis: labels}`` for the axes that have labels.
    """

    values: np.ndarray
    axes: tuple[str, ...]
    coords: dict[str, list]

    def __post_init__(self):
        if len(self.axes) != np.ndim(self.values):
            raise ValueError(f"NamedArray: {len(self.axes)} axis names for an array of {np.ndim(self.values)} axes")

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(np.shape(self.values))

    def sel(self, **labels) -> np.ndarray:
        """The values at the given labels, e.g. ``trace.values.sel(quantity="cell_state")``."""
        index: list = [slice(None)] * len(self.axes)
        for axis, label in labels.items():
            position = self.axes.index(axis)
            index[position] = list(self.coords[axis]).index(label)
        return self.values[tuple(index)]

    def to_dict(self) -> dict:
        return {"axes": list(self.axes), "coords": self.coords, "values": np.round(self.values, 6).tolist()}


@dataclass
class GateTrace:
    """One LSTM layer (one direction) over one input's real steps.

    Attributes:
        layer: the backbone layer (0 first).
        direction: ``"forward"`` or ``"backward"``.
        values: a :class:`NamedArray` with axes ``("quantity", "step", "unit")``: the gates,
            candidate, cell state and hidden state (quantities :data:`QUANTITIES`) after each
            real step, in the input's step order.
        top_units: the units whose cell state changes most over the input (sum of
            ``|c_t - c_{t-1}|``), largest first.
        change: that sum for each unit.
        check_error: largest ``|replayed - Keras|`` difference of the layer's outputs.
    """

    layer: int
    direction: str
    values: NamedArray
    top_units: list[int]
    change: np.ndarray
    check_error: float

    def quantity(self, name: str) -> np.ndarray:
        """``(steps, units)`` of one quantity (``"forget_gate"``, ``"cell_state"`` ...)."""
        return self.values.sel(quantity=name)

    def to_dict(self) -> dict:
        return {
            "layer": self.layer,
            "direction": self.direction,
            "top_units": self.top_units,
            "cell_change": np.round(self.change, 6).tolist(),
            "check_error": self.check_error,
            "trace": self.values.to_dict(),
        }


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_weights(lstm) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(kernel, recurrent_kernel, bias)`` of a ``keras.layers.LSTM`` as float64 arrays; a
    layer whose activations are not tanh / sigmoid is refused (the replay assumes them)."""
    import keras

    cell = lstm.cell
    if cell.activation is not keras.activations.tanh or cell.recurrent_activation is not keras.activations.sigmoid:
        raise NotImplementedError("explain: gate traces need an LSTM with tanh / sigmoid activations")
    kernel = np.asarray(cell.kernel.numpy(), dtype="float64")
    recurrent = np.asarray(cell.recurrent_kernel.numpy(), dtype="float64")
    bias = np.asarray(cell.bias.numpy(), dtype="float64") if cell.use_bias else np.zeros(kernel.shape[1])
    return kernel, recurrent, bias


def replay_lstm(x: np.ndarray, mask: np.ndarray | None, kernel, recurrent, bias, backward: bool = False) -> np.ndarray:
    """Run one LSTM over ``x`` ``(steps, features)``; returns ``(6, steps, units)`` in the order
    of :data:`QUANTITIES`, in ``x``'s step order. Masked steps keep the state (their gates are
    NaN)."""
    steps = x.shape[0]
    units = recurrent.shape[0]
    mask = np.ones(steps, bool) if mask is None else np.asarray(mask, bool)
    out = np.full((len(QUANTITIES), steps, units), np.nan)
    h = np.zeros(units)
    c = np.zeros(units)
    order = range(steps - 1, -1, -1) if backward else range(steps)
    for t in order:
        if mask[t]:
            z = np.asarray(x[t], dtype="float64") @ kernel + h @ recurrent + bias
            i = _sigmoid(z[:units])
            f = _sigmoid(z[units : 2 * units])
            g = np.tanh(z[2 * units : 3 * units])
            o = _sigmoid(z[3 * units :])
            c = f * c + i * g
            h = o * np.tanh(c)
            out[0, t], out[1, t], out[2, t], out[3, t] = i, f, o, g
        out[4, t], out[5, t] = c, h
    return out


def _directions(rnn):
    import keras

    if isinstance(rnn, keras.layers.Bidirectional):
        return [("forward", rnn.forward_layer), ("backward", rnn.backward_layer)]
    return [("forward", rnn)]


def _keras_outputs(lstm, x, mask, steps: int, backward: bool) -> np.ndarray:
    """The layer's own hidden states ``(steps, units)`` in input order (return_sequences), or
    its final state ``(units,)``."""
    output = np.asarray(lstm(x[None], mask=None if mask is None else mask[None], training=False))[0]
    if output.ndim == 2 and backward:  # a backward layer returns its steps in reading order
        output = output[::-1]
    return output


def trace_backbone(backbone, vectors: np.ndarray, mask: np.ndarray | None, top: int = 8) -> list[GateTrace]:
    """Gate traces of every layer and direction of a StackedLSTM for one input.

    Args:
        backbone: the :class:`seqkit.models.backbone.StackedLSTM`.
        vectors: what it reads, ``(steps, features)`` (the encoder's output).
        mask: ``(steps,)`` True for real steps, or None.
        top: how many units :attr:`GateTrace.top_units` lists.
    """
    from keras import ops

    x = np.asarray(vectors, dtype="float32")
    steps = x.shape[0]
    real = np.ones(steps, bool) if mask is None else np.asarray(mask, bool)
    traces = []
    for index, rnn in enumerate(backbone.rnns):
        for direction, lstm in _directions(rnn):
            backward = direction == "backward"
            kernel, recurrent, bias = lstm_weights(lstm)
            replay = replay_lstm(x, real, kernel, recurrent, bias, backward=backward)
            hidden = replay[5]
            own = _keras_outputs(lstm, x, mask, steps, backward)
            if own.ndim == 2:
                error = float(np.abs(own[real] - hidden[real]).max()) if real.any() else 0.0
            else:  # final state: after the last real step read (the first one, going backwards)
                positions = np.flatnonzero(real)
                last = (positions[0] if backward else positions[-1]) if positions.size else None
                error = float(np.abs(own - (hidden[last] if last is not None else 0.0)).max())
            cells = replay[4][real]
            read = cells[::-1] if backward else cells  # in reading order, from the zero state
            change = np.abs(np.diff(np.vstack([np.zeros((1, cells.shape[1])), read]), axis=0)).sum(axis=0)
            ranked = [int(u) for u in np.argsort(-change, kind="stable")[:top]]
            kept = np.flatnonzero(real)
            values = NamedArray(
                replay[:, real, :],
                ("quantity", "step", "unit"),
                {"quantity": list(QUANTITIES), "step": [int(p) for p in kept]},
            )
            traces.append(GateTrace(index, direction, values, ranked, change, error))
        if index < len(backbone.rnns) - 1:  # the next layer's input, as Keras computes it
            y = rnn(x[None], mask=None if mask is None else mask[None], training=False)
            if backbone.norms[index] is not None:
                y = backbone.norms[index](y)
            if backbone._uses_residual(index, x.shape[-1]):
                y = ops.add(x[None], y)
            x = np.asarray(ops.convert_to_numpy(y))[0].astype("float32")
    return traces
