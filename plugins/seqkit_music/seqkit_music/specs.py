"""Encoder and head specs of the music plugin (no Keras import until a model is built)."""

from __future__ import annotations

from seqkit.plugin_api import EncoderSpec, HeadSpec

RATE = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}
KERAS_MODULE = "seqkit_music.layers"


class PianoRollEncoderSpec(EncoderSpec):
    keras_module = KERAS_MODULE
    name = "piano_roll"
    description = "88-note piano-roll frames -> input-note dropout -> optional linear projection"
    schema = {
        "properties": {
            "dim": {
                "type": "integer",
                "minimum": 0,
                "maximum": 65536,
                "default": 0,
                "description": "Projection size; 0 keeps the 88 notes.",
            },
            "dropout": {**RATE, "default": 0.0, "description": "Dropout on the input notes."},
        }
    }

    def raw_input_spec(self):
        return {"shape": (None, self.info.get("keys", 88)), "dtype": "float32"}

    def build(self, preprocessor, regularizer=None):
        from seqkit_music.layers import FrameEncoder

        return FrameEncoder(
            dim=self.config.get("dim", 0), dropout=self.config.get("dropout", 0.0), name="frame_encoder"
        )


class MelodyEncoderSpec(EncoderSpec):
    keras_module = KERAS_MODULE
    name = "melody_events"
    description = "melody event tokens (note-on pitch / hold / rest) -> embeddings"
    schema = {
        "properties": {
            "dim": {
                "type": "integer",
                "minimum": 1,
                "maximum": 65536,
                "default": 64,
                "description": "Size of the event embedding.",
            },
            "dropout": {**RATE, "default": 0.0, "description": "Dropout on the embeddings."},
        }
    }

    def raw_input_spec(self):
        return {"shape": (None,), "dtype": "int32"}

    def build(self, preprocessor, regularizer=None):
        from seqkit_music.layers import EventEmbedding

        return EventEmbedding(
            vocabulary=int(self.info["vocabulary"]),
            dim=self.config.get("dim", 64),
            dropout=self.config.get("dropout", 0.0),
            name="event_embedding",
        )


class _StepHeadSpec(HeadSpec):
    keras_module = KERAS_MODULE
    needs_sequence = True
    # Targets per step; a piece's padded steps (after its end) are cut from length-bucketed
    # batches: the backbone is causal, so the real steps' outputs do not change.
    step_targets = True
    schema = {"properties": {"dropout": {**RATE, "default": 0.0, "description": "Dropout on the backbone's output."}}}
    activation = "sigmoid"

    def units(self) -> int:
        raise NotImplementedError

    def build(self, regularizer=None):
        from seqkit_music.layers import StepOutput

        return StepOutput(
            units=self.units(),
            activation=self.activation,
            dropout=self.config.get("dropout", 0.0),
            kernel_regularizer=regularizer,
            name="next_step",
        )


class NextFrameHeadSpec(_StepHeadSpec):
    name = "next_frame"
    description = "per step: 88 independent sigmoids for the next piano-roll frame (frame-level NLL loss)"

    def units(self):
        return int(self.info.get("keys", 88))

    def target_lengths(self, y):
        import numpy as np

        from seqkit.plugin_api import padded_lengths

        return padded_lengths(np.any(np.asarray(y) != -1, axis=-1))  # padded frames are all -1

    def loss(self):
        from seqkit_music.layers import FrameNLL

        return FrameNLL()


class NextEventHeadSpec(_StepHeadSpec):
    name = "next_event"
    description = "per step: a softmax over melody events for the next step (cross-entropy loss)"
    activation = "softmax"

    def units(self):
        return int(self.info["vocabulary"])

    def target_lengths(self, y):
        import numpy as np

        from seqkit.plugin_api import padded_lengths

        return padded_lengths(np.asarray(y) != 0)  # padded events are 0

    def loss(self):
        from seqkit_music.layers import EventNLL

        return EventNLL()
