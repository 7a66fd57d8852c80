"""Which of recipes/sentiment/sst2.yaml's settings (written for pre-tokenized SST text) hurts
raw review sentences? Test accuracy of recipes/sentiment/reviews.yaml with sst2.yaml's
settings applied all together and one at a time, same data, same seed.

Usage:  python bench/raw_text_settings.py [--only NAME ...] [--seed N] [--out NAME]
Prints JSON and writes bench/results/raw_text_settings.json (or NAME.json).
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
# sst2.yaml's model and training settings, as --set overrides on reviews.yaml.
SST2 = {
    "standardize": ["model.encoder.standardize=lower"],
    "encoder_dropout": ["model.encoder.dropout=0.5"],
    "sequence_length": ["model.encoder.sequence_length=56"],
    "size": [
        "model.encoder.max_tokens=20000",
        "model.encoder.dim=128",
        "model.backbone.units=128",
        "model.backbone.dropout=0.4",
    ],
    "training": [
        "train.epochs=12",
        "train.optimizer.learning_rate=5.0e-4",
        "train.early_stopping.monitor=val_accuracy",
        "train.early_stopping.patience=3",
    ],
}


def variants() -> dict[str, list[str]]:
    every = [o for group in SST2.values() for o in group]
    found = {"reviews.yaml": [], "sst2 settings (all)": every}
    found["sst2 settings, standardize from reviews.yaml"] = [
        o for o in every if not o.startswith("model.encoder.standardize")
    ]
    for name, group in SST2.items():
        found[f"reviews.yaml + sst2 {name}"] = group
    return found


def main() -> None:
    import seqkit

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    parser.add_argument("--seed", type=int, default=42, help="the recipe's seed (split and initialisation)")
    parser.add_argument("--out", default="raw_text_settings", help="name of the JSON under bench/results/")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as runs:
        for name, overrides in variants().items():
            if args.only and name not in args.only:
                continue
            started = time.perf_counter()
            run = seqkit.run(RECIPE, overrides=[*overrides, f"seed={args.seed}", f"output.dir={runs}"], quiet=True)
            results[name] = {
                "overrides": overrides,
                "test_accuracy": round(run.metrics["test"]["accuracy"], 4),
                "seconds": round(time.perf_counter() - started, 1),
            }
            print(name, results[name], file=sys.stderr, flush=True)
    write_report(args.out, {"recipe": str(RECIPE.relative_to(ROOT)), "seed": args.seed, "variants": results})


if __name__ == "__main__":
    main()
