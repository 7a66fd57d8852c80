"""Decoding a trained seq2seq model: greedy (the saved model's own output), beam search with
a length penalty for the attention decoder, CTC best-path and beam decoding.

Beam search steps the decoder: the encoder runs once per source, then each step feeds one
symbol per hypothesis and carries the LSTM state, so the cost is linear in the output
length (no prefix is re-run). Sources are decoded in batches, ``beam`` rows each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seqkit.plugin_api import RunError, track
from seqkit_seq2seq import vocab

BATCH = 256  # sources per beam-search batch


@dataclass
class Hypothesis:
    """One output: ids (no ``</s>``), its log-probability, the ranking score (log-probability
    over the length penalty) and, for the attention decoder, its attention weights (steps x frames)."""

    ids: list[int]
    log_prob: float
    score: float
    attention: np.ndarray | None = field(default=None, repr=False)


def is_ctc(y_pred: np.ndarray, info: dict) -> bool:
    """The CTC head has one channel more than there are target symbols (the blank)."""
    channels = np.shape(y_pred)[-1]
    size = len(info["target_vocab"])
    if channels not in (size, size + 1):
        raise RunError(f"the model gives {channels} scores per step for the {size} target symbols of data_info.json")
    return channels == size + 1


def ctc_collapse(frame_ids: Sequence[int], blank: int) -> list[int]:
    """Best-path CTC: merge repeated frame labels, then drop blanks (and specials)."""
    out, previous = [], None
    for i in frame_ids:
        i = int(i)
        if i != previous and i != blank and i > vocab.EOS:
            out.append(i)
        previous = i
    return out


def greedy_ids(y_pred: np.ndarray, info: dict) -> list[list[int]]:
    """Model outputs (either head) -> output ids per row."""
    y_pred = np.asarray(y_pred)
    best = y_pred.argmax(axis=-1)
    if is_ctc(y_pred, info):
        return [ctc_collapse(row, len(info["target_vocab"])) for row in best]
    out = []
    for row in best:
        ids = []
        for i in row:
            if i == vocab.EOS:
                break
            ids.append(int(i))
        out.append([i for i in ids if i > vocab.EOS])
    return out


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's ((5 + length) / 6) ** alpha (Wu et al. 2016); alpha 0: none."""
    return ((5.0 + length) / 6.0) ** alpha if alpha else 1.0


# -- the model's parts -----------------------------------------------------------------------------


class Stepper:
    """The encoder and the decoder of a saved model, called one step at a time."""

    def __init__(self, model):
        from seqkit_seq2seq.layers import AttentionDecoder, CTCHead, SourceEmbedding

        layers = list(model.layers)
        self.encoder = next((layer for layer in layers if isinstance(layer, SourceEmbedding)), None)
        self.head = next((layer for layer in layers if isinstance(layer, (AttentionDecoder, CTCHead))), None)
        names = [layer.name for layer in layers]
        if self.encoder is None or self.head is None or "backbone" not in names:
            raise RunError(
                "the model is not a seq2seq model (source_embedding -> backbone -> attention_decoder or ctc)"
            )
        self.backbone = model.get_layer("backbone")
        self.ctc = isinstance(self.head, CTCHead)

    def encode(self, x: np.ndarray):
        mask = self.encoder.compute_mask(x)
        return self.backbone(self.encoder(x), mask=mask)


def beam_search(
    stepper: Stepper,
    x: np.ndarray,
    beam: int,
    n_best: int = 1,
    alpha: float = 0.0,
    max_steps: int | None = None,
    keep_attention: bool = False,
) -> list[list[Hypothesis]]:
    """The ``n_best`` best outputs of each packed input row (best first), by beam search with
    ``beam`` hypotheses. A hypothesis ends at ``</s>``; one that reaches ``max_steps`` (default:
    the decoder's trained length) ends there. As in fairseq, an ``</s>`` is accepted only from
    the top ``beam`` candidates and a source is done once ``beam`` hypotheses have ended, so
    beam 1 is exactly greedy decoding."""
    if n_best > beam:
        raise RunError(f"--n-best {n_best}: at most the beam width ({beam})")
    steps = max_steps or int(np.shape(x)[1] - stepper.head.source_length)
    results: list[list[Hypothesis]] = []
    for start in track(range(0, len(x), BATCH), f"beam search ({beam}) over {len(x)} inputs", unit="batch"):
        results += _beam_batch(
            stepper, np.asarray(x[start : start + BATCH]), beam, n_best, alpha, steps, keep_attention
        )
    return results


