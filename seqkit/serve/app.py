"""The HTTP prediction server: FastAPI on uvicorn, one model loaded once per run.

Routes (JSON): ``POST /predict`` (and ``POST /models/{name}/predict``), ``GET /health``,
``GET /metadata`` (and ``/models/{name}/metadata``), the OpenAPI page at ``/docs``
(``/openapi.json``). A request body is ``{"inputs": [...]}``: the raw inputs
``seqkit predict`` takes (texts; for sequence models lists of steps). The answer holds one
row per input, decoded by the run's task exactly as ``seqkit predict`` decodes it
(:meth:`seqkit.api.Run.predict`).

Concurrent requests for one model are micro-batched: a request joins a queue; one task per
model takes what is queued (waiting up to ``batch_wait`` seconds for more, at most
``max_batch`` inputs), runs one ``Run.predict`` in the model's worker thread, and hands each
request its rows. Every bad request gets a 4xx with ``{"error": "one line"}``; a failure
inside the model is a 500 for the requests of that call, and the server keeps serving.
"""

from __future__ import annotations

import asyncio
import json
import platform
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from seqkit.errors import SeqkitError

MAX_INPUTS_PER_REQUEST = 1024


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: list[str | list[Any]] = Field(
        min_length=1,
        max_length=MAX_INPUTS_PER_REQUEST,
        description="raw inputs: texts, or for sequence models lists of steps (each a list of numbers)",
        examples=[["The product exceeded my expectations!"]],
    )


class PredictResponse(BaseModel):
    model: str
    predictions: list[dict[str, Any]]


def _error(status: int, message: str):
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": message}, status_code=status)


class BodyLimit:
    """ASGI middleware: a request body larger than ``limit`` bytes gets 413 before the app
    reads it (by its Content-Length, or counted while it arrives)."""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def _refuse(self, send, status: int, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_large = f"request body larger than {self.limit} bytes (seqkit serve --max-body-bytes)"
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            if not length.isdigit():
                return await self._refuse(send, 400, "Content-Length is not a number")
            if int(length) > self.limit:
                return await self._refuse(send, 413, too_large)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return await self._refuse(send, 413, too_large)
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


@dataclass
class _Pending:
    inputs: list
    future: asyncio.Future


@dataclass
class ServedModel:
    """One run behind the server: its :class:`seqkit.api.Run`, a worker thread for its model
    calls, and the queue that micro-batches requests."""

    name: str
    run: Any
    max_batch: int = 256
    batch_wait: float = 0.002
    queue: asyncio.Queue | None = None
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="seqkit-model")
    )
    calls: int = 0
    served: int = 0

    def check(self, inputs: list) -> None:
        """The adapter's own check of raw inputs (what ``seqkit predict`` refuses), before the
        request joins a batch: a bad input fails its own request only. A model that takes
        strings (a text model) takes JSON strings only."""
        if self.takes_text:
            for number, item in enumerate(inputs, start=1):
                if not isinstance(item, str):
                    raise SeqkitError(
                        f"input {number}: this model takes texts (JSON strings). Received: {json.dumps(item)[:80]}"
                    )
        self.run.adapter.encode_inputs(inputs, self.run.info)

    @property
    def takes_text(self) -> bool:
        inputs = getattr(self.run.model, "inputs", None) or []
        return len(inputs) == 1 and str(getattr(inputs[0], "dtype", "")) == "string"

    async def predict(self, inputs: list) -> list[dict]:
        future = asyncio.get_running_loop().create_future()
        await self.queue.put(_Pending(inputs, future))
        return await future

    async def batches(self) -> None:
        """Forever: take queued requests, run them as one model call, answer each."""
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            size = len(batch[0].inputs)
            deadline = loop.time() + self.batch_wait
            while size < self.max_batch:
                if self.queue.empty():
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(self.queue.get(), remaining)
                    except TimeoutError:
                        break
                else:
                    item = self.queue.get_nowait()
                if size + len(item.inputs) > self.max_batch:
                    await self._run([item])  # too large to join: its own call, after this batch's
                    continue
                batch.append(item)
                size += len(item.inputs)
            await self._run(batch)

    async def _run(self, batch: list[_Pending]) -> None:
        batch = [p for p in batch if not p.future.done()]  # clients that went away
        if not batch:
            return
        loop = asyncio.get_running_loop()
        inputs = [x for p in batch for x in p.inputs]
        try:
            rows = await loop.run_in_executor(self.executor, self.run.predict, inputs)
        except Exception as exc:  # noqa: BLE001 - the server answers and keeps serving
            if len(batch) > 1:  # find the request at fault: each on its own
                for pending in batch:
                    await self._run([pending])
                return
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        self.calls += 1
        self.served += len(inputs)
        start = 0
        for pending in batch:
            if not pending.future.done():
                pending.future.set_result(rows[start : start + len(pending.inputs)])
            start += len(pending.inputs)

    def metadata(self) -> dict:
        from seqkit.train.environment import _version

        run, recipe = self.run, self.run.recipe
        try:
            test = run.metrics.get("test", {})
        except SeqkitError:
            test = {}
        versions = {"seqkit": _version("seqkit"), "python": platform.python_version()}
        for name in ("keras", "tensorflow", "tensorflow-cpu", "numpy", "fastapi", "uvicorn"):
            version = _version(name)
            if version:
                versions[name.replace("-", "_")] = version
        return {
            "name": self.name,
            "run": str(run.path),
            "task": recipe.task,
            "classes": list(run.info.get("classes", [])) or None,
            "recipe": {
                "name": recipe.get("name"),
                "data.adapter": recipe.get("data.adapter"),
                "model.encoder": recipe.get("model.encoder"),
                "model.backbone": recipe.get("model.backbone"),
                "model.head": recipe.get("model.head"),
                "seed": recipe.seed,
            },
            "test_metrics": {k: v for k, v in test.items() if isinstance(v, (int, float))},
            "versions": versions,
            "batching": {"max_batch": self.max_batch, "batch_wait_ms": self.batch_wait * 1000},
        }


