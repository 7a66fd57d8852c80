"""Training throughput of the reference LSTM model: seqkit, plain Keras and PyTorch side by side.

Reference model (issue #7): Embedding(20,000 x 128) -> 2 x LSTM(128) -> Dense(1), sequence
length 200, batch 64, Adam, binary cross-entropy, on random token ids.

    python bench/throughput.py [--backend tensorflow|jax|torch] [--steps 30] [--units 128] [--batch 64]

Every contender trains on the same data for `--warmup` steps (compilation, caches), then is
timed over `--steps` steps; `--rounds` interleaved rounds, the best of each is reported, with
each round's ratio from the mean over its steps and from its median step (robust to a shared
machine's spikes). Prints JSON (samples/s, ratios, GFLOP/s and the share of a measured matmul
peak) and writes bench/results/throughput-<backend>-<device>.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from report import write_report


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backend", default=os.environ.get("KERAS_BACKEND", "tensorflow"), choices=["tensorflow", "jax", "torch"]
    )
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--vocabulary", type=int, default=20000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--dtype", default="float32", choices=["float32", "mixed_bfloat16", "mixed_float16"])
    parser.add_argument(
        "--steps-per-execution",
        type=int,
        default=1,
        help="seqkit's train.steps_per_execution (plain Keras keeps its default, 1)",
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["seqkit", "keras", "keras_jit", "torch"])
    parser.add_argument(
        "--rounds", type=int, default=2, help="measure every contender this many times, interleaved; keep the best"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="also time seqkit's path taken apart (NumPy feed; no metric) and plain Keras with seqkit's metric",
    )
    parser.add_argument("--output", default=None)
    return parser.parse_args()


ARGS = parse_args()
if ARGS.backend == "torch" and ARGS.steps_per_execution > 1:
    sys.exit(
        "bench/throughput.py: --steps-per-execution must be 1 with --backend torch (Keras's PyTorch backend runs one step per call)"
    )
os.environ["KERAS_BACKEND"] = ARGS.backend
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np


def lstm_flops_per_sample(units: int, dim: int, length: int, layers: int = 2) -> float:
    """Training FLOPs per sample: forward 8*h*(d+h) per step and layer (4 gates, multiply-add),
    backward about twice that."""
    forward = 0
    d = dim
    for _ in range(layers):
        forward += 8 * units * (d + units) * length
        d = units
    return 3.0 * forward


def data(n: int):
    rng = np.random.default_rng(0)
    x = rng.integers(1, ARGS.vocabulary, size=(n, ARGS.length), dtype="int64")
    y = rng.integers(0, 2, size=(n, 1)).astype("float32")
    return x, y


class StepTimer(keras.callbacks.Callback):
    """Times the steps after the first `warmup` ones. Keras calls ``on_train_batch_end`` once
    per compiled call (``steps_per_execution`` steps), so steps are counted from ``batch``.
    Also keeps each call's duration: their median is robust to a shared machine's spikes."""

    def __init__(self, warmup: int):
        super().__init__()
        self.warmup = warmup
        self.start = None
        self.start_step = None
        self.last_step = 0
        self.marks: list[tuple[int, float]] = []

    def on_train_batch_end(self, batch, logs=None):
        self.last_step = batch + 1
        if self.start is None and self.last_step >= self.warmup:
            if logs and "loss" in logs:
                float(logs["loss"])  # wait for the step to finish
            self.start = time.perf_counter()
            self.start_step = self.last_step
        if self.start is not None:
            self.marks.append((self.last_step, time.perf_counter()))

    def on_train_end(self, logs=None):
        self.end = time.perf_counter()

    def samples_per_second(self, batch: int) -> float:
        return (self.last_step - self.start_step) * batch / (self.end - self.start)

    def median_samples_per_second(self, batch: int) -> float:
        rates = [(b - a) * batch / (t - s) for (a, s), (b, t) in zip(self.marks, self.marks[1:]) if t > s]
        return statistics.median(rates) if rates else 0.0


#: Each contender's median-step rate of its latest measurement (samples/s).
MEDIANS: dict[str, float] = {}


def timed_fit(model, x, y, batch, **fit_kwargs) -> float:
    timer = StepTimer(ARGS.warmup)
    steps = ARGS.warmup + ARGS.steps
    model.fit(
        x[: steps * batch],
        y[: steps * batch],
        batch_size=batch,
        epochs=1,
        verbose=0,
        shuffle=False,
        callbacks=[timer],
        **fit_kwargs,
    )
    MEDIANS["last"] = timer.median_samples_per_second(batch)
    return timer.samples_per_second(batch)


def plain_keras(x, y, jit: bool, metric: bool = False) -> float:
    """The reference model as a user writes it. ``jit=False`` is Keras's default compile
    (``jit_compile="auto"``: XLA with JAX and on GPU, off on CPU-only TensorFlow, eager on
    PyTorch); ``jit=True`` forces XLA."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((ARGS.length,), dtype="int64"),
            keras.layers.Embedding(ARGS.vocabulary, ARGS.dim),
            keras.layers.LSTM(ARGS.units, return_sequences=True),
            keras.layers.LSTM(ARGS.units),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    metrics = {"metrics": [keras.metrics.BinaryAccuracy(name="accuracy")]} if metric else {}
    model.compile(
        keras.optimizers.Adam(1e-3), "binary_crossentropy", **({"jit_compile": True} if jit else {}), **metrics
    )
    return timed_fit(model, x, y, ARGS.batch)


