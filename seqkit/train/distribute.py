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

Keras 3.15 cannot ``fit`` under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585):
two private functions of ``keras/src/backend/tensorflow/trainer.py`` mishandle multi-worker
values. :func:`install_keras_fixes` replaces them, but only after checking that their source
is exactly the one the fix was verified against (:data:`KERAS_FIX_TARGETS`); any other Keras
stops with an error that says so, and ``tests/test_distribute.py`` fails on such an upgrade.

This module imports TensorFlow, Keras and JAX only inside functions.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import inspect
import json
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from seqkit.errors import SeqkitError

STRATEGIES = ("none", "mirrored", "multi_worker", "data_parallel")
HOST_PORT = r"^\[?[A-Za-z0-9._:-]+\]?:[0-9]{1,5}$"
DEFAULT_TIMEOUT = 120.0
# Collective operations (the gradient all-reduce) wait this long for the slowest worker; the
# chief's per-epoch checkpoint and validation happen while the others wait.
COLLECTIVE_TIMEOUT = 600.0
# Workers wait this long for the chief to export, test and write the run directory.
FINISH_TIMEOUT = 24 * 3600.0

SCHEMA = {
    "type": "object",
    "description": "Data-parallel training across devices or machines (see docs/scale-out.md).",
    "additionalProperties": False,
    "default": {},
    "properties": {
        "strategy": {
            "enum": list(STRATEGIES),
            "default": "none",
            "description": "none | mirrored (local devices, TensorFlow) | multi_worker (several processes or "
            "machines, TensorFlow) | data_parallel (JAX backend, one or more processes).",
        },
        "devices": {
            "type": "integer",
            "minimum": 1,
            "maximum": 4096,
            "description": "mirrored: number of local replicas (default: every GPU; without GPUs the CPU is "
            "split into this many logical devices, default 1).",
        },
        "workers": {
            "type": "array",
            "items": {"type": "string", "pattern": HOST_PORT},
            "minItems": 1,
            "uniqueItems": True,
            "x-expected": "a list of HOST:PORT addresses, one per worker, the chief (worker 0) first",
            "description": "multi_worker: every worker's address (default: from TF_CONFIG). data_parallel: "
            "the first is the coordinator, the count is the number of processes.",
        },
        "worker_index": {
            "type": "integer",
            "minimum": 0,
            "description": "This process's place in `workers` (0 = chief); usually given with --worker-index.",
        },
        "coordinator": {
            "type": "string",
            "pattern": HOST_PORT,
            "description": "data_parallel: the JAX coordinator's HOST:PORT (default: workers[0] or JAX_COORDINATOR_ADDRESS).",
        },
        "num_processes": {
            "type": "integer",
            "minimum": 1,
            "description": "data_parallel: number of processes (default: len(workers) or JAX_NUM_PROCESSES).",
        },
        "timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 86400,
            "default": DEFAULT_TIMEOUT,
            "description": "Seconds to wait for every worker to come up before giving up with an error.",
        },
    },
}


def port_problem(address: str) -> str | None:
    """What is wrong with the port of a HOST:PORT address, or None."""
    port = str(address).rpartition(":")[2]
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"port {port} of {address!r} is out of range: expected 1..65535"
    return None


def check(section: dict, train: dict | None = None) -> list[tuple[str, str]]:
    """Cross-key checks of the ``distribution`` section: a list of (key, message)."""
    problems = []
    for key in ("workers", "coordinator"):
        value = section.get(key)
        addresses = value if isinstance(value, list) else [value] if isinstance(value, str) else []
        for address in addresses:
            if isinstance(address, str) and re.match(HOST_PORT, address) and port_problem(address):
                problems.append((key, port_problem(address)))
    strategy = section.get("strategy", "none")
    workers = section.get("workers")
    index = section.get("worker_index")
    if workers and index is not None and index >= len(workers):
        problems.append(("worker_index", f"expected 0..{len(workers) - 1} (one of {len(workers)} workers). Received: {index}"))
    if strategy in ("none", "mirrored"):
        for key in ("workers", "worker_index", "coordinator", "num_processes"):
            if key in section:
                problems.append((key, f"only used by multi_worker / data_parallel; strategy is {strategy!r}"))
    if strategy != "mirrored" and "devices" in section:
        problems.append(("devices", f"only used by mirrored; strategy is {strategy!r}"))
    if strategy == "multi_worker":
        for key in ("coordinator", "num_processes"):
            if key in section:
                problems.append((key, "only used by data_parallel (JAX); multi_worker takes `workers`"))
        if int((train or {}).get("steps_per_execution", 1)) > 1:
            problems.append(("strategy", "multi_worker needs train.steps_per_execution: 1 (Keras cannot run several steps per call across workers)"))
    if strategy == "data_parallel" and workers and section.get("num_processes") not in (None, len(workers)):
        problems.append(("num_processes", f"{section['num_processes']} disagrees with the {len(workers)} `workers`"))
    return problems


