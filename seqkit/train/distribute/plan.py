"""The plan: what this process does in a distributed run, from the recipe and the environment."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqkit.errors import SeqkitError
from seqkit.recipe.distribution import DEFAULT_TIMEOUT, HOST_PORT, port_problem


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
    import re

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


def overrides_for(
    workers: str | list[str] | None = None, worker_index: int | None = None, strategy: str | None = None
) -> dict:
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
            raise SeqkitError(
                "distribution.strategy multi_worker needs this worker's index: --worker-index I (0 = chief)"
            )
        if index >= len(workers):
            raise SeqkitError(f"--worker-index {index}: expected 0..{len(workers) - 1} (one of {len(workers)} workers)")
        return Plan("multi_worker", workers, int(index), num_processes=len(workers), timeout=timeout, source=source)
    # data_parallel (JAX)
    coordinator = section.get("coordinator") or (workers[0] if workers else None) or env.get("JAX_COORDINATOR_ADDRESS")
    processes = (
        section.get("num_processes") or (len(workers) if workers else None) or _env_int(env, "JAX_NUM_PROCESSES") or 1
    )
    if index is None:
        index = _env_int(env, "JAX_PROCESS_ID")
    if processes > 1 and (coordinator is None or index is None):
        missing = (
            "the coordinator's HOST:PORT (--workers / distribution.coordinator / JAX_COORDINATOR_ADDRESS)"
            if coordinator is None
            else ("this process's id (--worker-index / JAX_PROCESS_ID)")
        )
        raise SeqkitError(f"distribution.strategy data_parallel with {processes} processes needs {missing}")
    index = int(index or 0)
    if index >= processes:
        raise SeqkitError(f"--worker-index {index}: expected 0..{processes - 1} (one of {processes} processes)")
    return Plan(
        "data_parallel",
        workers,
        index,
        coordinator=coordinator,
        num_processes=int(processes),
        timeout=timeout,
        source="recipe" if section.get("coordinator") or workers else "environment",
    )


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
        raise SeqkitError(
            'environment variable TF_CONFIG: expected JSON like {"cluster": {"worker": ["HOST:PORT", ...]}, '
            '"task": {"type": "worker", "index": 0}}'
        ) from None
    if kind not in (None, "chief", "worker") or (index is not None and not isinstance(index, int)):
        raise SeqkitError(
            f"environment variable TF_CONFIG: task must be chief or worker with an integer index. Received: {task}"
        )
    if index is not None and kind == "worker":
        index += len(chief)
    return workers, index
