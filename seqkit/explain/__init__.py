"""Explain a trained run's predictions: what each input step contributed, and what the LSTM's
gates and cell state did over the sequence.

>>> run = seqkit.load_run("runs/reviews-sentiment/<run-id>")
>>> [e] = run.explain(["I regret buying this item."])
>>> e.steps, e.per_step            # tokens and their integrated-gradients attributions
>>> e.completeness.relative_error  # |sum(attributions) - (F(x) - F(baseline))| / |F(x) - F(baseline)|
>>> e.gates[0].quantity("forget_gate")   # (steps, units) of layer 0, forward direction

What is explained for each input is the task's output of interest
(:meth:`seqkit.plugin_api.Task.explain_target`): the predicted class's probability, a forecast
step, an entity's tags, the next note. Attributions are integrated gradients against a zero
baseline in the space the backbone reads: the token vectors for token inputs (the padding
mask of the real input held fixed, so the baseline is "the same positions, no words"), the
input features themselves for numeric inputs. Figures: :mod:`seqkit.explain.figures`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seqkit.explain.attribution import IntegratedGradients, integrated_gradients
from seqkit.explain.gates import QUANTITIES, GateTrace, NamedArray, trace_backbone
from seqkit.explain.network import Network

__all__ = [
    "QUANTITIES",
    "Explanation",
    "GateTrace",
    "IntegratedGradients",
    "NamedArray",
    "Network",
    "explain",
    "integrated_gradients",
    "report_section",
    "test_examples",
    "trace_backbone",
    "value_and_gradient_of",
]


@dataclass
class Explanation:
    """One input's explanation.

    Attributes:
        input: the raw input as given.
        prediction: the task's decoded prediction (as ``Run.predict`` gives it).
        target: what is explained (``"p(positive)"``), from the task's ``explain_target``.
        steps: a label for each real (unmasked) input step: tokens, notes, times.
        positions: each real step's position in the padded model input.
        attributions: a :class:`NamedArray` with axes ``("step", "feature")``: integrated
            gradients of the target per real step and feature (token-vector dimension for
            token inputs, input feature for numeric inputs).
        completeness: the :class:`IntegratedGradients` check (``relative_error`` ...).
        gates: one :class:`GateTrace` per backbone layer and direction.
        space: ``"embedding"`` (token vectors) or ``"input"`` (numeric features).
        highlight: steps (indices into :attr:`steps`) figures outline, e.g. an entity's tokens.
    """

    input: Any
    prediction: dict
    target: str
    steps: list[str]
    positions: list[int]
    attributions: NamedArray
    completeness: IntegratedGradients
    gates: list[GateTrace]
    space: str
    highlight: list[int] = field(default_factory=list)

    @property
    def per_step(self) -> np.ndarray:
        """Attribution of each real step (summed over features): ``(steps,)``."""
        return np.asarray(self.attributions.values).sum(axis=1)

    def top_steps(self, count: int = 3) -> list[tuple[str, float]]:
        """The steps with the largest attributions, largest first."""
        order = np.argsort(-self.per_step, kind="stable")[:count]
        return [(self.steps[i], float(self.per_step[i])) for i in order]

    def to_dict(self, gates: bool = True) -> dict:
        c = self.completeness
        data = {
            "input": self.input if isinstance(self.input, (str, int, float, list)) else str(self.input),
            "prediction": self.prediction,
            "target": self.target,
            "space": self.space,
            "steps": self.steps,
            "positions": self.positions,
            "highlight": self.highlight,
            "attributions_per_step": np.round(self.per_step, 6).tolist(),
            "attributions": self.attributions.to_dict(),
            "completeness": {
                "output": c.output,
                "baseline_output": c.baseline_output,
                "sum_of_attributions": float(np.asarray(c.values).sum()),
                "absolute_error": c.absolute_error,
                "relative_error": c.relative_error,
                "points": c.points,
            },
        }
        if gates:
            data["gates"] = [trace.to_dict() for trace in self.gates]
        return data


def _default_steps(network: Network, x: np.ndarray, kept: np.ndarray) -> list[str]:
    """Token strings from the preprocessor's vocabulary for token ids, else step numbers."""
    import keras

    vocabulary = None
    lookups = (keras.layers.TextVectorization, keras.layers.StringLookup, keras.layers.IntegerLookup)
    if not network.numeric_inputs and isinstance(network.preprocessor, lookups):
        vocabulary = network.preprocessor.get_vocabulary()
    if vocabulary is not None and x.ndim == 1:
        return [str(vocabulary[int(x[p])]) if 0 <= int(x[p]) < len(vocabulary) else str(int(x[p])) for p in kept]
    return [str(int(p)) for p in kept]


