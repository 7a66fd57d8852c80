"""``report.html``: one self-contained page a person reads to see what a run did.

The page is built from the run directory's files alone (``recipe.yaml``, ``status.json``,
``metrics.json``, ``history.csv``, ``data_summary.json``, ``environment.json``,
``predictions.csv``, ``plots/*.png``), so ``seqkit report RUN_DIR`` rebuilds it any time.
Images are inlined as base64 PNG and the CSS is inline: the file opens offline, mailed or
archived on its own.

The page is a list of :class:`ReportSection` objects sorted by ``order``. They come from
*section providers*: seqkit's own (summary, learning curves, data, recipe, environment), the
run's task (:meth:`seqkit.plugin_api.Task.report_sections`, the one plugin hook) and any
provider added with :func:`register_section_provider` (e.g. a later ``seqkit explain``).

A run that is not ``completed`` gets a banner at the top and ``[FAILED]`` (``[INTERRUPTED]``,
``[RUNNING]``) in its title: a partial report never looks like a finished one.
"""

from __future__ import annotations

import base64
import csv
import functools
import html
import io
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPORT_FILE = "report.html"
CSV_LIMIT = 64 << 20  # predictions.csv read for the sample (bytes)

# Where seqkit's own sections sit; a plugin's default to 50 (after the summary and curves).
ORDER_SUMMARY, ORDER_CURVES, ORDER_TASK, ORDER_FIGURES, ORDER_DATA, ORDER_RECIPE, ORDER_ENVIRONMENT = (
    10,
    20,
    50,
    70,
    80,
    90,
    95,
)


@dataclass
class ReportSection:
    """One section of ``report.html``: a heading and its HTML body.

    Build ``html`` with the :class:`ReportContext` helpers (``table``, ``image``, ``text``),
    which escape what they are given; anything else put in ``html`` must be escaped by you.
    ``order`` places the section (seqkit's: summary 10, learning curves 20, the task's 50,
    other figures 70, data 80, recipe 90, environment 95)."""

    title: str
    html: str
    order: int = ORDER_TASK
    anchor: str = ""

    def __post_init__(self) -> None:
        if not self.anchor:
            self.anchor = "".join(c if c.isalnum() else "-" for c in self.title.lower()).strip("-") or "section"


# -- HTML pieces ------------------------------------------------------------------------------


def fmt(value: Any) -> str:
    """A value as a table cell shows it: floats to 4 significant digits, the rest as text."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.3e}"
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value)
    if value is None:
        return "–"
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, caption: str = "") -> str:
    """An HTML table of ``rows`` (dicts); ``columns`` picks and orders them (default: the keys
    of all rows in first-seen order). Numbers are right-aligned, everything is escaped."""
    if not rows:
        return '<p class="muted">(none)</p>'
    if columns is None:
        columns = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
    out = ["<table>"]
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in columns) + "</tr></thead><tbody>")
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c)
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            cells.append(f'<td class="{"num" if numeric else "txt"}">{html.escape(fmt(value))}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def image(source: Path | bytes, alt: str = "") -> str:
    """An ``<img>`` with the PNG inlined (a file path or PNG bytes)."""
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else source
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def figure(fig, alt: str = "") -> str:
    """A matplotlib figure inlined as PNG (and closed)."""
    from seqkit.export.plots import pyplot

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    pyplot().close(fig)
    return image(buffer.getvalue(), alt)


def text(value: str) -> str:
    """A paragraph of plain text (escaped)."""
    return f"<p>{html.escape(value)}</p>"


def preformatted(value: str) -> str:
    return f"<pre>{html.escape(value)}</pre>"


def details(summary: str, body: str) -> str:
    """A collapsed block (``<details>``) that opens on a click."""
    return f"<details><summary>{html.escape(summary)}</summary>{body}</details>"


def flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Scalars of a nested metrics dict under dotted keys (lists and matrices left out)."""
    found: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            found.update(flatten(value, name + "."))
        elif isinstance(value, (int, float, str, bool)) or value is None:
            found[name] = value
    return found


# -- the run as the report sees it ------------------------------------------------------------


