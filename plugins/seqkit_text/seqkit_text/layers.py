"""Keras layers of the ``pretrained_text`` encoder (imported before a saved model loads):
WordPiece tokenization of raw strings and a KerasHub transformer's token vectors."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="seqkit_text")
class WordPieceIds(keras.layers.Layer):
    """Raw strings -> WordPiece ids ``[CLS] ... [SEP]`` padded with 0 to ``sequence_length``.

    A KerasHub ``BertTokenizer`` on the model's ``vocabulary`` (kept in this layer's config, so
    the saved model rebuilds it before anything is loaded) and a ``StartEndPacker``."""

    def __init__(self, vocabulary, lowercase=True, sequence_length=128, **kwargs):
        kwargs.pop("trainable", None)
        super().__init__(trainable=False, **kwargs)
        from keras_hub.layers import StartEndPacker
        from keras_hub.models import BertTokenizer

        self.vocabulary = [str(token) for token in vocabulary]
        self.lowercase = bool(lowercase)
        self.sequence_length = int(sequence_length)
        self.tokenizer = BertTokenizer(vocabulary=self.vocabulary, lowercase=self.lowercase, name="tokenizer")
        self.packer = StartEndPacker(
            sequence_length=self.sequence_length,
            start_value=self.tokenizer.cls_token_id,
            end_value=self.tokenizer.sep_token_id,
            pad_value=self.tokenizer.pad_token_id,
            return_padding_mask=False,
        )

    def build(self, input_shape=None):
        self.built = True  # no weights of its own: the vocabulary is in the config

    def call(self, texts):
        return keras.ops.cast(self.packer(self.tokenizer(texts)), "int64")

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary": self.vocabulary,
            "lowercase": self.lowercase,
            "sequence_length": self.sequence_length,
        }


@keras.saving.register_keras_serializable(package="seqkit_text")
class PretrainedTextEmbedding(keras.layers.Layer):
    """WordPiece ids ``(batch, steps)`` -> the transformer's token vectors ``(batch, steps, hidden)``;
    id 0 is padding (masked, and hidden from attention).

    ``frozen``: how many of the transformer's layer groups are frozen, counted from the bottom
    (group 0: the embeddings; group i: transformer layer i - 1; ``num_layers + 1``: all of it).
    Kept in the config, so a reloaded (or resumed) layer has the same trainable weights. The
    pooled [CLS] projection is never trained (its output is not used).
    """

    def __init__(self, backbone, dropout=0.0, frozen=0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(backbone, dict):
            backbone = keras.saving.deserialize_keras_object(backbone)
        self.backbone = backbone
        self.dropout = float(dropout)
        self.drop = keras.layers.Dropout(self.dropout) if self.dropout else None
        self.frozen = 0
        self.freeze(int(frozen))

    @property
    def trainable(self):
        return keras.layers.Layer.trainable.fget(self)

    @trainable.setter
    def trainable(self, value):
        keras.layers.Layer.trainable.fset(self, value)
        if value and hasattr(self, "backbone"):  # training it again keeps the frozen groups frozen
            self.freeze(self.frozen)

    @property
    def groups(self) -> int:
        """Layer groups that can be frozen: the embeddings and each transformer layer."""
        return int(self.backbone.num_layers) + 1

    def freeze(self, groups: int) -> None:
        """Freeze the bottom ``groups`` layer groups and train the others."""
        self.frozen = max(0, min(int(groups), self.groups))
        for layer, group in self.layer_groups():
            # The setter itself: TensorFlow skips ``layer.trainable = x`` when x is its flag
            # already, which would leave the weights of a reloaded layer as they were built.
            type(layer).trainable.fset(layer, layer.name != "pooled_dense" and group >= self.frozen)

    def layer_groups(self):
        """``(layer, group)`` for each of the transformer's layers with weights (group 0: the
        embeddings; group i: transformer layer i - 1; the pooled projection counts as group 0)."""
        for layer in self.backbone.layers:
            if layer.weights:
                name = layer.name
                yield layer, int(name.rsplit("_", 1)[1]) + 1 if name.startswith("transformer_layer_") else 0

    def call(self, ids, training=None):
        mask = keras.ops.not_equal(ids, 0)
        outputs = self.backbone(
            {"token_ids": ids, "padding_mask": mask, "segment_ids": keras.ops.zeros_like(ids)}, training=training
        )["sequence_output"]
        return self.drop(outputs, training=training) if self.drop is not None else outputs

    def compute_mask(self, ids, mask=None):
        return keras.ops.not_equal(ids, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.backbone.hidden_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "dropout": self.dropout,
            "frozen": self.frozen,
        }
