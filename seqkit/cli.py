"""The ``seqkit`` command. ``--help``, ``validate``, ``schema`` and ``plugins`` never import
TensorFlow or Keras, so they answer at once."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from seqkit import __version__
from seqkit.errors import Interrupted, SeqkitError

EPILOG = """examples:
  seqkit run recipes/sentiment/reviews.yaml
  seqkit run recipes/sentiment/reviews.yaml --set train.epochs=3 --set model.backbone.units=64
  seqkit run --resume runs/reviews-sentiment/20261129-101500-ab12
  seqkit predict runs/reviews-sentiment/<run-id> "The product exceeded my expectations!"
  seqkit validate recipes/sentiment/*.yaml
"""


def _add_recipe_args(parser: argparse.ArgumentParser, optional: bool = False) -> None:
    parser.add_argument("recipe", nargs="?" if optional else None, help="YAML recipe file")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe value by its dotted key, e.g. --set train.epochs=5 (repeatable)",
    )


def _add_distribution_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("distributed training (see docs/scale-out.md)")
    group.add_argument(
        "--workers",
        metavar="HOST:PORT,...",
        help="every worker's address, the chief first: multi_worker on TensorFlow, data_parallel on JAX "
        "(sets distribution.workers)",
    )
    group.add_argument(
        "--worker-index",
        type=int,
        metavar="I",
        help="this process's place in --workers (0 = chief, which alone writes the run directory)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seqkit",
        description="Sequence modeling with stacked LSTMs: YAML recipes, task plugins, Keras Tuner search.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"seqkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("run", help="train, evaluate on the test split and write a run directory")
    _add_recipe_args(p, optional=True)
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint")
    p.add_argument("--output", metavar="DIR", help="root folder for run directories (default: output.dir, 'runs')")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    _add_distribution_args(p)

    p = sub.add_parser("train", help="train and save the model, without test evaluation")
    _add_recipe_args(p)
    p.add_argument("--output", metavar="DIR", help="root folder for run directories")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    _add_distribution_args(p)

    p = sub.add_parser("tune", help="hyperparameter search over the recipe's tune.space (KerasTuner)")
    _add_recipe_args(p, optional=True)
    p.add_argument("--resume", metavar="TUNE_DIR", help="continue a search; finished trials are not repeated")
    p.add_argument(
        "--directory", metavar="DIR", help="tune directory (default runs/<name>/tune-<id>); shared by chief and workers"
    )
    p.add_argument(
        "--role",
        choices=["chief", "worker"],
        help="distributed search: serve the oracle (chief) or run trials (worker)",
    )
    p.add_argument("--oracle", metavar="HOST:PORT", help="the chief's address (with --role)")
    p.add_argument("--tuner-id", metavar="ID", help="a worker's name (default: host and process id)")
    p.add_argument(
        "--worker-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="chief: a worker silent this long is dropped and its trial re-queued (default 120)",
    )
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")

    p = sub.add_parser(
        "prepare",
        help="write the recipe's data as preprocessed TFRecord shards (data larger than memory)",
        description="Stream the recipe's data, fit its preprocessing (vocabulary, scalers) and write TFRecord "
        "shards that a recipe reads with data: {adapter: tfrecord, path: DIR}.",
    )
    _add_recipe_args(p)
    p.add_argument(
        "--output", metavar="DIR", required=True, help="folder to write (shards, prepared.json, preprocessor.keras)"
    )
    p.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="fit the preprocessing on the first N training rows (default: all, streamed)",
    )
    p.add_argument("--shard-rows", type=int, default=8192, metavar="N", help="rows per TFRecord shard (default 8192)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier prepared folder")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")

    p = sub.add_parser("evaluate", help="score a run's saved model on its recipe's test split")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change the data section, e.g. --set data.test=other.csv",
    )
    p.add_argument("--json", action="store_true", help="print all metrics as JSON")

    p = sub.add_parser("predict", help="predict raw inputs with a run's saved model")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="raw inputs, e.g. texts")
    p.add_argument(
        "--input", dest="input_file", metavar="FILE", help="read inputs from a file (.txt, .csv, .tsv, .jsonl)"
    )
    p.add_argument(
        "--output",
        metavar="FILE",
        help="write predictions to FILE (.csv or .jsonl); - writes the CSV to standard output "
        "(without --output: one line per input on standard output)",
    )
    p.add_argument(
        "--beam",
        type=int,
        metavar="K",
        help="decode by beam search with K hypotheses (tasks that search, e.g. seq2seq; default: the run's own)",
    )
    p.add_argument(
        "--n-best", type=int, metavar="N", help="print the N best outputs with their scores (1 <= N <= K; with --beam)"
    )

    p = sub.add_parser(
        "export",
        help="write a run's model as a SavedModel, TFLite or ONNX file that loads without seqkit",
        description="Export a run's model with named outputs (class names beside probabilities) and export.json. "
        "TFLite and ONNX cannot carry text preprocessing: they take token ids, with tokenizer.json beside them "
        "(docs/deploy.md).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--format", required=True, choices=["saved_model", "tflite", "onnx"])
    p.add_argument("--output", required=True, metavar="DIR", help="folder to write (model, export.json ...)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier export in DIR")

    p = sub.add_parser(
        "serve",
        help="serve runs' models over HTTP JSON (POST /predict, GET /health, /metadata, /docs)",
        description="Load each run's model once and answer POST /predict (and /models/NAME/predict) with the "
        "predictions seqkit predict prints; concurrent requests are micro-batched (docs/deploy.md).",
    )
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument(
        "--max-batch", type=int, default=256, metavar="N", help="most inputs in one model call (default 256)"
    )
    p.add_argument(
        "--batch-wait-ms",
        type=float,
        default=2.0,
        metavar="MS",
        help="how long a request waits for others to join its model call (default 2)",
    )
    p.add_argument(
        "--max-body-bytes", type=int, default=1 << 20, metavar="N", help="larger request bodies get 413 (default 1 MiB)"
    )

    p = sub.add_parser(
        "explain",
        help="explain predictions: attributions per step, gate and cell-state traces, figures",
        description="Explain a run's predictions of raw inputs: integrated-gradients attributions of the task's output "
        "of interest per step and feature (with the completeness check), the input / forget / output gates and cell "
        "state of every backbone layer replayed step by step, and figures of both (tokens coloured by attribution, "
        "gate heatmaps). Writes the figures and explanations.json into --output (default RUN_DIR/explain).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="raw inputs, e.g. texts")
    p.add_argument(
        "--input", dest="input_file", metavar="FILE", help="read inputs from a file (what seqkit predict --input reads)"
    )
    p.add_argument(
        "--output", metavar="DIR", help="folder for the figures and explanations.json (default RUN_DIR/explain)"
    )
    p.add_argument("--test", type=int, metavar="N", help="explain the first N examples of the run's test split instead")
    p.add_argument(
        "--target",
        metavar="TARGET",
        help="what to explain: a class name, a forecast step, an entity ... (default: the task's choice, e.g. the predicted class)",
    )
    p.add_argument(
        "--points", type=int, metavar="N", help="integrated-gradients points (default: doubled from 16 until complete)"
    )
    p.add_argument(
        "--tolerance", type=float, default=1e-3, metavar="R", help="relative completeness error to reach (default 1e-3)"
    )
    p.add_argument(
        "--units", type=int, default=8, metavar="N", help="units per gate heatmap, those whose cell state changes most"
    )
    p.add_argument("--json", action="store_true", help="print the explanations as JSON (gate traces included)")

    p = sub.add_parser("validate", help="check recipes against the schema of every installed plugin")
    p.add_argument("recipes", nargs="+", metavar="RECIPE")
    p.add_argument(
        "--data", action="store_true", help="also read each recipe's data files through its adapter (no training)"
    )
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")

    p = sub.add_parser("schema", help="print the JSON Schema of recipes (core + installed plugins)")
    p.add_argument("--output", metavar="FILE", help="write to FILE instead of standard output")

    p = sub.add_parser("plugins", help="list installed plugins and what each registers")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "report",
        help="write (again) the report.html of a run directory or a tune folder",
        description="Rebuild report.html from the files of a run directory (or of a seqkit tune folder) and print "
        "its path. The page is self-contained: images and styles inline, nothing fetched.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--open", action="store_true", help="open it in the web browser afterwards")
    p.add_argument(
        "--explain",
        type=int,
        metavar="N",
        help="explain the first N test examples (attributions, gate traces) in the report (as seqkit explain --test N)",
    )

    p = sub.add_parser("runs", help="list run and tune directories: status, duration, main metric")
    p.add_argument("root", nargs="?", default="runs", metavar="DIR", help="a runs folder (default: runs)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")

    p = sub.add_parser("compare", help="compare runs: metrics side by side, recipe differences, curves")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--html", metavar="FILE", help="also write an HTML page with the curves overlaid")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    _add_plugin_commands(sub)
    return parser


PLUGIN_COMMANDS: dict = {}
#: What is wrong with the installed plugins, one line each; ``main`` prints them once.
PLUGIN_WARNINGS: list[str] = []


def _add_plugin_commands(sub) -> None:
    """Verbs registered by plugins (``seqkit_register_commands``). A plugin that fails to
    load, or a verb two plugins register, takes down only itself: the plugin manager lists the
    problem (printed once by ``main``), the other verbs stay, and ``seqkit plugins`` names it."""
    from seqkit.plugins import get_plugin_manager

    manager = get_plugin_manager()
    PLUGIN_COMMANDS.clear()
    commands = manager.commands  # only the commands: the other kinds are built when a verb needs them
    PLUGIN_WARNINGS[:] = [str(problem) for problem in manager.problems_so_far]
    for name, command in commands.items():
        if name in COMMANDS:
            PLUGIN_WARNINGS.append(
                f"plugin {commands.owner(name)!r} registers command {name!r}, which is a core command; ignored"
            )
            continue
        p = sub.add_parser(
            name,
            help=command.help,
            description=command.description or command.help,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(p)
        PLUGIN_COMMANDS[name] = command.run


def _echo_for(args):
    from seqkit.train.runner import silent

    return silent if getattr(args, "quiet", False) else print


def cmd_run(args, evaluate=True) -> int:
    from seqkit import api
    from seqkit.recipe import load_recipe
    from seqkit.train.distribute import overrides_for
    from seqkit.train.runner import start_run

    distribution = overrides_for(args.workers, args.worker_index)
    if getattr(args, "resume", None):
        if args.recipe or args.overrides:
            raise SeqkitError("--resume takes a run directory only; the run's own recipe is used (no RECIPE or --set)")
        api.resume(args.resume, quiet=args.quiet, distribution=distribution)
        return 0
    if not args.recipe:
        raise SeqkitError("run: expected a RECIPE file (or --resume RUN_DIR)")
    overrides = list(args.overrides)
    if args.output:
        overrides.append(f"output.dir={args.output}")
    if distribution:
        overrides = {**api.overrides_dict(overrides), **distribution}
    recipe = load_recipe(args.recipe, overrides)
    start_run(recipe, evaluate=evaluate, echo=_echo_for(args))
    return 0


def cmd_tune(args) -> int:
    import math

    from seqkit.recipe import load_recipe
    from seqkit.tune import search

    if not (math.isfinite(args.worker_timeout) and args.worker_timeout > 0):
        raise SeqkitError(f"--worker-timeout: expected a positive number of seconds. Received: {args.worker_timeout}")
    if args.role and not args.oracle:
        raise SeqkitError("--role needs --oracle HOST:PORT (the chief's address)")
    if args.oracle and not args.role:
        raise SeqkitError("--oracle needs --role chief or --role worker")
    if args.role:
        from seqkit.tune.distributed import parse_oracle

        parse_oracle(args.oracle)
        if not args.directory:
            raise SeqkitError("--role needs --directory: a folder every chief and worker can reach")
    options = dict(
        role=args.role,
        oracle=args.oracle,
        tuner_id=args.tuner_id,
        worker_timeout=args.worker_timeout,
        echo=_echo_for(args),
    )
    if args.resume:
        if args.recipe or args.overrides:
            raise SeqkitError("--resume takes a tune directory only; the search's own recipe is used")
        search.resume(args.resume, **options)
        return 0
    if not args.recipe:
        raise SeqkitError("tune: expected a RECIPE file (or --resume TUNE_DIR)")
    search.tune(load_recipe(args.recipe, args.overrides), directory=args.directory, **options)
    return 0


def cmd_prepare(args) -> int:
    from seqkit.data.stream import prepare
    from seqkit.recipe import load_recipe

    for flag, value in (("--sample", args.sample), ("--shard-rows", args.shard_rows)):
        if value is not None and value < 1:
            raise SeqkitError(f"{flag}: expected a positive integer. Received: {value}")
    prepare(
        load_recipe(args.recipe, args.overrides),
        args.output,
        sample=args.sample,
        shard_rows=args.shard_rows,
        overwrite=args.overwrite,
        echo=_echo_for(args),
    )
    return 0


def cmd_evaluate(args) -> int:
    from seqkit import api

    run = api.load_run(args.run_dir)
    metrics = run.evaluate(args.overrides)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(run.task.summary(metrics) or json.dumps(metrics))
    return 0


def cmd_predict(args) -> int:
    from seqkit import api

    if bool(args.inputs) == bool(args.input_file):
        raise SeqkitError("predict: give inputs on the command line or --input FILE (one of the two)")
    if args.output and args.output != "-":  # before loading a model
        from seqkit.train.rundir import check_output_file

        check_output_file(args.output, api.PREDICTION_SUFFIXES)
    search = {"beam": args.beam, "n_best": args.n_best}
    if args.beam is not None or args.n_best is not None:
        api.check_search_options(args.beam, args.n_best)  # before loading a model
    run = api.load_run(args.run_dir)
    if args.input_file:
        inputs, rows = run.predict_file(args.input_file, **search)
    else:
        inputs = list(args.inputs)
        rows = run.predict(inputs, **search)
    if args.output == "-":
        api.write_predictions(Path("-"), inputs, rows)
    elif args.output:
        api.write_predictions(Path(args.output), inputs, rows)
        print(f"seqkit: wrote {len(rows)} predictions to {args.output}")
    else:
        for raw, row in zip(inputs, rows):
            print(run.task.format_prediction(raw, row))
    return 0


def cmd_export(args) -> int:
    from seqkit import api

    run = api.load_run(args.run_dir)
    path = run.export(args.format, args.output, overwrite=args.overwrite)
    print(f"seqkit: wrote {args.format} export to {path} (see {path / 'export.json'})")
    return 0


def cmd_serve(args) -> int:
    from seqkit.serve import serve

    for flag, value in (("--max-batch", args.max_batch), ("--max-body-bytes", args.max_body_bytes)):
        if value < 1:
            raise SeqkitError(f"{flag}: expected a positive integer. Received: {value}")
    if not 0 <= args.batch_wait_ms <= 1000:
        raise SeqkitError(f"--batch-wait-ms: expected 0 to 1000. Received: {args.batch_wait_ms}")
    if not 0 <= args.port <= 65535:
        raise SeqkitError(f"--port: expected 0 to 65535. Received: {args.port}")
    serve(
        args.run_dirs,
        host=args.host,
        port=args.port,
        max_batch=args.max_batch,
        batch_wait=args.batch_wait_ms / 1000,
        max_body_bytes=args.max_body_bytes,
    )


def cmd_explain(args) -> int:
    from seqkit import api

    if (bool(args.inputs) + bool(args.input_file) + (args.test is not None)) != 1:
        raise SeqkitError("explain: give inputs on the command line, --input FILE or --test N (one of the three)")
    if args.test is not None and args.test < 1:
        raise SeqkitError(f"explain: --test: expected a positive integer. Received: {args.test}")
    if args.points is not None and args.points < 1:
        raise SeqkitError(f"explain: --points: expected a positive integer. Received: {args.points}")
    if args.units < 1:
        raise SeqkitError(f"explain: --units: expected a positive integer. Received: {args.units}")
    if not 0 < args.tolerance < 1:
        raise SeqkitError(f"explain: --tolerance: expected a number in (0, 1). Received: {args.tolerance}")
    run = api.load_run(args.run_dir)
    from seqkit.explain import explain, test_examples

    encoded = None
    if args.test is not None:
        inputs, encoded = test_examples(run, args.test)
    else:
        inputs = run.adapter.read_inputs(Path(args.input_file), run.info) if args.input_file else list(args.inputs)
    from seqkit.explain.figures import write_figures
    from seqkit.train.rundir import atomic_write_json

    explanations = explain(
        run,
        inputs,
        target=args.target,
        points=args.points,
        tolerance=args.tolerance,
        top_units=args.units,
        encoded=encoded,
    )
    folder = Path(args.output) if args.output else run.path / "explain"
    try:
        files = write_figures(explanations, folder, units=args.units)
        data = [e.to_dict() for e in explanations]
        atomic_write_json(folder / "explanations.json", data)
        if not args.output:  # in the run's own folder: its report shows them
            from seqkit.explain.figures import write_report_section

            write_report_section(explanations, run.path, units=args.units)
    except OSError as exc:
        raise SeqkitError(f"{folder}: cannot write the explanation: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    for e in explanations:
        top = ", ".join(f"{step} {value:+.3f}" for step, value in e.top_steps(3))
        c = e.completeness
        print(run.task.format_prediction(e.input, e.prediction))
        print(
            f"  {e.target}: largest attributions {top}; completeness error {100 * c.relative_error:.3f} % ({c.points} points)"
        )
        for trace in e.gates:
            print(
                f"  layer {trace.layer} {trace.direction}: units changing most {trace.top_units[:5]}; "
                f"replay matches Keras within {trace.check_error:.1e}"
            )
    print(f"seqkit: wrote {len(files) + 1} files to {folder}")
    return 0


def cmd_validate(args) -> int:
    from seqkit.errors import RecipeError
    from seqkit.recipe import load_recipe

    failed = 0
    for path in args.recipes:
        try:
            recipe = load_recipe(path, args.overrides)
            if args.data:
                from seqkit.train.runner import load_data

                load_data(recipe, echo=lambda message, path=path: print(f"{path}: {message.removeprefix('seqkit: ')}"))
        except SeqkitError as exc:
            failed += 1
            print(str(exc) if isinstance(exc, RecipeError) else f"{path}: {exc}", file=sys.stderr)
        else:
            print(f"{path}: valid")
    return 2 if failed else 0


def cmd_schema(args) -> int:
    from seqkit.plugins import get_plugin_manager
    from seqkit.recipe.schema import merged_schema

    text = json.dumps(merged_schema(get_plugin_manager()), indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_plugins(args) -> int:
    from seqkit.plugins import get_plugin_manager

    manager = get_plugin_manager()
    infos = manager.plugin_infos()
    if args.json:
        print(json.dumps([info.__dict__ for info in infos], indent=2))
        return 0
    registries, problems = manager.registries(), manager.problems
    for info in infos:
        print(f"{info.name} {info.version} ({info.distribution})" + ("" if info.loaded else ": not loaded"))
        rows = [(kind[:-1], name, "") for kind, names in info.provides.items() for name in names]
        rows += [(kind[:-1], name, "disabled") for kind, names in info.disabled.items() for name in names]
        for kind, name, state in sorted(rows):
            if state:
                others = [o for o in dict.fromkeys(registries[kind].disabled()[name]) if o != info.name]
                note = (
                    f"also registered by {', '.join(repr(o) for o in others)}"
                    if others
                    else "registered more than once"
                )
                text = f"(disabled: {note})"
            else:
                obj = registries[kind].get(name)
                text = obj.help if kind == "command" else obj.description
                if kind == "command" and name in COMMANDS:
                    text = f"(ignored: a core command) {text}"
            print(f"  {kind:<8} {name:<22} {text}")
        # A disabled name shows in its rows above; the rest (failed import, failed hook) here.
        for problem in problems:
            if problem.kind is None and info.name in problem.plugins:
                print(f"  problem  {problem}")
    return 0


def cmd_report(args) -> int:
    from seqkit.export.report import report_folder

    if args.explain is not None:
        if args.explain < 1:
            raise SeqkitError(f"report: --explain: expected a positive integer. Received: {args.explain}")
        from seqkit import api
        from seqkit.explain import explain, test_examples
        from seqkit.explain.figures import write_report_section

        run = api.load_run(args.run_dir)
        inputs, encoded = test_examples(run, args.explain)
        write_report_section(explain(run, inputs, encoded=encoded), run.path)
    from seqkit.plugins import get_plugin_manager

    target = report_folder(Path(args.run_dir), get_plugin_manager())
    print(target)
    if args.open:
        import webbrowser

        if not webbrowser.open(target.resolve().as_uri()):
            print("seqkit: note: no web browser found to open it", file=sys.stderr)
    return 0


def cmd_runs(args) -> int:
    from seqkit.export.runs import list_runs, text_table
    from seqkit.plugins import get_plugin_manager

    rows = list_runs(Path(args.root), get_plugin_manager())
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"seqkit: no runs under {args.root}")
        return 0
    columns = ["name", "id", "task", "status", "started", "duration", "main metric"]
    print(text_table(rows, columns))
    for row in rows:
        if row["stale"]:
            print(f"seqkit: note: {row['path']}: {row['stale']}; continue it with: seqkit run --resume {row['path']}")
    return 0


def cmd_compare(args) -> int:
    from seqkit.export.runs import comparison, comparison_html, comparison_text

    if args.html:
        from seqkit.train.rundir import check_output_file

        check_output_file(args.html, (".html", ".htm"), flag="--html")
    result = comparison([Path(p) for p in args.run_dirs])
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "histories"}, indent=2, default=str))
    else:
        print(comparison_text(result))
    if args.html:
        from seqkit.train.rundir import atomic_write_text

        atomic_write_text(Path(args.html), comparison_html(result))
        print(f"seqkit: wrote {args.html}", file=sys.stderr if args.json else sys.stdout)
    return 0


COMMANDS = {
    "run": cmd_run,
    "train": lambda args: cmd_run(args, evaluate=False),
    "tune": cmd_tune,
    "prepare": cmd_prepare,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "export": cmd_export,
    "serve": cmd_serve,
    "explain": cmd_explain,
    "validate": cmd_validate,
    "schema": cmd_schema,
    "plugins": cmd_plugins,
    "report": cmd_report,
    "runs": cmd_runs,
    "compare": cmd_compare,
}


def _warn_about_the_other_plugin_parts() -> None:
    """After parsing (so `seqkit --help` stays instant), the problems of the registries that
    building the parser did not need (two plugins registering one task ...), once each."""
    from seqkit.plugins import get_plugin_manager

    for problem in get_plugin_manager().problems:
        if str(problem) not in PLUGIN_WARNINGS:
            PLUGIN_WARNINGS.append(str(problem))
            print(f"seqkit: warning: {problem}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    # TensorFlow's C++ log lines (oneDNN notices, "falling back to Eigen" ...) hide seqkit's own
    # output; its errors reach the user as Python exceptions. TF_CPP_MIN_LOG_LEVEL=0 shows all.
    from seqkit import quiet

    quiet.install(level="3")  # and the notices it prints before its logging is set up (seqkit/quiet.py)
    parser = build_parser()
    for warning in PLUGIN_WARNINGS:  # before parsing: `seqkit --help` exits there
        print(f"seqkit: warning: {warning}", file=sys.stderr)
    args = parser.parse_args(argv)
    try:
        _warn_about_the_other_plugin_parts()
        handler = COMMANDS.get(args.command) or PLUGIN_COMMANDS[args.command]
        return handler(args)
    except SeqkitError as exc:
        print(f"seqkit: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        # 130 for Ctrl-C, 143 for SIGTERM (128 + the signal), as a shell reports them.
        print("seqkit: interrupted", file=sys.stderr)
        return exc.exit_code if isinstance(exc, Interrupted) else 130
    except BrokenPipeError:
        # The reader of stdout went away (`seqkit predict ... | head`): stop quietly, as
        # command-line tools do, and keep Python's exit-time flush from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