def seqkit_path(x, y, feed: str = "pipeline", metrics: bool = True) -> float:
    """The model, compile settings and input pipeline that `seqkit run` uses for the recipe
    below, on pre-tokenised ids (the recipe's TextVectorization runs once before training).
    ``--explain`` takes it apart: ``feed="arrays"`` gives the model NumPy arrays as plain Keras
    does (not seqkit's tf.data pipeline); ``metrics=False`` compiles it without the accuracy
    metric its classifier head logs (plain Keras's default compile has none)."""
    from seqkit.data import DataBundle, Split, pipeline
    from seqkit.recipe import recipe_from_dict
    from seqkit.train.runner import compile_new_model, make_parts

    recipe = recipe_from_dict(
        {
            "task": "sentiment",
            "data": {"path": "unused.csv"},
            "model": {
                # The reference model has no padding (every id > 0), hence no mask, like plain Keras.
                "encoder": {
                    "type": "token_embedding",
                    "max_tokens": ARGS.vocabulary,
                    "sequence_length": ARGS.length,
                    "dim": ARGS.dim,
                    "mask_padding": False,
                },
                "backbone": {"layers": 2, "units": ARGS.units},
                "head": {"type": "classifier"},
            },
            "train": {
                "batch_size": ARGS.batch,
                "optimizer": {"name": "adam", "learning_rate": 1e-3},
                "precision": ARGS.dtype,
                "steps_per_execution": ARGS.steps_per_execution,
            },
        }
    )

    class Vocabulary:  # stands for the fitted TextVectorization: ids are already made
        def get_vocabulary(self):
            return [""] * ARGS.vocabulary

    keras.utils.set_random_seed(0)
    info = {"classes": ["negative", "positive"]}
    bundle = DataBundle(Split(x, y[:, 0].astype("int64")), None, None, info)
    parts = make_parts(recipe, None, None, bundle)
    steps = ARGS.warmup + ARGS.steps
    model = compile_new_model(parts, Vocabulary(), steps)
    if not metrics:
        model.compile(optimizer=model.optimizer, loss=model.loss, steps_per_execution=ARGS.steps_per_execution)
    dataset = pipeline.training_dataset(x[: steps * ARGS.batch], y[: steps * ARGS.batch], ARGS.batch, 0, 0, 1)
    timer = StepTimer(ARGS.warmup)
    if dataset is None or feed == "arrays":
        model.fit(
            x[: steps * ARGS.batch],
            y[: steps * ARGS.batch],
            batch_size=ARGS.batch,
            epochs=1,
            verbose=0,
            shuffle=False,
            callbacks=[timer],
        )
    else:
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False, callbacks=[timer])
    MEDIANS["last"] = timer.median_samples_per_second(ARGS.batch)
    return timer.samples_per_second(ARGS.batch)


def pytorch(x, y) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(ARGS.vocabulary, ARGS.dim)
            self.lstm = torch.nn.LSTM(ARGS.dim, ARGS.units, num_layers=2, batch_first=True)
            self.out = torch.nn.Linear(ARGS.units, 1)

        def forward(self, ids):
            outputs, _ = self.lstm(self.embedding(ids))
            return self.out(outputs[:, -1])

    net = Net().to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    xt = torch.from_numpy(x).to(device)
    yt = torch.from_numpy(y).to(device)
    start = None
    for step in range(ARGS.warmup + ARGS.steps):
        if step == ARGS.warmup:
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        batch = slice(step * ARGS.batch, (step + 1) * ARGS.batch)
        optimizer.zero_grad()
        loss = loss_fn(net(xt[batch]), yt[batch])
        loss.backward()
        optimizer.step()
    if device == "cuda":
        torch.cuda.synchronize()
    return ARGS.steps * ARGS.batch / (time.perf_counter() - start)


