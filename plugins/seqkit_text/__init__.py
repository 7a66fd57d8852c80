"""seqkit's text plugin: sentiment analysis and text classification from tables of text.

Registers the ``sentiment`` and ``text_classification`` tasks and the ``text_table`` adapter
(CSV, TSV, JSONL, and ``LABEL text`` lines as in SST-2). Loaded through the ``seqkit``
entry-point group like any third-party plugin.
"""

from __future__ import annotations

from seqkit import ClassificationTask, hookimpl
from seqkit_text.adapter import TextTableAdapter

__version__ = "0.1.0"


class SentimentTask(ClassificationTask):
    name = "sentiment"
    description = "sentiment of a text (e.g. positive / negative / neutral reviews)"
    default_adapter = "text_table"
    default_encoder = "token_embedding"


class TextClassificationTask(ClassificationTask):
    name = "text_classification"
    description = "any single- or multi-label classification of texts (topics, intents, spam...)"
    default_adapter = "text_table"
    default_encoder = "token_embedding"


@hookimpl
def seqkit_register_tasks(register):
    register(SentimentTask())
    register(TextClassificationTask())


@hookimpl
def seqkit_register_adapters(register):
    register("text_table", TextTableAdapter)
