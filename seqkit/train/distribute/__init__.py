"""Data-parallel training across devices and machines, on existing engines.

A recipe's ``distribution:`` section (or ``seqkit run --workers ... --worker-index I``)
picks one of:

* ``none``: one process, Keras's default device placement.
* ``mirrored``: ``tf.distribute.MirroredStrategy`` over the local devices (TensorFlow).
  On a machine without GPUs, ``devices: N`` splits the CPU into N logical devices.
* ``multi_worker``: ``tf.distribute.MultiWorkerMirroredStrategy`` over several processes
  or machines (TensorFlow). The cluster comes from ``workers`` / ``worker_index`` or from
  the ``TF_CONFIG`` environment variable.
* ``data_parallel``: ``keras.distribution.DataParallel`` with ``jax.distributed.initialize``
  (JAX backend). Coordinator address, number of processes and process id come from
  ``coordinator`` / ``num_processes`` / ``worker_index`` (``workers`` gives the first two
  too) or from ``JAX_COORDINATOR_ADDRESS`` / ``JAX_NUM_PROCESSES`` / ``JAX_PROCESS_ID``.

Every worker reads the same recipe and data and trains in lockstep on its share of each
global batch (``train.batch_size`` is the global batch). Only the chief (worker 0) writes the
run directory; the other workers keep their checkpoints in a scratch folder that is deleted
when they finish.

The pieces, one module each: :mod:`~seqkit.train.distribute.plan` (the recipe and the
environment -> this process's :class:`Plan`), :mod:`~seqkit.train.distribute.rendezvous`
(waiting for the other workers), :mod:`~seqkit.train.distribute.session` (the engine's
strategy or distribution, :func:`start`), :mod:`~seqkit.train.distribute.scratch` (a
worker's scratch folder). The ``distribution:`` schema and its checks are in
:mod:`seqkit.recipe.distribution`; the fix of Keras's multi-worker training
(keras-team/keras#20585) is in :mod:`seqkit.compat.keras_trainer`.

This package imports TensorFlow, Keras and JAX only inside functions.
"""

from __future__ import annotations

from seqkit.compat.keras_trainer import KERAS_FIX_TARGETS, VERIFIED_KERAS, install_keras_fixes, keras_fix_mismatches
from seqkit.recipe.distribution import DEFAULT_TIMEOUT, HOST_PORT, SCHEMA, STRATEGIES, check, check_recipe
from seqkit.train.distribute.plan import Plan, overrides_for, parse_workers, plan_for
from seqkit.train.distribute.rendezvous import wait_for_workers
from seqkit.train.distribute.scratch import RESUME_FILES, worker_directory
from seqkit.train.distribute.session import COLLECTIVE_TIMEOUT, FINISH_TIMEOUT, Session, start

__all__ = [
    "COLLECTIVE_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "FINISH_TIMEOUT",
    "HOST_PORT",
    "KERAS_FIX_TARGETS",
    "Plan",
    "RESUME_FILES",
    "SCHEMA",
    "STRATEGIES",
    "Session",
    "VERIFIED_KERAS",
    "check",
    "check_recipe",
    "install_keras_fixes",
    "keras_fix_mismatches",
    "overrides_for",
    "parse_workers",
    "plan_for",
    "start",
    "wait_for_workers",
    "worker_directory",
]
