"""A run's saved model taken apart for explaining: preprocessor, encoder, backbone, head.

seqkit's saved model is ``raw inputs -> preprocessor -> (encoder -> StackedLSTM -> head)``
(seqkit.train.runner.build_export_model). Explaining needs the pieces: integrated gradients
differentiate the head's output with respect to what the backbone reads (the encoder's
vectors, or the numeric inputs themselves), with the padding mask of the real input held
fixed along the path; the gate traces run the backbone's LSTMs step by step.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np

from seqkit.errors import RunError


@dataclass
class Network:
    """The parts of a trained seqkit model.

    Attributes:
        preprocessor: the non-trainable layer in front (``TextVectorization`` ...) or None.
        encoder: the encoder layer (model inputs -> ``(batch, steps, features)``).
        backbone: the :class:`seqkit.models.backbone.StackedLSTM`.
        head: the head layer.
        head_reads_inputs: the head is called as ``head(backbone_output, model_inputs)``.
        numeric_inputs: the model inputs are floats: attributions are taken in the input space
            (per step and input feature); otherwise (token ids) in the encoder's vector space.
    """

    preprocessor: Any
    encoder: Any
    backbone: Any
    head: Any
    head_reads_inputs: bool
    numeric_inputs: bool

    @classmethod
    def of(cls, model, where: str = "model.keras") -> Network:
        import keras

        from seqkit.models.backbone import StackedLSTM

        inner, preprocessor = model, None
        if not _find(model.layers, StackedLSTM):
            nested = [
                layer for layer in model.layers if isinstance(layer, keras.Model) and _find(layer.layers, StackedLSTM)
            ]
            if len(nested) != 1:
                raise RunError(f"{where}: no seqkit backbone (StackedLSTM) in the model, so nothing to explain")
            inner = nested[0]
            others = [
                layer for layer in model.layers if layer is not inner and not isinstance(layer, keras.layers.InputLayer)
            ]
            preprocessor = others[0] if len(others) == 1 else None
        parts = [layer for layer in inner.layers if not isinstance(layer, keras.layers.InputLayer)]
        backbones = [i for i, layer in enumerate(parts) if isinstance(layer, StackedLSTM)]
        if len(parts) != 3 or backbones != [1]:
            names = ", ".join(type(layer).__name__ for layer in parts)
            raise RunError(f"{where}: expected encoder -> StackedLSTM -> head, found layers: {names}")
        encoder, backbone, head = parts
        dtype = str(inner.inputs[0].dtype)
        return cls(
            preprocessor=preprocessor,
            encoder=encoder,
            backbone=backbone,
            head=head,
            head_reads_inputs=_positional_arguments(head.call) >= 2,
            numeric_inputs="float" in dtype,
        )

    # -- pieces of the forward pass ---------------------------------------------------------

    def model_inputs(self, raw_inputs) -> np.ndarray:
        """What the trainable model reads: the preprocessor's output for raw inputs."""
        if self.preprocessor is None:
            return np.asarray(raw_inputs)
        return np.asarray(self.preprocessor(raw_inputs))

    def mask(self, inputs) -> np.ndarray | None:
        """The encoder's padding mask of ``inputs`` (True: a real step), or None."""
        from keras import ops

        mask = self.encoder.compute_mask(inputs)
        return None if mask is None else np.asarray(ops.convert_to_numpy(mask)).astype(bool)

    def vectors(self, inputs):
        """What the backbone reads: the encoder's output (inference mode)."""
        return self.encoder(inputs, training=False)

    def head_output(self, vectors, mask, inputs):
        """The head's output from backbone inputs ``vectors`` under a fixed ``mask``."""
        backbone_mask = None if mask is None else mask
        sequence = self.backbone(vectors, mask=backbone_mask, training=False)
        kwargs = {"training": False}
        if (
            self.backbone.return_sequences
            and mask is not None
            and "mask" in inspect.signature(self.head.call).parameters
        ):
            kwargs["mask"] = mask
        if self.head_reads_inputs:
            return self.head(sequence, inputs, **kwargs)
        return self.head(sequence, **kwargs)


def _find(layers, kind) -> bool:
    return any(isinstance(layer, kind) for layer in layers)


def _positional_arguments(function) -> int:
    parameters = inspect.signature(function).parameters.values()
    return sum(
        1
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in ("mask", "training")
    )
