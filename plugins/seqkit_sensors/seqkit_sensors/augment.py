"""Augmentation of the training sequences (``data.augment``) after Um et al. 2017 ("Data
augmentation of wearable sensor data") and Le Guennec et al. 2016 (window slicing): jitter,
scaling, magnitude warping, time warping and window slicing.

Operations work in standardised units (each feature's training mean / std), on a sequence's
real steps only. Each augmented copy of a training sequence applies one of the enabled
operations, drawn at random; the originals are kept. One NumPy generator seeded with
``augment.seed`` (default: the recipe's seed) draws everything, so runs are reproducible.
"""

from __future__ import annotations

import numpy as np

SIGMA = {"type": "number", "minimum": 0, "maximum": 10}
OPERATIONS = ("jitter", "scaling", "magnitude_warp", "time_warp", "window_slice")

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "description": "Augment the training sequences only (jitter, scaling, warping, slicing); recorded in data_info.json.",
    "properties": {
        "copies": {
            "type": "integer",
            "minimum": 1,
            "maximum": 32,
            "default": 1,
            "description": "Augmented copies added per training sequence (the originals are kept).",
        },
        "jitter": {
            **SIGMA,
            "default": 0.0,
            "description": "Gaussian noise of this standard deviation (standardised units).",
        },
        "scaling": {**SIGMA, "default": 0.0, "description": "Each feature multiplied by N(1, sigma)."},
        "magnitude_warp": {
            **SIGMA,
            "default": 0.0,
            "description": "Multiplied by a smooth random curve through `knots` values drawn from N(1, sigma).",
        },
        "time_warp": {
            **SIGMA,
            "default": 0.0,
            "description": "Time distorted by a smooth random speed curve (knot speeds N(1, sigma)), same length.",
        },
        "window_slice": {
            "type": "number",
            "minimum": 0,
            "exclusiveMaximum": 1,
            "default": 0.0,
            "description": "Share of the steps cut away: a random window of the rest is stretched to the full length.",
        },
        "knots": {
            "type": "integer",
            "minimum": 1,
            "maximum": 64,
            "default": 4,
            "description": "Knots of the warping curves.",
        },
        "seed": {"type": "integer", "description": "Seed of the augmentation (default: the recipe's seed)."},
    },
}


def check(config: dict) -> list[tuple[str, str]]:
    if config and not any(config.get(op, 0) for op in OPERATIONS):
        return [("augment", f"set a value above 0 for at least one of {', '.join(OPERATIONS)}")]
    return []


def _curve(rng, steps: int, knots: int, sigma: float, features: int) -> np.ndarray:
    """(steps, features) smooth random curve around 1 (cubic through knots + the two ends)."""
    from scipy.interpolate import CubicSpline

    at = np.linspace(0, steps - 1, knots + 2)
    values = rng.normal(1.0, sigma, size=(knots + 2, features))
    return CubicSpline(at, values, axis=0)(np.arange(steps))


def _resample(seq: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``seq`` read at fractional step ``positions`` (linear interpolation, per feature)."""
    steps = np.arange(len(seq))
    return np.stack([np.interp(positions, steps, seq[:, f]) for f in range(seq.shape[1])], axis=1)


def augment_one(seq: np.ndarray, op: str, config: dict, rng) -> np.ndarray:
    steps, features = seq.shape
    knots = int(config.get("knots", 4))
    value = float(config[op])
    if op == "jitter":
        return seq + rng.normal(0.0, value, size=seq.shape)
    if op == "scaling":
        return seq * rng.normal(1.0, value, size=(1, features))
    if steps < 2:
        return seq.copy()
    if op == "magnitude_warp":
        return seq * _curve(rng, steps, knots, value, features)
    if op == "time_warp":
        speed = np.clip(_curve(rng, steps, knots, value, 1)[:, 0], 0.05, None)
        clock = np.cumsum(speed)
        clock = (clock - clock[0]) / (clock[-1] - clock[0]) * (steps - 1)
        return _resample(seq, clock)
    if op == "window_slice":
        length = max(2, int(round(steps * (1 - value))))
        start = int(rng.integers(0, steps - length + 1))
        return _resample(seq[start : start + length], np.linspace(0, length - 1, steps))
    raise ValueError(op)


def augment_sequences(sequences: list[np.ndarray], config: dict, seed: int, mean, std) -> tuple[list, list[int], dict]:
    """(augmented copies, the index of each copy's original, record) of raw training sequences."""
    rng = np.random.default_rng(config.get("seed", seed))
    mean, std = np.asarray(mean, "float64"), np.asarray(std, "float64")
    operations = [op for op in OPERATIONS if config.get(op, 0) > 0]
    out, source, used = [], [], dict.fromkeys(operations, 0)
    for _ in range(int(config.get("copies", 1))):
        for index, seq in enumerate(sequences):
            op = operations[rng.integers(len(operations))]
            standard = (np.asarray(seq, "float64") - mean) / std
            out.append((augment_one(standard, op, config, rng) * std + mean).astype("float32"))
            source.append(index)
            used[op] += 1
    record = {
        "config": dict(config),
        "original_rows": len(sequences),
        "augmented_rows": len(out),
        "operations": used,
    }
    return out, source, record
