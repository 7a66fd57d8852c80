"""SST-2 test accuracy: seqkit's recipe beside a plain hand-written Keras BiLSTM, in one run.

Usage:  python bench/sst2.py [--seeds 42 43 44] [--skip-plain]
Prints JSON and writes bench/results/sst2.json. Needs ${SEQKIT_DATA}/sst2 (default ../shared/data).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from report import write_report

RECIPE = ROOT / "recipes" / "sentiment" / "sst2.yaml"


def plain_keras(data_dir: Path, seed: int) -> dict:
    """The baseline a user would write by hand: no pretrained vectors, default settings."""
    import keras
    import numpy as np

    def read(name):
        labels, texts = [], []
        for line in (data_dir / name).read_text(encoding="utf-8").splitlines():
            label, _, text = line.partition(" ")
            labels.append(int(label))
            texts.append(text)
        return np.array(texts, dtype=object), np.array(labels, dtype="float32")

    keras.utils.set_random_seed(seed)
    (xtr, ytr), (xva, yva), (xte, yte) = (read(f"stsa.binary.{s}") for s in ("train", "dev", "test"))
    vectorize = keras.layers.TextVectorization(max_tokens=20000, output_sequence_length=56, standardize="lower")
    vectorize.adapt(xtr.astype(str))
    ids = [keras.ops.convert_to_numpy(vectorize(x)) for x in (xtr, xva, xte)]
    model = keras.Sequential(
        [
            keras.Input((56,), dtype="int64"),
            keras.layers.Embedding(20000, 128, mask_zero=True),
            keras.layers.Bidirectional(keras.layers.LSTM(128)),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    started = time.perf_counter()
    model.fit(
        ids[0],
        ytr,
        validation_data=(ids[1], yva),
        epochs=10,
        batch_size=32,
        verbose=0,
        callbacks=[keras.callbacks.EarlyStopping("val_accuracy", patience=2, mode="max", restore_best_weights=True)],
    )
    seconds = time.perf_counter() - started
    accuracy = float(model.evaluate(ids[2], yte, verbose=0)[1])
    return {"test_accuracy": accuracy, "train_seconds": round(seconds, 1)}


def seqkit_recipe(seed: int, output: Path) -> dict:
    import seqkit

    run = seqkit.run(
        RECIPE,
        overrides=[f"seed={seed}", f"output.dir={output}", "train.verbose=0", "output.tensorboard=false"],
        quiet=True,
    )
    metrics = run.metrics
    return {
        "test_accuracy": metrics["test"]["accuracy"],
        "train_seconds": metrics["train_seconds"],
        "best_epoch": metrics["best_epoch"],
        "run": str(run.path),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--skip-plain", action="store_true")
    parser.add_argument("--output", default="/tmp/seqkit-bench-runs")
    args = parser.parse_args()
    from seqkit.recipe import load_recipe

    data_dir = Path(load_recipe(RECIPE).get("data.train")).parent
    if not data_dir.is_dir():
        print(f"error: {data_dir} not found; set SEQKIT_DATA", file=sys.stderr)
        return 2
    rows = {"seqkit": [], "plain_keras": []}
    for seed in args.seeds:
        rows["seqkit"].append({"seed": seed, **seqkit_recipe(seed, Path(args.output))})
        if not args.skip_plain:
            rows["plain_keras"].append({"seed": seed, **plain_keras(data_dir, seed)})
    summary = {
        name: {"mean_test_accuracy": statistics.mean(r["test_accuracy"] for r in runs), "runs": runs}
        for name, runs in rows.items()
        if runs
    }
    if len(summary) == 2:
        summary["accuracy_gain"] = (
            summary["seqkit"]["mean_test_accuracy"] - summary["plain_keras"]["mean_test_accuracy"]
        )
    summary["published"] = {"LSTM (Tai et al. 2015)": 0.849, "BiLSTM (Tai et al. 2015)": 0.875}
    write_report("sst2", summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
