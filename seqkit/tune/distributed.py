"""Distributed search on KerasTuner's chief / worker (gRPC) mode, with one repair.

KerasTuner's chief waits until every worker that ever asked for a trial has asked for its
last one, so a worker killed mid-trial would keep the search open forever. seqkit's chief
serves the same gRPC oracle and also watches each worker: one silent for longer than
``worker_timeout`` seconds is dropped and its trial goes back to the queue, to be run by
another worker. Workers send a heartbeat every second while they train. The KerasTuner internals this touches (``ongoing_trials``, ``tuner_ids``,
``_retry_queue``, ``OracleServicer``) come through :mod:`seqkit.compat.keras_tuner_oracle`,
which checks them (and ``tests/test_tune.py`` does), so a KerasTuner upgrade that changes
them fails loudly.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent import futures

from seqkit.compat.keras_tuner_oracle import oracle_servicer, protos, require_internals, trial_types

ROLE_ENV = ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID")
HEARTBEAT_SECONDS = 1.0


def parse_oracle(oracle: str) -> tuple[str, str]:
    from seqkit.errors import SeqkitError

    host, sep, port = (oracle or "").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SeqkitError(f"--oracle: expected HOST:PORT (e.g. 10.0.0.5:8000). Received: {oracle!r}")
    return host, port


def configure_role(role: str, oracle: str, tuner_id: str | None = None) -> str:
    """Set KerasTuner's environment for a chief or worker; returns the tuner id."""
    from seqkit.errors import SeqkitError

    host, port = parse_oracle(oracle)
    if role == "chief":
        tuner_id = "chief"
    else:
        tuner_id = tuner_id or f"tuner-{os.uname().nodename}-{os.getpid()}"
        if "chief" in tuner_id:
            raise SeqkitError(f"--tuner-id: a worker's id must not contain 'chief'. Received: {tuner_id!r}")
    os.environ.update({"KERASTUNER_ORACLE_IP": host, "KERASTUNER_ORACLE_PORT": port, "KERASTUNER_TUNER_ID": tuner_id})
    return tuner_id


def clear_role() -> None:
    for name in ROLE_ENV:
        os.environ.pop(name, None)


def _synchronized(function):
    import keras_tuner

    return keras_tuner.synchronized(function)


def drop_worker(oracle, tuner_id: str):
    """Forget a worker; its running trial (returned) goes back to the retry queue."""

    @_synchronized
    def drop(oracle):
        trial = oracle.ongoing_trials.pop(tuner_id, None)
        oracle.tuner_ids.discard(tuner_id)
        if trial is not None:
            oracle._retry_queue.append(trial.trial_id)
        oracle.save()
        return trial

    return drop(oracle)


def create_or_hold(oracle, tuner_id: str):
    """``oracle.create_trial``, except that a worker is told to wait (IDLE) rather than to
    stop while trials still run elsewhere: if one of their workers dies, its trial comes
    back to the queue and someone must be left to run it."""
    Trial, TrialStatus = trial_types()

    @_synchronized
    def create(oracle):
        trial = oracle.create_trial(tuner_id)
        if trial.status == TrialStatus.STOPPED and any(t != tuner_id for t in oracle.ongoing_trials):
            oracle.tuner_ids.add(tuner_id)
            return Trial(oracle.get_space(), status=TrialStatus.IDLE)
        return trial

    return create(oracle)


def forget_retry(oracle, trial_id: str) -> None:
    """A worker thought dead finished its trial after all: do not run it again."""

    @_synchronized
    def forget(oracle):
        if trial_id in oracle._retry_queue:
            oracle._retry_queue.remove(trial_id)

    forget(oracle)


class WorkerHeartbeat:
    """Tells the chief a worker is alive while it trains: KerasTuner workers only talk to
    the oracle between trials, so a long trial would look like a dead worker."""

    def __init__(self, oracle_client, interval: float = HEARTBEAT_SECONDS):
        self.client = oracle_client
        self.interval = interval
        self.trial_id: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="seqkit-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            trial_id = self.trial_id
            if trial_id is None:
                continue
            try:
                self.client.get_trial(trial_id)
            except Exception:  # the chief may be gone at the very end; the search loop reports it
                pass


def finished(oracle) -> bool:
    return not oracle.ongoing_trials and not oracle.tuner_ids


def serve_chief(oracle, worker_timeout: float, echo=print, poll: float = 0.5) -> None:
    """Serve the oracle until the search is finished, dropping workers that went silent."""
    import grpc

    require_internals(oracle)
    OracleServicer, service = oracle_servicer(), protos()
    _trial, TrialStatus = trial_types()

    last_seen: dict[str, float] = {}
    seen_lock = threading.Lock()

    def touch(tuner_id: str | None) -> None:
        if tuner_id:
            with seen_lock:
                last_seen[tuner_id] = time.monotonic()

    def tuner_of(trial_id: str) -> str | None:
        for tuner_id, trial in list(oracle.ongoing_trials.items()):
            if trial.trial_id == trial_id:
                return tuner_id
        return None

    class WatchingServicer(OracleServicer):
        def CreateTrial(self, request, context):
            touch(request.tuner_id)
            trial = create_or_hold(oracle, request.tuner_id)
            if trial.status == TrialStatus.STOPPED:
                self.stop_triggered = True
            elif trial.status == TrialStatus.IDLE:
                time.sleep(poll)  # the worker asks again at once; do not let it spin
            return service.get_service().CreateTrialResponse(trial=trial.to_proto())

        def UpdateTrial(self, request, context):
            touch(tuner_of(request.trial_id))
            return super().UpdateTrial(request, context)

        def EndTrial(self, request, context):
            touch(tuner_of(request.trial.trial_id))
            forget_retry(oracle, request.trial.trial_id)
            return super().EndTrial(request, context)

        def GetTrial(self, request, context):  # workers' heartbeat (see WorkerHeartbeat)
            touch(tuner_of(request.trial_id))
            return super().GetTrial(request, context)

    servicer = WatchingServicer(oracle)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    service.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    if server.add_insecure_port(address) == 0:
        from seqkit.errors import SeqkitError

        raise SeqkitError(f"--oracle: cannot listen on {address} (address in use or not local)")
    server.start()
    echo(f"seqkit: chief serving the oracle on {address}; workers: seqkit tune RECIPE --role worker --oracle {address}")
    try:
        while True:
            time.sleep(poll)
            now = time.monotonic()
            with seen_lock:
                silent = [t for t, seen in last_seen.items() if now - seen > worker_timeout]
            for tuner_id in silent:
                if tuner_id in oracle.tuner_ids:
                    trial = drop_worker(oracle, tuner_id)
                    requeued = f"; trial {trial.trial_id} goes back to the queue" if trial else ""
                    echo(f"seqkit: worker {tuner_id} silent for {worker_timeout:.0f} s, dropped{requeued}")
                with seen_lock:
                    last_seen.pop(tuner_id, None)
            if servicer.stop_triggered and finished(oracle):
                break
    finally:
        server.stop(grace=2)
