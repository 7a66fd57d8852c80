"""Waiting for the other workers: one error line after ``distribution.timeout`` seconds
instead of TensorFlow's and JAX's start-up that blocks without a usable timeout."""

from __future__ import annotations

import socket
import time

from seqkit.errors import SeqkitError
from seqkit.train.distribute.plan import Plan


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
