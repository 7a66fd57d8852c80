"""seqkit's sequence tagging plugin: named-entity recognition (and any BIO / BIOES chunk
tagging) with word, character and casing features, a per-token softmax or a linear-chain CRF.

Registers the ``tagging`` task, the ``conll`` adapter, the ``word_char`` encoder and the
``token_classifier`` and ``crf`` heads. Entities are scored with conlleval semantics (seqeval).
Keras is imported only when a model is built (``seqkit_tagging.layers``).
"""

from __future__ import annotations

from seqkit.plugin_api import hookimpl

__version__ = "0.1.0"


@hookimpl
def seqkit_register_tasks(register):
    from seqkit_tagging.tasks import TaggingTask

    register(TaggingTask())


@hookimpl
def seqkit_register_adapters(register):
    from seqkit_tagging.adapters import ConllAdapter

    register(ConllAdapter)


@hookimpl
def seqkit_register_encoders(register):
    from seqkit_tagging.specs import WordCharSpec

    register(WordCharSpec)


@hookimpl
def seqkit_register_heads(register):
    from seqkit_tagging.specs import CRFSpec, TokenClassifierSpec

    register(TokenClassifierSpec)
    register(CRFSpec)
