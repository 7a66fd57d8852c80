"""data.augment on sensor sequences: jitter, scaling, warping, window slicing; training split only, seeded."""

from __future__ import annotations

import numpy as np
import pytest
from test_sensors import SPLIT, ts_file

from seqkit.plugin_api import DataContext
from seqkit_sensors.adapters import UeaTsAdapter
from seqkit_sensors.augment import augment_one, augment_sequences, check

ALL = {"copies": 2, "jitter": 0.1, "scaling": 0.1, "magnitude_warp": 0.2, "time_warp": 0.2, "window_slice": 0.2}


def load(tmp_path, seed=1, augment=None):
    config = {"train": "t.ts", "split": SPLIT, **({"augment": augment} if augment else {})}
    return UeaTsAdapter(config, DataContext(tmp_path, seed)).load()


def test_training_split_only_is_augmented_seeded_and_recorded(tmp_path):
    ts_file(tmp_path / "t.ts", n=24)
    plain, first, again = load(tmp_path), load(tmp_path, augment=ALL), load(tmp_path, augment=ALL)
    other = load(tmp_path, seed=1, augment={**ALL, "seed": 5})
    n = len(plain.train)
    assert len(first.train) == 3 * n
    np.testing.assert_array_equal(first.train.x[:n], plain.train.x)  # originals first, unchanged
    np.testing.assert_array_equal(first.train.y, np.tile(plain.train.y, 3))
    np.testing.assert_array_equal(first.validation.x, plain.validation.x)
    np.testing.assert_array_equal(first.test.x, plain.test.x)
    np.testing.assert_array_equal(first.train.x, again.train.x)
    assert not np.array_equal(first.train.x[n:], other.train.x[n:])
    # Each copy keeps its original's length: padding stays padding.
    np.testing.assert_array_equal((first.train.x[n:] != 0).any(-1), np.tile((plain.train.x != 0).any(-1), (2, 1)))
    record = first.info["augment"]
    assert record["original_rows"] == n and sum(record["operations"].values()) == 2 * n
    assert "(augmented)" in first.train.raw[n] and "(augmented)" not in first.train.raw[n - 1]


def test_each_operation_keeps_the_shape_and_changes_the_values():
    rng = np.random.default_rng(0)
    seq = np.sin(np.linspace(0, 6, 40))[:, None] * np.array([1.0, 2.0])
    for op in ("jitter", "scaling", "magnitude_warp", "time_warp", "window_slice"):
        out = augment_one(seq, op, {op: 0.2, "knots": 4}, rng)
        assert out.shape == seq.shape and not np.allclose(out, seq), op
    # Time warping and slicing move values in time; they do not invent new levels.
    for op in ("time_warp", "window_slice"):
        out = augment_one(seq, op, {op: 0.2}, rng)
        assert out.min() >= seq.min() - 1e-9 and out.max() <= seq.max() + 1e-9
    copies, source, _ = augment_sequences([seq, seq[:5]], {"copies": 3, "jitter": 0.1}, 0, [0, 0], [1, 1])
    assert source == [0, 1] * 3 and [len(c) for c in copies] == [40, 5] * 3


@pytest.mark.parametrize("config, problems", [({"copies": 2}, 1), ({"jitter": 0.05}, 0), ({}, 0)])
def test_augment_needs_an_operation(config, problems):
    assert len(check(config)) == problems
