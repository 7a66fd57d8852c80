"""seqkit's sensors plugin: classification of multivariate numeric sequences (speech
features, motion sensors, pen trajectories) of varying length.

Registers the ``sequence_classification`` task and the ``uea_ts`` (UEA / UCR ``.ts``),
``sequence_npz`` and ``sequence_csv`` (long format) adapters. Sequences are padded with
zeros and masked; each feature is standardised with statistics of the training split.
"""

from __future__ import annotations

from seqkit.plugin_api import hookimpl

__version__ = "0.1.0"

# The hooks import their classes when seqkit asks for them, so `seqkit --help` (which loads
# every plugin to list its verbs) stays fast.
_LAZY = {
    "SequenceClassificationTask": "seqkit_sensors.tasks",
    "UeaTsAdapter": "seqkit_sensors.adapters",
    "SequenceNpzAdapter": "seqkit_sensors.adapters",
    "SequenceCsvAdapter": "seqkit_sensors.adapters",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


@hookimpl
def seqkit_register_tasks(register):
    from seqkit_sensors.tasks import SequenceClassificationTask

    register(SequenceClassificationTask())


@hookimpl
def seqkit_register_adapters(register):
    from seqkit_sensors.adapters import SequenceCsvAdapter, SequenceNpzAdapter, UeaTsAdapter

    register(UeaTsAdapter)
    register(SequenceNpzAdapter)
    register(SequenceCsvAdapter)
