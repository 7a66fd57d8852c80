"""Keras 3.15 cannot ``fit`` under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585).

Two private functions of ``keras/src/backend/tensorflow/trainer.py`` mishandle multi-worker
values. :func:`install_keras_fixes` replaces them, but only after checking that their source
is exactly the one the fix was verified against (:data:`KERAS_FIX_TARGETS`, Keras
:data:`VERIFIED_KERAS`); any other Keras stops with an error that says so, and
``tests/test_distribute.py`` fails on such an upgrade. ``SEQKIT_KERAS_MULTI_WORKER=unpatched``
leaves Keras as it is (for a Keras that fixed the issue itself).
"""

from __future__ import annotations

import hashlib
import inspect
import os

from seqkit.errors import SeqkitError

#: Private Keras functions replaced for ``multi_worker``, with the SHA-256 (first 16 hex
#: digits) of the source the replacement was verified against (Keras 3.15.1).
KERAS_FIX_TARGETS = {
    "TensorFlowTrainer._maybe_symbolic_build": "92a504f5eba9b29f",
    "reduce_per_replica": "2e7d54b1e6edc29a",
    "_collective_all_reduce_multi_worker": "0302369d850e6694",
    "_is_per_replica_instance": "19a5613a75de7a78",
}
VERIFIED_KERAS = "3.15.1"
_ESCAPE = "SEQKIT_KERAS_MULTI_WORKER"


def _target(trainer_module, qualname: str):
    obj = trainer_module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return getattr(obj, "__wrapped_by_seqkit__", obj)


def keras_fix_mismatches() -> list[str]:
    """Names of the patched Keras functions whose source differs from the verified one."""
    from keras.src.backend.tensorflow import trainer

    changed = []
    for name, digest in KERAS_FIX_TARGETS.items():
        try:
            source = inspect.getsource(_target(trainer, name))
        except (AttributeError, OSError, TypeError):
            changed.append(f"{name} (missing)")
            continue
        if hashlib.sha256(source.encode()).hexdigest()[:16] != digest:
            changed.append(name)
    return changed


def install_keras_fixes() -> None:
    """Make ``fit`` / ``evaluate`` work under MultiWorkerMirroredStrategy (see module doc)."""
    import keras
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer

    if os.environ.get(_ESCAPE) == "unpatched":
        return
    if getattr(trainer.reduce_per_replica, "__wrapped_by_seqkit__", None) is not None:
        return
    changed = keras_fix_mismatches()
    if changed:
        raise SeqkitError(
            f"distribution.strategy multi_worker: seqkit's fix for keras-team/keras#20585 is verified with Keras "
            f"{VERIFIED_KERAS}, and Keras {keras.__version__} changed {', '.join(changed)}. Install keras=={VERIFIED_KERAS}, "
            f"or, if this Keras fixed the issue itself, set {_ESCAPE}=unpatched"
        )
    import tensorflow as tf

    original_reduce = trainer.reduce_per_replica
    original_build = trainer.TensorFlowTrainer._maybe_symbolic_build

    def reduce_per_replica(values, strategy, reduction):
        # Keras reduces every value with axis=0 across workers, which fails for the scalar
        # losses and metrics ("Invalid reduction dimension 0"): reduce scalars with axis=None.
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy):

            def one(value):
                local = (
                    strategy.experimental_local_results(value)[0] if trainer._is_per_replica_instance(value) else value
                )
                return strategy.reduce("MEAN", value, axis=0 if local.shape.rank else None)

            return tree.map_structure(one, values)
        return original_reduce(values, strategy, reduction)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras averages the whole (x, y) batch across workers to get example shapes, which
        # Strategy.reduce cannot do for nested structures; the first local replica's batch
        # has the shapes it needs.
        if self._distribute_strategy is None:
            return
        if iterator is not None:
            for _, _, it in iterator:
                batch = next(it)
                data_batch = tree.map_structure(
                    lambda v: (
                        self.distribute_strategy.experimental_local_results(v)[0]
                        if isinstance(v, tf.distribute.DistributedValues)
                        else v
                    ),
                    batch,
                )
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    reduce_per_replica.__wrapped_by_seqkit__ = original_reduce
    _maybe_symbolic_build.__wrapped_by_seqkit__ = original_build
    trainer.reduce_per_replica = reduce_per_replica
    trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
