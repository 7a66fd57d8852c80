"""Encoder and head specs of the tagging plugin (light: Keras is imported when building)."""

from __future__ import annotations

from pathlib import Path

from seqkit.plugin_api import EncoderSpec, HeadSpec, SeqkitError

RATE = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}
LAYERS = "seqkit_tagging.layers"


def _require_tagging_info(info: dict, what: str, keys=("tags",)) -> None:
    missing = [k for k in keys if k not in info]
    if missing:
        raise SeqkitError(f"{what} needs a tagging adapter such as 'conll' (data info has no {', '.join(missing)})")


class WordCharSpec(EncoderSpec):
    keras_module = LAYERS
    name = "word_char"
    description = "per token: word embedding + character CNN / BiLSTM + casing embedding (Lample et al. 2016)"
    schema = {
        "properties": {
            "word_dim": {
                "type": "integer",
                "minimum": 1,
                "maximum": 4096,
                "default": 100,
                "description": "Size of the word embedding (the vectors file's size with pretrained).",
            },
            "char_dim": {
                "type": "integer",
                "minimum": 0,
                "maximum": 1024,
                "default": 25,
                "description": "0: no character features.",
            },
            "char_encoder": {
                "enum": ["cnn", "lstm"],
                "default": "cnn",
                "description": "cnn: convolution + max over characters; lstm: BiLSTM final states (slower).",
            },
            "char_units": {
                "type": "integer",
                "minimum": 1,
                "maximum": 4096,
                "default": 50,
                "description": "CNN filters, or LSTM units per direction.",
            },
            "char_kernel": {
                "type": "integer",
                "minimum": 1,
                "maximum": 15,
                "default": 3,
                "description": "char_encoder cnn: convolution width in characters.",
            },
            "casing_dim": {
                "type": "integer",
                "minimum": 0,
                "maximum": 256,
                "default": 8,
                "description": "0: no casing features.",
            },
            "word_dropout": {
                **RATE,
                "default": 0.0,
                "description": "Rate at which known words are replaced by the unknown word while training.",
            },
            "dropout": {**RATE, "default": 0.0, "description": "Dropout on the concatenated token vectors."},
            "pretrained": {
                "type": "string",
                "format": "path",
                "description": (
                    "Pretrained word vectors (dimension word_dim): a GloVe / word2vec text file relative to the "
                    "recipe, or a name such as glove-6b-50d (word_dim: 50; needs seqkit[vectors]). Words are looked "
                    "up as they are, then lower-cased; the casing features keep the case."
                ),
            },
            "trainable": {
                "type": "boolean",
                "default": True,
                "description": "Update the word vectors during training.",
            },
        }
    }

    @classmethod
    def check(cls, config):
        from seqkit.plugin_api import pretrained_problems

        return pretrained_problems(config, "word_dim")

    def vocabulary(self, preprocessor):
        return list(self.info["words"]) if "words" in self.info else None

    def preprocessor(self, train_x):
        # No preprocessing layer; the training words' counts give the vectors' token coverage.
        if self.config.get("pretrained") and "words" in self.info:
            import numpy as np

            ids = np.asarray(train_x)[..., 0].ravel()
            self._token_counts = np.bincount(ids, minlength=len(self.info["words"]))
        return None

    def _width(self) -> int:
        _require_tagging_info(self.info, "encoder word_char", ("words", "chars", "max_chars"))
        return 2 + int(self.info["max_chars"])

    def raw_input_spec(self):
        return {"shape": (None, self._width()), "dtype": "int32"}

    def sequence_lengths(self, x):
        import numpy as np

        from seqkit.plugin_api import padded_lengths

        return padded_lengths(np.asarray(x)[..., 0] != 0)  # word id 0 marks a padding step

    def build(self, preprocessor, regularizer=None):
        from seqkit_tagging.layers import WordCharEncoder

        width = self._width()
        c = self.config
        layer = WordCharEncoder(
            vocabulary_size=len(self.info["words"]),
            char_vocabulary_size=len(self.info["chars"]),
            max_chars=int(self.info["max_chars"]),
            word_dim=c.get("word_dim", 100),
            char_dim=c.get("char_dim", 25),
            char_encoder=c.get("char_encoder", "cnn"),
            char_units=c.get("char_units", 50),
            char_kernel=c.get("char_kernel", 3),
            casing_classes=int(self.info.get("casings", 12)),
            casing_dim=c.get("casing_dim", 8),
            word_dropout=c.get("word_dropout", 0.0),
            dropout=c.get("dropout", 0.0),
            trainable_words=c.get("trainable", True),
            name="word_char_encoder",
        )
        if c.get("pretrained"):
            from seqkit.plugin_api import pretrained_vectors, vectors_coverage_line

            source = Path(c["pretrained"]).expanduser()
            source = source if source.is_absolute() else Path(self.base_dir or ".") / source
            matrix, coverage = pretrained_vectors(
                str(source),
                self.info["words"],
                c.get("word_dim", 100),
                token_counts=getattr(self, "_token_counts", None),
                key="model.encoder.pretrained",
                dim_key="model.encoder.word_dim",
            )
            layer.build((None, None, width))
            layer.word_embedding.embeddings.assign(matrix)
            self.facts["pretrained_vectors"] = coverage
            self.notes.append(vectors_coverage_line(coverage))
        return layer


class _TagHeadSpec(HeadSpec):
    keras_module = LAYERS
    needs_sequence = True
    step_targets = True
    schema = {"properties": {"dropout": {**RATE, "default": 0.0, "description": "Dropout on the backbone's outputs."}}}

    @property
    def num_tags(self) -> int:
        _require_tagging_info(self.info, f"head {self.name}")
        return len(self.info["tags"])

    def metrics(self):
        from seqkit_tagging.layers import MaskedTokenAccuracy, TagF1

        return [MaskedTokenAccuracy(self.num_tags), TagF1(self.num_tags)]


class TokenClassifierSpec(_TagHeadSpec):
    name = "token_classifier"
    description = "per-token softmax over tags (padding skipped)"

    def build(self, regularizer=None):
        from seqkit_tagging.layers import TokenTagger

        return TokenTagger(
            self.num_tags,
            dropout=self.config.get("dropout", 0.0),
            kernel_regularizer=regularizer,
            name="token_classifier",
        )

    def loss(self):
        from seqkit_tagging.layers import TagCrossEntropy

        return TagCrossEntropy()


class CRFSpec(_TagHeadSpec):
    name = "crf"
    description = "linear-chain CRF over tags: forward-algorithm loss, Viterbi decoding"

    def build(self, regularizer=None):
        from seqkit_tagging.layers import CRF

        return CRF(self.num_tags, dropout=self.config.get("dropout", 0.0), kernel_regularizer=regularizer, name="crf")

    def loss(self):
        from seqkit_tagging.layers import CRFLoss

        return CRFLoss(self.num_tags)
