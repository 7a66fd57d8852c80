"""The recipe's JSON Schema: the core's sections merged with every installed plugin's.

Two views of the same pieces:

* :func:`merged_schema` is what ``seqkit schema`` prints: one document covering every
  installed task, adapter, encoder and head (``if``/``then`` on the names), for editors.
* :func:`resolved_schema` is the schema of one recipe, with the sections of the adapter,
  encoder and head it names merged in, so validation can reject unknown keys and suggest
  the valid ones.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import jsonschema

from seqkit.recipe.distribution import SCHEMA as DISTRIBUTION
from seqkit.tune.space import ENTRY_SCHEMA

POSITIVE_INT = {"type": "integer", "minimum": 1}
# Upper bounds keep a typo (units: 1000000000) from exhausting memory before any error.
UNITS = {"type": "integer", "minimum": 1, "maximum": 65536}
RATE = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}

BACKBONE = {
    "type": "object",
    "description": "The shared stacked-LSTM backbone.",
    "additionalProperties": False,
    "properties": {
        "layers": {**POSITIVE_INT, "maximum": 64, "default": 1, "description": "Number of stacked LSTM layers."},
        "units": {
            "anyOf": [UNITS, {"type": "array", "items": UNITS, "minItems": 1, "maxItems": 64}],
            "x-expected": "a positive integer (at most 65536) or a list of them (one per layer)",
            "default": 64,
            "description": "Units per layer: one number for every layer, or a list.",
        },
        "bidirectional": {
            "type": "boolean",
            "default": False,
            "description": "Read each sequence both ways in every layer (output width doubles with concat).",
        },
        "merge_mode": {
            "enum": ["concat", "sum", "ave", "mul"],
            "default": "concat",
            "description": "How a bidirectional layer combines its two directions.",
        },
        "dropout": {**RATE, "default": 0.0, "description": "Dropout on each layer's output."},
        "recurrent_dropout": {
            **RATE,
            "default": 0.0,
            "description": "Dropout on recurrent state; > 0 leaves the fused cuDNN path.",
        },
        "layer_norm": {
            "type": "boolean",
            "default": False,
            "description": "Layer normalisation on each layer's output.",
        },
        "residual": {
            "type": "boolean",
            "default": False,
            "description": "Residual connections between layers of equal width.",
        },
    },
}

OPTIMIZER = {
    "type": "object",
    "description": "The Keras optimizer and its settings.",
    "additionalProperties": False,
    "properties": {
        "name": {
            "enum": ["adam", "adamw", "nadam", "rmsprop", "sgd", "adagrad"],
            "default": "adam",
            "description": "The Keras optimizer.",
        },
        "learning_rate": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 1.0e-3,
            "description": "Initial learning rate (the peak of a cosine schedule).",
        },
        "clipnorm": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "Clip each gradient to this L2 norm (unset: no clipping).",
        },
        "clipvalue": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "Clip each gradient element to [-value, value] (unset: no clipping).",
        },
        "weight_decay": {
            "type": "number",
            "minimum": 0,
            "description": "Decoupled weight decay applied by the optimizer (Keras's weight_decay; adamw's default 0.004).",
        },
        "momentum": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "sgd / rmsprop momentum (ignored by the other optimizers; Keras default 0).",
        },
    },
}

LR_SCHEDULE = {
    "type": "object",
    "description": "Learning-rate schedule over the epochs (unset: constant train.optimizer.learning_rate).",
    "additionalProperties": False,
    "required": ["type"],
    "properties": {
        "type": {
            "enum": ["constant", "cosine", "exponential", "plateau"],
            "description": "constant; cosine decay (with warm-up) over all epochs; exponential decay per epoch; plateau: reduce on a val_loss plateau.",
        },
        "warmup_epochs": {"type": "number", "minimum": 0, "description": "cosine: linear warm-up length."},
        "alpha": {"type": "number", "minimum": 0, "maximum": 1, "description": "cosine: final fraction of the rate."},
        "decay_rate": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "description": "exponential: factor per epoch.",
        },
        "factor": {
            "type": "number",
            "exclusiveMinimum": 0,
            "exclusiveMaximum": 1,
            "description": "plateau: factor on each reduction.",
        },
        "patience": {"type": "integer", "minimum": 0, "description": "plateau: epochs without improvement."},
        "min_learning_rate": {
            "type": "number",
            "minimum": 0,
            "description": "plateau: the rate is never reduced below this (default 0).",
        },
    },
}

EARLY_STOPPING = {
    "type": "object",
    "description": "Keras EarlyStopping: stop when the monitored metric stops improving.",
    "additionalProperties": False,
    "properties": {
        "monitor": {
            "type": "string",
            "default": "val_loss",
            "description": "A metric the model logs (val_loss, val_accuracy ...); an unknown one stops with the logged names.",
        },
        "patience": {
            "type": "integer",
            "minimum": 0,
            "default": 3,
            "description": "Epochs without improvement before stopping.",
        },
        "min_delta": {
            "type": "number",
            "minimum": 0,
            "default": 0.0,
            "description": "Smallest change of the monitored metric that counts as an improvement.",
        },
        "mode": {
            "enum": ["auto", "min", "max"],
            "default": "auto",
            "description": "Whether lower or higher is better; auto infers it from the metric's name.",
        },
        "restore_best_weights": {
            "type": "boolean",
            "default": True,
            "description": "Keep the weights of the best epoch rather than the last.",
        },
    },
}

TRAIN = {
    "type": "object",
    "description": "Training: epochs, batch, optimizer, schedule, regularisation, early stopping, speed settings.",
    "additionalProperties": False,
    "properties": {
        "epochs": {
            **POSITIVE_INT,
            "maximum": 1000000,
            "default": 10,
            "description": "Maximum number of passes over the training data.",
        },
        "batch_size": {
            **POSITIVE_INT,
            "maximum": 1048576,
            "default": 32,
            "description": "Examples per step; the global batch under distribution (split over the workers).",
        },
        "bucket_by_length": {
            "type": "boolean",
            "default": True,
            "description": "Draw training batches of similar lengths and cut each to its longest example "
            "(inputs the encoder pads: texts, tokens, sensor recordings); false pads every batch to the full length.",
        },
        "optimizer": {**OPTIMIZER, "default": {}},
        "lr_schedule": LR_SCHEDULE,
        "l2": {"type": "number", "minimum": 0, "default": 0.0, "description": "L2 penalty on every kernel."},
        "early_stopping": {
            "anyOf": [EARLY_STOPPING, {"const": False}],
            "x-expected": "a mapping (monitor, patience, ...) or false",
            "description": "Early stopping settings, or false for none (unset: none).",
        },
        "class_weight": {
            "anyOf": [
                {"const": "balanced"},
                {"type": "object", "additionalProperties": {"type": "number", "exclusiveMinimum": 0}},
            ],
            "x-expected": "'balanced' or a mapping of label -> positive weight",
            "description": "Loss weight per class: balanced (n / (classes x count)) or label -> weight; single-label classification, in-memory data only.",
        },
        "deterministic": {
            "type": "boolean",
            "default": False,
            "description": "Enable TensorFlow op determinism (bit-identical reruns, slower).",
        },
        "verbose": {
            "enum": [0, 1, 2, "auto"],
            "default": "auto",
            "description": "Keras fit verbosity: 0 silent, 1 progress bar, 2 one line per epoch; auto: the live bar "
            "on a terminal, one line per epoch when the output is piped or redirected (no ANSI codes in logs).",
        },
        "jit_compile": {
            "enum": ["auto", True, False],
            "default": "auto",
            "description": "XLA-compile the training step. auto: Keras's choice (on for GPUs and JAX, off on CPU-only TensorFlow).",
        },
        "steps_per_execution": {
            **POSITIVE_INT,
            "maximum": 10000,
            "default": 1,
            "description": "Training steps per compiled call.",
        },
        "precision": {
            "enum": ["float32", "mixed_bfloat16", "mixed_float16"],
            "default": "float32",
            "description": "Keras dtype policy; mixed_bfloat16 computes in bfloat16 with float32 weights.",
        },
    },
}

TUNE = {
    "type": "object",
    "description": "Hyperparameter search (seqkit tune).",
    "additionalProperties": False,
    "properties": {
        "tuner": {
            "enum": ["random", "grid", "bayesian", "hyperband"],
            "default": "random",
            "description": "The KerasTuner search algorithm.",
        },
        "objective": {
            "type": "string",
            "default": "val_loss",
            "description": "The logged metric each trial is scored by.",
        },
        "direction": {
            "enum": ["min", "max"],
            "description": "Whether the objective is minimised or maximised (unset: min for loss / error / mae / mse / rmse names, else max).",
        },
        "max_trials": {
            **POSITIVE_INT,
            "maximum": 1000000,
            "default": 10,
            "description": "random / grid / bayesian: the number of trials.",
        },
        "executions_per_trial": {
            **POSITIVE_INT,
            "maximum": 1000,
            "default": 1,
            "description": "Models trained per trial (their scores are averaged).",
        },
        "max_epochs": {
            **POSITIVE_INT,
            "maximum": 1000000,
            "description": "Epochs per trial; hyperband's budget per model (default: train.epochs).",
        },
        "space": {
            "type": "object",
            "additionalProperties": ENTRY_SCHEMA,
            "minProperties": 1,
            "description": "Dotted recipe key -> {int | float | choice | bool | fixed: ...} search entry (docs/tuning.md).",
        },
        "early_stopping": {
            "anyOf": [EARLY_STOPPING, {"const": False}],
            "x-expected": "a mapping (monitor, patience, ...) or false",
            "description": "Early stopping inside each trial (default: train.early_stopping).",
        },
        "factor": {"type": "integer", "minimum": 2, "default": 3, "description": "hyperband: reduction factor."},
    },
}

CORE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "seqkit recipe",
    "type": "object",
    "additionalProperties": False,
    "required": ["task", "data"],
    "properties": {
        "name": {
            "type": "string",
            "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$",
            "maxLength": 100,
            "x-expected": "at most 100 letters, digits, '.', '_' or '-' (it names the run folder)",
            "description": "Names the run folder: output.dir/<name>/<run-id>/ (default: the recipe file's name, else the task).",
        },
        "description": {"type": "string", "description": "Free text about the recipe; not used by training."},
        "task": {"type": "string", "description": "A task registered by a plugin (seqkit plugins)."},
        "seed": {
            "type": "integer",
            "minimum": 0,
            "maximum": 2**32 - 1,
            "default": 42,
            "description": "Seeds weights, shuffling and data splits (each epoch's order depends only on it and the epoch).",
        },
        "data": {
            "type": "object",
            "description": "Where the data come from and how they are split; the keys depend on the adapter.",
            "additionalProperties": False,
            "properties": {
                "adapter": {"type": "string", "description": "A registered data adapter (default: the task's)."}
            },
        },
        "model": {
            "type": "object",
            "description": "The network: encoder -> stacked-LSTM backbone -> head.",
            "additionalProperties": False,
            "default": {},
            "properties": {
                "encoder": {
                    "type": "object",
                    "description": "Maps raw inputs to (batch, steps, features); the keys depend on its type.",
                    "additionalProperties": False,
                    "default": {},
                    "properties": {
                        "type": {"type": "string", "description": "A registered encoder (default: the task's)."}
                    },
                },
                "backbone": {**BACKBONE, "default": {}},
                "init_from": {
                    "type": "string",
                    "format": "path",
                    "description": (
                        "Warm start: an earlier run directory (or a .keras / .weights.h5 file inside one) whose "
                        "encoder and backbone weights are loaded where their shapes match; embedding rows are "
                        "mapped by token. Works across tasks (a language model's backbone into a classifier); "
                        "the head is always new."
                    ),
                },
                "freeze_epochs": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": 1000000,
                    "default": 0,
                    "description": (
                        "With init_from: train only the new layers for this many epochs, then everything "
                        "(the optimizer starts afresh when the loaded layers are unfrozen)."
                    ),
                },
                "head": {
                    "type": "object",
                    "description": "The output layer, its loss and metrics; the keys depend on its type.",
                    "additionalProperties": False,
                    "default": {},
                    "properties": {
                        "type": {"type": "string", "description": "A registered head (default: the task's)."}
                    },
                },
            },
        },
        "train": {**TRAIN, "default": {}},
        "predict": {
            "type": "object",
            "description": "Predictions made at the end of seqkit run.",
            "additionalProperties": False,
            "properties": {
                "examples": {
                    "type": "array",
                    "description": "Raw inputs predicted and printed at the end of `seqkit run`.",
                }
            },
        },
        "output": {
            "type": "object",
            "description": "Where runs are written.",
            "additionalProperties": False,
            "default": {},
            "properties": {
                "dir": {"type": "string", "default": "runs", "description": "Root of run folders."},
                "tensorboard": {
                    "type": "boolean",
                    "default": True,
                    "description": "Write TensorBoard logs in the run's tensorboard/ folder.",
                },
            },
        },
        "tune": TUNE,
        "distribution": DISTRIBUTION,
    },
}


def _merge_section(target: dict, piece: dict | None) -> None:
    """Merge a plugin's section schema (properties/required) into a core object schema."""
    if not piece:
        return
    target.setdefault("properties", {}).update(copy.deepcopy(piece.get("properties", {})))
    required = list(target.get("required", [])) + list(piece.get("required", []))
    if required:
        target["required"] = sorted(set(required), key=required.index)


