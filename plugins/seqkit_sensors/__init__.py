"""seqkit's sensors plugin: classification of multivariate numeric sequences (speech
features, motion sensors, pen trajectories) of varying length.

Registers the ``sequence_classification`` task and the ``uea_ts`` (UEA / UCR ``.ts``),
``sequence_npz`` and ``sequence_csv`` (long format) adapters. Sequences are padded with
zeros and masked; each feature is standardised with statistics of the training split.
"""

from __future__ import annotations

from seqkit import ClassificationTask, hookimpl
from seqkit_sensors.adapters import SequenceCsvAdapter, SequenceNpzAdapter, UeaTsAdapter

__version__ = "0.1.0"


class SequenceClassificationTask(ClassificationTask):
    name = "sequence_classification"
    description = "class of a multivariate numeric sequence (speaker, gesture, activity...)"
    default_adapter = "uea_ts"
    default_encoder = "numeric"


@hookimpl
def seqkit_register_tasks(register):
    register(SequenceClassificationTask())


@hookimpl
def seqkit_register_adapters(register):
    register("uea_ts", UeaTsAdapter)
    register("sequence_npz", SequenceNpzAdapter)
    register("sequence_csv", SequenceCsvAdapter)