# -- the plan: what this process does -------------------------------------------------------


@dataclass
class Plan:
    """The resolved distribution of one process."""

    strategy: str = "none"
    workers: list[str] = field(default_factory=list)
    worker_index: int = 0
    devices: int | None = None
    coordinator: str | None = None
    num_processes: int = 1
    timeout: float = DEFAULT_TIMEOUT
    source: str = "recipe"

    @property
    def is_chief(self) -> bool:
        return self.worker_index == 0

    @property
    def multi_process(self) -> bool:
        return self.num_processes > 1

    def describe(self) -> str:
        if self.strategy == "none":
            return "one process"
        if self.strategy == "mirrored":
            return f"mirrored over {self.devices or 'all'} local device(s)"
        role = "chief" if self.is_chief else "worker"
        return f"{self.strategy}: {role} {self.worker_index} of {self.num_processes} ({self.source})"


def parse_workers(text: str) -> list[str]:
    """``HOST:PORT,HOST:PORT`` (the command line's --workers) -> a list, checked."""

    workers = [w.strip() for w in str(text).split(",") if w.strip()]
    if not workers:
        raise SeqkitError("--workers: expected HOST:PORT,HOST:PORT (the chief first)")
    for worker in workers:
        if not re.match(HOST_PORT, worker):
            raise SeqkitError(f"--workers: {worker!r} is not HOST:PORT")
        if port_problem(worker):
            raise SeqkitError(f"--workers: {port_problem(worker)}")
    if len(set(workers)) != len(workers):
        raise SeqkitError("--workers: an address is listed twice")
    return workers


def overrides_for(workers: str | list[str] | None = None, worker_index: int | None = None, strategy: str | None = None) -> dict:
    """Recipe overrides (dotted keys) for the command line's / API's distribution options.

    ``workers`` without a strategy means ``multi_worker`` on TensorFlow and
    ``data_parallel`` on JAX (the backend of this process).
    """
    overrides: dict[str, Any] = {}
    if workers is not None:
        overrides["distribution.workers"] = parse_workers(workers) if isinstance(workers, str) else list(workers)
        if strategy is None:
            strategy = "data_parallel" if _backend() == "jax" else "multi_worker"
    if worker_index is not None:
        if int(worker_index) < 0:
            raise SeqkitError(f"--worker-index: expected 0 or more. Received: {worker_index}")
        overrides["distribution.worker_index"] = int(worker_index)
    if strategy is not None:
        overrides["distribution.strategy"] = strategy
    return overrides


def _backend() -> str:
    return os.environ.get("KERAS_BACKEND") or _keras_config_backend() or "tensorflow"


def _keras_config_backend() -> str | None:
    path = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
    try:
        return json.loads(path.read_text()).get("backend")
    except (OSError, ValueError, AttributeError):
        return None


