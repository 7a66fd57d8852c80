"""Start-up time of the command line: `seqkit --help` and `seqkit validate RECIPE`.

    python bench/startup.py [--repeat 5]

Both must stay instant (targets: 0.3 s and 1 s): neither imports TensorFlow or Keras.
Prints JSON (best and median wall time of fresh processes) and writes bench/results/startup.json.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from report import write_report

COMMANDS = {
    "help": ["--help"],
    "validate": ["validate", str(ROOT / "recipes" / "sentiment" / "reviews.yaml")],
    "python_startup": None,  # the floor: a bare interpreter
}
TARGETS = {"help": 0.3, "validate": 1.0}


def timed(args) -> float:
    command = [sys.executable, "-c", "pass"] if args is None else [sys.executable, "-m", "seqkit", *args]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    report = {}
    for name, command in COMMANDS.items():
        times = [timed(command) for _ in range(args.repeat)]
        report[name] = {"best_s": round(min(times), 3), "median_s": round(statistics.median(times), 3)}
        if name in TARGETS:
            report[name]["target_s"] = TARGETS[name]
            report[name]["meets_target"] = min(times) <= TARGETS[name]
    write_report("startup", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
