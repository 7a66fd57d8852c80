"""Input encoders: Keras layers that map model inputs to ``(batch, steps, features)``."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="seqkit")
class TokenEmbedding(keras.layers.Layer):
    """Token ids -> vectors, with id 0 as padding (masked) and optional spatial dropout.

    Args:
        vocabulary_size: Number of token ids (including padding 0 and out-of-vocabulary 1).
        dim: Size of each vector.
        dropout: Rate at which whole token vectors are dropped during training.
        trainable_embeddings: Whether the vectors are updated (False keeps pretrained ones).
        embeddings_regularizer: Regularizer for the embedding matrix.
        mask_padding: Whether id 0 is masked as padding. Turn off only for inputs that are
            never padded: a mask keeps Keras's LSTM off cuDNN on the PyTorch backend.

    Call arguments:
        inputs: Integer tensor ``(batch, steps)``.

    Example:

    >>> TokenEmbedding(vocabulary_size=100, dim=8)(np.array([[5, 7, 0]])).shape
    (1, 3, 8)
    """

    def __init__(
        self,
        vocabulary_size,
        dim,
        dropout=0.0,
        trainable_embeddings=True,
        embeddings_regularizer=None,
        mask_padding=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(vocabulary_size, int) or vocabulary_size < 2:
            raise ValueError(
                "Invalid value received for argument `vocabulary_size`. Expected an integer >= 2. "
                f"Received: vocabulary_size={vocabulary_size!r}"
            )
        self.vocabulary_size = vocabulary_size
        self.dim = int(dim)
        self.dropout = float(dropout)
        self.trainable_embeddings = bool(trainable_embeddings)
        self.embeddings_regularizer = keras.regularizers.get(embeddings_regularizer)
        self.mask_padding = bool(mask_padding)
        self.embedding = keras.layers.Embedding(
            vocabulary_size,
            self.dim,
            mask_zero=self.mask_padding,
            embeddings_regularizer=self.embeddings_regularizer,
            trainable=self.trainable_embeddings,
            name="embedding",
        )
        self.spatial_dropout = keras.layers.SpatialDropout1D(self.dropout) if self.dropout else None
        self.supports_masking = True

    def build(self, input_shape):
        self.embedding.build(input_shape)

    def call(self, inputs, training=None):
        x = self.embedding(inputs)
        if self.spatial_dropout is not None:
            x = self.spatial_dropout(x, training=training)
        return x

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs, 0) if self.mask_padding else None

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.dim)

    def get_config(self):
        base_config = super().get_config()
        config = {
            "vocabulary_size": self.vocabulary_size,
            "dim": self.dim,
            "dropout": self.dropout,
            "trainable_embeddings": self.trainable_embeddings,
            "embeddings_regularizer": keras.regularizers.serialize(self.embeddings_regularizer),
            "mask_padding": self.mask_padding,
        }
        return {**base_config, **config}


@keras.saving.register_keras_serializable(package="seqkit")
class NumericProjection(keras.layers.Layer):
    """Numeric feature sequences -> projected vectors, with a padding mask.

    Steps whose features all equal ``mask_value`` are padding and are masked.

    Args:
        dim: Output size; 0 or None passes the features through unprojected.
        mask_value: Feature value that marks padding steps.

    Example:

    >>> NumericProjection(dim=4)(np.zeros((2, 5, 3), "float32")).shape
    (2, 5, 4)
    """

    def __init__(self, dim=None, mask_value=0.0, kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.dim = int(dim) if dim else None
        self.mask_value = float(mask_value)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.projection = (
            keras.layers.Dense(self.dim, kernel_regularizer=self.kernel_regularizer, name="projection")
            if self.dim
            else None
        )
        self.supports_masking = True

    def build(self, input_shape):
        if self.projection is not None:
            self.projection.build(input_shape)

    def call(self, inputs):
        return self.projection(inputs) if self.projection is not None else inputs

    def compute_mask(self, inputs, mask=None):
        return ops.any(ops.not_equal(inputs, self.mask_value), axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.dim or input_shape[-1])

    def get_config(self):
        base_config = super().get_config()
        config = {
            "dim": self.dim,
            "mask_value": self.mask_value,
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }
        return {**base_config, **config}


def load_pretrained_vectors(
    path: Path | str, vocabulary: list[str], dim: int, lowercase: bool = True
) -> tuple[np.ndarray, int]:
    """Read pretrained vectors (a GloVe / word2vec text file, or a known name such as
    ``glove-6b-50d``; see :mod:`seqkit.models.vectors`) and return (matrix for `vocabulary`,
    vocabulary words found).

    Rows of words not in the vectors keep a small random initialisation; the padding row is 0.
    A word is looked up as it is, then lower-cased (``lowercase`` is kept for compatibility:
    lower-cased lookup is always tried). The word2vec header line (``count dim``) is skipped.
    """
    from seqkit.models.vectors import vectors_matrix

    matrix, coverage = vectors_matrix(path, vocabulary, dim)
    return matrix, coverage["vocabulary_found"]
