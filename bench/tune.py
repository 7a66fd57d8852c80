"""Hyperband against random search on the review-sentiment recipe, in one run.

Usage:  python bench/tune.py [--trials 8] [--max-epochs 9]
Prints JSON (best val_accuracy reached, total epochs trained, wall time for each tuner)
and writes bench/results/tune.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from report import write_report

RECIPE = ROOT / "recipes" / "sentiment" / "reviews.yaml"


def search(tuner: str, trials: int, max_epochs: int, output: Path) -> dict:
    import seqkit

    overrides = [
        f"output.dir={output}",
        f"train.epochs={max_epochs}",
        # %-format: the YAML flow mapping is full of braces that an f-string would need doubled.
        "tune={tuner: %s, objective: val_accuracy, max_trials: %d, max_epochs: %d, space: {"  # noqa: UP031
        "model.backbone.units: {choice: [32, 64, 128]}, "
        "model.encoder.dim: {choice: [32, 64, 128]}, "
        "model.backbone.dropout: {float: [0.0, 0.5], step: 0.1}, "
        "model.encoder.dropout: {float: [0.0, 0.5], step: 0.1}, "
        "train.optimizer.learning_rate: {float: [3.0e-4, 1.0e-2], sampling: log}}}" % (tuner, trials, max_epochs),
    ]
    started = time.perf_counter()
    result = seqkit.search(RECIPE, overrides=overrides, echo=lambda message: None)
    seconds = time.perf_counter() - started
    completed = [r for r in result.rows if r["status"] == "COMPLETED"]
    return {
        "tuner": tuner,
        "best_val_accuracy": result.best["val_accuracy"] if result.best else None,
        "best_values": result.best["values"] if result.best else None,
        "trials": len(completed),
        "total_epochs": sum(r["epochs"] or 0 for r in completed),
        "seconds": round(seconds, 1),
        "directory": str(result.directory.path),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8, help="random search trials")
    parser.add_argument("--max-epochs", type=int, default=9)
    args = parser.parse_args()
    output = Path(tempfile.mkdtemp(prefix="seqkit-bench-tune-"))
    random_result = search("random", args.trials, args.max_epochs, output)
    hyperband_result = search("hyperband", args.trials, args.max_epochs, output)
    report = {
        "recipe": str(RECIPE.relative_to(ROOT)),
        "random": random_result,
        "hyperband": hyperband_result,
        "hyperband_vs_random": {
            "best_val_accuracy_difference": hyperband_result["best_val_accuracy"] - random_result["best_val_accuracy"],
            "epochs_ratio": hyperband_result["total_epochs"] / max(random_result["total_epochs"], 1),
            "time_ratio": hyperband_result["seconds"] / max(random_result["seconds"], 1e-9),
        },
    }
    write_report("tune", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