def plan_for(recipe, env: dict | None = None) -> Plan:
    """Resolve a validated recipe's ``distribution`` section with the environment."""
    env = os.environ if env is None else env
    section = dict(recipe.get("distribution") or {})
    strategy = section.get("strategy", "none")
    timeout = float(section.get("timeout", DEFAULT_TIMEOUT))
    if strategy == "none":
        return Plan()
    if strategy == "mirrored":
        return Plan("mirrored", devices=section.get("devices"), timeout=timeout)
    workers = list(section.get("workers") or [])
    index = section.get("worker_index")
    if strategy == "multi_worker":
        source = "recipe"
        if not workers:
            workers, env_index = _from_tf_config(env.get("TF_CONFIG"))
            source = "TF_CONFIG"
            index = env_index if index is None else index
        if not workers:
            raise SeqkitError(
                "distribution.strategy multi_worker needs the cluster: distribution.workers "
                "(--workers HOST:PORT,HOST:PORT) or the TF_CONFIG environment variable"
            )
        if index is None:
            raise SeqkitError("distribution.strategy multi_worker needs this worker's index: --worker-index I (0 = chief)")
        if index >= len(workers):
            raise SeqkitError(f"--worker-index {index}: expected 0..{len(workers) - 1} (one of {len(workers)} workers)")
        return Plan("multi_worker", workers, int(index), num_processes=len(workers), timeout=timeout, source=source)
    # data_parallel (JAX)
    coordinator = section.get("coordinator") or (workers[0] if workers else None) or env.get("JAX_COORDINATOR_ADDRESS")
    processes = section.get("num_processes") or (len(workers) if workers else None) or _env_int(env, "JAX_NUM_PROCESSES") or 1
    if index is None:
        index = _env_int(env, "JAX_PROCESS_ID")
    if processes > 1 and (coordinator is None or index is None):
        missing = "the coordinator's HOST:PORT (--workers / distribution.coordinator / JAX_COORDINATOR_ADDRESS)" if coordinator is None else (
            "this process's id (--worker-index / JAX_PROCESS_ID)"
        )
        raise SeqkitError(f"distribution.strategy data_parallel with {processes} processes needs {missing}")
    index = int(index or 0)
    if index >= processes:
        raise SeqkitError(f"--worker-index {index}: expected 0..{processes - 1} (one of {processes} processes)")
    return Plan("data_parallel", workers, index, coordinator=coordinator, num_processes=int(processes), timeout=timeout,
                source="recipe" if section.get("coordinator") or workers else "environment")


def _env_int(env, name: str) -> int | None:
    value = env.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise SeqkitError(f"environment variable {name}: expected an integer. Received: {value!r}") from None


def _from_tf_config(text: str | None) -> tuple[list[str], int | None]:
    """(worker addresses, this task's index) from TF_CONFIG; a chief task comes first."""
    if not text:
        return [], None
    try:
        config = json.loads(text)
        cluster = config.get("cluster") or {}
        chief = list(cluster.get("chief") or [])
        workers = chief + list(cluster.get("worker") or [])
        task = config.get("task") or {}
        kind, index = task.get("type"), task.get("index")
    except (ValueError, AttributeError, TypeError):
        raise SeqkitError('environment variable TF_CONFIG: expected JSON like {"cluster": {"worker": ["HOST:PORT", ...]}, '
                          '"task": {"type": "worker", "index": 0}}') from None
    if kind not in (None, "chief", "worker") or (index is not None and not isinstance(index, int)):
        raise SeqkitError(f"environment variable TF_CONFIG: task must be chief or worker with an integer index. Received: {task}")
    if index is not None and kind == "worker":
        index += len(chief)
    return workers, index


# -- waiting for the other workers ------------------------------------------------------------


def _split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def wait_for_workers(plan: Plan, addresses: list[str], own: str | None, what: str = "worker") -> None:
    """Listen on our own address and wait until every other address accepts a connection.

    TensorFlow's and JAX's cluster start-up block without a usable timeout when a worker
    never comes up; this turns that into one line after ``plan.timeout`` seconds.
    """
    listener = None
    if own is not None:
        host, port = _split_address(own)
        listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((host, port))
        except OSError as exc:
            listener.close()
            raise SeqkitError(f"{what} {plan.worker_index}: cannot listen on {own}: {exc.strerror}") from None
        listener.listen(16)
        listener.settimeout(0)
    deadline = time.monotonic() + plan.timeout
    pending = [a for a in addresses if a != own]
    try:
        while pending:
            if listener is not None:
                _drain(listener)
            still = []
            for address in pending:
                try:
                    socket.create_connection(_split_address(address), timeout=1.0).close()
                except OSError:
                    still.append(address)
            pending = still
            if pending and time.monotonic() > deadline:
                raise SeqkitError(
                    f"{what}(s) {', '.join(pending)} did not come up within {plan.timeout:g} s "
                    f"(distribution.timeout); start every worker, check the addresses and the firewall"
                )
            if pending:
                time.sleep(0.2)
        # Keep answering briefly so that the others also see this worker before its
        # engine's server takes the port over.
        if listener is not None:
            settle = time.monotonic() + 1.0
            while time.monotonic() < settle:
                _drain(listener)
                time.sleep(0.05)
    finally:
        if listener is not None:
            listener.close()