def resolved_schema(task=None, adapter=None, encoder=None, head=None) -> dict:
    """The schema of one recipe: the core plus the sections of the parts it uses."""
    schema = copy.deepcopy(CORE)
    props = schema["properties"]
    model = props["model"]["properties"]
    for part, section in ((adapter, props["data"]), (encoder, model["encoder"]), (head, model["head"])):
        if part is None:
            # An unknown (or unnamed) task / adapter / encoder / head: the keys of its section
            # cannot be checked, and the unknown name is the problem to report, not each key.
            section.pop("additionalProperties", None)
        else:
            _merge_section(section, part.schema)
    for section, section_schema in (task.sections if task is not None else {}).items():
        props[section] = copy.deepcopy(section_schema)
    return schema


def _switch(kind_key: str, registry) -> list[dict]:
    branches = []
    for name, obj in registry.items():
        piece = obj.schema
        branches.append(
            {
                "if": {"properties": {kind_key: {"const": name}}, "required": [kind_key]},
                "then": {
                    "properties": copy.deepcopy(piece.get("properties", {})),
                    "required": list(piece.get("required", [])),
                },
            }
        )
    return branches


def _open_up(section: dict, kind_key: str, registry) -> None:
    section.pop("additionalProperties", None)
    section["unevaluatedProperties"] = False
    section["properties"][kind_key] = {
        "enum": registry.names(),
        "description": section["properties"][kind_key].get("description", ""),
    }
    section["allOf"] = _switch(kind_key, registry)


