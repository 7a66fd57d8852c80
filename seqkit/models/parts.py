"""Registered encoder and head *specs*: light classes (no Keras import) that validate their
recipe section and build the Keras layers on demand.

A plugin registers a spec class with ``register(SpecClass)`` (named by its ``name``) in
``seqkit_register_encoders`` / ``seqkit_register_heads``. seqkit instantiates it with the
validated section and the data bundle's ``info``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seqkit.recipe import Recipe


class EncoderSpec:
    """Maps raw inputs to a sequence of vectors.

    Class attributes:
        name: what recipes call it (``model.encoder.type``); required to register.
        schema: JSON Schema piece (``properties``) for ``model.encoder``.
        description: one line for ``seqkit plugins``.
    """

    name: str = ""
    schema: dict = {"properties": {}}
    description: str = ""
    #: Module that defines the spec's custom Keras layers (registered serializable); seqkit
    #: imports it before loading a saved model, so models reload in a fresh process.
    keras_module: str | None = None

    def __init__(self, config: dict, info: dict, base_dir=None):
        self.config = config
        self.info = info
        # Folder that relative paths in the section (e.g. pretrained vectors) resolve against.
        self.base_dir = base_dir
        # Lines the runner prints after building (e.g. how many pretrained vectors matched).
        self.notes: list[str] = []
        # Facts about the built encoder (e.g. pretrained vectors' coverage), JSON-ready; the
        # runner writes them to data_info.json under "encoder".
        self.facts: dict[str, Any] = {}

    @classmethod
    def check(cls, config: dict) -> list[tuple[str, str]]:
        """Cross-key checks of the ``model.encoder`` section a schema cannot express:
        ``[(key, message), ...]`` with keys relative to the section. Default: none."""
        return []

    def preprocessor(self, train_x: Any):
        """Return an adapted, non-trainable Keras layer that turns raw inputs into model
        inputs (e.g. ``TextVectorization``), or None. It runs in the data pipeline during
        training and is prepended to the saved model, so the saved model takes raw inputs."""
        return None

    def vocabulary(self, preprocessor) -> list[str] | None:
        """The token of each row of the encoder's embedding, or None (no token vocabulary).
        ``model.init_from`` maps an earlier run's embedding rows by these tokens. Default: None."""
        return None

    def raw_input_spec(self) -> dict:
        """``keras.Input`` arguments for one raw input, e.g. ``{"shape": (), "dtype": "string"}``."""
        raise NotImplementedError

    def input_spec(self, preprocessor) -> dict:
        """``keras.Input`` arguments for the trainable model (after the preprocessor)."""
        return self.raw_input_spec()

    def sequence_lengths(self, x) -> Any:
        """Per example of the model inputs ``x`` (after the preprocessor), how many steps of
        axis 1 hold data, the rest being padding on the right that the encoder masks; or None
        when the inputs have no padding to cut (the default). Training batches are then drawn
        by length and cut to their longest example (``train.bucket_by_length``), so an encoder
        that returns lengths must accept any length on axis 1.
        :func:`~seqkit.data.pipeline.padded_lengths` turns a valid-step mask into lengths."""
        return None

    def build(self, preprocessor, regularizer=None):
        """Return the trainable Keras layer (raw or preprocessed input -> (batch, steps, features))."""
        raise NotImplementedError

    def learning_rate_multipliers(self, model) -> dict[str, float]:
        """Factors on the learning rate for the encoder's weights in ``model``, by weight
        ``path`` (``variable.path``): discriminative fine-tuning, e.g. layer-wise decay that
        trains a pretrained network's lower layers more slowly. Weights not named (the
        backbone, the head) train at the recipe's rate. The runner asks at every compile
        (also after :meth:`thaw`). Default: none."""
        return {}

    def thaw_epochs(self, model) -> list[int]:
        """Epochs (counted from 0) at whose start :meth:`thaw` changes which of the encoder's
        weights train: gradual unfreezing. Default: none."""
        return []

    def thaw(self, model, epoch: int) -> str | None:
        """Set which of the encoder's weights in ``model`` train from ``epoch`` on (the
        runner calls it before training, after resuming and at each of :meth:`thaw_epochs`).
        Returns a line for the terminal when something changed (the runner then compiles the
        model anew, with a fresh optimizer), else None. The layers must keep the setting in
        their config, so that a resumed run's checkpoint reloads with the same trainable
        weights."""
        return None


class HeadSpec:
    """Maps backbone outputs to task outputs, and says how they are trained."""

    #: What recipes call it (``model.head.type``); required to register.
    name: str = ""
    schema: dict = {"properties": {}}
    description: str = ""
    #: Module that defines the head's custom Keras layers (see EncoderSpec.keras_module).
    keras_module: str | None = None
    #: True if the head needs the backbone's whole output sequence.
    needs_sequence: bool = False
    #: True if the head layer is called as ``head(backbone_output, model_inputs)``.
    needs_inputs: bool = False
    #: True if the targets are per input step (``(rows, steps, ...)``, e.g. one tag per token):
    #: training batches cut to their longest input (length bucketing) cut the targets too.
    step_targets: bool = False

    def __init__(self, config: dict, info: dict):
        self.config = config
        self.info = info

    @classmethod
    def check(cls, config: dict) -> list[tuple[str, str]]:
        """Cross-key checks of the ``model.head`` section a schema cannot express:
        ``[(key, message), ...]`` with keys relative to the section. Default: none."""
        return []

    @classmethod
    def check_recipe(cls, recipe: Recipe) -> list[tuple[str, str]]:
        """Check the whole recipe this head is part of, before anything is loaded:
        ``[(dotted key, message), ...]`` with keys dotted from the recipe's top (e.g. a head
        that needs a particular encoder, or a size bounded by a ``data:`` key). ``recipe`` is
        validated against the schema with defaults filled in; read it with ``recipe.get``.
        ``seqkit validate`` reports each problem with the key's file and line. Default: none."""
        return []

    def wants_sequence(self) -> bool:
        return self.needs_sequence

    def target_lengths(self, y) -> Any:
        """Per example of the targets ``y`` (with ``step_targets``), how many steps of axis 1
        are real, the rest being padding the loss ignores; or None (the default). Used for
        length bucketing when the encoder cannot tell padding from data (e.g. a causal model
        whose all-zero input frame is a real rest): a causal backbone's outputs at real steps
        do not depend on the padding after them."""
        return None

    def build(self, regularizer=None):
        raise NotImplementedError

    def loss(self):
        raise NotImplementedError

    def metrics(self) -> list:
        return []
