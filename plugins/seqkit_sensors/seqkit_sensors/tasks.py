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
