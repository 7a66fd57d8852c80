"""seqkit's text plugin: sentiment analysis and text classification from tables of text.

Registers the ``sentiment`` and ``text_classification`` tasks and the ``text_table`` adapter
(CSV, TSV, JSONL, and ``LABEL text`` lines as in SST-2). Loaded through the ``seqkit``
entry-point group like any third-party plugin.
"""

from __future__ import annotations

from seqkit.plugin_api import hookimpl

__version__ = "0.1.0"

# The hooks import their classes when seqkit asks for them, so `seqkit --help` (which loads
# every plugin to list its verbs) stays fast.
_LAZY = {
    "SentimentTask": "seqkit_text.tasks",
    "TextClassificationTask": "seqkit_text.tasks",
    "TextTableAdapter": "seqkit_text.adapters",
    "PretrainedTextEncoder": "seqkit_text.pretrained",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


@hookimpl
def seqkit_register_tasks(register):
    from seqkit_text.tasks import SentimentTask, TextClassificationTask

    register(SentimentTask())
    register(TextClassificationTask())


@hookimpl
def seqkit_register_adapters(register):
    from seqkit_text.adapters import TextTableAdapter

    register(TextTableAdapter)


@hookimpl
def seqkit_register_encoders(register):
    from seqkit_text.pretrained import PretrainedTextEncoder

    register(PretrainedTextEncoder)
