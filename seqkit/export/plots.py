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


def plot_learning_curves(history: list[dict], path: Path) -> Path | None:
    """One panel per metric: training and validation values by epoch."""
    if not history:
        return None
    plt = pyplot()
    names = [k for k in history[0] if k not in ("epoch", "learning_rate") and not k.startswith("val_")]
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.4), squeeze=False)
    epochs = [row["epoch"] for row in history]
    for ax, name in zip(axes[0], names):
        ax.plot(epochs, [row.get(name) for row in history], marker="o", label="train")
        if any(f"val_{name}" in row for row in history):
            ax.plot(epochs, [row.get(f"val_{name}") for row in history], marker="o", label="validation")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


def plot_confusion_matrix(matrix: np.ndarray, labels: list[str], path: Path) -> Path:
    """Counts with row-normalised colour (recall per true class)."""
    plt = pyplot()
    matrix = np.asarray(matrix)
    size = max(3.5, 0.6 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, np.maximum(rows, 1))
    ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j, i, str(matrix[i, j]), ha="center", va="center", color="white" if normalised[i, j] > 0.5 else "black"
            )
    ax.set_title(f"confusion matrix (n={int(matrix.sum())})")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path
