"""One step at a time through a trained model: generation in time linear in its length.

A generating task (the music plugin's ``melody`` and ``piano_roll``) predicts step t+1 from
steps <= t and feeds each chosen step back in. Calling the model on the whole prefix at every
step costs time that grows with the prefix, so generating N steps costs O(N^2). A
:class:`StepModel` runs the same trained layers one step at a time and carries the LSTM
states (h and c of each backbone layer) from step to step instead, so each step costs the
same.

The model must be the chain seqkit builds: input -> encoder layer(s) -> the
:class:`~seqkit.models.backbone.StackedLSTM` backbone (unidirectional) -> head layer(s), each
layer reading only the one before it. Layers before and after the backbone must act on each
step on its own (embeddings, projections, per-step dense heads such as the music plugin's
``StepOutput``): a head that pools over the steps would see one step at a time here.

Example:

>>> steps = StepModel(model)  # a trained next-token model
>>> out, states = steps.prime(np.array([[1, 5, 7]]))  # out: the distribution after token 7
>>> token = out.argmax(-1)
>>> out, states = steps.step(token, states)  # the distribution after `token`, in constant time
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from seqkit.models.backbone import StackedLSTM

States = list[tuple[Any, Any]]


def _chain(model) -> tuple[list, StackedLSTM, list]:
    """(layers before the backbone, the backbone, layers after it) of a linear model."""
    if not isinstance(model, keras.Model) or len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(
            "Invalid value received for argument `model`. Expected a functional Keras model with one input and one "
            f"output. Received: model={model!r}"
        )
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    backbones = [index for index, layer in enumerate(layers) if isinstance(layer, StackedLSTM)]
    if len(backbones) != 1:
        raise ValueError(
            "Invalid value received for argument `model`. Expected a model with one seqkit StackedLSTM backbone. "
            f"Received: {len(backbones)} in model {model.name!r}"
        )
    previous = model.inputs[0]
    for layer in layers:
        # Operation.input: the tensors of its first call; after a masking layer also the mask.
        read = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        if read[0] is not previous or any(tensor.dtype != "bool" for tensor in read[1:]):
            raise ValueError(
                "Invalid value received for argument `model`. Stepping needs a chain of layers, each reading only "
                f"the one before it; layer {layer.name!r} of model {model.name!r} reads something else"
            )
        previous = layer.output
    index = backbones[0]
    backbone = layers[index]
    backbone._require_unidirectional()
    return layers[:index], backbone, layers[index + 1 :]


class StepModel:
    """A trained encoder -> stacked-LSTM -> head model, run one step at a time.

    It reuses the model's own layers and weights (nothing is copied or retrained), so what
    :meth:`step` returns after steps x_1..x_t is what ``model(x[:, :t])`` returns at its last
    step, up to float rounding. On the TensorFlow backend :meth:`step` and :meth:`prime` are
    traced with ``tf.function`` on first use, once (for any batch size and prefix length); on
    other backends they run eagerly.

    Args:
        model: A functional Keras model: input -> encoder -> ``StackedLSTM`` -> head.
        compile: Whether to compile the step and prime functions (TensorFlow backend).

    Raises:
        ValueError: the model is not such a chain, or its backbone is bidirectional.
    """

    def __init__(self, model, compile: bool = True):
        self.model = model
        self.encoder_layers, self.backbone, self.head_layers = _chain(model)
        input_shape = tuple(model.inputs[0].shape)
        self.step_shape = input_shape[2:]  # one step of one sequence
        self.input_dtype = model.inputs[0].dtype
        self._signatures = None
        if compile and keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            state_dtype = self.backbone.rnns[0].cell.compute_dtype
            states = [
                (tf.TensorSpec((None, units), state_dtype), tf.TensorSpec((None, units), state_dtype))
                for units in self.backbone.state_sizes
            ]
            step = tf.TensorSpec((None, *self.step_shape), self.input_dtype)
            self._signatures = {
                "_step_function": (step, states),
                "_step_rows_function": (step, states, tf.TensorSpec((None,), "int32")),
                "_prime_function": (tf.TensorSpec((None, None, *self.step_shape), self.input_dtype), states),
            }
        self._functions = {}

    def _function(self, name: str):
        """``name``'s function, on the TensorFlow backend traced on first use (once: the
        signature takes any batch size and prefix length)."""
        if name not in self._functions:
            function = getattr(self, name)
            if self._signatures is not None:
                import tensorflow as tf

                # The concrete function itself: calling it skips tf.function's argument
                # matching, which doubled the time of a step of a small model (3.7 against
                # 1.7 ms for 2 x 8 units on 2 busy CPU cores).
                function = tf.function(function).get_concrete_function(*self._signatures[name])
            self._functions[name] = function
        return self._functions[name]

    # -- the math, on backend tensors --------------------------------------------------------

    def _encode(self, x):
        mask = None
        for layer in self.encoder_layers:
            mask = layer.compute_mask(x, mask)
            x = layer(x, training=False)
        return x, mask

    def _head(self, x):
        for layer in self.head_layers:
            x = layer(x, training=False)
        return x

    def _step_function(self, inputs, states):
        x, mask = self._encode(ops.expand_dims(inputs, 1))
        y, new_states = self.backbone.step(x[:, 0], states, mask=None if mask is None else mask[:, 0])
        if self.backbone.return_sequences:
            return self._head(ops.expand_dims(y, 1))[:, 0], new_states
        return self._head(y), new_states

    def _step_rows_function(self, inputs, states, rows):
        states = [(ops.take(h, rows, axis=0), ops.take(c, rows, axis=0)) for h, c in states]
        return self._step_function(inputs, states)

    def _prime_function(self, sequences, states):
        x, mask = self._encode(sequences)
        y, new_states = self.backbone.call_with_states(x, states, mask=mask)
        if self.backbone.return_sequences:
            return self._head(y[:, -1:])[:, 0], new_states
        return self._head(y), new_states

    # -- the API ------------------------------------------------------------------------------

    def initial_states(self, batch_size: int) -> States:
        """Zero states for ``batch_size`` sequences: ``[(h, c), ...]``, one pair per
        backbone layer, each ``(batch_size, units)``."""
        return self.backbone.initial_states(batch_size)

    def prime(self, sequences, states: States | None = None) -> tuple[Any, States]:
        """Run whole sequences once.

        Args:
            sequences: ``(batch, steps, ...)`` model inputs (steps >= 1).
            states: Where to start (zeros if None).

        Returns:
            ``(output, states)``: the model's output at the last step, ``(batch, ...)``, and
            the states after it, for :meth:`step`.
        """
        sequences = ops.convert_to_tensor(sequences, dtype=self.input_dtype)
        if states is None:
            states = self.initial_states(ops.shape(sequences)[0])
        return self._function("_prime_function")(sequences, self._states(states))

    def step(self, inputs, states: States, rows=None) -> tuple[Any, States]:
        """One step.

        Args:
            inputs: ``(batch, ...)``, the next step of each sequence (a token id per row for
                token inputs; a feature vector per row for numeric inputs).
            states: The states after the previous step (from :meth:`prime`, :meth:`step` or
                :meth:`initial_states`).
            rows: Optional ``(batch,)`` integers: row i continues from the states of row
                ``rows[i]`` (a beam search keeps some continuations, some more than once);
                default: row i from row i.

        Returns:
            ``(output, states)``: the model's output after this step, ``(batch, ...)``, and the
            new states.
        """
        inputs = ops.convert_to_tensor(inputs, dtype=self.input_dtype)
        if rows is None:
            return self._function("_step_function")(inputs, self._states(states))
        rows = ops.convert_to_tensor(rows, dtype="int32")
        return self._function("_step_rows_function")(inputs, self._states(states), rows)

    @staticmethod
    def _states(states: States) -> States:
        return [(h, c) for h, c in states]  # one structure for tf.function: a list of pairs
