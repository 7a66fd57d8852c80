"""M4 Weekly (359 series, horizon 13): seqkit's global LSTM against M4's benchmarks, scored as
M4 scores (sMAPE, MASE with m = 1 scaled by the whole training series, OWA against Naive2),
beside M4's published figures; a check that seqkit's scoring reproduces them.

Trains recipes/forecast/m4_weekly.yaml once per (seed, lookback), forecasts the 13 test weeks
from the end of each training series, and with several runs also scores the median of their
forecasts (N-BEATS' ensemble). The benchmarks are scored on the first run (they do not depend
on the model).

Usage:  python bench/m4.py [--seeds 42] [--lookbacks 52] [--set KEY=VALUE ...]
        python bench/m4.py --runs RUN_DIR ... [--seeds 43]   (score trained runs again without
        retraining, beside newly trained ones)
Prints JSON and writes bench/results/m4.json. Needs ${SEQKIT_DATA}/m4/Weekly-{train,test}.csv.
Exits 1 when the scoring check fails (Naive and sNaive to the third decimal, Theta within 2 %).
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

RECIPE = ROOT / "recipes" / "forecast" / "m4_weekly.yaml"
# M4's published Weekly table (Makridakis et al. 2020; M4-methods' results): sMAPE / MASE.
PUBLISHED = {
    "naive": {"smape": 9.161, "mase": 2.777},
    "seasonal_naive": {"smape": 9.161, "mase": 2.777},
    "naive2": {"smape": 9.161, "mase": 2.777},
    "ses": {"smape": 9.012},
    "damped": {"smape": 8.866},
    "theta": {"smape": 9.093, "mase": 2.637},
    "M4 RNN benchmark": {"smape": 15.220},
    "M4 MLP benchmark": {"smape": 21.349},
    "ES-RNN (Smyl, M4 winner)": {"smape": 7.817, "mase": 2.356},
    "best Weekly entry": {"smape": 6.582, "mase": 2.107},
}
ALL_BASELINES = "[naive,seasonal_naive,naive2,ses,holt,damped,theta,comb]"


def scoring_check(models: dict) -> dict:
    """Naive and sNaive to the third decimal, Theta's sMAPE and MASE within 2 % of M4's table."""
    checks = {}
    for name in ("naive", "seasonal_naive"):
        for metric in ("smape", "mase"):
            ours, theirs = round(models[name][metric], 3), PUBLISHED[name][metric]
            checks[f"{name} {metric}"] = {"ours": ours, "published": theirs, "ok": ours == theirs}
    for metric in ("smape", "mase"):
        ours, theirs = models["theta"][metric], PUBLISHED["theta"][metric]
        checks[f"theta {metric}"] = {"ours": round(ours, 4), "published": theirs, "ok": abs(ours / theirs - 1) <= 0.02}
    return checks


def test_forecasts(run, overrides):
    """(series ids, actuals, forecasts, MASE scales) of the run's model at each series' test origin, in the data's units."""
    import numpy as np

    from seqkit.recipe import load_recipe
    from seqkit.train.runner import load_data
    from seqkit_forecast import metrics as forecast_metrics
    from seqkit_forecast import outputs
    from seqkit_forecast.windows import make_targets, make_windows

    recipe = load_recipe(RECIPE, overrides)
    _, _, bundle = load_data(recipe, echo=lambda _m: None)
    info = {**bundle.info, **run.info}
    ids, actual, forecast, scales = [], [], [], []
    for s in bundle.series:
        origins = s.test_origins
        x = make_windows(s.features, origins, info["lookback"], info["horizon"], info["observed_channels"])
        point = outputs.point(run.model.predict(x, verbose=0), info)
        inverse = lambda a, s=s: s.scaler.inverse(np.asarray(a, dtype="float64"), slice(0, 1))  # noqa: E731
        history = inverse(s.targets)
        ids.append(s.id)
        actual.append(inverse(make_targets(s.targets, origins, info["horizon"]))[0])
        forecast.append(inverse(point)[0])
        scales.append(forecast_metrics.origin_scales(history, origins, info["seasonal_period"])[0])
    return ids, np.stack(actual), np.stack(forecast), np.stack(scales)


