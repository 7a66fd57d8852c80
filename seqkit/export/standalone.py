"""Predict with a seqkit export in a program that does not have seqkit.

    python standalone.py EXPORT_DIR INPUTS.json     # prints {output name: values} as JSON
    python standalone.py DIR_A DIR_B ... INPUTS.json  # {DIR: {output name: values}} for several

``INPUTS.json`` maps the export's input names (export.json ``inputs``) to values, e.g.
``{"text": ["great product"]}`` or ``{"sequences": [[[0.1, 0.2], ...]], "lengths": [3]}``.
For an export that takes ``token_ids`` (TFLite and ONNX text models), ``{"text": [...]}`` is
turned into token ids with ``tokenizer.json``, the way :func:`tokenize` shows.

This file imports NumPy and the format's runtime only (TensorFlow for SavedModel and TFLite,
onnxruntime for ONNX), never seqkit: copy it next to an export and adapt it. seqkit's tests
run it in a fresh process to check that each export predicts what ``seqkit predict`` does.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np


def tokenize(texts: list[str], tokenizer: dict) -> np.ndarray:
    """Texts -> token ids, as the run's TextVectorization layer makes them (tokenizer.json)."""
    index = {token: i for i, token in enumerate(tokenizer["vocabulary"]) if i >= 2 or token}
    punctuation = re.compile(tokenizer["punctuation_regex"])
    length = tokenizer["sequence_length"]
    rows = []
    for text in texts:
        if tokenizer["standardize"] in ("lower", "lower_and_strip_punctuation"):
            text = text.lower()
        if tokenizer["standardize"] in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = punctuation.sub("", text)
        tokens = text.split() if tokenizer["split"] == "whitespace" else [text]
        ids = [index.get(token, tokenizer["oov_id"]) for token in tokens]
        if length:
            ids = (ids + [tokenizer["padding_id"]] * length)[:length]
        rows.append(ids)
    return np.asarray(rows, dtype="int64")


def feeds(folder: Path, meta: dict, inputs: dict) -> dict[str, np.ndarray]:
    """The input arrays, each with the dtype export.json gives it."""
    inputs = dict(inputs)
    if "token_ids" in meta["inputs"] and "text" in inputs:
        tokenizer = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        inputs["token_ids"] = tokenize(inputs.pop("text"), tokenizer)
    arrays = {}
    for name, spec in meta["inputs"].items():
        dtype = object if spec["dtype"] == "string" else spec["dtype"]
        arrays[name] = np.asarray(inputs[name], dtype=dtype)
    return arrays


def _plain(value) -> list:
    value = np.asarray(value)
    if value.dtype == object:
        return [v.decode("utf-8") if isinstance(v, bytes) else v for v in value.reshape(-1).tolist()]
    return value.tolist()


def predict(folder: str | Path, inputs: dict) -> dict[str, list]:
    folder = Path(folder)
    meta = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    arrays = feeds(folder, meta, inputs)
    if meta["format"] == "saved_model":
        import tensorflow as tf

        model = tf.saved_model.load(str(folder / "saved_model"))
        outputs = model.signatures["serving_default"](**{k: tf.constant(v) for k, v in arrays.items()})
        return {name: _plain(value.numpy()) for name, value in outputs.items()}
    if meta["format"] == "tflite":
        import tensorflow as tf

        interpreter = tf.lite.Interpreter(model_path=str(folder / "model.tflite"))
        runner = interpreter.get_signature_runner("serving_default")
        rows = []
        for i in range(len(next(iter(arrays.values())))):  # a batch of 1 per call (export.json "carries")
            rows.append(runner(**{k: v[i : i + 1] for k, v in arrays.items()}))
        return {name: sum((_plain(row[name]) for row in rows), []) for name in rows[0]}
    if meta["format"] == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
        names = [output.name for output in session.get_outputs()]
        return {name: _plain(value) for name, value in zip(names, session.run(names, arrays))}
    raise SystemExit(f"{folder}: unknown export format {meta['format']!r}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit("usage: python standalone.py EXPORT_DIR [EXPORT_DIR ...] INPUTS.json")
    feed = json.loads(Path(sys.argv[-1]).read_text(encoding="utf-8"))
    folders = sys.argv[1:-1]
    result = {folder: predict(folder, feed) for folder in folders}
    result = result[folders[0]] if len(folders) == 1 else result
    result["_seqkit_imported"] = "seqkit" in sys.modules
    print(json.dumps(result))