@dataclass
class ReportContext:
    """A run directory read for its report; what a task's ``report_sections`` receives.

    Attributes: ``path`` (the run directory), ``status`` (``status.json``), ``recipe`` (the
    resolved recipe as a dict), ``metrics`` (``metrics.json``, empty for a run that did not
    complete), ``info`` (``data_info.json``), ``history`` (``history.csv`` rows),
    ``data_summary``, ``environment``, and ``plots`` (file name -> path of ``plots/*.png``).
    Mark a figure you show with :meth:`claim` so the "Other figures" section leaves it out.
    """

    path: Path
    status: dict = field(default_factory=dict)
    recipe: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    data_summary: dict = field(default_factory=dict)
    environment: dict = field(default_factory=dict)
    plots: dict[str, Path] = field(default_factory=dict)
    claimed: set[str] = field(default_factory=set)

    # helpers a task's sections use (the module functions, reachable from the context)
    table = staticmethod(table)
    image = staticmethod(image)
    figure = staticmethod(figure)
    text = staticmethod(text)
    details = staticmethod(details)
    flatten = staticmethod(flatten)

    @classmethod
    def load(cls, path: Path) -> ReportContext:
        import yaml

        path = Path(path)

        def read_json(name: str) -> dict:
            file = path / name
            try:
                value = json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}
            except (OSError, ValueError):
                return {}
            return value if isinstance(value, dict) else {}

        recipe: dict = {}
        try:
            loaded = yaml.safe_load((path / "recipe.yaml").read_text(encoding="utf-8"))
            recipe = loaded if isinstance(loaded, dict) else {}
        except (OSError, yaml.YAMLError):
            pass
        history: list[dict] = []
        try:
            with open(path / "history.csv", newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    history.append({k: _number(v) for k, v in row.items()})
        except OSError:
            pass
        plots = {p.name: p for p in sorted((path / "plots").glob("*.png")) if ".partial" not in p.name}
        return cls(
            path=path,
            status=read_json("status.json"),
            recipe=recipe,
            metrics=read_json("metrics.json"),
            info=read_json("data_info.json"),
            history=history,
            data_summary=read_json("data_summary.json"),
            environment=read_json("environment.json"),
            plots=plots,
        )

    @property
    def completed(self) -> bool:
        return self.status.get("status") == "completed" and bool(self.metrics)

    @property
    def test_metrics(self) -> dict:
        value = self.metrics.get("test")
        return value if isinstance(value, dict) else {}

    def claim(self, name: str) -> Path | None:
        """The path of ``plots/<name>`` (None if the run has none), marked as shown."""
        found = self.plots.get(name)
        if found is not None:
            self.claimed.add(name)
        return found

    def plot_html(self, name: str, alt: str = "") -> str:
        """``plots/<name>`` inlined and claimed, or "" when the run has no such figure."""
        found = self.claim(name)
        return image(found, alt or name) if found is not None else ""

    def predictions(self) -> list[dict[str, Any]]:
        """``predictions.csv`` rows (numbers parsed); empty when the run wrote none."""
        return self._rows

    @functools.cached_property
    def _rows(self) -> list[dict[str, Any]]:
        file = self.path / "predictions.csv"
        try:
            if file.is_file() and file.stat().st_size <= CSV_LIMIT:
                with open(file, newline="", encoding="utf-8") as handle:
                    return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(handle)]
        except (OSError, csv.Error, UnicodeDecodeError):
            pass
        return []

    def predictions_sample(self, title: str = "Predictions", worst: Callable[[dict], float] | None = None, n: int = 12):
        """A section with the first ``n`` rows of predictions.csv and, given ``worst`` (a row ->
        error size, None for a row that is right), the ``n`` rows with the largest errors."""
        rows = self.predictions()
        if not rows:
            return None
        body = []
        if worst is not None:
            scored = []
            for row in rows:
                try:
                    error = worst(row)
                except (KeyError, TypeError, ValueError):
                    error = None
                if error is not None:
                    scored.append((error, row))
            scored.sort(key=lambda pair: -pair[0])
            body.append(
                f"<h3>Worst errors ({len(scored)} of {len(rows)} test rows wrong)</h3>"
                + table([_short_row(r) for _, r in scored[:n]])
            )
        body.append(
            f"<h3>First {min(n, len(rows))} of {len(rows)} test rows</h3>" + table([_short_row(r) for r in rows[:n]])
        )
        return ReportSection(title, "".join(body), order=ORDER_TASK + 5)

    def metrics_section(self, title: str = "Test metrics", keys: Iterable[str] | None = None) -> ReportSection | None:
        """The scalar test metrics (and validation beside them) as one table."""
        test = flatten(self.test_metrics)
        if not test:
            return None
        validation = flatten(self.metrics.get("validation") or {})
        names = list(keys) if keys is not None else list(test)
        rows = [{"metric": k, "test": test.get(k), "validation": validation.get(k)} for k in names if k in test]
        columns = ["metric", "test", "validation"] if validation else ["metric", "test"]
        return ReportSection(title, table(rows, columns), order=ORDER_TASK)