def m4_scores(actual, forecast, scales) -> dict:
    from seqkit_forecast import metrics as forecast_metrics

    return {
        "smape": float(forecast_metrics.smape_per_window(actual, forecast).mean()),
        "mase": float(forecast_metrics.mase_per_window(actual, forecast, scales).mean()),
    }


def main() -> int:
    import numpy as np

    import seqkit
    from seqkit_forecast import metrics as forecast_metrics

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="train one run per seed (default 42)")
    parser.add_argument("--lookbacks", type=int, nargs="+", default=[52])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--runs", nargs="+", default=[], metavar="RUN_DIR", help="score these runs (no training)")
    parser.add_argument("--output", default=None, help="report path (default bench/results/m4.json)")
    args = parser.parse_args()
    started = time.perf_counter()
    runs, members = [], []
    if args.seeds is None:
        args.seeds = [] if args.runs else [42]
    plan = list(args.runs) + [(lb, s) for lb in args.lookbacks for s in args.seeds]
    n_members = len(plan)
    for k, item in enumerate(plan):
        baselines = ALL_BASELINES if k == 0 else "[naive,naive2]"  # the benchmarks once; naive2 for OWA
        t0 = time.perf_counter()
        if isinstance(item, str):
            run = seqkit.load_run(item)
            lookback, seed = run.recipe.get("data.lookback"), run.recipe.get("seed")
            overrides = [f"data.lookback={lookback}", f"seed={seed}", *args.overrides]
            metrics = run.evaluate([f"data.baselines={baselines}"])
            epochs = json.loads((run.path / "metrics.json").read_text()).get("epochs_trained")
        else:
            lookback, seed = item
            overrides = [f"data.lookback={lookback}", f"seed={seed}", *args.overrides]
            run = seqkit.run(
                RECIPE, overrides=overrides + [f"data.baselines={baselines}", "output.dir=runs/bench"], quiet=True
            )
            metrics, epochs = run.metrics, run.metrics["epochs_trained"]
        models = metrics["test_comparison"]["models"]
        runs.append(
            {
                "seed": seed,
                "lookback": lookback,
                "run": str(run.path),
                "epochs": epochs,
                "seconds": round(time.perf_counter() - t0, 1),
                **{k: models["lstm"][k] for k in ("smape", "mase", "owa")},
            }
        )
        if k == 0:
            benchmarks = {name: {m: scores[m] for m in ("smape", "mase", "owa")} for name, scores in models.items()}
        if n_members > 1:
            members.append(test_forecasts(run, overrides))
    report = {
        "recipe": str(RECIPE.relative_to(ROOT)),
        "command": "python bench/m4.py"
        + (f" --runs {' '.join(args.runs)}" if args.runs else "")
        + (
            f" --seeds {' '.join(map(str, args.seeds))} --lookbacks {' '.join(map(str, args.lookbacks))}"
            if args.seeds
            else ""
        )
        + "".join(f" --set {o}" for o in args.overrides),
        "series": 359,
        "horizon": 13,
        "lstm_runs": runs,
        "lstm_mean": {k: float(np.mean([r[k] for r in runs])) for k in ("smape", "mase", "owa")},
        "baselines": {name: scores for name, scores in benchmarks.items() if name != "lstm"},
        "published": PUBLISHED,
    }
    if members:
        ids, actual, _, scales = members[0]
        assert all(m[0] == ids for m in members)
        median = np.median(np.stack([m[2] for m in members]), axis=0)
        scores = m4_scores(actual, median, scales)
        naive2 = benchmarks["naive2"]
        scores["owa"] = forecast_metrics.owa(scores["smape"], scores["mase"], naive2["smape"], naive2["mase"])
        report["lstm_median_ensemble"] = {"members": len(members), **scores}
    report["scoring_check"] = scoring_check(benchmarks)
    report["seconds"] = round(time.perf_counter() - started, 1)
    write_report("m4", report, Path(args.output) if args.output else None)
    return 0 if all(c["ok"] for c in report["scoring_check"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
