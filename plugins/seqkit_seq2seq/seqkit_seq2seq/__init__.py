"""seqkit's sequence-to-sequence plugin: one sequence in, another of another length out
(grapheme-to-phoneme on CMUdict, transliteration, spelling correction ...).

Registers the ``seq2seq`` task, the ``pairs`` (TSV / CSV / JSONL) and ``cmudict`` adapters,
the ``source_embedding`` encoder, the ``attention_decoder`` and ``ctc`` heads, and the verb
``seqkit decode`` (beam search, n-best lists; :func:`decode` in Python). The stacked-LSTM
backbone is the encoder. Keras is imported only when a model is built (``layers``).
"""

from __future__ import annotations

from seqkit.plugin_api import Command, hookimpl

__version__ = "0.1.0"
__all__ = ["decode"]


def decode(run_or_path, inputs, beam=None, n_best=1, length_penalty=None, max_length=None):
    """Beam-search outputs of a trained run: see :func:`seqkit_seq2seq.cli.decode`."""
    from seqkit_seq2seq.cli import decode as _decode

    return _decode(run_or_path, inputs, beam=beam, n_best=n_best, length_penalty=length_penalty, max_length=max_length)


@hookimpl
def seqkit_register_tasks(register):
    from seqkit_seq2seq.tasks import Seq2SeqTask

    register(Seq2SeqTask())


@hookimpl
def seqkit_register_adapters(register):
    from seqkit_seq2seq.adapters import CmudictAdapter, PairsAdapter

    register(PairsAdapter)
    register(CmudictAdapter)


@hookimpl
def seqkit_register_encoders(register):
    from seqkit_seq2seq.specs import SourceEmbeddingSpec

    register(SourceEmbeddingSpec)


@hookimpl
def seqkit_register_heads(register):
    from seqkit_seq2seq.specs import AttentionDecoderSpec, CTCSpec

    register(AttentionDecoderSpec)
    register(CTCSpec)


def _add_arguments(parser):
    from seqkit_seq2seq.cli import add_arguments

    add_arguments(parser)


def _run(args):
    from seqkit_seq2seq.cli import run

    return run(args)


@hookimpl
def seqkit_register_commands(register):
    register(
        Command(
            "decode",
            "beam search / n-best outputs of a trained seq2seq run (e.g. pronunciations)",
            _add_arguments,
            _run,
            description="Convert sources with a trained seq2seq run by beam search with a length penalty, printing the "
            "n best outputs with their scores (seqkit predict gives the greedy output).",
        )
    )
