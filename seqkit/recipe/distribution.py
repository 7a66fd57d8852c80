"""The recipe's ``distribution:`` section: its JSON Schema and the checks across its keys.

What the section means at run time (plans, sessions, the cluster) is in
:mod:`seqkit.train.distribute`; this module is what validation needs, so that
``seqkit.recipe`` imports nothing from ``seqkit.train``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

STRATEGIES = ("none", "mirrored", "multi_worker", "data_parallel")
HOST_PORT = r"^\[?[A-Za-z0-9._:-]+\]?:[0-9]{1,5}$"
DEFAULT_TIMEOUT = 120.0
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
        problems.append(
            ("worker_index", f"expected 0..{len(workers) - 1} (one of {len(workers)} workers). Received: {index}")
        )
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
            problems.append(
                (
                    "strategy",
                    "multi_worker needs train.steps_per_execution: 1 (Keras cannot run several steps per call across workers)",
                )
            )
    if strategy == "data_parallel" and workers and section.get("num_processes") not in (None, len(workers)):
        problems.append(("num_processes", f"{section['num_processes']} disagrees with the {len(workers)} `workers`"))
    return problems


def check_recipe(data: dict, where: Callable[[str], str]) -> list[str]:
    """Problems in a recipe's distribution section, formatted like the validator's."""
    section = data.get("distribution")
    if not isinstance(section, dict):
        return []
    train = data.get("train") if isinstance(data.get("train"), dict) else {}
    return [f"{where('distribution.' + key)}: distribution.{key}: {message}" for key, message in check(section, train)]
