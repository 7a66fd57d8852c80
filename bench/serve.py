"""`seqkit serve` under load, against the same model's in-process prediction; and the wall time of
a cold `seqkit predict RUN "one sentence"` with TensorFlow's import share.

    python bench/serve.py [--run RUN_DIR] [--requests 2000] [--batched-requests 500] [--concurrency 16]

Without --run it trains recipes/sentiment/reviews.yaml (the review model, --epochs epochs) into a
temporary folder first. It starts `seqkit serve RUN --port 0` on 127.0.0.1 in a subprocess, sends
single-sentence requests and batches of 32 from --concurrency concurrent clients (httpx), and
reports requests/s, inputs/s, p50 / p99 latency and errors for each (and for one client sending
single sentences one after another: a lone request's latency); then the in-process
`model.predict` throughput of the same model on the same sentences (the reference), and the
cold-process figures. Prints JSON and writes bench/results/serve.json. The machine's load
average is recorded: figures from a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from report import write_report

RECIPE = ROOT / "recipes" / "sentiment" / "reviews.yaml"
SENTENCE = "The product exceeded my expectations!"


def texts() -> list[str]:
    with (ROOT / "recipes" / "sentiment" / "data" / "reviews.csv").open(encoding="utf-8", newline="") as handle:
        return [row["review"] for row in csv.DictReader(handle) if row["review"].strip()]


def train(folder: Path, epochs: int) -> Path:
    subprocess.run(
        [sys.executable, "-m", "seqkit", "run", str(RECIPE), "--quiet", "--output", str(folder)]
        + ["--set", f"train.epochs={epochs}", "--set", "output.tensorboard=false"],
        check=True,
    )
    return next(p for p in (folder / "reviews-sentiment").iterdir() if (p / "model.keras").exists())


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


async def load(url: str, bodies: list[list[str]], concurrency: int) -> dict:
    import httpx

    latencies, errors, queue = [], [], list(enumerate(bodies))
    queue.reverse()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client_loop(client):
        while queue:
            _, body = queue.pop()
            start = time.perf_counter()
            try:
                response = await client.post("/predict", json={"inputs": body})
                ok = response.status_code == 200 and len(response.json()["predictions"]) == len(body)
                if not ok:
                    errors.append(f"{response.status_code}: {response.text[:120]}")
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            latencies.append(time.perf_counter() - start)

    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        await client.post("/predict", json={"inputs": bodies[0]})  # warm: the batch shape's first trace
        start = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    inputs = sum(len(b) for b in bodies)
    return {
        "requests": len(bodies),
        "inputs_per_request": len(bodies[0]),
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "requests_per_s": round(len(bodies) / elapsed, 1),
        "inputs_per_s": round(inputs / elapsed, 1),
        "p50_ms": round(1000 * percentile(latencies, 50), 2),
        "p99_ms": round(1000 * percentile(latencies, 99), 2),
        "mean_ms": round(1000 * statistics.fmean(latencies), 2),
        "errors": len(errors),
        "first_errors": errors[:3],
    }


def start_server(run: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "seqkit", "serve", str(run), "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    if "http://" not in line:
        process.kill()
        raise SystemExit(f"seqkit serve did not start: {line!r}")
    return process, line.split(" at ")[1].split()[0]


def in_process(run: Path, sentences: list[str], batch: int) -> dict:
    """The reference: Keras's model.predict on the same sentences in this process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np

    import seqkit

    model = seqkit.load_run(run).model
    x = np.asarray(sentences, dtype=object)
    model.predict(x[:512], batch_size=batch, verbose=0)  # trace first
    result = {}
    for size in (32, batch):
        start = time.perf_counter()
        model.predict(x, batch_size=size, verbose=0)
        elapsed = time.perf_counter() - start
        result[f"model_predict_batch_{size}_inputs_per_s"] = round(len(x) / elapsed, 1)
    one = np.asarray([SENTENCE], dtype=object)
    times = []
    for _ in range(50):
        start = time.perf_counter()
        model.predict_on_batch(one)
        times.append(time.perf_counter() - start)
    result["predict_on_batch_one_sentence_p50_ms"] = round(1000 * statistics.median(times), 2)
    return result


def cold(run: Path, repeat: int) -> dict:
    def wall(command) -> float:
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start

    env_python = [sys.executable, "-c", "import tensorflow"]
    predict = [sys.executable, "-m", "seqkit", "predict", str(run), SENTENCE]
    imports = [wall(env_python) for _ in range(repeat)]
    predicts = [wall(predict) for _ in range(repeat)]
    best_import, best_predict = min(imports), min(predicts)
    return {
        "seqkit_predict_one_sentence_s": {
            "best": round(best_predict, 2),
            "median": round(statistics.median(predicts), 2),
        },
        "python_import_tensorflow_s": {"best": round(best_import, 2), "median": round(statistics.median(imports), 2)},
        "import_share": round(best_import / best_predict, 3),
        "beyond_import_s": round(best_predict - best_import, 2),
        "repeat": repeat,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a trained review run (default: train one)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs when training the run here")
    parser.add_argument("--requests", type=int, default=2000, help="single-sentence requests")
    parser.add_argument("--batched-requests", type=int, default=500, help="requests of --batch sentences")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--cold-repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/serve.json)")
    args = parser.parse_args()

    report: dict = {"cpus": os.cpu_count(), "load_average_before": [round(v, 2) for v in os.getloadavg()]}
    with tempfile.TemporaryDirectory() as folder:
        run = args.run or train(Path(folder), args.epochs)
        report["run"] = str(run)
        sentences = texts()
        singles = [[sentences[i % len(sentences)]] for i in range(args.requests)]
        batches = [
            [sentences[(i * args.batch + j) % len(sentences)] for j in range(args.batch)]
            for i in range(args.batched_requests)
        ]
        process, url = start_server(run)
        try:
            # one client, one sentence at a time: the latency of a lone request (no queueing)
            report["serve_one_client"] = asyncio.run(load(url, singles[: args.requests // 10], 1))
            report["serve_single"] = asyncio.run(load(url, singles, args.concurrency))
            report["serve_batched"] = asyncio.run(load(url, batches, args.concurrency))
        finally:
            process.terminate()
            process.wait(30)
        reference_sentences = [s for b in batches for s in b]
        report["in_process"] = in_process(run, reference_sentences, 256)
        best = max(v for k, v in report["in_process"].items() if k.endswith("inputs_per_s"))
        report["batched_vs_in_process"] = round(report["serve_batched"]["inputs_per_s"] / best, 3)
        report["cold_predict"] = cold(run, args.cold_repeat)
    report["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    report["aims"] = {
        "errors_0": report["serve_single"]["errors"] == 0 and report["serve_batched"]["errors"] == 0,
        "single_p50_le_20ms": report["serve_single"]["p50_ms"] <= 20,
        "one_client_p50_le_20ms": report["serve_one_client"]["p50_ms"] <= 20,
        "batched_ge_0.7x_in_process": report["batched_vs_in_process"] >= 0.7,
        "note": "the aims are for 2 idle cores; see load_average_before / after",
    }
    write_report("serve", report, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