def _number(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def _short_row(row: dict) -> dict:
    return {k: (v[:120] + "…" if isinstance(v, str) and len(v) > 120 else v) for k, v in row.items()}


# -- seqkit's own sections --------------------------------------------------------------------

SectionProvider = Callable[[ReportContext, Any], list[ReportSection]]
_providers: list[tuple[str, SectionProvider]] = []


def register_section_provider(name: str, provider: SectionProvider) -> None:
    """Add sections to every report: ``provider(context, task)`` returns a list of
    :class:`ReportSection` (``task`` is the run's task object, or None when its plugin is not
    installed). A provider registered again under the same name replaces the first."""
    global _providers
    _providers = [(n, p) for n, p in _providers if n != name] + [(name, provider)]


def section_providers() -> list[tuple[str, SectionProvider]]:
    return list(_providers)


def _summary(ctx: ReportContext, task) -> list[ReportSection]:
    rows = []
    status = ctx.status
    rows.append({"item": "status", "value": status.get("status", "unknown")})
    for key in ("started", "updated", "resumed"):
        if status.get(key):
            rows.append({"item": key, "value": status[key]})
    if status.get("error"):
        rows.append({"item": "error", "value": status["error"]})
    m = ctx.metrics
    for key in ("task", "epochs_trained", "best_epoch", "monitor", "train_seconds"):
        if key in m:
            rows.append({"item": key.replace("_", " "), "value": m[key]})
    headline = ""
    if task is not None and ctx.test_metrics:
        try:
            headline = task.summary(ctx.test_metrics)
        except (KeyError, TypeError, ValueError):
            headline = ""
    body = (f'<p class="headline">test: {html.escape(headline)}</p>' if headline else "") + table(
        rows, ["item", "value"]
    )
    return [ReportSection("Summary", body, order=ORDER_SUMMARY)]


def _curves(ctx: ReportContext, task) -> list[ReportSection]:
    picture = ctx.plot_html("learning_curves.png", "learning curves")
    if not picture and not ctx.history:
        return []
    body = picture
    best = ctx.metrics.get("best_epoch")
    if best:
        body += text(
            f"Best epoch (weights restored where early stopping asks): {best}, monitored {ctx.metrics.get('monitor')}."
        )
    if ctx.history:
        body += details(f"history.csv ({len(ctx.history)} epochs)", table(ctx.history))
    return [ReportSection("Learning curves", body, order=ORDER_CURVES)]


def _figures(ctx: ReportContext, task) -> list[ReportSection]:
    left = [name for name in ctx.plots if name not in ctx.claimed]
    if not left:
        return []
    body = "".join(f"<figure>{image(ctx.plots[n], n)}<figcaption>{html.escape(n)}</figcaption></figure>" for n in left)
    return [ReportSection("Other figures", body, order=ORDER_FIGURES)]


def _length_histogram(lengths: dict) -> str:
    from seqkit.export.plots import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 2.8))
    unit = "tokens"
    for name, stats in lengths.items():
        hist = stats.get("histogram") or {}
        counts, edges = hist.get("counts"), hist.get("edges")
        if not counts or not edges or len(edges) != len(counts) + 1:
            continue
        unit = stats.get("unit", unit)
        ax.stairs(
            counts,
            edges,
            label=f"{name} (n={stats.get('counted')})",
            fill=name == "train",
            alpha=0.5 if name == "train" else 1,
        )
    ax.set_xlabel(f"input length ({unit})")
    ax.set_ylabel("inputs")
    ax.set_title("sequence length")
    ax.grid(alpha=0.3)
    ax.legend()
    return figure(fig, "sequence-length histogram")


