"""The field's scores for sequence outputs (NumPy / pure Python, no TensorFlow).

- word error rate: a source is right when its output equals *any* of its references (as the
  grapheme-to-phoneme papers count CMUdict's alternates);
- symbol error rate (PER for phonemes, CER for characters): edit distance to the nearest
  reference, summed, over the summed lengths of those references;
- corpus BLEU-4 (Papineni et al. 2002; clipped counts against all references, brevity from
  the closest reference length, no smoothing), for token outputs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

LENGTH_BINS = ((1, 4), (5, 8), (9, 12), (13, 16), (17, None))


def edit_distance(a: Sequence, b: Sequence) -> int:
    """Levenshtein distance (insertions, deletions and substitutions cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def nearest_reference(hypothesis: Sequence, references: Sequence[Sequence]) -> tuple[int, int]:
    """(edit distance, reference length) of the reference nearest to ``hypothesis``."""
    best = min(((edit_distance(hypothesis, r), len(r)) for r in references), key=lambda d: (d[0], -d[1]))
    return best


def error_rates(hypotheses: Sequence[Sequence], references: Sequence[Sequence[Sequence]]) -> dict:
    """WER (any reference counts) and symbol error rate over aligned lists."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} reference sets")
    wrong = edits = length = 0
    for hyp, refs in zip(hypotheses, references):
        hyp = list(hyp)
        if not refs:
            continue
        distance, ref_length = nearest_reference(hyp, refs)
        wrong += distance > 0
        edits += distance
        length += ref_length
    n = sum(1 for refs in references if refs)
    return {"wer": wrong / max(n, 1), "ser": edits / max(length, 1), "n": n}


def by_length(sources: Sequence[Sequence], hypotheses, references) -> dict:
    """Error rates per source-length bin (``"1-4"``, ``"5-8"`` ... ``"17+"``)."""
    out = {}
    for low, high in LENGTH_BINS:
        picked = [i for i, s in enumerate(sources) if len(s) >= low and (high is None or len(s) <= high)]
        if picked:
            scores = error_rates([hypotheses[i] for i in picked], [references[i] for i in picked])
            out[f"{low}-{high}" if high else f"{low}+"] = scores
    return out


def _ngrams(tokens: Sequence, n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(hypotheses: Sequence[Sequence], references: Sequence[Sequence[Sequence]], max_n: int = 4) -> float:
    """Corpus BLEU in percent (0-100)."""
    matches = [0] * max_n
    totals = [0] * max_n
    hyp_length = ref_length = 0
    for hyp, refs in zip(hypotheses, references):
        if not refs:
            continue
        hyp = list(hyp)
        hyp_length += len(hyp)
        ref_length += min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]
        for n in range(1, max_n + 1):
            counts = _ngrams(hyp, n)
            best: Counter = Counter()
            for r in refs:
                best |= _ngrams(list(r), n)
            matches[n - 1] += sum(min(c, best[g]) for g, c in counts.items())
            totals[n - 1] += max(len(hyp) - n + 1, 0)
    if not hyp_length or min(matches) == 0:
        return 0.0
    log_precision = sum(math.log(m / t) for m, t in zip(matches, totals)) / max_n
    brevity = 1.0 if hyp_length > ref_length else math.exp(1 - ref_length / hyp_length)
    return 100.0 * brevity * math.exp(log_precision)