def value_and_gradient_of(network: Network):
    """``(batch, weights, mask, tokens) -> (F(batch), dF/dbatch)`` for points ``batch`` in the
    space attributions are taken in; ``F`` is ``sum(weights * output)`` with the real input's
    ``mask`` (1, steps) held fixed and, for token inputs, its ``tokens`` (1, ...) for heads that
    read the model inputs. On TensorFlow it is one ``tf.function`` for every input and path
    size (traced once, not per point: the eager LSTM loop is many times slower)."""
    import keras
    from keras import ops

    def function(batch, weights, mask, tokens):
        count = ops.shape(batch)[0]
        masks = ops.broadcast_to(ops.convert_to_tensor(mask), (count, mask.shape[1]))
        if tokens is None:  # numeric inputs: the points are model inputs
            out = network.head_output(network.vectors(batch), masks, batch)
        else:
            model_inputs = ops.broadcast_to(ops.convert_to_tensor(tokens), (count, *tokens.shape[1:]))
            out = network.head_output(batch, masks, model_inputs)
        out = ops.cast(out, "float32") * ops.convert_to_tensor(weights)
        return ops.sum(ops.reshape(out, (count, -1)), axis=1)

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        @tf.function(reduce_retracing=True)
        def compiled(batch, weights, mask, tokens):
            with tf.GradientTape() as tape:
                tape.watch(batch)
                values = function(batch, weights, mask, tokens)
                total = tf.reduce_sum(values)
            return values, tape.gradient(total, batch)

        def value_and_gradient(batch, weights, mask, tokens):
            values, grads = compiled(
                tf.constant(batch),
                tf.constant(weights),
                tf.constant(mask),
                None if tokens is None else tf.constant(tokens),
            )
            return values.numpy(), grads.numpy()

        return value_and_gradient

    from seqkit.explain.attribution import gradient

    return lambda batch, weights, mask, tokens: gradient(lambda b: function(b, weights, mask, tokens), batch)


