"""Whole recipes end to end, this checkout beside an earlier one, on the same machine.

Usage:  python bench/end_to_end.py --before DIR [--recipes wnut17 jsb] [--order after-first]

``DIR`` is a checkout of an earlier commit (``git worktree add DIR <commit>``). Each recipe
is run with ``seqkit run`` in a fresh process, once with this checkout's code and once with
``DIR``'s (its ``seqkit`` and plugin packages put first on ``PYTHONPATH``, so the same
installed dependencies serve both), one after the other, never at the same time. Each run
is timed from the process's start to its exit (data loading, training, export, scoring:
what a user waits for). The data cache (``SEQKIT_CACHE``) starts empty for each run, so a
parse cache is not counted as a gain.

Prints JSON (per recipe and side: wall seconds, epochs trained, best epoch, the test metric,
and status.json's seconds per stage where the code writes them; the before / after ratio of
wall seconds) and writes bench/results/end_to_end.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from report import write_report

RECIPES = {
    "wnut17": ("recipes/tagging/wnut17.yaml", "entity_f1"),
    "jsb": ("recipes/music/jsb.yaml", "nll_per_step"),
    "sst2": ("recipes/sentiment/sst2.yaml", "accuracy"),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, type=Path, help="a checkout of the earlier commit")
    parser.add_argument("--recipes", nargs="+", default=["wnut17", "jsb"], choices=sorted(RECIPES))
    parser.add_argument("--order", choices=["after-first", "before-first"], default="after-first")
    parser.add_argument("--set", action="append", default=[], help="an override for both sides (KEY=VALUE)")
    parser.add_argument("--output", type=Path, default=None, help="default: bench/results/end_to_end.json")
    return parser.parse_args()


def code_path(checkout: Path) -> str:
    """PYTHONPATH that makes ``checkout``'s seqkit and plugin packages the ones imported."""
    plugins = sorted(p for p in (checkout / "plugins").iterdir() if (p / "pyproject.toml").exists())
    return os.pathsep.join([str(checkout), *map(str, plugins)])


def commit_of(checkout: Path) -> str:
    found = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return found.stdout.strip() or "unknown"


def run_recipe(checkout: Path, recipe: str, metric: str, sets: list[str], work: Path) -> dict:
    out, cache = work / "runs", work / "cache"
    env = {
        **os.environ,
        "PYTHONPATH": code_path(checkout),
        "SEQKIT_CACHE": str(cache),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SEQKIT_DATA": os.environ.get("SEQKIT_DATA", str(ROOT.parent / "shared" / "data")),
    }
    command = [sys.executable, "-m", "seqkit", "run", str(checkout / recipe), "--output", str(out), "--quiet"]
    command += [arg for item in ["output.tensorboard=false", *sets] for arg in ("--set", item)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=checkout, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{checkout}: seqkit run {recipe} failed ({done.returncode}): {done.stderr.strip()[-600:]}")
    run_dir = next(p.parent for p in out.glob("*/*/metrics.json"))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    status = json.loads((run_dir / "status.json").read_text()) if (run_dir / "status.json").exists() else {}
    data_info = json.loads((run_dir / "data_info.json").read_text())
    return {
        "wall_seconds": round(seconds, 1),
        "epochs_trained": metrics.get("epochs_trained"),
        "best_epoch": metrics.get("best_epoch"),
        "train_seconds": metrics.get("train_seconds"),
        "stage_seconds": status.get("seconds"),
        f"test_{metric}": metrics.get("test", {}).get(metric),
        f"validation_{metric}": metrics.get("validation", {}).get(metric),
        "length_buckets": data_info.get("length_buckets"),
    }


def main() -> None:
    args = parse_args()
    before = args.before.resolve()
    sides = [("after", ROOT), ("before", before)]
    if args.order == "before-first":
        sides.reverse()
    report = {
        "commits": {"after": commit_of(ROOT), "before": commit_of(before)},
        "cpus": os.cpu_count(),
        "overrides": args.set,
        "recipes": {},
    }
    for name in args.recipes:
        recipe, metric = RECIPES[name]
        found = {}
        for side, checkout in sides:
            with tempfile.TemporaryDirectory(prefix=f"seqkit-e2e-{name}-{side}-") as work:
                found[side] = run_recipe(checkout, recipe, metric, args.set, Path(work))
            print(f"{name} {side}: {found[side]['wall_seconds']} s", file=sys.stderr, flush=True)
        found["speedup_wall"] = round(found["before"]["wall_seconds"] / found["after"]["wall_seconds"], 2)
        report["recipes"][name] = found
        write_report("end_to_end", report, args.output)  # kept after each recipe: a long run is not lost


if __name__ == "__main__":
    main()