def model_names(runs: list) -> list[str]:
    """A route name per run: the recipe's name, or name/run-id where two runs share one."""
    names = [str(run.recipe.get("name") or run.path.parent.name) for run in runs]
    return [f"{n}-{run.path.name}" if names.count(n) > 1 else n for n, run in zip(names, runs)]


def create_app(
    runs: list,
    max_batch: int = 256,
    batch_wait: float = 0.002,
    max_body_bytes: int = 1 << 20,
):
    """The FastAPI application serving ``runs`` (opened :class:`seqkit.api.Run` objects, whose
    models are loaded here, once)."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    served = {
        name: ServedModel(name, run, max_batch=max_batch, batch_wait=batch_wait)
        for name, run in zip(model_names(runs), runs)
    }
    for model in served.values():
        _ = model.run.model  # load (and check) each model now, not on the first request
        _warm_up(model.run)

    @asynccontextmanager
    async def lifespan(app):
        tasks = []
        for model in served.values():
            model.queue = asyncio.Queue()
            tasks.append(asyncio.create_task(model.batches()))
        yield
        for task in tasks:
            task.cancel()
        for model in served.values():
            model.executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="seqkit",
        summary="Predictions of trained seqkit runs",
        description="POST raw inputs as seqkit predict takes them; each row is decoded as seqkit predict prints it.",
        lifespan=lifespan,
    )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        content_type = request.headers.get("content-type", "")
        if request.method == "POST" and "json" not in content_type.split(";")[0]:
            return _error(
                415, f"expected a JSON body with Content-Type: application/json. Received: {content_type or 'none'}"
            )
        errors = exc.errors()
        # an unknown field says more than the missing one it was probably meant to be
        errors = sorted(errors, key=lambda e: e.get("type") not in ("json_invalid", "extra_forbidden"))
        first = errors[0] if errors else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        kind = first.get("type", "")
        if kind == "json_invalid":
            context = first.get("ctx", {}).get("error", "")
            return _error(400, f"request body is not valid JSON ({context})".replace(" ()", ""))
        if kind == "extra_forbidden":
            return _error(422, f"unknown field {where!r}; a request holds only 'inputs'")
        if kind == "missing":
            return _error(422, f"missing field {where!r}: expected {{'inputs': [...]}}")
        loc = [part for part in first.get("loc", ()) if part != "body"]
        if len(loc) >= 2 and loc[0] == "inputs" and isinstance(loc[1], int):
            shown = json.dumps(first.get("input"))[:80]
            return _error(
                422, f"inputs[{loc[1]}]: expected a text (a string) or a sequence (a list of steps). Received: {shown}"
            )
        message = first.get("msg", "invalid request")
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return _error(422, f"{where or 'body'}: {message}{more}")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception):
        return _error(
            500, f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        )

    def pick(name: str | None) -> ServedModel:
        if name is None:
            if len(served) == 1:
                return next(iter(served.values()))
            raise HTTPException(
                400, f"several models are served; use /models/NAME/predict with NAME one of: {', '.join(served)}"
            )
        if name not in served:
            raise HTTPException(404, f"no model {name!r}; served: {', '.join(served)}")
        return served[name]

    async def answer(model: ServedModel, request: PredictRequest):
        try:
            model.check(request.inputs)
        except SeqkitError as exc:
            return _error(422, str(exc).splitlines()[0])
        try:
            rows = await model.predict(request.inputs)
        except SeqkitError as exc:
            return _error(422, str(exc).splitlines()[0])
        except Exception as exc:  # noqa: BLE001 - answered here: a handler-level 500 would drop the connection
            detail = str(exc).splitlines()[0][:200] if str(exc) else ""
            return _error(500, f"internal error: {type(exc).__name__}: {detail}")
        return PredictResponse(model=model.name, predictions=rows)

    @app.post("/predict", response_model=PredictResponse, summary="Predict with the served model")
    async def predict(request: PredictRequest):
        return await answer(pick(None), request)

    @app.post("/models/{name}/predict", response_model=PredictResponse, summary="Predict with the model NAME")
    async def predict_named(name: str, request: PredictRequest):
        return await answer(pick(name), request)

    @app.get("/health", summary="Liveness: the models are loaded")
    async def health():
        return {"status": "ok", "models": list(served)}

    @app.get("/metadata", summary="Task, classes, recipe summary and versions of each served model")
    async def metadata():
        if len(served) == 1:
            return next(iter(served.values())).metadata()
        return {"models": {name: model.metadata() for name, model in served.items()}}

    @app.get("/models/{name}/metadata", summary="Metadata of the model NAME")
    async def metadata_named(name: str):
        return pick(name).metadata()

    app.state.models = served
    return BodyLimit(app, max_body_bytes), app


def _warm_up(run) -> None:
    """Trace the model's predict function before the first request, with texts when the run
    takes texts (other runs trace on their first requests)."""
    try:
        run.adapter.encode_inputs(["warm up"], run.info)
    except SeqkitError:
        return
    # Two batch sizes: TensorFlow traces the predict function for the first shape, then once
    # more for a relaxed (any batch size) shape; both before the first request, not during one.
    run.predict(["warm up"])
    run.predict(["warm up", "and again"])
