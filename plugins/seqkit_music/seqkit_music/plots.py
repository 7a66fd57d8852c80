"""Piano-roll pictures (PNG, matplotlib's Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqkit.plugin_api import pyplot, save_figure


def _pitch_axis(ax, info: dict, rows: int):
    if info.get("encoding") == "piano_roll":
        ticks = [p for p in range(24, 109, 12) if 21 <= p <= 108]
        ax.set_yticks([p - 21 for p in ticks], [f"C{p // 12 - 1}" for p in ticks])
        ax.set_ylabel("pitch")
    else:
        ax.set_ylabel("event token")


def plot_prediction(truth: np.ndarray, probabilities: np.ndarray, path: Path, title: str, info: dict) -> Path:
    """Two panels over time: the true steps and the model's probabilities for them."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    for ax, data in zip(axes, (truth, probabilities)):
        ax.imshow(
            np.asarray(data).T, aspect="auto", origin="lower", cmap="magma", vmin=0, vmax=1, interpolation="nearest"
        )
        _pitch_axis(ax, info, data.shape[1])
    axes[0].set_title(title)
    axes[1].set_xlabel("step")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


def plot_roll(roll: np.ndarray, path: Path, title: str, primer_steps: int = 0) -> Path:
    """A generated (steps, 88) piano roll, the primer shaded."""
    plt = pyplot()
    roll = np.asarray(roll)
    sounding = np.flatnonzero(roll.any(axis=0))
    low, high = (int(sounding.min()) - 3, int(sounding.max()) + 3) if len(sounding) else (39, 60)
    fig, ax = plt.subplots(figsize=(max(6.0, min(20.0, len(roll) / 8)), 4))
    ax.imshow(
        roll.T,
        aspect="auto",
        origin="lower",
        cmap="Greys",
        vmin=0,
        vmax=1,
        interpolation="nearest",
        extent=(0, len(roll), -0.5, roll.shape[1] - 0.5),
    )
    if primer_steps:
        ax.axvspan(0, primer_steps, color="tab:blue", alpha=0.15, label="primer")
        ax.legend(loc="upper right")
    ax.set_ylim(max(low, 0) - 0.5, min(high, roll.shape[1] - 1) + 0.5)
    ticks = [p for p in range(24, 109, 12) if max(low, 0) <= p - 21 <= high]
    ax.set_yticks([p - 21 for p in ticks], [f"C{p // 12 - 1}" for p in ticks])
    ax.set_xlabel("step")
    ax.set_ylabel("pitch")
    ax.set_title(title)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path
