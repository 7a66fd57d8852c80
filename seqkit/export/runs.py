"""``seqkit runs`` (a table of run directories) and ``seqkit compare`` (runs side by side).

Both read run directories' files only (``status.json``, ``recipe.yaml``, ``metrics.json``,
``history.csv``), so they work on runs of any task; the headline metric is the task's own
(:meth:`Task.summary`'s first entry) when its plugin is installed.
"""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path
from typing import Any

from seqkit.errors import RunError
from seqkit.export.report import CSS, ReportContext, figure, flatten, fmt, table

# Preferred headline test metrics, when the task's plugin is not installed to say.
HEADLINE = ("accuracy", "entity_f1", "wer", "nll_per_step", "mae", "mse", "macro_f1", "loss")


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def duration(status: dict) -> float | None:
    start = _time(status.get("started"))
    end = _time(status.get("updated"))
    if start is None:
        return None
    if status.get("status") == "running" or end is None:
        end = datetime.now(start.tzinfo)
    return max(0.0, (end - start).total_seconds())


def human_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def headline(task_name: str | None, test: dict, manager=None) -> str:
    """``name=value`` of the run's main test metric."""
    if not test:
        return ""
    if task_name and manager is not None:
        try:
            line = manager.tasks.get(task_name).summary(test)
            if line:
                return line.split(",")[0].strip()
        except Exception:  # the plugin is not installed here, or its summary fails on old metrics
            pass
    for key in HEADLINE:
        if isinstance(test.get(key), (int, float)):
            return f"{key}={test[key]:.4f}"
    return ""


def find_runs(root: Path) -> list[Path]:
    """Run and tune directories under ``root``: ``root`` itself, ``root/<id>``, or ``root/<name>/<id>``."""
    root = Path(root)
    if not root.is_dir():
        raise RunError(f"{root}: no such folder")
    if (root / "status.json").is_file():
        return [root]
    found = []
    for child in sorted(root.iterdir()):
        if (child / "status.json").is_file():
            found.append(child)
        elif child.is_dir():
            found.extend(sorted(p for p in child.iterdir() if (p / "status.json").is_file()))
    return found


