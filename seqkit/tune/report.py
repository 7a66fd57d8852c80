"""``report.html`` of a ``seqkit tune`` folder: the trials sorted by objective, the objective
against each hyperparameter, and the best trial's learning curves.

Built from the folder's files (``status.json``, ``recipe.yaml``, ``results.json``,
``trials/<id>/history.json``), with the same page as a run's report (seqkit.export.report).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from seqkit.export.report import (
    ORDER_CURVES,
    ORDER_RECIPE,
    ORDER_SUMMARY,
    ORDER_TASK,
    REPORT_FILE,
    ReportContext,
    ReportSection,
    figure,
    preformatted,
    render,
    table,
    text,
)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def sorted_trials(rows: list[dict], objective: str, direction: str) -> list[dict]:
    """Trials best first; trials without a score last."""
    scored = [r for r in rows if isinstance(r.get(objective), (int, float)) and not math.isnan(r[objective])]
    rest = [r for r in rows if r not in scored]
    scored.sort(key=lambda r: r[objective], reverse=direction == "max")
    return scored + rest


def _objective_plots(rows: list[dict], space: dict, objective: str, best_trial: str | None) -> str:
    from seqkit.export.plots import pyplot

    keys = [k for k in space if any(r.get(k) is not None for r in rows)]
    scored = [r for r in rows if isinstance(r.get(objective), (int, float))]
    if not keys or not scored:
        return ""
    plt = pyplot()
    columns = min(3, len(keys))
    lines = math.ceil(len(keys) / columns)
    fig, axes = plt.subplots(lines, columns, figsize=(4.3 * columns, 3.2 * lines), squeeze=False)
    for ax in axes.flat[len(keys) :]:
        ax.set_visible(False)
    for ax, key in zip(axes.flat, keys):
        entry = space.get(key) or {}
        values = [r.get(key) for r in scored]
        y = [r[objective] for r in scored]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if numeric:
            x = values
            if entry.get("sampling") == "log":
                ax.set_xscale("log")
        else:
            labels = list(dict.fromkeys(str(v) for v in values))
            x = [labels.index(str(v)) for v in values]
            ax.set_xticks(range(len(labels)), labels)
        ax.scatter(x, y, s=28, alpha=0.8)
        best = [i for i, r in enumerate(scored) if str(r.get("trial")) == str(best_trial)]
        if best:
            ax.scatter([x[best[0]]], [y[best[0]]], s=110, facecolors="none", edgecolors="red", label="best trial")
            ax.legend(fontsize=8)
        ax.set_xlabel(key)
        ax.set_ylabel(objective)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{objective} of each trial against each hyperparameter")
    fig.tight_layout()
    return figure(fig, "objective against each hyperparameter")


def _curves(history: dict[str, list[float]], title: str) -> str:
    from seqkit.export.plots import pyplot

    names = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    if not names:
        return ""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.3), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = list(range(1, len(history[name]) + 1))
        ax.plot(epochs, history[name], marker="o", label="train")
        if f"val_{name}" in history:
            ax.plot(epochs[: len(history[f"val_{name}"])], history[f"val_{name}"], marker="o", label="validation")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return figure(fig, title)


def build_tune_report(path) -> Path:
    """Write ``report.html`` in the tune folder ``path`` and return its path."""
    from seqkit.train.rundir import atomic_write_text

    path = Path(path)
    base = ReportContext.load(path)  # status, recipe (the search's)
    results = _read_json(path / "results.json") or {}
    tune = base.recipe.get("tune") if isinstance(base.recipe.get("tune"), dict) else {}
    space = tune.get("space") or {}
    objective = results.get("objective") or tune.get("objective", "val_loss")
    direction = results.get("direction") or "min"
    rows = results.get("trials") or []
    best = results.get("best") or {}
    base.metrics = results  # a finished search has its results; an unfinished one gets the banner
    sections = []
    summary = [
        {"item": "status", "value": base.status.get("status", "unknown")},
        {"item": "tuner", "value": tune.get("tuner", "random")},
        {"item": "objective", "value": f"{objective} ({direction})"},
        {"item": "trials", "value": len(rows)},
    ]
    if base.status.get("error"):
        summary.append({"item": "error", "value": base.status["error"]})
    if best:
        summary.append({"item": "best trial", "value": best.get("trial")})
        summary.append({"item": f"best {objective}", "value": best.get(objective)})
        summary += [{"item": f"best {k}", "value": v} for k, v in (best.get("values") or {}).items()]
    if (path / "best_recipe.yaml").is_file():
        summary.append({"item": "reproduce", "value": f"seqkit run {path / 'best_recipe.yaml'}"})
    sections.append(ReportSection("Summary", table(summary, ["item", "value"]), order=ORDER_SUMMARY))
    if rows:
        ordered = sorted_trials(rows, objective, direction)
        sections.append(ReportSection("Trials (best first)", table(ordered), order=ORDER_CURVES))
        plot = _objective_plots(rows, space, objective, best.get("trial"))
        if plot:
            sections.append(ReportSection("Objective against each hyperparameter", plot, order=ORDER_TASK))
    best_id = best.get("trial")
    history = _read_json(path / "trials" / str(best_id) / "history.json") if best_id is not None else None
    if history and history.get("executions"):
        body = "".join(
            _curves(execution, f"trial {best_id}, execution {k + 1}")
            for k, execution in enumerate(history["executions"])
        )
        sections.append(ReportSection(f"Best trial's learning curves (trial {best_id})", body, order=ORDER_TASK + 5))
    elif best_id is not None:
        sections.append(
            ReportSection(
                "Best trial's learning curves", text("No per-epoch history was kept for this trial."), order=55
            )
        )
    recipe_file = path / "recipe.yaml"
    if recipe_file.is_file():
        sections.append(
            ReportSection("Recipe of the search", preformatted(recipe_file.read_text()), order=ORDER_RECIPE)
        )
    page = render(base, sections)
    target = path / REPORT_FILE
    atomic_write_text(target, page)
    return target
