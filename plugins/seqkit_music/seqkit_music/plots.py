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


NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def pitch_name(pitch: int) -> str:
    """MIDI pitch -> scientific name (60 -> C4)."""
    return f"{NAMES[pitch % 12]}{pitch // 12 - 1}"


def _pitch_ticks(ax, low: int, high: int) -> None:
    ticks = [p for p in range(low, high + 1) if p % 12 in (0, 7)] or [low]
    ax.set_yticks(ticks, [pitch_name(p) for p in ticks])
    ax.set_ylabel("pitch")


def plot_melody(events: np.ndarray, probabilities: np.ndarray, path: Path, title: str, info: dict) -> Path:
    """A melody on a pitch axis: the true notes (top) and, over the same pitches, the model's
    probability of a note starting at each step with the true note starts ringed (bottom)."""
    from seqkit_music import encodings

    plt = pyplot()
    min_pitch = int(info["min_pitch"])
    events = np.asarray(events).astype(int)
    probabilities = np.asarray(probabilities, dtype="float64")
    n_pitches = probabilities.shape[1] - encodings.FIRST_PITCH_TOKEN
    steps = len(events)
    onsets = [
        (t, min_pitch + e - encodings.FIRST_PITCH_TOKEN)
        for t, e in enumerate(events)
        if e >= encodings.FIRST_PITCH_TOKEN
    ]
    notes = encodings.events_to_notes(events, 1, min_pitch)  # times in steps
    pitches = [p for _, p in onsets] or [min_pitch, min_pitch + n_pitches - 1]
    low, high = max(min_pitch, min(pitches) - 4), min(min_pitch + n_pitches - 1, max(pitches) + 4)
    fig, axes = plt.subplots(2, 1, figsize=(max(8.0, min(18.0, steps / 10)), 6.5), sharex=True, sharey=True)
    for note in notes:
        axes[0].broken_barh([(note.start, note.end - note.start)], (note.pitch - 0.4, 0.8), color="tab:blue")
    axes[0].set_title(f"{title}: true melody")
    note_on = probabilities[:, encodings.FIRST_PITCH_TOKEN :].T
    image = axes[1].imshow(
        note_on,
        aspect="auto",
        origin="lower",
        cmap="magma",
        vmin=0,
        vmax=max(0.05, float(note_on.max()) if note_on.size else 1.0),  # an unsure model still shows
        interpolation="nearest",
        extent=(-0.5, steps - 0.5, min_pitch - 0.5, min_pitch + n_pitches - 0.5),
    )
    if onsets:
        axes[1].scatter(
            [t for t, _ in onsets],
            [p for _, p in onsets],
            s=22,
            facecolors="none",
            edgecolors="cyan",
            linewidths=0.8,
            label="true note start",
        )
        axes[1].legend(loc="upper right", fontsize=8)
    axes[1].set_title("model: probability of a note starting at each pitch")
    fig.colorbar(image, ax=axes, fraction=0.025, pad=0.01, label="probability")
    for ax in axes:
        _pitch_ticks(ax, low, high)
        ax.set_ylim(low - 0.5, high + 0.5)
        ax.set_xlim(-0.5, steps - 0.5)
        ax.grid(alpha=0.2)
    spq = info.get("steps_per_quarter")
    axes[1].set_xlabel(f"step ({spq} per quarter note)" if spq else "step")
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