def _read_results(path: Path) -> dict:
    import json

    try:
        value = json.loads((path / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def run_row(path: Path, manager=None) -> dict[str, Any]:
    from seqkit.train.rundir import RunDirectory

    ctx = ReportContext.load(path)
    status = ctx.status.get("status", "unknown")
    is_tune = (path / "keras_tuner").is_dir()
    stale = RunDirectory(path).stale() if status == "running" else None
    task = ctx.recipe.get("task") or ctx.metrics.get("task")
    main = headline(task, ctx.test_metrics, manager)
    results = _read_results(path) if is_tune else {}
    if results.get("best"):
        best = results["best"]
        objective = results.get("objective", "")
        if isinstance(best.get(objective), (int, float)):
            main = f"best {objective}={best[objective]:.4f}"
    return {
        "name": ctx.recipe.get("name") or path.parent.name,
        "id": path.name,
        "task": task or "",
        "kind": "tune" if is_tune else "run",
        "status": "running (stale)" if stale else status,
        "started": str(ctx.status.get("started", ""))[:19].replace("T", " "),
        "duration": human_seconds(duration(ctx.status)),
        "main metric": main,
        "path": str(path),
        "stale": stale,
    }


def list_runs(root: Path, manager=None) -> list[dict[str, Any]]:
    rows = [run_row(p, manager) for p in find_runs(root)]
    rows.sort(key=lambda r: (r["started"], r["id"]))
    return rows


def text_table(rows: list[dict], columns: list[str]) -> str:
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) if rows else len(c) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


# -- compare ----------------------------------------------------------------------------------


def _flat_recipe(recipe: dict, prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in recipe.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            found.update(_flat_recipe(value, name + "."))
        else:
            found[name] = value
    return found


def _label(ctx: ReportContext) -> str:
    return f"{ctx.recipe.get('name') or ctx.path.parent.name}/{ctx.path.name}"


def comparison(paths: list[Path]) -> dict[str, Any]:
    """Metrics side by side, the recipe keys that differ, and each run's history."""
    if len(paths) < 2:
        raise RunError("compare: give two run directories or more")
    contexts = []
    for path in paths:
        path = Path(path)
        if not (path / "status.json").is_file():
            raise RunError(f"{path}: not a run directory (no status.json)")
        contexts.append(ReportContext.load(path))
    labels = [_label(c) for c in contexts]
    metrics = []
    flat = []
    for c in contexts:
        values = {f"test.{k}": v for k, v in flatten(c.test_metrics).items()}
        values.update({f"validation.{k}": v for k, v in flatten(c.metrics.get("validation") or {}).items()})
        for key in ("epochs_trained", "best_epoch", "train_seconds"):
            if key in c.metrics:
                values[key] = c.metrics[key]
        flat.append(values)
    keys = list(dict.fromkeys(k for values in flat for k in values))
    keys = [k for k in keys if any(isinstance(v.get(k), (int, float)) and not isinstance(v.get(k), bool) for v in flat)]
    for key in keys:
        metrics.append({"metric": key, **{label: values.get(key) for label, values in zip(labels, flat)}})
    recipes = [_flat_recipe(c.recipe) for c in contexts]
    differ = []
    for key in dict.fromkeys(k for r in recipes for k in r):
        values = [r.get(key, "(absent)") for r in recipes]
        if any(v != values[0] for v in values[1:]):
            differ.append({"key": key, **{label: v for label, v in zip(labels, values)}})
    return {
        "runs": labels,
        "status": {label: c.status.get("status") for label, c in zip(labels, contexts)},
        "metrics": metrics,
        "recipe_diff": differ,
        "histories": {label: c.history for label, c in zip(labels, contexts)},
    }


def curves_figure(histories: dict[str, list[dict]]):
    """Learning curves of every run overlaid: one panel per metric, solid train, dashed validation."""
    from seqkit.export.plots import pyplot

    names = []
    for history in histories.values():
        for row in history[:1]:
            names.extend(
                k for k in row if k not in names and k not in ("epoch", "learning_rate") and not k.startswith("val_")
            )
    if not names:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.6), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, name in zip(axes[0], names):
        for k, (label, history) in enumerate(histories.items()):
            colour = colours[k % len(colours)]
            epochs = [row.get("epoch") for row in history]
            if any(name in row for row in history):
                ax.plot(epochs, [row.get(name) for row in history], color=colour, label=f"{label} train")
            if any(f"val_{name}" in row for row in history):
                ax.plot(
                    epochs, [row.get(f"val_{name}") for row in history], "--", color=colour, label=f"{label} validation"
                )
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def _cell(value: Any) -> str:
    return fmt(value)


def comparison_text(result: dict) -> str:
    labels = result["runs"]
    short = {label: f"[{k + 1}]" for k, label in enumerate(labels)}
    lines = [f"{short[label]} {label} ({result['status'][label]})" for label in labels]
    rows = [{"metric": r["metric"], **{short[lab]: _cell(r.get(lab)) for lab in labels}} for r in result["metrics"]]
    lines += ["", "metrics:", text_table(rows, ["metric", *short.values()])]
    if result["recipe_diff"]:
        diff = [{"key": r["key"], **{short[lab]: _cell(r.get(lab)) for lab in labels}} for r in result["recipe_diff"]]
        lines += ["", "recipe differences:", text_table(diff, ["key", *short.values()])]
    else:
        lines += ["", "recipe differences: none"]
    return "\n".join(lines)


def comparison_html(result: dict) -> str:
    body = [
        f"<section><h2>Runs</h2>{table([{'run': r, 'status': result['status'][r]} for r in result['runs']])}</section>"
    ]
    body.append(f"<section><h2>Metrics</h2>{table(result['metrics'], ['metric', *result['runs']])}</section>")
    diff = table(result["recipe_diff"], ["key", *result["runs"]]) if result["recipe_diff"] else "<p>none</p>"
    body.append(f"<section><h2>Recipe differences (dotted keys)</h2>{diff}</section>")
    fig = curves_figure(result["histories"])
    if fig is not None:
        body.append(f"<section><h2>Learning curves</h2>{figure(fig, 'learning curves overlaid')}</section>")
    title = "seqkit compare: " + ", ".join(result["runs"])
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{CSS}</style></head><body><header><h1>{html.escape(title)}</h1></header>"
        f"<main>{''.join(body)}</main></body></html>\n"
    )
