"""The sensors plugin's task."""

from __future__ import annotations

from seqkit.plugin_api import ClassificationTask


class SequenceClassificationTask(ClassificationTask):
    name = "sequence_classification"
    description = "class of a multivariate numeric sequence (speaker, gesture, activity...)"
    default_adapter = "uea_ts"
    default_encoder = "numeric"
    adapters = ("uea_ts", "sequence_npz", "sequence_csv")
    encoders = ("numeric",)
    heads = ("classifier",)

    def export_inputs(self, info, model_input):
        """Raw (unstandardised) steps, zero-padded to a common length, and each sequence's
        number of real steps: what a caller without seqkit holds."""
        import tensorflow as tf

        return {
            "sequences": tf.TensorSpec(model_input.shape, tf.float32),
            "lengths": tf.TensorSpec(model_input.shape[:1], tf.int32),
        }

    def export_prepare(self, inputs, info):
        """Standardise with the run's mean / std, as the adapter's ``encode_inputs`` does: a
        real step that standardises to all zeros is nudged to 1e-6 (zeros mark padding), and
        steps past ``lengths`` become padding."""
        from keras import ops

        x = (ops.cast(inputs["sequences"], "float32") - ops.array(info["mean"], "float32")) / ops.array(
            info["std"], "float32"
        )
        x = ops.where(ops.all(ops.equal(x, 0.0), axis=-1, keepdims=True), 1e-6, x)
        steps = ops.arange(ops.shape(x)[1], dtype="int32")
        real = ops.expand_dims(steps, 0) < ops.expand_dims(ops.cast(inputs["lengths"], "int32"), 1)
        return ops.where(ops.expand_dims(real, -1), x, 0.0)
