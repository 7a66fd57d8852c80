"""The core's own parts, registered through the same hooks as every plugin:
the ``token_embedding`` and ``numeric`` encoders and the ``classifier`` and ``regressor`` heads.

Only light spec classes live here; Keras is imported when a model is built.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from seqkit.hookspecs import hookimpl
from seqkit.models.parts import EncoderSpec, HeadSpec

if TYPE_CHECKING:
    import numpy as np

RATE = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}


def resolve_source(value: str, base_dir) -> str:
    """A vectors file relative to the recipe, or a vectors name as it is."""
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else Path(base_dir or ".") / path)


def _token_counts(vectorizer, texts) -> np.ndarray:
    """Occurrences of each vocabulary row in the vectorized training texts (row 1: unknown tokens)."""
    import numpy as np

    size = vectorizer.vocabulary_size()
    counts = np.zeros(size, dtype="int64")
    for start in range(0, len(texts), 4096):
        ids = np.asarray(vectorizer(texts[start : start + 4096])).ravel()
        counts += np.bincount(ids, minlength=size)[:size]
    return counts


class TokenEmbeddingSpec(EncoderSpec):
    """Raw text -> ``TextVectorization`` (saved inside the model) -> token embeddings."""

    keras_module = "seqkit.models.encoders"

    name = "token_embedding"
    description = (
        "raw text -> token ids (vocabulary fitted on training data) -> embeddings, optional GloVe/word2vec init"
    )
    schema = {
        "properties": {
            "max_tokens": {
                "type": "integer",
                "minimum": 3,
                "maximum": 100000000,
                "default": 20000,
                "description": "Vocabulary size cap.",
            },
            "sequence_length": {
                "type": "integer",
                "minimum": 1,
                "maximum": 1000000,
                "default": 100,
                "description": "Tokens kept per text (padded / truncated).",
            },
            "dim": {
                "type": "integer",
                "minimum": 1,
                "maximum": 65536,
                "default": 128,
                "description": "Size of the token embedding (the vectors file's size with pretrained).",
            },
            "standardize": {
                "enum": ["lower_and_strip_punctuation", "lower", "strip_punctuation", "none"],
                "default": "lower_and_strip_punctuation",
                "description": "TextVectorization's text standardisation before splitting into tokens.",
            },
            "split": {
                "enum": ["whitespace", "character"],
                "default": "whitespace",
                "description": "Tokens are words (whitespace) or characters.",
            },
            "ngrams": {
                "type": "integer",
                "minimum": 1,
                "maximum": 3,
                "description": "Also make token n-grams up to this length (unset: single tokens).",
            },
            "dropout": {**RATE, "default": 0.0, "description": "Spatial dropout of whole token vectors."},
            "pretrained": {
                "type": "string",
                "format": "path",
                "description": (
                    "Pretrained word vectors: a GloVe / word2vec text file (relative to the recipe), or a name: "
                    "glove-6b-50d (set dim: 50; needs seqkit[vectors]). Coverage goes to data_info.json."
                ),
            },
            "trainable": {"type": "boolean", "default": True, "description": "Update the vectors during training."},
            "mask_padding": {
                "type": "boolean",
                "default": True,
                "description": "Mask padding tokens; turn off only for texts that fill sequence_length (faster on cuDNN).",
            },
        }
    }

    @classmethod
    def check(cls, config):
        from seqkit.models.vectors import pretrained_problems

        return pretrained_problems(config, "dim")

    def raw_input_spec(self):
        return {"shape": (), "dtype": "string"}

    def vocabulary(self, preprocessor):
        return list(preprocessor.get_vocabulary()) if preprocessor is not None else None

    def preprocessor(self, train_x):
        import keras
        import numpy as np

        from seqkit import progress

        standardize = self.config.get("standardize", "lower_and_strip_punctuation")
        vectorizer = keras.layers.TextVectorization(
            max_tokens=self.config.get("max_tokens", 20000),
            output_sequence_length=self.config.get("sequence_length", 100),
            standardize=None if standardize == "none" else standardize,
            split=self.config.get("split", "whitespace"),
            ngrams=self.config.get("ngrams"),
            name="text_vectorization",
        )
        if hasattr(train_x, "element_spec"):  # a tf.data stream (seqkit prepare): adapt reads it batch by batch
            with progress.phase("fitting the vocabulary"):
                vectorizer.adapt(train_x)
        else:
            texts = np.asarray(list(train_x), dtype=object).astype(str)
            if standardize in ("lower", "none") and self.config.get("split", "whitespace") == "whitespace":
                note = raw_text_note(texts, standardize)
                if note:
                    self.notes.append(note)
            with progress.phase(f"fitting the vocabulary on {len(texts)} texts"):
                vectorizer.adapt(texts, batch_size=1024)
            if self.config.get("pretrained"):  # how many training tokens the vectors cover
                self._token_counts = _token_counts(vectorizer, texts)
        return vectorizer

    def input_spec(self, preprocessor):
        # Any length: training batches are cut to their longest text (length bucketing). Without
        # a padding mask nothing is bucketed, so the model keeps the vectorizer's fixed length.
        if not self.config.get("mask_padding", True):
            return {"shape": (self.config.get("sequence_length", 100),), "dtype": "int64"}
        return {"shape": (None,), "dtype": "int64"}

    def sequence_lengths(self, x):
        if not self.config.get("mask_padding", True):
            return None
        import numpy as np

        from seqkit.data.pipeline import padded_lengths

        return padded_lengths(np.asarray(x) != 0)

    def build(self, preprocessor, regularizer=None):
        from seqkit.models.encoders import TokenEmbedding

        vocabulary = preprocessor.get_vocabulary()
        dim = self.config.get("dim", 128)
        layer = TokenEmbedding(
            vocabulary_size=len(vocabulary),
            dim=dim,
            dropout=self.config.get("dropout", 0.0),
            trainable_embeddings=self.config.get("trainable", True),
            mask_padding=self.config.get("mask_padding", True),
            name="token_embedding",
        )
        if self.config.get("pretrained"):
            from seqkit.models.vectors import coverage_line, vectors_matrix

            matrix, coverage = vectors_matrix(
                resolve_source(self.config["pretrained"], self.base_dir),
                vocabulary,
                dim,
                token_counts=getattr(self, "_token_counts", None),
            )
            layer.build((None, self.config.get("sequence_length", 100)))
            layer.embedding.embeddings.assign(matrix)
            self.facts["pretrained_vectors"] = coverage
            self.notes.append(coverage_line(coverage))
        return layer


# A word with sentence punctuation stuck to its end ("expectations!"): raw text. Tokenized
# text (SST, CoNLL) has the punctuation as tokens of their own ("expectations !").
_ATTACHED_PUNCTUATION = re.compile(r"\w[.,!?;:)\"]+(\s|$)")


def raw_text_note(texts, standardize: str, sample: int = 2000, share: float = 0.2) -> str | None:
    """A warning when ``standardize`` keeps punctuation (``lower`` / ``none``, settings meant for
    pre-tokenized text) but the texts are raw: punctuation attached to words makes
    "great!" and "great" two tokens (on the shipped reviews a seed's test accuracy moves by 3 to 5
    points either way with it: docs/recipes-guide.md, bench/raw_text_settings.py)."""
    checked = [str(t) for t in texts[:sample]]
    if not checked:
        return None
    raw = [t for t in checked if _ATTACHED_PUNCTUATION.search(t)]
    if len(raw) / len(checked) < share:
        return None
    example = _ATTACHED_PUNCTUATION.search(raw[0])
    word = raw[0][: example.end()].split()[-1]
    return (
        f"warning: model.encoder.standardize is {standardize!r}, meant for pre-tokenized text, but "
        f"{len(raw) / len(checked):.0%} of the training texts have punctuation attached to words (e.g. {word!r}), "
        "which makes 'word!' and 'word' different tokens; raw text wants standardize: lower_and_strip_punctuation "
        "(the default)"
    )


class NumericSpec(EncoderSpec):
    """Numeric feature sequences ``(steps, features)`` -> optional linear projection."""

    keras_module = "seqkit.models.encoders"

    name = "numeric"
    description = "numeric feature sequences -> optional linear projection; all-zero steps are padding"
    schema = {
        "properties": {
            "dim": {
                "type": "integer",
                "minimum": 0,
                "default": 0,
                "description": "Projection size; 0 keeps the raw features.",
            },
            "mask_value": {
                "type": "number",
                "default": 0.0,
                "description": "A step whose features all equal this is padding (masked).",
            },
        }
    }

    def raw_input_spec(self):
        steps = self.info.get("steps")
        return {"shape": (steps, self.info["features"]), "dtype": "float32"}

    def sequence_lengths(self, x):
        if self.info.get("steps"):  # a fixed length: every step holds data
            return None
        import numpy as np

        from seqkit.data.pipeline import padded_lengths

        return padded_lengths(np.any(np.asarray(x) != self.config.get("mask_value", 0.0), axis=-1))

    def build(self, preprocessor, regularizer=None):
        from seqkit.models.encoders import NumericProjection

        return NumericProjection(
            dim=self.config.get("dim") or None,
            mask_value=self.config.get("mask_value", 0.0),
            kernel_regularizer=regularizer,
            name="numeric_projection",
        )


_DENSE_HEAD_PROPERTIES = {
    "hidden_units": {
        "type": "array",
        "items": {"type": "integer", "minimum": 1, "maximum": 65536},
        "default": [],
        "description": "Sizes of Dense ReLU layers between the pooled backbone output and the output layer.",
    },
    "dropout": {
        **RATE,
        "default": 0.0,
        "description": "Dropout after each hidden layer (without hidden layers: on the pooled output).",
    },
    "pooling": {
        "enum": ["last", "mean", "max"],
        "default": "last",
        "description": "last: the backbone's final state; mean / max: pooled over all (unmasked) steps.",
    },
}


class ClassifierSpec(HeadSpec):
    keras_module = "seqkit.models.heads"
    name = "classifier"
    description = "binary (sigmoid), multiclass (softmax) or multilabel (sigmoids) classifier"
    schema = {"properties": dict(_DENSE_HEAD_PROPERTIES)}

    def wants_sequence(self):
        return self.config.get("pooling", "last") != "last"

    @property
    def _binary(self):
        return len(self.info["classes"]) == 2 and not self.info.get("multilabel")

    def build(self, regularizer=None):
        from seqkit.models.heads import ClassifierHead

        return ClassifierHead(
            num_classes=len(self.info["classes"]),
            multilabel=bool(self.info.get("multilabel")),
            hidden_units=self.config.get("hidden_units", []),
            dropout=self.config.get("dropout", 0.0),
            pooling=self.config.get("pooling", "last"),
            kernel_regularizer=regularizer,
            name="classifier",
        )

    def loss(self):
        if self._binary or self.info.get("multilabel"):
            return "binary_crossentropy"
        return "sparse_categorical_crossentropy"

    def metrics(self):
        import keras

        if self.info.get("multilabel"):
            return [keras.metrics.BinaryAccuracy(name="binary_accuracy")]
        if self._binary:
            return [keras.metrics.BinaryAccuracy(name="accuracy")]
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]


class RegressorSpec(HeadSpec):
    keras_module = "seqkit.models.heads"
    name = "regressor"
    description = "real-valued outputs (linear), MSE / MAE / Huber loss"
    schema = {
        "properties": {
            **_DENSE_HEAD_PROPERTIES,
            "loss": {"enum": ["mse", "mae", "huber"], "default": "mse", "description": "Training loss on the targets."},
        }
    }

    def wants_sequence(self):
        return self.config.get("pooling", "last") != "last"

    @property
    def outputs(self) -> int:
        """One output per target the adapter names in ``info["targets"]`` (else ``info["outputs"]``, else 1)."""
        if self.info.get("targets"):
            return len(self.info["targets"])
        return int(self.info.get("outputs", 1))

    def build(self, regularizer=None):
        from seqkit.models.heads import RegressorHead

        return RegressorHead(
            outputs=self.outputs,
            hidden_units=self.config.get("hidden_units", []),
            dropout=self.config.get("dropout", 0.0),
            pooling=self.config.get("pooling", "last"),
            kernel_regularizer=regularizer,
            name="regressor",
        )

    def loss(self):
        return {"mse": "mean_squared_error", "mae": "mean_absolute_error", "huber": "huber"}[
            self.config.get("loss", "mse")
        ]

    def metrics(self):
        import keras

        return [keras.metrics.MeanAbsoluteError(name="mae"), keras.metrics.RootMeanSquaredError(name="rmse")]


@hookimpl
def seqkit_register_adapters(register):
    from seqkit.data.stream import PreparedAdapter

    register(PreparedAdapter)


@hookimpl
def seqkit_register_encoders(register):
    register(TokenEmbeddingSpec)
    register(NumericSpec)


@hookimpl
def seqkit_register_heads(register):
    register(ClassifierSpec)
    register(RegressorSpec)