def _data(ctx: ReportContext, task) -> list[ReportSection]:
    summary = ctx.data_summary
    body = []
    data = ctx.recipe.get("data") if isinstance(ctx.recipe.get("data"), dict) else {}
    if data:
        body.append(text("adapter: " + str(data.get("adapter", "?"))))
    sizes = summary.get("sizes") or (ctx.info.get("sizes") if isinstance(ctx.info.get("sizes"), dict) else {})
    if sizes:
        total = sum(v for v in sizes.values() if isinstance(v, int)) or 1
        body.append(
            "<h3>Splits</h3>"
            + table(
                [{"split": k, "examples": v, "share": v / total} for k, v in sizes.items()],
                ["split", "examples", "share"],
            )
        )
    counts = summary.get("class_counts") or {}
    if counts:
        classes = list(next(iter(counts.values())))
        rows = []
        for cls in classes:
            row: dict[str, Any] = {"class": cls}
            for split, values in counts.items():
                n = values.get(cls, 0)
                row[split] = n
                row[f"{split} %"] = 100.0 * n / max(sum(values.values()), 1)
            rows.append(row)
        body.append("<h3>Class balance</h3>" + table(rows))
    lengths = summary.get("lengths") or {}
    if lengths:
        stats = [
            {"split": k, **{s: v.get(s) for s in ("unit", "min", "median", "mean", "p95", "max")}}
            for k, v in lengths.items()
        ]
        body.append("<h3>Input lengths</h3>" + table(stats))
        try:
            body.append(_length_histogram(lengths))
        except Exception as exc:  # a figure that cannot be drawn must not cost the report
            body.append(text(f"(histogram not drawn: {exc})"))
    vocabulary = dict(summary.get("vocabulary") or {})
    for key, value in ctx.info.items():
        if "vocab" in key.lower() and isinstance(value, (int, float)):
            vocabulary[key] = value
        elif "vocab" in key.lower() and isinstance(value, list):
            vocabulary[f"{key} (entries)"] = len(value)
    if vocabulary:
        rows = [{"item": k.replace("_", " "), "value": v} for k, v in vocabulary.items()]
        body.append("<h3>Vocabulary</h3>" + table(rows, ["item", "value"]))
        if any("coverage" in k for k in vocabulary):
            body.append(
                text(
                    "Coverage: the share of validation / test tokens (and distinct words) seen in training, case-folded."
                )
            )
    scalars = {k: v for k, v in ctx.info.items() if isinstance(v, (int, float, str, bool)) and k != "sizes"}
    if scalars:
        body.append(
            details("data_info.json (scalar facts)", table([{"key": k, "value": v} for k, v in scalars.items()]))
        )
    if not body:
        return []
    return [ReportSection("Data", "".join(body), order=ORDER_DATA)]


def _recipe(ctx: ReportContext, task) -> list[ReportSection]:
    file = ctx.path / "recipe.yaml"
    if not file.is_file():
        return []
    return [
        ReportSection("Recipe", preformatted(file.read_text(encoding="utf-8", errors="replace")), order=ORDER_RECIPE)
    ]


