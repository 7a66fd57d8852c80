"""ETTh1 univariate (OT): test MSE / MAE on the standardised scale at horizons 24 and 168, for
seqkit's recipe and for the naive, seasonal-naive and Holt-Winters forecasts of exactly the
same windows (the Informer split, every test window, stride 1).

Usage:  python bench/forecast_ett.py [--horizons 24 168] [--seeds 42] [--set KEY=VALUE ...]
With several seeds it also reports the mean of the seeds' forecasts (an ensemble of runs).
Prints JSON and writes bench/results/forecast_ett.json. Needs ${SEQKIT_DATA}/ett/ETTh1.csv.
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

RECIPE = ROOT / "recipes" / "forecast" / "etth1.yaml"
# Per horizon: the recipe's overrides (168 h looks further back).
HORIZON_OVERRIDES = {24: ["data.horizon=24"], 168: ["data.horizon=168", "data.lookback=336", "model.head.highway=336"]}
PUBLISHED = {
    24: {"LSTMa": {"mse": 0.114, "mae": 0.272}, "Informer": {"mse": 0.098, "mae": 0.247}},
    168: {"LSTMa": {"mse": 0.236, "mae": 0.392}},
}


def main() -> None:
    import numpy as np

    import seqkit
    from seqkit.recipe import load_recipe
    from seqkit.train.runner import load_data

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizons", type=int, nargs="+", default=[24, 168])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--output", default=None, help="report path (default bench/results/forecast_ett.json)")
    args = parser.parse_args()
    report = {
        "recipe": str(RECIPE.relative_to(ROOT)),
        "seeds": args.seeds,
        "extra_overrides": args.overrides,
        "horizons": {},
    }
    for horizon in args.horizons:
        overrides = (
            HORIZON_OVERRIDES.get(horizon, [f"data.horizon={horizon}"]) + args.overrides + ["output.dir=runs/bench"]
        )
        runs, predictions = [], []
        started = time.perf_counter()
        for seed in args.seeds:
            run = seqkit.run(RECIPE, overrides=overrides + [f"seed={seed}"], quiet=True)
            runs.append(run)
        models = runs[0].metrics["test_comparison"]["models"]
        entry = {
            "command": f"seqkit run {RECIPE.relative_to(ROOT)} " + " ".join(f"--set {o}" for o in overrides[:-1]),
            "windows": runs[0].metrics["test_comparison"]["windows"],
            "lstm": [
                {
                    "seed": s,
                    **r.metrics["test_comparison"]["models"]["lstm"]["scaled"],
                    "run": str(r.path),
                    "epochs": r.metrics["epochs_trained"],
                }
                for s, r in zip(args.seeds, runs)
            ],
            "baselines": {name: m["scaled"] for name, m in models.items() if name != "lstm"},
            "published": PUBLISHED.get(horizon, {}),
        }
        mses = [r["mse"] for r in entry["lstm"]]
        entry["lstm_mean"] = {"mse": statistics.mean(mses), "mae": statistics.mean(r["mae"] for r in entry["lstm"])}
        if len(runs) > 1:
            recipe = load_recipe(RECIPE, overrides)
            _, _, bundle = load_data(recipe, echo=lambda _m: None)
            for run in runs:
                predictions.append(
                    np.asarray(run.model.predict(bundle.test.x, batch_size=1024, verbose=0), dtype="float64")
                )
            mean = np.mean(predictions, axis=0)
            entry["ensemble_of_seeds"] = {
                "mse": float(np.mean((mean - bundle.test.y) ** 2)),
                "mae": float(np.mean(np.abs(mean - bundle.test.y))),
            }
        entry["seconds"] = round(time.perf_counter() - started, 1)
        report["horizons"][str(horizon)] = entry
    write_report("forecast_ett", report, Path(args.output) if args.output else None)


if __name__ == "__main__":
    main()