def _beam_batch(stepper, x, beam, n_best, alpha, steps, keep_attention):
    from keras import ops

    head = stepper.head
    b = len(x)
    memory = stepper.encode(x)
    keys, mask, state = head.prepare(memory, x)
    rows = np.repeat(np.arange(b), beam)  # row r*beam + k is hypothesis k of source r
    memory, keys, mask = (ops.take(t, rows, axis=0) for t in (memory, keys, mask))
    state = [ops.take(s, rows, axis=0) for s in state]
    scores = np.full((b, beam), -np.inf)
    scores[:, 0] = 0.0  # one live hypothesis at first
    tokens = np.full(b * beam, vocab.BOS, dtype="int32")
    history = np.zeros((b, beam, 0), dtype="int32")
    attention = np.zeros((b, beam, 0, int(mask.shape[1])), dtype="float32") if keep_attention else None
    finished: list[list[Hypothesis]] = [[] for _ in range(b)]
    done = np.zeros(b, dtype=bool)
    for t in range(steps):
        log_probs, state, weights = head.step(ops.convert_to_tensor(tokens), state, memory, keys, mask)
        log_probs = np.asarray(ops.convert_to_numpy(log_probs), dtype="float64")
        log_probs[:, [vocab.PAD, vocab.BOS]] = -np.inf
        vocab_size = log_probs.shape[1]
        candidates = (scores[:, :, None] + log_probs.reshape(b, beam, vocab_size)).reshape(b, beam * vocab_size)
        top = np.argsort(-candidates, axis=1, kind="stable")[:, : 2 * beam]
        weights = ops.convert_to_numpy(weights).reshape(b, beam, -1) if keep_attention else None
        new_scores = np.full((b, beam), -np.inf)
        parents = np.zeros((b, beam), dtype="int64")
        new_tokens = np.full((b, beam), vocab.EOS, dtype="int32")
        last = t == steps - 1
        for r in range(b):
            if done[r]:
                continue
            live = 0
            for rank, flat in enumerate(top[r]):
                score = candidates[r, flat]
                if not np.isfinite(score):
                    break
                parent, token = divmod(int(flat), vocab_size)
                if token == vocab.EOS or last:
                    if rank < beam:
                        ids = history[r, parent].tolist() + ([] if token == vocab.EOS else [token])
                        attn = None
                        if keep_attention:
                            attn = np.concatenate([attention[r, parent], weights[r, parent][None]])
                        finished[r].append(
                            Hypothesis(
                                [i for i in ids if i > vocab.EOS],
                                float(score),
                                float(score) / length_penalty(len(ids) + 1, alpha),
                                attn,
                            )
                        )
                    continue
                if live < beam:
                    new_scores[r, live], parents[r, live], new_tokens[r, live] = score, parent, token
                    live += 1
                if live == beam and rank >= beam - 1:
                    break
            if len(finished[r]) >= beam or live == 0:
                done[r] = True
        if done.all():
            break
        flat_parents = (np.arange(b)[:, None] * beam + parents).reshape(-1)
        state = [ops.take(s, flat_parents, axis=0) for s in state]
        history = np.concatenate(
            [np.take_along_axis(history, parents[:, :, None], axis=1), new_tokens[:, :, None]], axis=2
        )
        if keep_attention:
            gathered = np.take_along_axis(attention, parents[:, :, None, None], axis=1)
            chosen = np.take_along_axis(weights, parents[:, :, None], axis=1)
            attention = np.concatenate([gathered, chosen[:, :, None]], axis=2)
        scores = new_scores
        tokens = new_tokens.reshape(-1)
    return [sorted(f, key=lambda h: -h.score)[:n_best] for f in finished]


def ctc_beam_search(stepper: Stepper, x: np.ndarray, beam: int, n_best: int = 1) -> list[list[Hypothesis]]:
    """CTC prefix beam search (TensorFlow's decoder through ``keras.ops.ctc_decode``)."""
    from keras import ops

    if n_best > beam:
        raise RunError(f"--n-best {n_best}: at most the beam width ({beam})")
    results = []
    blank = stepper.head.vocabulary_size
    for start in track(range(0, len(x), BATCH), f"CTC beam search ({beam}) over {len(x)} inputs", unit="batch"):
        chunk = np.asarray(x[start : start + BATCH])
        logits = stepper.head(stepper.encode(chunk), chunk)
        frames = ops.sum(ops.cast(ops.greater(logits[..., 0], -5.0e3), "int32"), axis=-1)
        log_probs = ops.log_softmax(logits, axis=-1)
        if beam == 1:
            best = ops.convert_to_numpy(ops.argmax(log_probs, axis=-1))
            top = ops.convert_to_numpy(ops.max(log_probs, axis=-1))
            lengths = ops.convert_to_numpy(frames)
            for row in range(len(chunk)):
                ids = ctc_collapse(best[row, : lengths[row]], blank)
                score = float(top[row, : lengths[row]].sum())  # the best path's log-probability
                results.append([Hypothesis(ids, score, score)])
            continue
        decoded, log_p = ops.ctc_decode(
            log_probs, frames, strategy="beam_search", beam_width=beam, top_paths=n_best, mask_index=blank
        )
        decoded, log_p = ops.convert_to_numpy(decoded), ops.convert_to_numpy(log_p)
        for row in range(len(chunk)):
            hyps = []
            for k in range(n_best):
                ids = [int(i) for i in decoded[k, row] if i >= 0 and i != blank and i > vocab.EOS]
                hyps.append(Hypothesis(ids, float(log_p[row, k]), float(log_p[row, k])))
            results.append(hyps)
    return results


def decode(
    stepper: Stepper,
    x: np.ndarray,
    beam: int = 1,
    n_best: int = 1,
    alpha: float = 0.0,
    max_steps: int | None = None,
    keep_attention: bool = False,
) -> list[list[Hypothesis]]:
    if stepper.ctc:
        return ctc_beam_search(stepper, x, beam, n_best)
    return beam_search(stepper, x, beam, n_best, alpha, max_steps, keep_attention)


def text_of(ids: Sequence[int], info: dict) -> str:
    return vocab.join_units(vocab.symbols_of(ids, info["target_vocab"]), info["target_unit"])


def as_rows(sources: Sequence[Any], results: list[list[Hypothesis]], info: dict) -> list[dict]:
    """Printable rows: the best output and, with several, each with its score."""
    rows = []
    for _source, hyps in zip(sources, results):
        row = {
            "prediction": text_of(hyps[0].ids, info) if hyps else "",
            "score": round(hyps[0].score, 4) if hyps else None,
        }
        if len(hyps) > 1:
            row["n_best"] = [
                {"prediction": text_of(h.ids, info), "score": round(h.score, 4), "log_prob": round(h.log_prob, 4)}
                for h in hyps
            ]
        rows.append(row)
    return rows
