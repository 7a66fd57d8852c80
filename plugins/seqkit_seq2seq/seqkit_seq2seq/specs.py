"""Encoder and head specs of the seq2seq plugin (light: Keras is imported when building)."""

from __future__ import annotations

from seqkit.plugin_api import EncoderSpec, HeadSpec, SeqkitError
from seqkit_seq2seq import vocab

RATE = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}
LAYERS = "seqkit_seq2seq.layers"
BEAM = {
    "type": "integer",
    "minimum": 1,
    "maximum": 100,
    "default": 5,
    "description": "Beam width for the test split's second decoding and the default of seqkit decode (1: greedy only).",
}


def _require_seq2seq_info(info: dict, what: str) -> None:
    missing = [k for k in ("source_vocab", "target_vocab", "max_source_length", "max_target_length") if k not in info]
    if missing:
        raise SeqkitError(
            f"{what} needs a seq2seq adapter such as 'pairs' or 'cmudict' (data info has no {', '.join(missing)})"
        )


class SourceEmbeddingSpec(EncoderSpec):
    name = "source_embedding"
    keras_module = LAYERS
    description = "source symbols -> embeddings (optionally repeated per symbol: frames for CTC)"
    schema = {
        "properties": {
            "dim": {"type": "integer", "minimum": 1, "maximum": 4096, "default": 64, "description": "Embedding width."},
            "upsample": {
                "type": "integer",
                "minimum": 1,
                "maximum": 8,
                "default": 1,
                "description": "Frames per source symbol; CTC needs at least one frame per output symbol (and between repeats).",
            },
            "dropout": {**RATE, "default": 0.0, "description": "Dropout on the embeddings."},
        }
    }

    def raw_input_spec(self):
        _require_seq2seq_info(self.info, "encoder source_embedding")
        return {"shape": (vocab.packed_width(self.info),), "dtype": "int32"}

    def build(self, preprocessor, regularizer=None):
        from seqkit_seq2seq.layers import SourceEmbedding

        _require_seq2seq_info(self.info, "encoder source_embedding")
        c = self.config
        return SourceEmbedding(
            len(self.info["source_vocab"]),
            dim=c.get("dim", 64),
            source_length=int(self.info["max_source_length"]),
            upsample=c.get("upsample", 1),
            dropout=c.get("dropout", 0.0),
            name="source_embedding",
        )


class AttentionDecoderSpec(HeadSpec):
    keras_module = LAYERS
    name = "attention_decoder"
    needs_sequence = True
    needs_inputs = True
    description = (
        "LSTM decoder from the encoder's state, Luong / Bahdanau attention (optional input feeding), teacher forcing; "
        "greedy and beam decoding"
    )
    schema = {
        "properties": {
            "units": {
                "type": "integer",
                "minimum": 1,
                "maximum": 8192,
                "default": 128,
                "description": "Decoder LSTM units.",
            },
            "attention": {
                "enum": ["luong", "bahdanau"],
                "default": "luong",
                "description": "luong: general (multiplicative) scores; bahdanau: additive scores.",
            },
            "embedding_dim": {
                "type": "integer",
                "minimum": 1,
                "maximum": 4096,
                "default": 32,
                "description": "Target symbol embedding width.",
            },
            "dropout": {**RATE, "default": 0.0, "description": "Dropout before the output layer."},
            "scheduled_sampling": {
                **RATE,
                "default": 0.0,
                "description": "Probability of feeding the model's own previous output instead of the reference while "
                "training (Bengio et al. 2015); 0: teacher forcing only.",
            },
            "input_feeding": {
                "type": "boolean",
                "default": False,
                "description": "Feed the previous step's attentional vector into the decoder cell (Luong et al. 2015). "
                "Off (attention after the cell), teacher forcing runs over all steps at once: several times faster "
                "training.",
            },
            "label_smoothing": {**RATE, "default": 0.0, "description": "Label smoothing of the cross-entropy."},
            "beam": BEAM,
            "length_penalty": {
                "type": "number",
                "minimum": 0,
                "maximum": 5,
                "default": 0.6,
                "description": "alpha of GNMT's length penalty ((5 + length) / 6) ** alpha in beam search; 0: none.",
            },
        }
    }

    def build(self, regularizer=None):
        from seqkit_seq2seq.layers import AttentionDecoder

        _require_seq2seq_info(self.info, "head attention_decoder")
        c = self.config
        return AttentionDecoder(
            len(self.info["target_vocab"]),
            units=c.get("units", 128),
            source_length=int(self.info["max_source_length"]),
            attention=c.get("attention", "luong"),
            embedding_dim=c.get("embedding_dim", 32),
            dropout=c.get("dropout", 0.0),
            scheduled_sampling=c.get("scheduled_sampling", 0.0),
            beam=c.get("beam", 5),
            length_penalty=c.get("length_penalty", 0.6),
            input_feeding=c.get("input_feeding", False),
            name="attention_decoder",
        )

    def loss(self):
        from seqkit_seq2seq.layers import SequenceCrossEntropy

        return SequenceCrossEntropy(self.config.get("label_smoothing", 0.0))

    def metrics(self):
        from seqkit_seq2seq.layers import SequenceAccuracy, SymbolAccuracy

        return [SymbolAccuracy(), SequenceAccuracy()]


class CTCSpec(HeadSpec):
    keras_module = LAYERS
    name = "ctc"
    needs_sequence = True
    needs_inputs = True
    description = "frame labels with a blank, CTC loss (Graves et al. 2006); best-path and beam decoding"
    schema = {
        "properties": {
            "dropout": {**RATE, "default": 0.0, "description": "Dropout on the encoder outputs."},
            "beam": BEAM,
        }
    }

    def build(self, regularizer=None):
        from seqkit_seq2seq.layers import CTCHead

        _require_seq2seq_info(self.info, "head ctc")
        return CTCHead(
            len(self.info["target_vocab"]),
            source_length=int(self.info["max_source_length"]),
            dropout=self.config.get("dropout", 0.0),
            beam=self.config.get("beam", 5),
            name="ctc",
        )

    def loss(self):
        from seqkit_seq2seq.layers import CTCLoss

        _require_seq2seq_info(self.info, "head ctc")
        return CTCLoss(len(self.info["target_vocab"]))
