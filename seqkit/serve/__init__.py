"""``seqkit serve``: an HTTP JSON prediction server for trained runs (see :mod:`seqkit.serve.app`
and docs/deploy.md). Needs the ``serve`` extra: ``pip install 'seqkit[serve]'``."""

from __future__ import annotations

import socket

from seqkit.errors import SeqkitError


def serve(
    run_dirs,
    host: str = "127.0.0.1",
    port: int = 8000,
    max_batch: int = 256,
    batch_wait: float = 0.002,
    max_body_bytes: int = 1 << 20,
    echo=print,
    ready=None,
) -> None:
    """Load each run once and serve it until interrupted. ``ready(server, port)`` is called
    once the socket is bound (tests and benchmarks use it; port 0 picks a free port)."""
    try:
        import uvicorn

        from seqkit.serve.app import create_app
    except ImportError as exc:
        raise SeqkitError(
            f"seqkit serve needs FastAPI and uvicorn ({exc.name} is missing): pip install 'seqkit[serve]'"
        ) from None
    from seqkit import api

    runs = [api.load_run(path) for path in run_dirs]
    asgi, app = create_app(runs, max_batch=max_batch, batch_wait=batch_wait, max_body_bytes=max_body_bytes)
    try:
        sock = socket.create_server((host, port), reuse_port=False)
    except OSError as exc:
        raise SeqkitError(f"--host {host} --port {port}: cannot listen there: {exc.strerror or exc}") from None
    # Accepted connections inherit this: a response's headers and body go out at once instead
    # of the body waiting out the client's delayed ACK (about 40 ms a request on keep-alive).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    bound = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning", access_log=False, timeout_graceful_shutdown=5))
    names = ", ".join(app.state.models)
    echo(f"seqkit: serving {names} at http://{host}:{bound} (POST /predict, API docs at /docs); Ctrl-C stops")
    if ready is not None:
        ready(server, bound)
    server.run(sockets=[sock])
