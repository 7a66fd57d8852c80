"""Peak memory and speed of training on 1x and 10x the data, streamed and in memory.

The data is recipes/sentiment/data/reviews.csv (2,100 reviews) repeated with light
perturbations (word dropout and swaps) into a temporary folder: 1x = 2,100 rows, 10x =
21,000 rows. For each size, separate child processes run

* ``seqkit prepare`` (stream the CSV, fit the vocabulary, write TFRecord shards),
* ``seqkit train`` on the shards (``data: {adapter: tfrecord}``): the streamed path,
* ``seqkit train`` on the CSV itself: the in-memory path, for comparison,

and the report gives each child's peak resident memory (``ru_maxrss`` from ``wait4``) and
training samples/s (training rows x epochs / training seconds of metrics.json).

    python bench/scale_memory.py [--scales 1 10] [--epochs 1]

Prints JSON and writes bench/results/scale_memory.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from report import write_report

SOURCE = ROOT / "recipes" / "sentiment" / "data" / "reviews.csv"

RECIPE = """\
name: scale-{scale}x
task: sentiment
seed: 42
data:
  adapter: {adapter}
  path: {path}
{data_extra}model:
  encoder: {{type: token_embedding, max_tokens: 8000, sequence_length: 64, dim: 32}}
  backbone: {{layers: 1, units: 32}}
  head: {{type: classifier, pooling: max}}
train:
  epochs: {epochs}
  batch_size: 64
  verbose: 0
  early_stopping: false
output: {{dir: {runs}, tensorboard: false}}
"""
TEXT_EXTRA = "  text: review\n  label: sentiment\n  labels: [negative, neutral, positive]\n  split: {validation: 0.1, test: 0.1}\n"


def make_data(path: Path, scale: int, seed: int = 0) -> int:
    """reviews.csv repeated `scale` times; copies after the first drop or swap a few words."""
    rng = random.Random(seed)
    with SOURCE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["review", "sentiment"])
        writer.writeheader()
        for copy in range(scale):
            for row in rows:
                words = row["review"].split()
                if copy:
                    words = [w for w in words if rng.random() > 0.1] or words
                    if len(words) > 3:
                        i = rng.randrange(len(words) - 1)
                        words[i], words[i + 1] = words[i + 1], words[i]
                writer.writerow({"review": " ".join(words), "sentiment": row["sentiment"]})
                count += 1
    return count


def run_child(args: list[str], cwd: Path) -> dict:
    """Run `seqkit ARGS` as a child; its own peak RSS (MiB) and wall time."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "seqkit", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"seqkit {' '.join(args)} failed ({process.returncode}):\n{output[-3000:]}")
    # ru_maxrss is in KiB on Linux.
    return {"peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "wall_seconds": round(time.perf_counter() - started, 1)}


def train_speed(runs: Path) -> dict:
    (run_dir,) = [p for p in runs.glob("*/*") if (p / "metrics.json").is_file()]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    info = json.loads((run_dir / "data_info.json").read_text())
    rows = info["sizes"]["train"]
    seconds = metrics["train_seconds"]
    return {
        "train_rows": rows,
        "epochs": metrics["epochs_trained"],
        "train_seconds": seconds,
        "samples_per_second": round(rows * metrics["epochs_trained"] / seconds, 1),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--skip-in-memory", action="store_true", help="only the streamed path")
    args = parser.parse_args(argv)

    results = {}
    with tempfile.TemporaryDirectory(prefix="seqkit-scale-") as tmp:
        tmp = Path(tmp)
        for scale in args.scales:
            folder = tmp / f"{scale}x"
            folder.mkdir()
            rows = make_data(folder / "reviews.csv", scale)
            text_recipe = folder / "csv.yaml"
            text_recipe.write_text(
                RECIPE.format(
                    scale=scale,
                    adapter="text_table",
                    path="reviews.csv",
                    data_extra=TEXT_EXTRA,
                    epochs=args.epochs,
                    runs=folder / "runs-csv",
                )
            )
            prepared_recipe = folder / "prepared.yaml"
            prepared_recipe.write_text(
                RECIPE.format(
                    scale=scale,
                    adapter="tfrecord",
                    path="prepared",
                    data_extra="",
                    epochs=args.epochs,
                    runs=folder / "runs-prepared",
                )
            )
            entry = {"rows": rows, "csv_mib": round((folder / "reviews.csv").stat().st_size / 2**20, 2)}
            entry["prepare"] = run_child(
                ["prepare", str(text_recipe), "--output", str(folder / "prepared"), "--quiet"], folder
            )
            entry["train_streamed"] = {
                **run_child(["train", str(prepared_recipe), "--quiet"], folder),
                **train_speed(folder / "runs-prepared"),
            }
            if not args.skip_in_memory:
                entry["train_in_memory"] = {
                    **run_child(["train", str(text_recipe), "--quiet"], folder),
                    **train_speed(folder / "runs-csv"),
                }
            results[f"{scale}x"] = entry
            print(f"{scale}x: {json.dumps(entry)}", file=sys.stderr)

    report = {
        "benchmark": "scale_memory",
        "command": "python bench/scale_memory.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "results": results,
    }
    lo, hi = f"{min(args.scales)}x", f"{max(args.scales)}x"
    if lo != hi:
        ratios = {}
        for step in ("prepare", "train_streamed", "train_in_memory"):
            if step in results[lo]:
                ratios[step] = round(results[hi][step]["peak_rss_mib"] / results[lo][step]["peak_rss_mib"], 3)
        report["peak_memory_ratio"] = {"of": f"{hi} / {lo}", **ratios}
        report["target"] = "10x data at most 1.1x peak memory (streamed path)"
        report["target_met"] = ratios["train_streamed"] <= 1.1 and ratios["prepare"] <= 1.1
    write_report("scale_memory", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
