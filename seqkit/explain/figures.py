"""Figures of explanations: tokens coloured by attribution (HTML and PNG), attributions over
steps and features, and heatmaps of the gates and cell state of the units that change most.

:func:`write_figures` writes them for a list of :class:`seqkit.explain.Explanation`;
:func:`html_fragment` returns one self-contained HTML ``<section>`` (PNGs inlined) that a run
report can include.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from seqkit.explain.gates import QUANTITIES

#: Quantities drawn in the gate heatmaps (rows of the figure).
GATE_ROWS = ("input_gate", "forget_gate", "output_gate", "cell_state")
_COLORMAP = "RdBu_r"  # red: towards the target, blue: against it


def _scale(values: np.ndarray) -> float:
    top = float(np.nanmax(np.abs(values))) if np.size(values) else 0.0
    return top if top > 0 else 1.0


def _rgba(value: float, scale: float):
    from seqkit.export.plots import pyplot

    plt = pyplot()
    return plt.get_cmap(_COLORMAP)(0.5 + 0.5 * max(-1.0, min(1.0, value / scale)))


def _hex(rgba) -> str:
    return "#" + "".join(f"{int(round(255 * c)):02x}" for c in rgba[:3])


def _caption(explanation) -> str:
    c = explanation.completeness
    return (
        f"explained: {explanation.target} = {c.output:.4f} (baseline {c.baseline_output:.4f}); "
        f"attributions sum to {float(np.sum(c.values)):.4f}, completeness error {100 * c.relative_error:.3f} % "
        f"({c.points} points)"
    )


def token_html(explanation) -> str:
    """The input's steps as coloured spans (an HTML ``<div>``; hover shows each value)."""
    values = explanation.per_step
    scale = _scale(values)
    spans = []
    for index, (step, value) in enumerate(zip(explanation.steps, values)):
        colour = _rgba(float(value), scale)
        light = abs(value) / scale < 0.6
        outline = "outline:2px solid #222;" if index in explanation.highlight else ""
        spans.append(
            f'<span title="{float(value):+.4f}" style="background:{_hex(colour)};color:{"#111" if light else "#fff"};'
            f'padding:2px 4px;margin:1px;border-radius:3px;{outline}">{html.escape(str(step))}</span>'
        )
    prediction = ", ".join(f"{k}={v}" for k, v in explanation.prediction.items() if not str(k).startswith("p_"))
    return (
        '<div class="seqkit-explain-tokens" style="font-family:sans-serif;line-height:2.1;margin:0.6em 0">'
        f'<div style="font-size:90%;color:#444">{html.escape(str(explanation.input))} &rarr; {html.escape(prediction)}</div>'
        f"<div>{' '.join(spans)}</div>"
        f'<div style="font-size:80%;color:#666">{html.escape(_caption(explanation))}; red: towards '
        f"{html.escape(explanation.target)}, blue: against it</div></div>"
    )


def token_figure(explanation):
    """The tokens coloured by attribution, wrapped in lines, as a matplotlib figure."""
    from seqkit.export.plots import pyplot

    plt = pyplot()
    values = explanation.per_step
    scale = _scale(values)
    width = 9.0
    fig = plt.figure(figsize=(width, 1.0))
    renderer = fig.canvas.get_renderer()
    x, line, placed = 0.02, 0, []
    for index, (step, value) in enumerate(zip(explanation.steps, values)):
        text = fig.text(0, 0, str(step), fontsize=13, family="sans-serif")
        extent = text.get_window_extent(renderer=renderer)
        w = extent.width / (fig.dpi * width) + 0.012
        if x + w > 0.98 and x > 0.02:
            x, line = 0.02, line + 1
        placed.append((text, x, line, value, index))
        x += w + 0.006
    lines = line + 1
    height = 0.9 + 0.42 * lines
    fig.set_size_inches(width, height)
    for text, tx, tl, value, index in placed:
        colour = _rgba(float(value), scale)
        light = abs(value) / scale < 0.6
        text.set_position((tx, 1 - (0.55 + 0.42 * tl) / height))
        text.set_color("#111" if light else "#fff")
        text.set_bbox(
            {
                "facecolor": colour,
                "edgecolor": "#222" if index in explanation.highlight else colour,
                "linewidth": 2 if index in explanation.highlight else 0,
                "boxstyle": "round,pad=0.25",
            }
        )
    fig.text(0.02, 1 - 0.22 / height, f"{explanation.target}: attributions per token", fontsize=11, weight="bold")
    fig.text(0.02, 0.12 / height, _caption(explanation), fontsize=8, color="#555")
    return fig


