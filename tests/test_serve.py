"""seqkit serve over 127.0.0.1 with a real HTTP client: predictions as `seqkit predict` decodes
them, metadata, micro-batched concurrent requests, and a 4xx with one line for each kind of
bad request (the server keeps serving)."""

from __future__ import annotations

import asyncio
import shutil
import threading

import pytest

httpx = pytest.importorskip("httpx", reason="the serve tests need httpx (pip install 'seqkit[serve]')")
pytest.importorskip("fastapi", reason="seqkit serve needs FastAPI (pip install 'seqkit[serve]')")

import seqkit  # noqa: E402
from seqkit.testing import TINY_RECIPE, run_cli, run_tiny_recipe, write_reviews  # noqa: E402

TEXTS = ["great product works perfectly", "awful quality, it broke", "okay, nothing special", "love it"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    write_reviews(folder / "reviews.csv")
    return run_tiny_recipe(TINY_RECIPE.format(epochs=1, runs=folder / "runs"), folder)


class Served:
    """``seqkit.serve.serve`` in a thread on a free port of 127.0.0.1."""

    def __init__(self, run_dirs, **options):
        from seqkit.serve import serve

        started = threading.Event()
        self.error = None

        def ready(server, port):
            self.server, self.port = server, port
            started.set()

        def main():
            try:
                serve(run_dirs, port=0, echo=lambda _: None, ready=ready, **options)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                self.error = exc
                started.set()

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()
        started.wait(120)
        assert self.error is None, self.error
        self.url = f"http://127.0.0.1:{self.port}"
        self.models = self.server.config.app.app.state.models
        self.client = httpx.Client(base_url=self.url, timeout=60)
        for _ in range(600):  # uvicorn starts its loop after ready()
            try:
                self.client.get("/health")
                break
            except httpx.TransportError:
                threading.Event().wait(0.05)

    def close(self):
        self.client.close()
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="module")
def served(tiny_run):
    server = Served([tiny_run.path], batch_wait=0.05, max_body_bytes=4096)
    yield server
    server.close()


def test_predict_health_metadata_and_openapi(served, tiny_run):
    client = served.client
    assert client.get("/health").json() == {"status": "ok", "models": ["tiny"]}
    response = client.post("/predict", json={"inputs": TEXTS})
    assert response.status_code == 200
    assert response.json() == {"model": "tiny", "predictions": seqkit.load_run(tiny_run.path).predict(TEXTS)}
    assert client.post("/models/tiny/predict", json={"inputs": TEXTS[:1]}).json()["predictions"][0]["label"]
    meta = client.get("/metadata").json()
    assert meta["task"] == "sentiment" and meta["classes"] == ["negative", "neutral", "positive"]
    assert meta["recipe"]["name"] == "tiny" and meta["versions"]["keras"] and "accuracy" in meta["test_metrics"]
    assert "/predict" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200


def test_concurrent_requests_are_micro_batched_and_each_gets_its_own_rows(served, tiny_run):
    expected = {text: row for text, row in zip(TEXTS, seqkit.load_run(tiny_run.path).predict(TEXTS))}
    model = served.models["tiny"]
    calls_before = model.calls

    async def load():
        async with httpx.AsyncClient(base_url=served.url, timeout=60) as client:
            requests = [[TEXTS[i % 4]] if i % 3 else TEXTS[i % 4 :] for i in range(32)]
            answers = await asyncio.gather(*(client.post("/predict", json={"inputs": r}) for r in requests))
            return requests, answers

    requests, answers = asyncio.run(load())
    assert [a.status_code for a in answers] == [200] * 32
    for sent, answer in zip(requests, answers):
        assert answer.json()["predictions"] == [expected[text] for text in sent]
    assert model.calls - calls_before < 32  # several requests shared a model call


BAD = [
    (b'{"inputs": [', "application/json", 400, "not valid JSON"),
    (b'{"inputs": ["a"], "top_k": 3}', "application/json", 422, "unknown field 'top_k'"),
    (b'{"texts": ["a"]}', "application/json", 422, "unknown field 'texts'"),
    (b"{}", "application/json", 422, "missing field 'inputs'"),
    (b'{"inputs": "one text"}', "application/json", 422, "inputs: Input should be a valid list"),
    (b'{"inputs": [3]}', "application/json", 422, "inputs[0]: expected a text"),
    (b'{"inputs": [[1, 2]]}', "application/json", 422, "input 1: this model takes texts"),
    (b'{"inputs": ["ok", "  "]}', "application/json", 422, "input 2: empty text"),
    (b'{"inputs": []}', "application/json", 422, "at least 1 item"),
    (b'{"inputs": ["a"]}', "text/plain", 415, "Content-Type: application/json"),
    (b'{"inputs": ["' + b"x" * 5000 + b'"]}', "application/json", 413, "larger than 4096 bytes"),
]


@pytest.mark.parametrize("body, content_type, status, message", BAD)
def test_bad_requests_get_a_4xx_with_one_line(served, body, content_type, status, message):
    response = served.client.post("/predict", content=body, headers={"content-type": content_type})
    assert response.status_code == status
    error = response.json()["error"]
    assert message in error and "\n" not in error
    assert served.client.post("/predict", json={"inputs": ["still serving"]}).status_code == 200


def test_unknown_routes_methods_and_a_failing_model_call(served, monkeypatch):
    client = served.client
    assert client.post("/models/nope/predict", json={"inputs": ["a"]}).json()["error"].startswith("no model 'nope'")
    assert client.get("/predict").status_code == 405
    assert client.get("/nothing").status_code == 404
    run = served.models["tiny"].run
    monkeypatch.setattr(run, "predict", lambda inputs: 1 / 0)
    response = client.post("/predict", json={"inputs": ["a"]})
    assert response.status_code == 500 and "ZeroDivisionError" in response.json()["error"]
    monkeypatch.undo()
    assert client.post("/predict", json={"inputs": ["a"]}).status_code == 200


def test_several_runs_are_routed_by_name(tiny_run, tmp_path):
    copy = tmp_path / "tiny" / "copy-1"
    shutil.copytree(tiny_run.path, copy)
    server = Served([tiny_run.path, copy])
    try:
        names = sorted(server.models)
        assert names == sorted([f"tiny-{tiny_run.path.name}", "tiny-copy-1"])
        response = server.client.post("/predict", json={"inputs": ["a"]})
        assert response.status_code == 400 and "/models/NAME/predict" in response.json()["error"]
        for name in names:
            assert server.client.post(f"/models/{name}/predict", json={"inputs": ["a"]}).json()["model"] == name
        assert set(server.client.get("/metadata").json()["models"]) == set(names)
    finally:
        server.close()


def test_serve_arguments_are_checked_before_loading(tmp_path, capsys):
    assert run_cli(["serve", tmp_path, "--max-batch", "0"]) == 2
    assert "--max-batch: expected a positive integer" in capsys.readouterr().err
    assert run_cli(["serve", tmp_path / "missing"]) == 2
    assert "missing" in capsys.readouterr().err
