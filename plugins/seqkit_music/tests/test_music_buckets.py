"""Length bucketing of music runs: pieces of similar lengths batched together, each batch cut to
its longest piece; the causal backbone's outputs at a piece's real steps ignore what follows."""

from __future__ import annotations

import json

import numpy as np

import seqkit
from seqkit_music.layers import FrameNLL


def test_piano_roll_batches_are_cut_and_the_cut_changes_no_real_step(tmp_path):
    rng = np.random.default_rng(0)
    chords = [[48, 64, 67, 72], [50, 65, 69, 74], [52, 67, 71, 76], [43, 62, 67, 71]]
    data = {
        split: [[chords[int(rng.integers(0, 4))] for _ in range(int(n))] for n in rng.integers(3, 24, size=count)]
        for split, count in (("train", 16), ("valid", 3), ("test", 3))
    }
    (tmp_path / "jsb.json").write_text(json.dumps(data))
    recipe = {
        "name": "tiny-roll",
        "task": "piano_roll",
        "seed": 3,
        "data": {"adapter": "jsb_chorales", "path": str(tmp_path / "jsb.json")},
        "model": {"backbone": {"units": 8}},
        "train": {"epochs": 1, "batch_size": 4, "verbose": 0},
        "output": {"dir": str(tmp_path / "runs"), "tensorboard": False},
    }
    run = seqkit.run(recipe, quiet=True)
    buckets = json.loads((run.path / "data_info.json").read_text())["length_buckets"]
    assert buckets["padding_bucketed"] < buckets["padding_fixed"]

    # Two pieces padded to 30 frames and the same cut to the longer one's 12: equal outputs
    # at every real step, and the same loss (padded target frames, -1, are never counted).
    x = np.zeros((2, 30, 88), "float32")
    y = np.full((2, 30, 88), -1.0, "float32")
    for row, length in enumerate((12, 7)):
        frames = (rng.random((length, 88)) < 0.05).astype("float32")
        x[row, 1:length] = frames[:-1]
        y[row, :length] = frames
    full, cut = run.model.predict(x, verbose=0), run.model.predict(x[:, :12], verbose=0)
    np.testing.assert_allclose(full[0, :12], cut[0], atol=1e-6)
    np.testing.assert_allclose(full[1, :7], cut[1, :7], atol=1e-6)
    loss = FrameNLL()
    np.testing.assert_allclose(float(loss(y, full)), float(loss(y[:, :12], cut)), rtol=1e-5)