def series_figure(explanation):
    """Attributions over steps (top) and over steps x features (a heatmap), for numeric inputs."""
    from seqkit.export.plots import pyplot

    plt = pyplot()
    values = np.asarray(explanation.attributions.values)
    features = explanation.attributions.coords["feature"]
    steps = explanation.steps
    fig, (top, heat) = plt.subplots(
        2,
        1,
        figsize=(max(6.0, min(14.0, 0.18 * len(steps) + 3)), 2.2 + 0.28 * len(features) + 1.2),
        sharex=True,
        gridspec_kw={"height_ratios": [1, max(1.0, 0.25 * len(features))]},
    )
    per_step = values.sum(axis=1)
    top.bar(range(len(steps)), per_step, color=[_rgba(v, _scale(per_step)) for v in per_step])
    top.axhline(0, color="#888", linewidth=0.6)
    top.set_ylabel("per step")
    top.set_title(f"{explanation.target}: attributions over time and features", fontsize=10)
    scale = _scale(values)
    image = heat.imshow(values.T, aspect="auto", cmap=_COLORMAP, vmin=-scale, vmax=scale, interpolation="nearest")
    heat.set_yticks(range(len(features)))
    heat.set_yticklabels(features, fontsize=7)
    stride = max(1, len(steps) // 24)
    heat.set_xticks(range(0, len(steps), stride))
    heat.set_xticklabels([steps[i] for i in range(0, len(steps), stride)], rotation=60, fontsize=7)
    heat.set_xlabel("step")
    fig.colorbar(image, ax=heat, fraction=0.025, pad=0.01)
    fig.text(0.01, 0.005, _caption(explanation), fontsize=7, color="#555")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def gates_figure(explanation, units: int = 8):
    """Input, forget and output gates and the cell state of the units whose cell state changes
    most, over the steps: one column per backbone layer and direction."""
    from seqkit.export.plots import pyplot

    plt = pyplot()
    traces = explanation.gates
    steps = explanation.steps
    columns = len(traces)
    fig, axes = plt.subplots(
        len(GATE_ROWS),
        columns,
        figsize=(max(4.0, 0.42 * len(steps) + 1.8) * columns, 1.1 + 0.75 * len(GATE_ROWS) * max(1, min(units, 8)) / 4),
        squeeze=False,
    )
    for col, trace in enumerate(traces):
        chosen = trace.top_units[:units]
        for row, name in enumerate(GATE_ROWS):
            ax = axes[row][col]
            data = trace.quantity(name)[:, chosen].T
            if name == "cell_state":
                limit = _scale(data)
                image = ax.imshow(data, aspect="auto", cmap="PuOr_r", vmin=-limit, vmax=limit, interpolation="nearest")
            else:
                image = ax.imshow(data, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
            ax.set_yticks(range(len(chosen)))
            ax.set_yticklabels([f"u{u}" for u in chosen], fontsize=6)
            ax.set_xticks(range(len(steps)))
            ax.set_xticklabels(steps if row == len(GATE_ROWS) - 1 else [], rotation=60, fontsize=7, ha="right")
            label = name.replace("_", " ")
            ax.set_title(f"layer {trace.layer} {trace.direction}: {label}" if row == 0 else label, fontsize=8)
            fig.colorbar(image, ax=ax, fraction=0.04, pad=0.01)
    fig.suptitle(
        f"{str(explanation.input)[:80]} — gates and cell state of the {min(units, len(traces[0].top_units))} units "
        "whose cell state changes most",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def _png_bytes(fig) -> bytes:
    from seqkit.export.plots import pyplot

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return buffer.getvalue()


def figures_of(explanation, units: int = 8) -> dict[str, bytes | str]:
    """The figures of one explanation: ``{file suffix: content}`` (PNG bytes, HTML text)."""
    out: dict[str, bytes | str] = {}
    if explanation.space == "embedding":
        out["tokens.html"] = token_html(explanation)
        out["tokens.png"] = _png_bytes(token_figure(explanation))
    else:
        out["attributions.png"] = _png_bytes(series_figure(explanation))
    if explanation.gates and explanation.steps:
        out["gates.png"] = _png_bytes(gates_figure(explanation, units))
    return out


def _page(body: str, title: str) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f'<body style="font-family:sans-serif;max-width:1100px;margin:1em auto">{body}</body></html>\n'
    )


def write_figures(explanations, folder: Path, units: int = 8) -> list[Path]:
    """Write each explanation's figures into ``folder`` (``input_1_tokens.html``,
    ``input_1_tokens.png``, ``input_1_gates.png`` ... and ``explanations.html`` with all of them);
    each file is written to a temporary name and renamed. Returns the files."""
    from seqkit.train.rundir import atomic_write_bytes, atomic_write_text

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    rendered = [figures_of(explanation, units) for explanation in explanations]
    for number, figures in enumerate(rendered, start=1):
        for suffix, content in figures.items():
            path = folder / f"input_{number}_{suffix}"
            if isinstance(content, str):
                atomic_write_text(path, _page(content, f"seqkit explain: input {number}"))
            else:
                atomic_write_bytes(path, content)
            written.append(path)
    page = folder / "explanations.html"
    atomic_write_text(page, _page(_fragment(rendered), "seqkit explain"))
    written.append(page)
    return written


def html_fragment(explanations, units: int = 8) -> str:
    """One HTML ``<section>`` with every explanation's figures, PNGs inlined as data URIs (for a
    run report, or a page of its own)."""
    return _fragment([figures_of(explanation, units) for explanation in explanations])


def _fragment(rendered: list[dict], section: bool = True) -> str:
    parts = ['<section class="seqkit-explain"><h2>What the model looked at</h2>'] if section else ["<div>"]
    for number, figures in enumerate(rendered, start=1):
        parts.append(f"<h3>Input {number}</h3>")
        for suffix, content in figures.items():
            if isinstance(content, str):
                parts.append(content)
            else:
                encoded = base64.b64encode(content).decode("ascii")
                parts.append(f'<img alt="{suffix}" style="max-width:100%" src="data:image/png;base64,{encoded}">')
    parts.append("</section>" if section else "</div>")
    return "\n".join(parts)


REPORT_SECTION_FILE = "report_section.html"  # in a run's explain/ folder: what report.html shows


def write_report_section(explanations, run_dir, units: int = 8) -> Path:
    """Keep ``explanations`` as the run report's section (``RUN_DIR/explain/report_section.html``,
    figures inlined) and rebuild ``report.html`` when the run has one; returns the section file."""
    from seqkit.train.rundir import atomic_write_text

    target = Path(run_dir) / "explain" / REPORT_SECTION_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, _fragment([figures_of(e, units) for e in explanations], section=False))
    if (Path(run_dir) / "report.html").is_file():
        from seqkit.export.report import build_report
        from seqkit.plugins import get_plugin_manager

        build_report(run_dir, get_plugin_manager())
    return target


__all__ = [
    "GATE_ROWS",
    "QUANTITIES",
    "figures_of",
    "gates_figure",
    "html_fragment",
    "series_figure",
    "token_figure",
    "token_html",
    "write_figures",
    "write_report_section",
]
