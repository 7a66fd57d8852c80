"""The text plugin's tasks."""

from __future__ import annotations

from seqkit.plugin_api import ClassificationTask

# text_table reads the files; tfrecord the shards `seqkit prepare` wrote from them.
TEXT_ADAPTERS = ("text_table", "tfrecord")


class SentimentTask(ClassificationTask):
    name = "sentiment"
    description = "sentiment of a text (e.g. positive / negative / neutral reviews)"
    default_adapter = "text_table"
    default_encoder = "token_embedding"
    adapters = TEXT_ADAPTERS
    encoders = ("token_embedding", "pretrained_text")
    heads = ("classifier",)


class TextClassificationTask(ClassificationTask):
    name = "text_classification"
    description = "any single- or multi-label classification of texts (topics, intents, spam...)"
    default_adapter = "text_table"
    default_encoder = "token_embedding"
    adapters = TEXT_ADAPTERS
    encoders = ("token_embedding", "pretrained_text")
    heads = ("classifier",)