def _environment(ctx: ReportContext, task) -> list[ReportSection]:
    env = ctx.environment
    if not env:
        return []
    skip = {"packages", "plugins", "data_files", "data_fingerprint", "recipe_git", "argv", "devices"}
    rows = [{"item": k, "value": v} for k, v in env.items() if k not in skip]
    if env.get("argv"):
        rows.insert(0, {"item": "command", "value": " ".join(map(str, env["argv"]))})
    if env.get("devices"):
        rows.append({"item": "devices", "value": ", ".join(env["devices"])})
    body = [table(rows, ["item", "value"])]
    git = env.get("recipe_git")
    if git:
        state = "dirty (files changed since the commit)" if git.get("dirty") else "clean"
        body.append(
            "<h3>Recipe's repository</h3>"
            + table([{"repository": git.get("repository"), "commit": git.get("commit"), "state": state}])
        )
        if git.get("changed_files"):
            body.append(preformatted("\n".join(git["changed_files"])))
    elif "recipe_git" in env:
        body.append(text("The recipe's folder is not in a git repository."))
    files = env.get("data_files") or []
    if files:
        body.append("<h3>Data files read (SHA-256)</h3>" + table(files[:50], ["path", "bytes", "sha256"]))
        if len(files) > 50:
            body.append(text(f"... and {len(files) - 50} more files (all in environment.json)."))
    fingerprint = env.get("data_fingerprint") or {}
    if fingerprint:
        body.append(
            "<h3>Data as loaded (SHA-256 of each split's inputs and targets)</h3>"
            + table([{"split": k, "sha256": v} for k, v in fingerprint.items()], ["split", "sha256"])
        )
    if env.get("plugins"):
        body.append("<h3>Plugins</h3>" + table([{"plugin": k, "version": v} for k, v in env["plugins"].items()]))
    if env.get("packages"):
        body.append(
            details(
                f"Installed packages ({len(env['packages'])})",
                table([{"package": k, "version": v} for k, v in env["packages"].items()]),
            )
        )
    return [ReportSection("Environment and data hashes", "".join(body), order=ORDER_ENVIRONMENT)]


def _task_sections(ctx: ReportContext, task) -> list[ReportSection]:
    if task is None:
        return [
            ReportSection(
                "Task",
                text(
                    f"The plugin of task {ctx.recipe.get('task')!r} is not installed here: its own sections are left out."
                ),
            )
        ]
    if not ctx.metrics:
        return []
    return [s for s in task.report_sections(ctx) if s is not None]


def _explanations(ctx: ReportContext, task) -> list[ReportSection]:
    """What ``seqkit explain`` (or ``seqkit report --explain N``) left for the report:
    attributions and gate traces of a few inputs."""
    kept = ctx.path / "explain" / "report_section.html"
    if not kept.is_file():
        return []
    return [ReportSection("What the model looked at", kept.read_text(encoding="utf-8"), ORDER_TASK + 5)]


for _name, _provider in (
    ("summary", _summary),
    ("learning_curves", _curves),
    ("task", _task_sections),
    ("explanations", _explanations),
    ("data", _data),
    ("recipe", _recipe),
    ("environment", _environment),
    ("figures", _figures),  # last: it shows what the others left unclaimed
):
    register_section_provider(_name, _provider)


