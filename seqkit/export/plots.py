"""Plots written into a run's ``plots/`` folder (PNG, matplotlib's Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".partial.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    tmp.replace(path)
    return path


def _spans_decades(values) -> bool:
    finite = [v for v in values if isinstance(v, (int, float)) and np.isfinite(v) and v > 0]
    return len(finite) >= 2 and max(finite) / min(finite) >= 30


def _axis_label(name: str) -> str:
    """A metric's name with its unit: shares are 0-1, losses are the head's loss per example."""
    if name == "loss":
        return "loss (mean per example)"
    if any(word in name for word in ("accuracy", "f1", "precision", "recall", "auc", "coverage")):
        return f"{name} (share, 0-1)"
    return name


def plot_learning_curves(
    history: list[dict], path: Path, best_epoch: int | None = None, monitor: str | None = None
) -> Path | None:
    """One panel per metric: training and validation values by epoch (integer ticks), the
    best epoch (the one whose weights were restored) marked, losses on a log axis when they
    span more than a decade and a half."""
    if not history:
        return None
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    names = [k for k in history[0] if k not in ("epoch", "learning_rate") and not k.startswith("val_")]
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.4), squeeze=False)
    epochs = [row["epoch"] for row in history]
    for ax, name in zip(axes[0], names):
        train = [row.get(name) for row in history]
        validation = [row.get(f"val_{name}") for row in history]
        ax.plot(epochs, train, marker="o", label="train")
        if any(v is not None for v in validation):
            ax.plot(epochs, validation, marker="o", label="validation")
        if best_epoch:
            ax.axvline(best_epoch, color="0.4", linestyle=":", linewidth=1.2, label=f"best epoch ({best_epoch})")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(_axis_label(name))
        if "loss" in name and _spans_decades(train + validation):
            ax.set_yscale("log")
            ax.set_ylabel(_axis_label(name) + ", log scale")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if monitor and best_epoch:
        fig.suptitle(f"best epoch {best_epoch} by {monitor}", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


def plot_confusion_matrix(matrix: np.ndarray, labels: list[str], path: Path, title: str = "confusion matrix") -> Path:
    """Two panels: counts, and each row normalised to 1 (the recall of each true class), both
    with the class names on the axes."""
    plt = pyplot()
    matrix = np.asarray(matrix)
    labels = [str(label) for label in labels]
    n = len(labels)
    size = max(3.5, 0.55 * n + 2)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size))
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, np.maximum(rows, 1))
    small = n > 12
    for ax, values, what in ((axes[0], matrix, "counts"), (axes[1], normalised, "normalised by true class")):
        shade = normalised  # both panels shaded by recall, so a large class does not wash out the rest
        image = ax.imshow(shade, cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(n), labels, rotation=45, ha="right", fontsize=7 if small else 9)
        ax.set_yticks(range(n), labels, fontsize=7 if small else 9)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        for i in range(n):
            for j in range(n):
                text = str(int(values[i, j])) if what == "counts" else f"{values[i, j]:.2f}"
                if what != "counts" and values[i, j] == 0:
                    text = "0"
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=6 if small else 8,
                    color="white" if normalised[i, j] > 0.5 else "black",
                )
        ax.set_title(what)
    fig.colorbar(image, ax=axes[1], fraction=0.046, pad=0.04, label="share of the true class")
    fig.suptitle(f"{title} (n={int(matrix.sum())})")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path
