"""What bounds LSTM training speed on this machine (TensorFlow backend): the pieces measured.

    python bench/lstm_floor.py [--units 128] [--batch 64] [--length 200] [--dim 128]

An LSTM's recurrence is sequential: per layer and time step the forward pass needs one
``h @ U`` (batch x units times units x 4*units) and the backward pass one ``dz @ U^T`` before
the next step can start. Everything else (the input projections ``x @ W``, the weight gradients)
can in principle be done as a few large matrix products over all steps at once. This program
measures, with TensorFlow graphs (``tf.function``) and with XLA:

- the time of one small recurrent matmul inside a ``tf.while_loop`` of `--length` steps,
  with 1 and with all intra-op threads (does the second core help at this size?);
- the time of the element-wise LSTM cell (gates, cell and hidden state) per step;
- the cost of an empty loop iteration (executor overhead);
- the throughput of the large (batch*length x dim) @ (dim x 4*units) product;

and, in the same run, plain Keras's training step of the reference model (2 layers). From
them: how much of that step its 2,400 small matmuls and its cell updates account for, two
strict lower bounds (the sequential critical path, and all FLOPs at the large-matmul rate), an
estimate for the design fused kernels aim at (only the recurrent products stay small), and
the step time the 1.6x target asks for. Prints JSON; writes bench/results/lstm_floor.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from report import write_report

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--units", type=int, default=128)
parser.add_argument("--batch", type=int, default=64)
parser.add_argument("--length", type=int, default=200)
parser.add_argument("--dim", type=int, default=128)
parser.add_argument("--repeats", type=int, default=20)
parser.add_argument("--output", default=None)
parser.add_argument("--one-thread", action="store_true", help=argparse.SUPPRESS)
ARGS = parser.parse_args()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf

if ARGS.one_thread:
    tf.config.threading.set_intra_op_parallelism_threads(1)

B, T, H, D = ARGS.batch, ARGS.length, ARGS.units, ARGS.dim


def best_ms(fn) -> float:
    """Best of `--repeats` calls, in milliseconds (first calls compile and are dropped)."""
    fn()
    fn()
    best = float("inf")
    for _ in range(ARGS.repeats):
        start = time.perf_counter()
        fn().numpy()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def loops(jit: bool):
    U = tf.Variable(tf.random.normal((H, 4 * H)) * 0.05)
    h0 = tf.random.normal((B, H))
    c0 = tf.random.normal((B, H))
    compile_ = tf.function(jit_compile=jit)

    @compile_
    def empty():
        return tf.while_loop(lambda t, h: t < T, lambda t, h: (t + 1, h + 1.0), (0, h0), maximum_iterations=T)[1]

    @compile_
    def matmul():
        def body(t, h):
            return t + 1, tf.matmul(h, U)[:, :H]

        return tf.while_loop(lambda t, h: t < T, body, (0, h0), maximum_iterations=T)[1]

    @compile_
    def cell():
        def body(t, h, c):
            i, f, g, o = tf.split(tf.concat([h, h, h, h], 1), 4, axis=1)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            return t + 1, tf.sigmoid(o) * tf.tanh(c), c

        return tf.while_loop(lambda t, h, c: t < T, body, (0, h0, c0), maximum_iterations=T)[1]

    big_x = tf.random.normal((B * T, D))
    W = tf.random.normal((D, 4 * H))

    @compile_
    def big():
        return tf.matmul(big_x, W)[0, :1]

    empty_ms = best_ms(empty)
    return {
        "loop_iteration_us": round(empty_ms / T * 1e3, 2),
        "recurrent_matmul_us": round(best_ms(matmul) / T * 1e3, 2),
        "cell_us": round(best_ms(cell) / T * 1e3, 2),
        "large_matmul_gflops": round(2 * B * T * D * 4 * H / (best_ms(big) / 1e3) / 1e9, 1),
    }


def plain_keras_ms(vocabulary: int = 20000, steps: int = 12, warmup: int = 4) -> float:
    """Milliseconds per training step of the reference model written in plain Keras (default
    compile), measured here so the bounds can be read as ratios under the same machine load."""
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    n = (steps + warmup) * B
    x = rng.integers(1, vocabulary, size=(n, T))
    y = rng.integers(0, 2, size=(n, 1)).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((T,), dtype="int64"),
            keras.layers.Embedding(vocabulary, D),
            keras.layers.LSTM(H, return_sequences=True),
            keras.layers.LSTM(H),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    marks = []
    callback = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: marks.append(time.perf_counter()))
    model.fit(x, y, batch_size=B, epochs=1, verbose=0, shuffle=False, callbacks=[callback])
    return (marks[-1] - marks[warmup - 1]) / steps * 1e3


def main() -> int:
    if ARGS.one_thread:
        print("FLOOR" + json.dumps(loops(jit=False)))
        return 0
    threads = os.cpu_count() or 1
    graph = loops(jit=False)
    xla = loops(jit=True)
    small_flops = 2 * B * H * 4 * H
    for part in (graph, xla):
        part["recurrent_matmul_gflops"] = round(small_flops / (part["recurrent_matmul_us"] / 1e6) / 1e9, 1)
    # One intra-op thread for the same graph pieces, in a fresh process (fixed at start-up).
    args = [
        sys.executable,
        __file__,
        "--one-thread",
        "--units",
        str(H),
        "--batch",
        str(B),
        "--length",
        str(T),
        "--dim",
        str(D),
        "--repeats",
        str(ARGS.repeats),
    ]
    single = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout.split("FLOOR", 1)[1])
    layers = 2
    steps = layers * T
    best = min(graph["recurrent_matmul_us"], xla["recurrent_matmul_us"])
    best_cell = min(graph["cell_us"], xla["cell_us"])
    keras_ms = min(plain_keras_ms(), plain_keras_ms())
    # Plain Keras (TensorFlow, no cuDNN) computes per layer and step x @ W and h @ U forward and
    # four products backward (dx, dW, dh, dU): six small matmuls, each at the measured rate.
    keras_matmul_ms = 6 * steps * graph["recurrent_matmul_us"] / 1e3
    keras_cell_ms = 2 * steps * graph["cell_us"] / 1e3
    # Strict lower bounds. Critical path: per layer and step h @ U and the cell forward, dz @ U^T
    # and the cell's gradient backward, sequential; with 2+ cores the two layers could run as a
    # wavefront, so one layer's chain. Total work: forward 8*h*(d+h) FLOPs per step and layer,
    # backward twice that, all at the large-matmul rate.
    critical_ms = 2 * T * (best + best_cell) / 1e3 * (1 if threads >= 2 else layers)
    flops = 0
    d = D
    for _ in range(layers):
        flops += 3 * 8 * H * (d + H) * T * B
        d = H
    rate = max(graph["large_matmul_gflops"], xla["large_matmul_gflops"])
    work_ms = flops / (rate * 1e9) * 1e3
    # The design every fused kernel aims at: only the 2 recurrent products per layer and step stay
    # small (one layer per core), the rest become large products over all steps at once.
    hoisted_ms = (
        2 * steps * (best + best_cell) / 1e3 / min(threads, layers)
        + (flops - 2 * steps * small_flops) / (rate * 1e9) * 1e3
    )
    report = {
        "config": {"units": H, "batch": B, "length": T, "dim": D, "layers": layers, "threads": threads},
        "tensorflow": tf.__version__,
        "graph": graph,
        "xla": xla,
        "graph_one_thread": single,
        "plain_keras": {
            "ms_per_step": round(keras_ms, 1),
            "samples_per_second": round(B / (keras_ms / 1e3), 1),
            "small_matmuls_per_step": 6 * steps,
            "small_matmul_ms": round(keras_matmul_ms, 1),
            "cell_ms": round(keras_cell_ms, 1),
        },
        "ms_per_step": {
            "target_1.6x_plain_keras": round(keras_ms / 1.6, 1),
            "bound_critical_path": round(critical_ms, 1),
            "bound_total_work": round(work_ms, 1),
            "hoisted_design_estimate": round(hoisted_ms, 1),
        },
    }
    write_report("lstm_floor", report, Path(ARGS.output) if ARGS.output else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