# -- the page ---------------------------------------------------------------------------------

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}
header .sub{color:#b8c0cf;margin-top:4px}nav{padding:8px 32px;background:#e9ecf1;font-size:13px}
nav a{margin-right:14px;color:#2b59c3;text-decoration:none}main{padding:8px 32px 40px;max-width:1200px}
section{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:12px 20px;margin:16px 0;overflow-x:auto}
h2{font-size:18px;margin:4px 0 10px}h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}th,td{border:1px solid #dde1e8;padding:3px 8px}
th{background:#f0f2f5;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.txt{max-width:520px;overflow-wrap:anywhere}caption{text-align:left;color:#555;padding:2px 0}
img{max-width:100%;height:auto}figure{display:inline-block;margin:6px 12px 6px 0}figcaption{color:#555;font-size:12px}
pre{background:#f6f7f9;border:1px solid #dde1e8;padding:10px;overflow:auto;font-size:12px}
.banner{padding:12px 16px;border-radius:6px;margin:16px 0;font-weight:600}
.failed,.interrupted{background:#fde2e1;border:1px solid #e5534b;color:#8b1a12}
.running{background:#fff4d6;border:1px solid #d4a72c;color:#6b4c00}
.headline{font-size:16px;font-weight:600}.muted{color:#777}details{margin:6px 0}summary{cursor:pointer;color:#2b59c3}
"""


def _banner(ctx: ReportContext) -> str:
    status = ctx.status.get("status", "unknown")
    if ctx.completed:
        return ""
    if status == "completed":  # completed but metrics.json missing or unreadable
        return '<div class="banner failed">metrics.json is missing: this run directory is incomplete.</div>'
    error = ctx.status.get("error")
    what = {
        "failed": "This run FAILED",
        "interrupted": "This run was INTERRUPTED",
        "running": "This run is still RUNNING (or was killed): the report is partial",
    }.get(status, f"This run's status is {status!r}")
    detail = f": {html.escape(str(error))}" if error else ""
    return (
        f'<div class="banner {html.escape(status)}">{what}{detail}. '
        "There are no test metrics; what is shown is what it wrote before it stopped.</div>"
    )


def render(ctx: ReportContext, sections: list[ReportSection]) -> str:
    status = ctx.status.get("status", "unknown")
    name = ctx.recipe.get("name") or ctx.path.parent.name
    prefix = "" if ctx.completed else f"[{status.upper()}] "
    title = f"{prefix}{name} / {ctx.path.name}"
    sub = f"task {ctx.recipe.get('task', '?')} · status {status} · {ctx.path}"
    ordered = sorted(sections, key=lambda s: s.order)
    seen: dict[str, int] = {}
    for s in ordered:  # unique anchors
        count = seen.get(s.anchor, 0)
        seen[s.anchor] = count + 1
        if count:
            s.anchor = f"{s.anchor}-{count + 1}"
    nav = "".join(f'<a href="#{html.escape(s.anchor)}">{html.escape(s.title)}</a>' for s in ordered)
    body = "".join(
        f'<section id="{html.escape(s.anchor)}"><h2>{html.escape(s.title)}</h2>{s.html}</section>' for s in ordered
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>{html.escape(title)}</h1><div class="sub">{html.escape(sub)}</div></header>'
        f"<nav>{nav}</nav><main>{_banner(ctx)}{body}</main></body></html>\n"
    )


def find_task(ctx: ReportContext, manager=None):
    """The run's task from ``manager`` (the plugin manager; callers pass it, so this package
    never imports the plugin system); None without one or when the plugin is not installed."""
    name = ctx.recipe.get("task") or ctx.metrics.get("task")
    if not name or manager is None:
        return None
    try:
        return manager.tasks.get(name)
    except Exception:
        return None


def collect_sections(ctx: ReportContext, task) -> list[ReportSection]:
    sections: list[ReportSection] = []
    for name, provider in section_providers():
        try:
            sections.extend(provider(ctx, task) or [])
        except Exception as exc:  # one broken section must not cost the whole report
            sections.append(
                ReportSection(f"Section {name}", text(f"(not shown: {type(exc).__name__}: {exc})"), order=99)
            )
    return sections


def build_report(path, manager=None) -> Path:
    """Write ``report.html`` in the run directory ``path`` (atomically) and return its path.
    ``manager`` is the plugin manager the run's task is found in (``seqkit.plugins``; the
    callers pass it): without one the page has no task sections."""
    from seqkit.train.rundir import atomic_write_text

    ctx = ReportContext.load(Path(path))
    task = find_task(ctx, manager)
    page = render(ctx, collect_sections(ctx, task))
    target = ctx.path / REPORT_FILE
    atomic_write_text(target, page)
    return target


def report_folder(path: Path, manager=None) -> Path:
    """``report.html`` of a run directory (``status.json`` in it) or a tune folder
    (``keras_tuner/`` or ``results.json`` in it); a path that is neither is one clear error."""
    from seqkit.errors import RunError

    path = Path(path)
    if not path.is_dir():
        raise RunError(f"{path}: no such run directory")
    if (path / "keras_tuner").is_dir() or (path / "results.json").is_file():
        from seqkit.tune.report import build_tune_report

        return build_tune_report(path)
    if (path / "status.json").is_file():
        return build_report(path, manager)
    raise RunError(f"{path}: not a run directory (no status.json) nor a tune folder")