def merged_schema(manager) -> dict[str, Any]:
    """One JSON Schema for every recipe any installed plugin accepts."""
    schema = copy.deepcopy(CORE)
    props = schema["properties"]
    props["task"]["enum"] = manager.tasks.names()
    _open_up(props["data"], "adapter", manager.adapters)
    _open_up(props["model"]["properties"]["encoder"], "type", manager.encoders)
    _open_up(props["model"]["properties"]["head"], "type", manager.heads)
    for _name, task in manager.tasks.items():
        for section, section_schema in task.sections.items():
            props[section] = copy.deepcopy(section_schema)
    return schema


def _finite_number(checker, instance) -> bool:
    import math

    return jsonschema.Draft202012Validator.TYPE_CHECKER.is_type(instance, "number") and (
        not isinstance(instance, float) or math.isfinite(instance)
    )


def recipe_validator(schema: dict):
    """A JSON Schema validator for recipes in which a ``number`` is finite: NaN and infinity
    are refused wherever a rate, norm, weight or size is asked for (``learning_rate: .nan``
    passes every bound, since NaN compares false with all of them)."""
    return _finite_validator_class()(schema)


@functools.cache
def _finite_validator_class():
    checker = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("number", _finite_number)
    return jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=checker)


_SCALAR_TYPES = {"integer", "number", "boolean"}


