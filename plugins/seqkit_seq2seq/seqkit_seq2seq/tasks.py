"""The ``seq2seq`` task: one sequence in, another out (grapheme-to-phoneme, transliteration,
spelling correction, short translations), scored by word / symbol error rate and BLEU."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from seqkit.plugin_api import Task, atomic_write_csv
from seqkit_seq2seq import decoding, scores, vocab


def symbol_rate_name(info: dict) -> str:
    """PER for phonemes (CMUdict), CER for characters, TER for other tokens."""
    if info.get("target_unit") == "char":
        return "cer"
    return "per" if "stress" in info else "ter"


def score_outputs(hypotheses, references, info: dict) -> dict:
    rates = scores.error_rates(hypotheses, references)
    out = {"wer": rates["wer"], symbol_rate_name(info): rates["ser"], "words": rates["n"]}
    if info.get("bleu"):
        out["bleu"] = scores.corpus_bleu(hypotheses, references)
    out["references_per_source"] = float(np.mean([len(r) for r in references])) if references else 0.0
    return out


def _by_length(lengths, hypotheses, references, info) -> dict:
    name = symbol_rate_name(info)
    table = scores.by_length([[0] * n for n in lengths], hypotheses, references)
    return {k: {"n": v["n"], "wer": v["wer"], name: v["ser"]} for k, v in table.items()}


class Seq2SeqTask(Task):
    name = "seq2seq"
    description = (
        "sequence to sequence (G2P, transliteration ...): attention decoder or CTC, scored by WER / PER / BLEU"
    )
    default_adapter = "pairs"
    default_encoder = "source_embedding"
    default_head = "attention_decoder"
    adapters = ("pairs", "cmudict")
    encoders = ("source_embedding",)
    heads = ("attention_decoder", "ctc")

    def evaluate(self, y_true, y_pred, info):
        hypotheses = decoding.greedy_ids(y_pred, info)
        references = vocab.references_of(y_true)
        metrics = score_outputs(hypotheses, references, info)
        metrics["by_target_length"] = _by_length(
            [len(r[0]) if r else 0 for r in references], hypotheses, references, info
        )
        metrics["decoding"] = "greedy"
        return metrics

    def decode(self, y_pred, info, inputs=None):
        return [{"prediction": decoding.text_of(ids, info)} for ids in decoding.greedy_ids(y_pred, info)]

    def search(self, run, inputs, beam=None, n_best=1):
        """``seqkit predict RUN WORD --beam K --n-best N`` and ``Run.predict(words, beam=K, n_best=N)``
        (seqkit.plugin_api.SearchingTask): beam search as ``seqkit decode`` runs it, with the
        run's length penalty; ``beam`` None: the run's ``model.head.beam``."""
        from seqkit_seq2seq.cli import decode

        return decode(run, inputs, beam=beam, n_best=n_best)

    def describe_targets(self, y_true, info, inputs=None):
        return [" | ".join(decoding.text_of(r, info) for r in refs) for refs in vocab.references_of(y_true)]

    def format_prediction(self, raw_input, row):
        lines = [f"{raw_input}  {row['prediction']}"]
        for k, hyp in enumerate(row.get("n_best") or [], start=1):
            lines.append(f"  {k}. {hyp['prediction']}  (score {hyp['score']:.3f}, log p {hyp['log_prob']:.3f})")
        return "\n".join(lines)

    def summary(self, metrics):
        keys = [k for k in ("wer", "per", "cer", "ter", "bleu") if k in metrics]
        return ", ".join(f"{k}={metrics[k]:.4f}" if k != "bleu" else f"bleu={metrics[k]:.2f}" for k in keys)

    def report_sections(self, report):
        """Greedy and beam-search scores side by side, scores by target and source length,
        and the test words with the largest edit distance to their nearest reference."""
        from seqkit.plugin_api import ReportSection

        test = report.test_metrics
        beam = report.metrics.get("test_beam") or {}
        keys = [k for k in ("wer", "per", "cer", "ter", "bleu", "loss", "n", "words") if k in test]
        rows = [{"metric": k, "greedy": test.get(k), **({"beam": beam.get(k)} if beam else {})} for k in keys]
        sections = [ReportSection("Test scores", report.table(rows))]
        for key, title in (
            ("by_target_length", "By target length (greedy)"),
            ("test_by_source_length", "By source length"),
        ):
            table = test.get(key) if key in test else report.metrics.get(key)
            if isinstance(table, dict) and table:
                body = report.table(
                    [{"length": k, **v} if isinstance(v, dict) else {"length": k, "value": v} for k, v in table.items()]
                )
                sections.append(ReportSection(title, body))
            elif isinstance(table, list) and table:
                sections.append(ReportSection(title, report.table(table)))
        decoding_info = report.metrics.get("decoding")
        if isinstance(decoding_info, dict):
            sections.append(ReportSection("Decoding", report.table([decoding_info])))

        def distance(row):
            value = row.get("edit_distance")
            return float(value) if isinstance(value, (int, float)) and value > 0 else None

        sections.append(report.predictions_sample(worst=distance))
        return [s for s in sections if s is not None]

    def evaluate_model(self, model, bundle, info, plot_dir, echo=print):
        """Free-running decoding of the test split: greedy (the model itself) and beam search
        (the head's ``beam``), their speed, per-source-length scores, predictions.csv with
        references and edit distances, and the attention plot."""
        test = bundle.test
        x, references = np.asarray(test.x), vocab.references_of(test.y)
        stepper = decoding.Stepper(model)
        started = time.perf_counter()
        greedy = decoding.greedy_ids(model.predict(x, batch_size=256, verbose=0), info)
        greedy_seconds = time.perf_counter() - started
        out = {"decoding": {"greedy_words_per_second": round(len(x) / greedy_seconds, 1)}}
        beam = int(stepper.head.beam)
        alpha = float(getattr(stepper.head, "length_penalty", 0.0) or 0.0)
        beam_ids = None
        if beam > 1:
            started = time.perf_counter()
            results = decoding.decode(stepper, x, beam=beam, alpha=alpha)
            beam_seconds = time.perf_counter() - started
            beam_ids = [r[0].ids if r else [] for r in results]
            out["test_beam"] = {**score_outputs(beam_ids, references, info), "beam": beam, "length_penalty": alpha}
            out["decoding"].update({"beam": beam, "beam_words_per_second": round(len(x) / beam_seconds, 1)})
            echo(f"seqkit: test, beam {beam}: {self.summary(out['test_beam'])}")
        sources = [list(getattr(r, "symbols", str(r))) for r in test.raw] if test.raw is not None else [[]] * len(x)
        final = beam_ids if beam_ids is not None else greedy
        out["test_by_source_length"] = _by_length([len(s) for s in sources], final, references, info)
        self._write_predictions(plot_dir.parent / "predictions.csv", test.raw, references, greedy, beam_ids, beam, info)
        if not stepper.ctc:
            from seqkit_seq2seq.plots import plot_attention

            shown = decoding.decode(stepper, x[:4], beam=1, keep_attention=True)
            plot_attention(plot_dir / "attention.png", sources[:4], shown, info)
        return out

    @staticmethod
    def _write_predictions(path: Path, raw, references, greedy, beam_ids, beam, info) -> None:
        rows = []
        for index, (refs, hyp) in enumerate(zip(references, greedy)):
            distance, _ = scores.nearest_reference(hyp, refs) if refs else (len(hyp), 0)
            row = {
                "source": str(raw[index]) if raw is not None else "",
                "references": " | ".join(decoding.text_of(r, info) for r in refs),
                "prediction": decoding.text_of(hyp, info),
                "edit_distance": distance,
                "correct": int(distance == 0),
            }
            if beam_ids is not None:
                beam_distance, _ = (
                    scores.nearest_reference(beam_ids[index], refs) if refs else (len(beam_ids[index]), 0)
                )
                row.update(
                    {
                        f"beam{beam}_prediction": decoding.text_of(beam_ids[index], info),
                        f"beam{beam}_edit_distance": beam_distance,
                    }
                )
            rows.append(row)
        atomic_write_csv(path, rows)
