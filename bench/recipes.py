"""Real recipes, trained by seqkit and by plain Keras with fixed-length padding, side by side.

Usage:  python bench/recipes.py [--recipes sst2 wnut17 japanese_vowels] [--seeds 42 43 44] [--epochs N]

For each recipe and seed, in one process:

- **seqkit**: ``seqkit.run(recipe)``, its default path (length-bucketed batches cut to their
  longest example, ``train.bucket_by_length``);
- **keras**: the very model seqkit builds for the recipe (same layers, optimizer, loss,
  early stopping), trained by plain ``keras.Model.fit`` on the arrays padded to the recipe's
  full length with Keras's own shuffling: what a user writing it by hand would run.

Data loading and vocabulary fitting are outside both timings. Prints JSON (seconds per epoch,
seconds to the best validation epoch, the test metric, each mean and spread over the seeds, and
the keras / seqkit ratio of seconds per epoch) and writes bench/results/recipes.json. Needs
${SEQKIT_DATA} (default ../shared/data) for SST-2 and WNUT-17; JapaneseVowels ships in sktime.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from report import write_report

RECIPES = {
    "sst2": (ROOT / "recipes" / "sentiment" / "sst2.yaml", "accuracy"),
    "wnut17": (ROOT / "recipes" / "tagging" / "wnut17.yaml", "entity_f1"),
    "japanese_vowels": (ROOT / "recipes" / "sensors" / "japanese_vowels.yaml", "accuracy"),
    "reviews": (ROOT / "recipes" / "sentiment" / "reviews.yaml", "accuracy"),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=["sst2", "wnut17", "japanese_vowels"], choices=sorted(RECIPES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 43, 44])
    parser.add_argument("--epochs", type=int, default=None, help="cap train.epochs (default: the recipe's)")
    parser.add_argument("--output", default=None, help="default: bench/results/recipes.json")
    return parser.parse_args()


def overrides(seed: int, epochs: int | None, out: Path) -> list[str]:
    sets = [f"seed={seed}", f"output.dir={out}", "output.tensorboard=false", "train.verbose=0"]
    return sets + ([f"train.epochs={epochs}"] if epochs else [])


def with_seqkit(recipe: Path, metric: str, seed: int, epochs: int | None, out: Path) -> dict:
    import json

    import seqkit

    run = seqkit.run(recipe, overrides=overrides(seed, epochs, out), quiet=True)
    m = run.metrics
    per_epoch = m["train_seconds"] / m["epochs_trained"]
    info = json.loads((run.path / "data_info.json").read_text())
    return {
        "seconds_per_epoch": per_epoch,
        "seconds_to_best": per_epoch * (m.get("best_epoch") or m["epochs_trained"]),
        "epochs": m["epochs_trained"],
        "best_epoch": m.get("best_epoch"),
        "test": m["test"][metric],
        "padding": info.get("length_buckets"),
    }


class _EpochTimes:
    def __new__(cls):
        import keras

        class Times(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.times, self.monitor = [], []

            def on_epoch_begin(self, epoch, logs=None):
                self.started = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.times.append(time.perf_counter() - self.started)

        return Times()


def with_keras(recipe_path: Path, metric: str, seed: int, epochs: int | None, out: Path) -> dict:
    """The model seqkit builds for the recipe, trained by plain ``model.fit`` at fixed length."""
    import keras
    import numpy as np

    import seqkit
    from seqkit.data import pipeline
    from seqkit.train.runner import compile_new_model, resolve_parts

    recipe = seqkit.load_recipe(recipe_path, overrides(seed, epochs, out))
    keras.utils.set_random_seed(seed)
    parts = resolve_parts(recipe, echo=lambda _m: None)
    data = pipeline.TrainingData(parts.bundle, parts.head)
    preprocessor = data.fit_preprocessor(parts.adapter, parts.encoder)
    data.encode(preprocessor)
    x, y = data.train.encoded()
    validation = data.validation.encoded() if data.validation is not None else None
    train = recipe.section("train")
    batch = int(train.get("batch_size", 32))
    model = compile_new_model(parts, preprocessor, pipeline.steps_per_epoch(len(y), batch))
    callbacks, times = [], _EpochTimes()
    early = train.get("early_stopping")
    if early:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=early.get("monitor", "val_loss"),
                mode=early.get("mode", "auto"),
                patience=early.get("patience", 3),
                restore_best_weights=early.get("restore_best_weights", True),
            )
        )
    history = model.fit(
        x,
        y,
        batch_size=batch,
        epochs=int(train.get("epochs", 10)),
        validation_data=validation,
        shuffle=True,
        callbacks=[times, *callbacks],
        verbose=0,
    )
    monitor = early.get("monitor", "val_loss") if early else "val_loss"
    values = history.history.get(monitor) or history.history["loss"]
    mode = (early or {}).get("mode", "auto")
    maximise = mode == "max" or (mode == "auto" and ("acc" in monitor or "f1" in monitor))
    best = int(np.argmax(values) if maximise else np.argmin(values)) + 1
    test = data.test
    y_pred = model.predict(test.inputs(batch), batch_size=batch, verbose=0)
    scores = parts.task.evaluate(test.targets, y_pred, parts.bundle.info)
    per_epoch = statistics.fmean(times.times)
    return {
        "seconds_per_epoch": per_epoch,
        "seconds_to_best": sum(times.times[:best]),
        "epochs": len(times.times),
        "best_epoch": best,
        "test": scores[metric],
        "steps": int(np.shape(x)[1]),
    }


def summary(rows: list[dict]) -> dict:
    out = {}
    for key in ("seconds_per_epoch", "seconds_to_best", "test", "epochs"):
        values = [float(r[key]) for r in rows]
        out[key] = {"mean": statistics.fmean(values), "spread": (max(values) - min(values)) / 2, "values": values}
    return out


def main() -> None:
    args = parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.recipes:
            recipe, metric = RECIPES[name]
            runs = {"seqkit": [], "keras": []}
            for seed in args.seeds:
                # Alternate which path goes first, so neither always meets a warmer machine.
                order = ("seqkit", "keras") if seed % 2 == 0 else ("keras", "seqkit")
                for path in order:
                    train = with_seqkit if path == "seqkit" else with_keras
                    row = train(recipe, metric, seed, args.epochs, Path(scratch) / f"{name}-{path}-{seed}")
                    row["seed"] = seed
                    runs[path].append(row)
                    print(f"{name} seed {seed} {path}: {row}", file=sys.stderr, flush=True)
            summaries = {path: summary(rows) for path, rows in runs.items()}
            ratio = summaries["keras"]["seconds_per_epoch"]["mean"] / summaries["seqkit"]["seconds_per_epoch"]["mean"]
            results[name] = {
                "recipe": str(recipe.relative_to(ROOT)),
                "metric": f"test {metric}",
                "speedup_seconds_per_epoch": ratio,
                "speedup_seconds_to_best": summaries["keras"]["seconds_to_best"]["mean"]
                / summaries["seqkit"]["seconds_to_best"]["mean"],
                "test_difference": summaries["seqkit"]["test"]["mean"] - summaries["keras"]["test"]["mean"],
                **summaries,
                "runs": runs,
            }
    report = {"benchmark": "recipes", "seeds": args.seeds, "epochs_cap": args.epochs, "results": results}
    write_report("recipes", report, Path(args.output) if args.output else None)


if __name__ == "__main__":
    main()
