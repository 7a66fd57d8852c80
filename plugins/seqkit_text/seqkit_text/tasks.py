"""The text plugin's tasks."""

from __future__ import annotations

from seqkit.plugin_api import ClassificationTask


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
