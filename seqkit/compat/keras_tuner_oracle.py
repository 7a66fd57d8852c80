"""The KerasTuner internals that seqkit's distributed-search chief (:mod:`seqkit.tune.distributed`) uses.

KerasTuner's chief waits forever for a worker that died mid-trial; seqkit's chief repairs
that by reading and changing the oracle's private state (``ongoing_trials``, ``tuner_ids``,
``_retry_queue``) and by serving its own subclass of the private gRPC ``OracleServicer``.
Written for KerasTuner :data:`VERIFIED_KERAS_TUNER`; :func:`keras_tuner_mismatches` lists
what an installed KerasTuner no longer has, and :func:`require_internals` stops with an error
naming them before the chief starts serving.
"""

from __future__ import annotations

from seqkit.errors import SeqkitError

VERIFIED_KERAS_TUNER = "1.4.8"
#: Private attributes of a KerasTuner ``Oracle`` that the chief reads and changes.
ORACLE_ATTRIBUTES = ("ongoing_trials", "tuner_ids", "_retry_queue")
#: Methods of ``keras_tuner.src.distribute.oracle_chief.OracleServicer`` the chief overrides or calls.
SERVICER_METHODS = ("CreateTrial", "UpdateTrial", "EndTrial", "GetTrial", "GetSpace")


def trial_types():
    """(``Trial``, ``TrialStatus``) from ``keras_tuner.src.engine.trial``."""
    from keras_tuner.src.engine.trial import Trial, TrialStatus

    return Trial, TrialStatus


def oracle_servicer():
    """KerasTuner's gRPC ``OracleServicer`` class (``keras_tuner.src.distribute.oracle_chief``)."""
    from keras_tuner.src.distribute.oracle_chief import OracleServicer

    return OracleServicer


def protos():
    """KerasTuner's generated gRPC protocol module (``keras_tuner.src.protos``)."""
    from keras_tuner.src import protos as module

    return module


def keras_tuner_mismatches(oracle=None) -> list[str]:
    """What the installed KerasTuner lacks of the internals above (with an ``oracle``, its
    private attributes too); empty when everything is there."""
    missing = []
    try:
        trial_types()
        servicer = oracle_servicer()
        protos()
    except ImportError as exc:
        return [f"a private module ({exc})"]
    missing += [f"OracleServicer.{name}" for name in SERVICER_METHODS if not hasattr(servicer, name)]
    if oracle is not None:
        missing += [f"Oracle.{name}" for name in ORACLE_ATTRIBUTES if not hasattr(oracle, name)]
    return missing


def require_internals(oracle) -> None:
    """Stop with one line when the installed KerasTuner changed the internals the chief uses."""
    missing = keras_tuner_mismatches(oracle)
    if missing:
        import keras_tuner

        raise SeqkitError(
            f"seqkit tune --role chief: seqkit's chief is written for KerasTuner {VERIFIED_KERAS_TUNER}, and "
            f"KerasTuner {keras_tuner.__version__} lacks {', '.join(missing)}; install keras-tuner=={VERIFIED_KERAS_TUNER}"
        )
