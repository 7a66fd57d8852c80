"""Fault injection: a test hook for seqkit's reliability tests. Off unless ``SEQKIT_FAULT`` is set.

``SEQKIT_FAULT`` holds one or more faults, separated by commas, each ``POINT:WHERE[:ACTION]``:

- ``checkpoint:N`` — at the N-th checkpoint write step of this process (1-based, counted over
  every epoch's commit; one commit's steps are :data:`seqkit.train.callbacks.COMMIT_STEPS`)
  the process kills itself with SIGKILL. ``checkpoint:N:exit`` ends it with ``os._exit(137)``
  instead, ``checkpoint:N:enospc`` raises ``OSError(ENOSPC)`` there (a disk that fills up).
- ``batch:E.B:SIGINT`` / ``batch:E.B:SIGTERM`` — the process sends itself the signal after
  training batch B of epoch E (both 1-based).
- ``phase:NAME:SIGINT`` / ``phase:NAME:SIGTERM`` — the process sends itself the signal as the
  run enters phase NAME (``data``, ``model``, ``fit``, ``evaluate``, ``outputs``).

A step named ``X:half`` is reached with half of file X's bytes written (a torn file), ``X``
once X is complete. In-process tests can watch the steps with :func:`observe` instead.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
from collections.abc import Callable, Iterator

ENV = "SEQKIT_FAULT"
ACTIONS = ("kill", "exit", "enospc", "SIGINT", "SIGTERM")

_counts: dict[str, int] = {}
_observers: list[Callable[[str, int, str], None]] = []


def _parse(spec: str) -> list[tuple[str, str, str]]:
    faults = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        parts = item.split(":")
        if len(parts) not in (2, 3) or parts[0] not in ("checkpoint", "batch", "phase"):
            raise ValueError(f"{ENV}: {item!r}: expected POINT:WHERE[:ACTION] with POINT checkpoint, batch or phase")
        action = parts[2] if len(parts) == 3 else "kill"
        if action not in ACTIONS:
            raise ValueError(f"{ENV}: {item!r}: unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
        faults.append((parts[0], parts[1], action))
    return faults


def _fire(action: str, where: str) -> None:
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "exit":
        os._exit(137)
    elif action == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC) + f" (injected at {where})")
    else:
        os.kill(os.getpid(), getattr(signal, action))


def _reach(point: str, where: str, label: str, count: int) -> None:
    for observer in list(_observers):
        observer(point, count, label)
    spec = os.environ.get(ENV)
    if not spec:
        return
    for fault_point, fault_where, action in _parse(spec):
        if fault_point == point and fault_where == where:
            _fire(action, f"{point}:{where} ({label})")


def step(label: str) -> None:
    """One checkpoint write step (``label`` names it, e.g. ``state.json:half``)."""
    count = _counts["checkpoint"] = _counts.get("checkpoint", 0) + 1
    _reach("checkpoint", str(count), label, count)


def steps_taken() -> int:
    """Checkpoint write steps this process has reached so far (``checkpoint:N`` counts on from it)."""
    return _counts.get("checkpoint", 0)


def batch(epoch: int, batch_number: int) -> None:
    """After training batch ``batch_number`` of ``epoch`` (both 1-based)."""
    _reach("batch", f"{epoch}.{batch_number}", f"epoch {epoch} batch {batch_number}", 0)


def phase(name: str) -> None:
    """The run enters phase ``name``."""
    _reach("phase", name, name, 0)


@contextlib.contextmanager
def observe(callback: Callable[[str, int, str], None]) -> Iterator[None]:
    """Call ``callback(point, count, label)`` at every fault point reached inside the block
    (``count`` is the process's checkpoint step number; 0 for other points)."""
    _observers.append(callback)
    try:
        yield
    finally:
        _observers.remove(callback)