def _drain(listener: socket.socket) -> None:
    while True:
        try:
            connection, _ = listener.accept()
        except (BlockingIOError, OSError):
            return
        connection.close()


# -- the Keras fixes for MultiWorkerMirroredStrategy (keras-team/keras#20585) ------------------

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
                local = strategy.experimental_local_results(value)[0] if trainer._is_per_replica_instance(value) else value
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
                    lambda v: self.distribute_strategy.experimental_local_results(v)[0]
                    if isinstance(v, tf.distribute.DistributedValues)
                    else v,
                    batch,
                )
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    reduce_per_replica.__wrapped_by_seqkit__ = original_reduce
    _maybe_symbolic_build.__wrapped_by_seqkit__ = original_build
    trainer.reduce_per_replica = reduce_per_replica
    trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build


# -- a training session ---------------------------------------------------------------------


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
                raise SeqkitError(f"worker {self.plan.worker_index}: the chief did not finish the run: {message}") from None
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
    echo(f"seqkit: worker {plan.worker_index} of {plan.num_processes} at {own}; waiting for the others (up to {plan.timeout:g} s)")
    wait_for_workers(plan, plan.workers, own)
    os.environ["TF_CONFIG"] = json.dumps(
        {"cluster": {"worker": plan.workers}, "task": {"type": "worker", "index": plan.worker_index}}
    )
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=max(COLLECTIVE_TIMEOUT, plan.timeout))
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except (RuntimeError, ValueError) as exc:
        raise SeqkitError(f"distribution.strategy multi_worker: TensorFlow could not start the cluster: {exc}".splitlines()[0]) from None
    echo(f"seqkit: multi_worker: {strategy.num_replicas_in_sync} replicas on {plan.num_processes} workers")
    return Session(plan, strategy)


def _start_jax(plan: Plan, echo) -> Session:
    import jax
    import keras

    if plan.multi_process:
        echo(f"seqkit: process {plan.worker_index} of {plan.num_processes}; coordinator {plan.coordinator} (up to {plan.timeout:g} s)")
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


# -- where a worker that is not the chief keeps its files ---------------------------------------

#: What a worker copies from the chief's run directory to resume (the rest is the chief's).
RESUME_FILES = ("recipe.yaml", "run.json", "status.json", "checkpoints")


@contextlib.contextmanager
def worker_directory(plan: Plan, resume_from: Path | None = None):
    """A scratch run folder for a worker that is not the chief, deleted afterwards.

    To resume, the worker reads the chief's run directory (shared storage or a copy):
    its recipe, status and checkpoints are copied into the scratch folder.
    """
    from seqkit.train.rundir import RunDirectory

    scratch = Path(tempfile.mkdtemp(prefix=f"seqkit-worker{plan.worker_index}-"))
    try:
        if resume_from is not None:
            for name in RESUME_FILES:
                source = Path(resume_from) / name
                if source.is_dir():
                    shutil.copytree(source, scratch / name)
                elif source.is_file():
                    shutil.copy2(source, scratch / name)
        yield RunDirectory(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def check_recipe(data: dict, where: Callable[[str], str]) -> list[str]:
    """Problems in a recipe's distribution section, formatted like the validator's."""
    section = data.get("distribution")
    if not isinstance(section, dict):
        return []
    train = data.get("train") if isinstance(data.get("train"), dict) else {}
    return [f"{where('distribution.' + key)}: distribution.{key}: {message}" for key, message in check(section, train)]


__all__ = [
    "Plan",
    "Session",
    "SCHEMA",
    "STRATEGIES",
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
