"""JSB Chorales frame-level test NLL: seqkit's recipe beside a plain hand-written Keras
LSTM(200) with dropout 0.3, in one run, both scored by the same function.

Usage:  python bench/jsb.py [--run RUN_DIR] [--skip-plain] [--set KEY=VALUE ...]
  --run RUN_DIR   take seqkit's figures from a finished run of recipes/music/jsb.yaml
                  (its model is re-scored here) instead of training the recipe again
Prints JSON and writes bench/results/jsb.json. Needs ${SEQKIT_DATA}/jsb_chorales.

The metric (Boulanger-Lewandowski et al. 2012, Chung et al. 2014, Bai et al. 2018): the sum
over the 88 notes of the binary cross-entropy, in nats, averaged over every predicted frame
of the test split: frames 2..T of each chorale, each predicted from the frames before it
(4,725 test frames - 77 first frames = 4,648). Padding is never counted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from report import write_report

RECIPE = ROOT / "recipes" / "music" / "jsb.yaml"
PUBLISHED = {
    "LSTM (Chung et al. 2014)": 8.67,
    "GRU (Chung et al. 2014)": 8.54,
    "LSTM (Bai et al. 2018)": 8.45,
    "GRU (Bai et al. 2018)": 8.43,
    "TCN (Bai et al. 2018)": 8.10,
}


def data_path() -> Path:
    base = Path(os.environ.get("SEQKIT_DATA") or ROOT.parent / "shared" / "data")
    return base / "jsb_chorales" / "jsb-chorales-quarter.json"


def plain_keras(seed: int) -> dict:
    """The baseline a user would write by hand: x = frames[:-1], y = frames[1:], LSTM(200),
    dropout 0.3, sigmoid outputs, Adam, early stopping on the validation loss."""
    import keras
    import numpy as np

    from seqkit_music.encodings import KEYS, frame_nll, frames_to_roll

    data = json.loads(data_path().read_text())

    def arrays(key):
        rolls = [frames_to_roll(c) for c in data[key]]
        length = max(len(r) for r in rolls) - 1
        x = np.zeros((len(rolls), length, KEYS), "float32")
        y = np.full((len(rolls), length, KEYS), -1.0, "float32")
        w = np.zeros((len(rolls), length), "float32")
        for i, r in enumerate(rolls):
            x[i, : len(r) - 1], y[i, : len(r) - 1], w[i, : len(r) - 1] = r[:-1], r[1:], 1.0
        return x, y, w

    keras.utils.set_random_seed(seed)
    (xtr, ytr, wtr), (xva, yva, wva), (xte, yte, _) = (arrays(k) for k in ("train", "valid", "test"))
    model = keras.Sequential(
        [
            keras.Input((None, KEYS)),
            keras.layers.LSTM(200, return_sequences=True),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(KEYS, activation="sigmoid"),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    started = time.perf_counter()
    history = model.fit(
        xtr,
        np.clip(ytr, 0, 1),
        sample_weight=wtr,
        validation_data=(xva, np.clip(yva, 0, 1), wva),
        epochs=300,
        batch_size=16,
        verbose=0,
        callbacks=[keras.callbacks.EarlyStopping("val_loss", patience=10, restore_best_weights=True)],
    )
    seconds = time.perf_counter() - started
    valid_nll, _ = frame_nll(yva, model.predict(xva, verbose=0), skip_first=False)
    test_nll, frames = frame_nll(yte, model.predict(xte, verbose=0), skip_first=False)
    return {
        "test_nll": test_nll,
        "valid_nll": valid_nll,
        "test_frames": frames,
        "epochs": len(history.history["loss"]),
        "train_seconds": round(seconds, 1),
    }


def seqkit_recipe(run_dir: str | None, overrides: list[str], output: Path) -> dict:
    import seqkit

    if run_dir:
        run = seqkit.load_run(run_dir)
        # Re-score the saved model here, so the figure does not depend on how the run ended.
        from seqkit.train.runner import resolve_parts

        parts = resolve_parts(run.recipe, echo=lambda _m: None)
        scores = {}
        for name, split in (("valid", parts.bundle.validation), ("test", parts.bundle.test)):
            scores[name] = run.task.evaluate(split.y, run.model.predict(split.x, verbose=0), parts.bundle.info)
        metrics = run.metrics
    else:
        run = seqkit.run(
            RECIPE,
            overrides=[f"output.dir={output}", "train.verbose=0", "output.tensorboard=false", *overrides],
            quiet=True,
        )
        metrics = run.metrics
        scores = {"valid": metrics["validation"], "test": metrics["test"]}
    return {
        "run": str(run.path),
        "test_nll": scores["test"]["nll_per_step"],
        "valid_nll": scores["valid"]["nll_per_step"],
        "test_frames": scores["test"]["frames"],
        "test_nll_with_first_frame": scores["test"]["nll_per_step_with_first"],
        "test_frame_accuracy": scores["test"]["frame_accuracy"],
        "epochs": metrics.get("epochs_trained"),
        "best_epoch": metrics.get("best_epoch"),
        "train_seconds": metrics.get("train_seconds"),
        "recipe": run.recipe.to_dict(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", metavar="RUN_DIR", help="use a finished run of recipes/music/jsb.yaml")
    parser.add_argument("--skip-plain", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--output", default=str(ROOT / "runs"), help="root folder for the recipe's run")
    args = parser.parse_args()
    if not data_path().exists():
        sys.exit(f"bench/jsb.py: {data_path()} not found (set SEQKIT_DATA)")
    report = {"metric": "JSB Chorales test NLL per time step (nats), frames 2..T", "published": PUBLISHED}
    report["seqkit"] = seqkit_recipe(args.run, args.overrides, Path(args.output))
    if not args.skip_plain:
        report["plain_keras_lstm200_dropout0.3"] = plain_keras(args.seed)
    write_report("jsb", report)


if __name__ == "__main__":
    main()