def explain(
    run,
    inputs: Sequence[Any],
    target: str | None = None,
    points: int | None = None,
    tolerance: float = 1e-3,
    top_units: int = 8,
    encoded: Any = None,
) -> list[Explanation]:
    """Explain ``run``'s predictions of raw ``inputs`` (what ``Run.predict`` takes).

    Args:
        run: a :class:`seqkit.api.Run`.
        inputs: raw inputs (texts, series ...).
        target: the output of interest, passed to the task's ``explain_target`` (a class
            name, a forecast step ...); None: the task's default (e.g. the predicted class).
        points: integrated-gradients quadrature points; None: doubled from 16 until the
            relative completeness error is at most ``tolerance``.
        tolerance: see ``points``.
        top_units: how many units each gate trace ranks by cell-state change.
        encoded: the saved model's inputs for ``inputs``, already encoded (e.g. test examples,
            :func:`test_examples`); None: the adapter's ``encode_inputs(inputs)``.
    """
    from keras import ops

    inputs = list(inputs)
    if not inputs:
        return []
    network = Network.of(run.model, str(run.run_dir.file("model.keras")))
    raw = run.adapter.encode_inputs(inputs, run.info) if encoded is None else encoded
    model_inputs = network.model_inputs(raw)
    outputs = np.asarray(run.model.predict(raw, verbose=0))
    with run._model_must_fit():
        rows = run.task.decode(outputs, run.info, inputs=inputs)
    value_and_gradient = value_and_gradient_of(network)
    results = []
    for k, raw_input in enumerate(inputs):
        chosen = run.task.explain_target(
            outputs[k], run.info, raw_input=raw_input, target=target, model_input=np.asarray(model_inputs[k])
        )
        weights = np.asarray(chosen.weights, dtype="float32").reshape(outputs[k].shape)
        x = model_inputs[k : k + 1]
        mask = network.mask(x)
        vectors = np.asarray(ops.convert_to_numpy(network.vectors(x)))[0]
        point = np.asarray(x[0], dtype="float32") if network.numeric_inputs else vectors
        fixed_mask = np.ones((1, point.shape[0]), bool) if mask is None else mask
        tokens = None if network.numeric_inputs else np.asarray(x)

        def evaluate(batch, weights=weights, fixed_mask=fixed_mask, tokens=tokens):
            return value_and_gradient(np.asarray(batch, "float32"), weights, fixed_mask, tokens)

        ig = integrated_gradients(
            None, point, np.zeros_like(point), points=points, tolerance=tolerance, evaluate=evaluate
        )
        real = np.ones(point.shape[0], bool) if mask is None else mask[0]
        kept = np.flatnonzero(real)
        labels = chosen.steps
        if labels is not None and len(labels) == point.shape[0]:
            labels = [labels[p] for p in kept]
        if labels is None or len(labels) != len(kept):
            labels = _default_steps(network, np.asarray(x[0]), kept)
        values = np.asarray(ig.values).reshape(point.shape[0], -1)[kept]
        features = chosen.features if network.numeric_inputs else None
        if features is None or len(features) != values.shape[1]:
            prefix = "feature" if network.numeric_inputs else "dim"
            features = [f"{prefix}_{j}" for j in range(values.shape[1])]
        attributions = NamedArray(values, ("step", "feature"), {"step": list(labels), "feature": list(features)})
        gates = trace_backbone(network.backbone, vectors, None if mask is None else mask[0], top=top_units)
        for trace in gates:
            trace.values.coords["step"] = list(labels)
        results.append(
            Explanation(
                input=raw_input,
                prediction=rows[k],
                target=chosen.label,
                steps=list(labels),
                positions=[int(p) for p in kept],
                attributions=attributions,
                completeness=ig,
                gates=gates,
                space="input" if network.numeric_inputs else "embedding",
                highlight=[int(i) for i in chosen.highlight if 0 <= int(i) < len(kept)],
            )
        )
    return results


def test_examples(run, count: int = 3) -> tuple[list, Any]:
    """The first ``count`` examples of the run's test split: ``(printable inputs, encoded
    inputs)``, for ``explain(run, inputs, encoded=...)``. Works for tasks whose adapters take
    no single raw inputs (forecast windows, music pieces)."""
    from seqkit.errors import DataError
    from seqkit.train.runner import load_data, silent

    _task, _adapter, bundle = load_data(run.recipe, echo=silent, info=run.info)
    if bundle.test is None or not len(bundle.test.x):
        raise DataError(f"{run.path}: the run's data has no test split to explain")
    x = bundle.test.x[:count]
    raw = (
        list(bundle.test.raw[:count])
        if bundle.test.raw is not None
        else [f"test example {i + 1}" for i in range(len(x))]
    )
    return raw, x


def report_section(run, inputs: Sequence[Any] | None = None, count: int = 3, **options) -> str:
    """An HTML ``<section>`` (figures inlined) explaining ``inputs``, or by default the first
    ``count`` test examples (:func:`test_examples`), for a run report to include. ``options``
    go to :func:`explain`."""
    from seqkit.explain.figures import html_fragment

    if inputs is None:
        inputs, options["encoded"] = test_examples(run, count)
    return html_fragment(explain(run, list(inputs), **options)) if len(inputs) else ""