def _candidates(schema: dict) -> list[dict]:
    return [schema, *[c for option in schema.get("anyOf", []) for c in _candidates(option)]]


def convert_interpolated(schema: dict, data: Any, dotted_keys) -> None:
    """``${VAR}`` gives text; where the schema asks for a number or a boolean (and not text),
    read that text as a YAML scalar: ``units: ${UNITS}`` with UNITS=8 is the integer 8."""
    import yaml

    from seqkit.recipe.loader import RecipeLoader

    for dotted in dotted_keys:
        parent, options = None, [schema]
        node: Any = data
        key: Any = None
        for part in dotted.split("."):
            options = [
                found for option in options for c in _candidates(option) if (found := _step(c, part)) is not None
            ]
            parent, key = node, part
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                key = int(part)
                node = node[key]
            else:
                parent = None
                break
        if parent is None or not isinstance(node, str):
            continue
        types = set()
        for option in options:
            for c in _candidates(option):
                kind = c.get("type")
                types.update([kind] if isinstance(kind, str) else (kind or []))
        if not types & _SCALAR_TYPES or "string" in types:
            continue
        try:
            parsed = yaml.load(node, Loader=RecipeLoader)
        except (yaml.YAMLError, ValueError):
            continue
        if isinstance(parsed, (bool, int, float)):
            parent[key] = parsed


def _step(schema: dict, part: str) -> dict | None:
    if not isinstance(schema, dict):
        return None
    if part in schema.get("properties", {}):
        return schema["properties"][part]
    if part.isdigit() and isinstance(schema.get("items"), dict):
        return schema["items"]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def fill_defaults(schema: dict, data: Any) -> Any:
    """Insert `default` values of object properties, recursively, where keys are missing."""
    if not isinstance(data, dict) or schema.get("type") != "object":
        return data
    for key, prop in schema.get("properties", {}).items():
        if key not in data and "default" in prop:
            data[key] = copy.deepcopy(prop["default"])
        if key in data:
            data[key] = fill_defaults(prop, data[key])
            for option in prop.get("anyOf", []):
                if isinstance(data[key], dict) and option.get("type") == "object":
                    data[key] = fill_defaults(option, data[key])
    return data
