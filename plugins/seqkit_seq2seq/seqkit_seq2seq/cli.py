"""The ``seqkit decode`` verb and :func:`decode`: beam search and n-best lists from a trained
seq2seq run (``seqkit predict RUN WORD`` gives the greedy output; the core verb has no
decoding options, so they live here)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seqkit.plugin_api import SeqkitError

EPILOG = """examples:
  seqkit decode runs/cmudict-g2p/<run-id> pronunciation seqkit
  seqkit decode runs/cmudict-g2p/<run-id> colonel --beam 10 --n-best 3
  seqkit decode runs/cmudict-g2p/<run-id> --input words.txt --beam 5 --output phonemes.csv

Without --beam the run's own default (model.head.beam) is used; --beam 1 is greedy."""


def _open_run(run_or_path):
    if isinstance(run_or_path, (str, os.PathLike)):
        from seqkit.plugin_api import load_run

        return load_run(run_or_path)
    return run_or_path


def _check(name: str, value, low: int, high: int):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SeqkitError(f"{name}: expected an integer from {low} to {high}. Received: {value!r}")
    return value


def decode(
    run_or_path: Any,
    inputs: Sequence[Any],
    beam: int | None = None,
    n_best: int = 1,
    length_penalty: float | None = None,
    max_length: int | None = None,
) -> list[dict]:
    """Outputs for raw ``inputs`` of a trained seq2seq run: one dict per input with
    ``prediction`` and ``score`` (log-probability over the length penalty) and, when
    ``n_best`` > 1, ``n_best``: the best outputs, best first, each with its score.

    Args:
        run_or_path: a run directory or a :class:`seqkit.api.Run`.
        beam: beam width (default: the run's ``model.head.beam``; 1 is greedy).
        n_best: outputs per input (at most ``beam``).
        length_penalty: GNMT alpha (default: the run's); the attention decoder only.
        max_length: most output steps (default and maximum: the trained target length + 1).
    """
    from seqkit_seq2seq import decoding

    run = _open_run(run_or_path)
    if "target_vocab" not in run.info:
        raise SeqkitError(f"{run.path}: task {run.recipe.task!r} is not a seq2seq run")
    inputs = list(inputs)
    stepper = decoding.Stepper(run.model)
    beam = _check("--beam", stepper.head.beam if beam is None else beam, 1, 100)
    n_best = _check("--n-best", n_best, 1, beam)
    steps = int(run.info["max_target_length"]) + 1
    if max_length is not None:
        _check("--max-length", max_length, 1, steps)
    if stepper.ctc and (length_penalty is not None or max_length is not None):
        raise SeqkitError(
            "--length-penalty and --max-length apply to the attention decoder; a CTC model writes one label per frame at most"
        )
    alpha = float(getattr(stepper.head, "length_penalty", 0.0) if length_penalty is None else length_penalty)
    if not inputs:
        return []
    x = run.adapter.encode_inputs(inputs, run.info)
    results = decoding.decode(stepper, x, beam=beam, n_best=n_best, alpha=alpha, max_steps=max_length)
    return decoding.as_rows(inputs, results, run.info)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a completed seq2seq run")
    parser.add_argument("inputs", nargs="*", metavar="INPUT", help="sources to convert, e.g. words")
    parser.add_argument(
        "--input",
        dest="input_file",
        metavar="FILE",
        help="read sources from a file (one a line, or a table's source column)",
    )
    parser.add_argument(
        "--beam", type=int, metavar="K", help="beam width (default: the run's model.head.beam; 1: greedy)"
    )
    parser.add_argument(
        "--n-best", type=int, default=1, metavar="N", help="print the N best outputs with their scores (N <= K)"
    )
    parser.add_argument(
        "--length-penalty", type=float, metavar="ALPHA", help="GNMT length penalty alpha (default: the run's)"
    )
    parser.add_argument(
        "--max-length", type=int, metavar="STEPS", help="most output symbols + 1 (default: the trained length)"
    )
    parser.add_argument("--output", metavar="FILE", help="write the outputs to FILE (.csv or .jsonl)")


def run(args: argparse.Namespace) -> int:
    from seqkit.plugin_api import check_output_file

    if bool(args.inputs) == bool(args.input_file):
        raise SeqkitError("decode: give sources on the command line or --input FILE (one of the two)")
    if args.output:
        check_output_file(args.output, (".csv", ".jsonl", ".ndjson"))
    run_ = _open_run(args.run_dir)
    inputs = run_.adapter.read_inputs(Path(args.input_file), run_.info) if args.input_file else list(args.inputs)
    rows = decode(
        run_, inputs, beam=args.beam, n_best=args.n_best, length_penalty=args.length_penalty, max_length=args.max_length
    )
    if args.output:
        _write(Path(args.output), inputs, rows)
        print(f"seqkit: wrote {len(rows)} outputs to {args.output}")
        return 0
    for raw, row in zip(inputs, rows):
        print(run_.task.format_prediction(raw, row))
    return 0


def _write(path: Path, inputs, rows) -> None:
    import json

    from seqkit.plugin_api import atomic_write_csv, atomic_write_text

    if path.suffix.lower() == ".csv":
        table = []
        for raw, row in zip(inputs, rows):
            for rank, hyp in enumerate(row.get("n_best") or [row], start=1):
                table.append({"input": raw, "rank": rank, "prediction": hyp["prediction"], "score": hyp["score"]})
        atomic_write_csv(path, table)
    else:
        atomic_write_text(
            path,
            "".join(json.dumps({"input": raw, **row}, ensure_ascii=False) + "\n" for raw, row in zip(inputs, rows)),
        )
