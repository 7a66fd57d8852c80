"""The attention plot: for a few test sources, which source frames each output symbol read."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqkit.plugin_api import pyplot, save_figure
from seqkit_seq2seq import vocab


def plot_attention(path: Path, sources, results, info: dict) -> Path:
    plt = pyplot()
    shown = [(s, r[0]) for s, r in zip(sources, results) if r and r[0].attention is not None]
    fig, axes = plt.subplots(1, max(len(shown), 1), figsize=(3.2 * max(len(shown), 1), 3.6), squeeze=False)
    for ax, (source, hyp) in zip(axes[0], shown):
        outputs = vocab.symbols_of(hyp.ids, info["target_vocab"]) + ["</s>"]
        weights = np.asarray(hyp.attention)[: len(outputs)]
        frames = weights.shape[1]
        upsample = max(frames // max(int(info["max_source_length"]), 1), 1)
        # frames of one source symbol summed; only the real symbols shown
        per_symbol = weights.reshape(len(weights), -1, upsample).sum(axis=-1)[:, : len(source)]
        ax.imshow(per_symbol, aspect="auto", cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(len(source)), list(source), fontsize=8)
        ax.set_yticks(range(len(outputs)), outputs, fontsize=7)
        ax.set_title(vocab.join_units(list(source), info["source_unit"]), fontsize=9)
    fig.suptitle("attention weights (greedy decoding)", fontsize=10)
    save_figure(fig, path)
    plt.close(fig)
    return path
