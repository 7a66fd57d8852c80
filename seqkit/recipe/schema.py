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
from typing import Any

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
        "bidirectional": {"type": "boolean", "default": False},
        "merge_mode": {"enum": ["concat", "sum", "ave", "mul"], "default": "concat"},
        "dropout": {**RATE, "default": 0.0, "description": "Dropout on each layer's output."},
        "recurrent_dropout": {
            **RATE,
            "default": 0.0,
            "description": "Dropout on recurrent state; > 0 leaves the fused cuDNN path.",
        },
        "layer_norm": {"type": "boolean", "default": False},
        "residual": {"type": "boolean", "default": False, "description": "Residual connections between layers of equal width."},
    },
}

OPTIMIZER = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"enum": ["adam", "adamw", "nadam", "rmsprop", "sgd", "adagrad"], "default": "adam"},
        "learning_rate": {"type": "number", "exclusiveMinimum": 0, "default": 1.0e-3},
        "clipnorm": {"type": "number", "exclusiveMinimum": 0},
        "clipvalue": {"type": "number", "exclusiveMinimum": 0},
        "weight_decay": {"type": "number", "minimum": 0},
        "momentum": {"type": "number", "minimum": 0, "maximum": 1},
    },
}

LR_SCHEDULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type"],
    "properties": {
        "type": {"enum": ["constant", "cosine", "exponential", "plateau"]},
        "warmup_epochs": {"type": "number", "minimum": 0, "description": "cosine: linear warm-up length."},
        "alpha": {"type": "number", "minimum": 0, "maximum": 1, "description": "cosine: final fraction of the rate."},
        "decay_rate": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "description": "exponential: factor per epoch."},
        "factor": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "description": "plateau: factor on each reduction."},
        "patience": {"type": "integer", "minimum": 0, "description": "plateau: epochs without improvement."},
        "min_learning_rate": {"type": "number", "minimum": 0},
    },
}

EARLY_STOPPING = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "monitor": {"type": "string", "default": "val_loss"},
        "patience": {"type": "integer", "minimum": 0, "default": 3},
        "min_delta": {"type": "number", "minimum": 0, "default": 0.0},
        "mode": {"enum": ["auto", "min", "max"], "default": "auto"},
        "restore_best_weights": {"type": "boolean", "default": True},
    },
}

TRAIN = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "epochs": {**POSITIVE_INT, "maximum": 1000000, "default": 10},
        "batch_size": {**POSITIVE_INT, "maximum": 1048576, "default": 32},
        "optimizer": {**OPTIMIZER, "default": {}},
        "lr_schedule": LR_SCHEDULE,
        "l2": {"type": "number", "minimum": 0, "default": 0.0, "description": "L2 penalty on every kernel."},
        "early_stopping": {
            "anyOf": [EARLY_STOPPING, {"const": False}],
            "x-expected": "a mapping (monitor, patience, ...) or false",
        },
        "class_weight": {
            "anyOf": [
                {"const": "balanced"},
                {"type": "object", "additionalProperties": {"type": "number", "exclusiveMinimum": 0}},
            ],
            "x-expected": "'balanced' or a mapping of label -> positive weight",
        },
        "deterministic": {
            "type": "boolean",
            "default": False,
            "description": "Enable TensorFlow op determinism (bit-identical reruns, slower).",
        },
        "verbose": {"enum": [0, 1, 2], "default": 2},
        "jit_compile": {
            "enum": ["auto", True, False],
            "default": "auto",
            "description": "XLA-compile the training step. auto: Keras's choice (on for GPUs and JAX, off on CPU-only TensorFlow).",
        },
        "steps_per_execution": {**POSITIVE_INT, "maximum": 10000, "default": 1, "description": "Training steps per compiled call."},
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
        "tuner": {"enum": ["random", "grid", "bayesian", "hyperband"], "default": "random"},
        "objective": {"type": "string", "default": "val_loss"},
        "direction": {"enum": ["min", "max"]},
        "max_trials": {**POSITIVE_INT, "default": 10},
        "executions_per_trial": {**POSITIVE_INT, "default": 1},
        "max_epochs": POSITIVE_INT,
        "space": {"type": "object", "additionalProperties": ENTRY_SCHEMA, "minProperties": 1},
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
            "x-expected": "letters, digits, '.', '_' or '-' (it names the run folder)",
        },
        "description": {"type": "string"},
        "task": {"type": "string", "description": "A task registered by a plugin (seqkit plugins)."},
        "seed": {"type": "integer", "minimum": 0, "default": 42},
        "data": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"adapter": {"type": "string", "description": "A registered data adapter."}},
        },
        "model": {
            "type": "object",
            "additionalProperties": False,
            "default": {},
            "properties": {
                "encoder": {
                    "type": "object",
                    "additionalProperties": False,
                    "default": {},
                    "properties": {"type": {"type": "string"}},
                },
                "backbone": {**BACKBONE, "default": {}},
                "head": {
                    "type": "object",
                    "additionalProperties": False,
                    "default": {},
                    "properties": {"type": {"type": "string"}},
                },
            },
        },
        "train": {**TRAIN, "default": {}},
        "predict": {
            "type": "object",
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
            "additionalProperties": False,
            "default": {},
            "properties": {
                "dir": {"type": "string", "default": "runs", "description": "Root of run folders."},
                "tensorboard": {"type": "boolean", "default": True},
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
            _merge_section(section, getattr(part, "schema", None))
    for section, section_schema in (getattr(task, "sections", None) or {}).items():
        props[section] = copy.deepcopy(section_schema)
    return schema


def _switch(kind_key: str, registry) -> list[dict]:
    branches = []
    for name, obj in registry.items():
        piece = getattr(obj, "schema", None) or {}
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
    section["properties"][kind_key] = {"enum": registry.names()}
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
        for section, section_schema in (getattr(task, "sections", None) or {}).items():
            props[section] = copy.deepcopy(section_schema)
    return schema


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