def matmul_peak_gflops() -> float:
    """fp32 matmul throughput of the Keras backend on this device (best of a few 2048^3)."""
    from keras import ops

    a = keras.random.normal((2048, 2048))
    b = keras.random.normal((2048, 2048))
    ops.convert_to_numpy(ops.matmul(a, b)[0, 0])
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(4):
            c = ops.matmul(a, b)
        ops.convert_to_numpy(c[0, 0])
        best = max(best, 4 * 2 * 2048**3 / (time.perf_counter() - start) / 1e9)
    return best


def device_name() -> str:
    try:
        import jax

        if ARGS.backend == "jax":
            return jax.devices()[0].device_kind
    except ImportError:
        pass
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return f"cpu-{os.cpu_count()}"


def main() -> int:
    n = (ARGS.warmup + ARGS.steps) * ARGS.batch
    x, y = data(n)
    contenders = {
        "plain_keras": (lambda: plain_keras(x, y, jit=False), "keras"),
        "plain_keras_jit": (lambda: plain_keras(x, y, jit=True), "keras_jit"),
        "seqkit": (lambda: seqkit_path(x, y), "seqkit"),
        "pytorch": (lambda: pytorch(x, y), "torch"),
    }
    if ARGS.explain:  # seqkit's path taken apart, and plain Keras with seqkit's metric
        contenders["plain_keras_with_accuracy"] = (lambda: plain_keras(x, y, jit=False, metric=True), "keras")
        contenders["seqkit_arrays"] = (lambda: seqkit_path(x, y, feed="arrays"), "seqkit")
        contenders["seqkit_no_metric"] = (lambda: seqkit_path(x, y, metrics=False), "seqkit")
    results: dict[str, float | None] = {}
    runs: dict[str, list] = {}
    median_runs: dict[str, list] = {}
    # Interleaved rounds, best of each: a shared machine's noise hits every contender alike.
    for _ in range(ARGS.rounds):
        for name, (measure, flag) in contenders.items():
            if flag in ARGS.skip:
                continue
            MEDIANS.pop("last", None)
            value = measure()
            runs.setdefault(name, []).append(round(value, 1) if value else None)
            median_runs.setdefault(name, []).append(round(MEDIANS["last"], 1) if value and "last" in MEDIANS else None)
            if value:
                results[name] = max(results.get(name) or 0.0, value)
    peak = matmul_peak_gflops()
    flops = lstm_flops_per_sample(ARGS.units, ARGS.dim, ARGS.length)
    report = {
        "config": {k: v for k, v in vars(ARGS).items() if k not in ("skip", "output")},
        "device": device_name(),
        "keras": keras.__version__,
        "python": platform.python_version(),
        "samples_per_second": {k: round(v, 1) for k, v in results.items() if v},
        "all_rounds": runs,
        "median_step_rounds": median_runs,
        "ratios": {},
        "gflops": {k: round(v * flops / 1e9, 1) for k, v in results.items() if v},
        "matmul_peak_gflops": round(peak, 1),
    }
    seqkit_speed = results.get("seqkit")
    for other in ("plain_keras", "plain_keras_jit", "pytorch", "plain_keras_with_accuracy"):
        if seqkit_speed and results.get(other):
            report["ratios"][f"seqkit_vs_{other}"] = round(seqkit_speed / results[other], 3)
    # Each round's ratio: the contenders of one round ran back to back, so these share its noise.
    for other in ("plain_keras", "pytorch"):
        pairs = zip(runs.get("seqkit", []), runs.get(other, []))
        ratios = [round(a / b, 3) for a, b in pairs if a and b]
        if ratios:
            report["ratios"][f"seqkit_vs_{other}_each_round"] = ratios
        # The same from each measurement's median step: a spike in a few steps does not count.
        pairs = zip(median_runs.get("seqkit", []), median_runs.get(other, []))
        ratios = [round(a / b, 3) for a, b in pairs if a and b]
        if ratios:
            report["ratios"][f"seqkit_vs_{other}_median_step_each_round"] = ratios
    plain = results.get("plain_keras")
    for part in ("plain_keras_with_accuracy", "seqkit_arrays", "seqkit_no_metric"):
        if plain and results.get(part):
            report["ratios"][f"{part}_vs_plain_keras"] = round(results[part] / plain, 3)
    report["share_of_peak"] = {k: round(v * flops / 1e9 / peak, 3) for k, v in results.items() if v}
    name = f"throughput-{ARGS.backend}-{report['device'].replace(' ', '_')}"
    write_report(name, report, Path(ARGS.output) if ARGS.output else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
