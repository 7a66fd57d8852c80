"""The engine side of a plan: a ``tf.distribute`` strategy or a JAX distribution, started
before anything else touches the engine. TensorFlow, Keras and JAX are imported inside functions."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable

from seqkit.compat.keras_trainer import install_keras_fixes
from seqkit.errors import SeqkitError
from seqkit.train.distribute.plan import Plan
from seqkit.train.distribute.rendezvous import wait_for_workers

# Collective operations (the gradient all-reduce) wait this long for the slowest worker; the
# chief's per-epoch checkpoint and validation happen while the others wait.
COLLECTIVE_TIMEOUT = 600.0
# Workers wait this long for the chief to export, test and write the run directory.
FINISH_TIMEOUT = 24 * 3600.0


class Session:
    """The engine side of a :class:`Plan`: a ``tf.distribute`` strategy or a JAX distribution."""

    def __init__(self, plan: Plan, strategy=None):
        self.plan = plan
        self.strategy = strategy

    @property
    def is_chief(self) -> bool:
        return self.plan.is_chief

    @property
    def distributed(self) -> bool:
        return self.plan.strategy != "none"

    @property
    def replicas(self) -> int:
        if self.strategy is not None:
            return int(self.strategy.num_replicas_in_sync)
        if self.plan.strategy == "data_parallel":
            import jax

            return jax.device_count()
        return 1

    def scope(self):
        """Where models and optimizers are created (and loaded)."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def training_dataset(self, dataset):
        """Adapt the global-batch training pipeline to this process (JAX: its share of each batch)."""
        if dataset is None or self.plan.strategy != "data_parallel" or not self.plan.multi_process:
            return dataset
        import tensorflow as tf

        count, index = self.plan.num_processes, self.plan.worker_index

        def share(*tensors):
            # Every process takes the same number of rows of each global batch, the rows
            # i = index mod count (JAX needs equal shares): a final batch that does not divide
            # evenly loses its last few rows, one smaller than the process count repeats rows.
            size = tf.shape(tensors[0])[0]
            rows = tf.range(index, tf.maximum(size // count * count, count), count) % size
            return tuple(tf.gather(t, rows) for t in tensors)

        return dataset.map(share)

    def finish(self, echo: Callable[[str], None] = print) -> None:
        """Wait until every worker is done: the others wait for the chief to write the run
        directory, so that no worker's exit looks like a crash to the rest of the cluster."""
        if self.plan.strategy != "multi_worker":
            return  # JAX's own shutdown barrier does this for data_parallel
        from tensorflow.python.eager import context

        if not self.is_chief:
            echo("seqkit: training done; waiting for the chief to write the run directory")
        try:
            context.context().wait_at_barrier("seqkit_run_finished", int(FINISH_TIMEOUT * 1000))
        except Exception as exc:  # TensorFlow's runtime errors
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if not self.is_chief:
                raise SeqkitError(
                    f"worker {self.plan.worker_index}: the chief did not finish the run: {message}"
                ) from None
            echo(f"seqkit: note: not every worker reached the end: {message}")

    def local_model(self, model, loss, make_metrics: Callable[[], list]):
        """An undistributed copy of a trained model, compiled for ``evaluate`` / ``predict``
        (a JAX model with a global distribution cannot predict; TensorFlow's would need every
        worker for it). ``make_metrics`` is called once the distribution is off: metrics made
        under it would hold global variables that only all processes together can reset."""
        if not self.distributed:
            return model
        import keras

        if self.plan.strategy == "data_parallel":
            keras.distribution.set_distribution(None)
        weights = model.get_weights()
        copy = keras.models.clone_model(model)
        copy.set_weights(weights)
        copy.compile(loss=loss, metrics=make_metrics())
        return copy


def start(plan: Plan, echo: Callable[[str], None] = print) -> Session:
    """Set up this process for the plan; call before anything else touches the engine."""
    if plan.strategy == "none":
        return Session(plan)
    import keras

    backend = keras.backend.backend()
    if plan.strategy == "data_parallel":
        if backend != "jax":
            raise SeqkitError(
                f"distribution.strategy data_parallel runs on the JAX backend (KERAS_BACKEND=jax); this process uses "
                f"{backend}. On TensorFlow use mirrored or multi_worker"
            )
        return _start_jax(plan, echo)
    if backend != "tensorflow":
        raise SeqkitError(
            f"distribution.strategy {plan.strategy} runs on the TensorFlow backend; this process uses {backend} "
            "(KERAS_BACKEND). On JAX use data_parallel"
        )
    if plan.strategy == "mirrored":
        return _start_mirrored(plan, echo)
    return _start_multi_worker(plan, echo)


def _start_mirrored(plan: Plan, echo) -> Session:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        devices = [f"/gpu:{i}" for i in range(len(gpus))][: plan.devices or len(gpus)]
        if plan.devices and plan.devices > len(gpus):
            raise SeqkitError(f"distribution.devices: {plan.devices} requested, this machine has {len(gpus)} GPU(s)")
    else:
        wanted = plan.devices or 1
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            if wanted > 1:
                tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * wanted)
        except RuntimeError:
            pass  # TensorFlow already started: use what it has
        available = len(tf.config.list_logical_devices("CPU"))
        if available < wanted:
            raise SeqkitError(
                f"distribution.devices: {wanted} CPU devices requested, but TensorFlow already started with {available} "
                "in this process; run it in a fresh process"
            )
        devices = [f"/cpu:{i}" for i in range(wanted)]
    strategy = tf.distribute.MirroredStrategy(devices=devices)
    echo(f"seqkit: mirrored over {len(devices)} device(s): {', '.join(devices)}")
    return Session(plan, strategy)


def _start_multi_worker(plan: Plan, echo) -> Session:
    import tensorflow as tf

    install_keras_fixes()
    own = plan.workers[plan.worker_index]
    echo(
        f"seqkit: worker {plan.worker_index} of {plan.num_processes} at {own}; waiting for the others (up to {plan.timeout:g} s)"
    )
    wait_for_workers(plan, plan.workers, own)
    os.environ["TF_CONFIG"] = json.dumps(
        {"cluster": {"worker": plan.workers}, "task": {"type": "worker", "index": plan.worker_index}}
    )
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=max(COLLECTIVE_TIMEOUT, plan.timeout))
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except (RuntimeError, ValueError) as exc:
        raise SeqkitError(
            f"distribution.strategy multi_worker: TensorFlow could not start the cluster: {exc}".splitlines()[0]
        ) from None
    echo(f"seqkit: multi_worker: {strategy.num_replicas_in_sync} replicas on {plan.num_processes} workers")
    return Session(plan, strategy)


def _start_jax(plan: Plan, echo) -> Session:
    import jax
    import keras

    if plan.multi_process:
        echo(
            f"seqkit: process {plan.worker_index} of {plan.num_processes}; coordinator {plan.coordinator} (up to {plan.timeout:g} s)"
        )
        # The coordinator serves on its address once initialize() runs; the others wait for it
        # here so that a missing coordinator is one line, not JAX's long retry loop.
        if not plan.is_chief:
            wait_for_workers(plan, [plan.coordinator], None, what="coordinator")
        try:
            jax.distributed.initialize(
                coordinator_address=plan.coordinator,
                num_processes=plan.num_processes,
                process_id=plan.worker_index,
                initialization_timeout=max(1, int(plan.timeout)),
            )
        except Exception as exc:  # JAX raises its runtime's own error types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SeqkitError(
                f"distribution.strategy data_parallel: the {plan.num_processes} processes did not all join within "
                f"{plan.timeout:g} s (distribution.timeout): {first}"
            ) from None
    devices = jax.devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False))
    echo(f"seqkit: data_parallel over {len(devices)} device(s) in {plan.num_processes} process(es)")
    return Session(plan)
