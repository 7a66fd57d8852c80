"""Exporting a trained run so that it loads without seqkit: SavedModel, TFLite, ONNX.

``seqkit export RUN_DIR --format saved_model|tflite|onnx --output DIR`` (and
``Run.export(...)``) writes a folder:

- ``saved_model/`` (Keras's ``ExportArchive``), ``model.tflite`` (``tf.lite.TFLiteConverter``)
  or ``model.onnx`` (``tf2onnx``);
- ``export.json``: the format, the signature (input and output names, dtypes, shapes), the
  task, the class names, what the file carries and what it leaves to the caller, and the
  versions of seqkit, TensorFlow, Keras and the converter;
- ``tokenizer.json`` when the format cannot carry the run's text preprocessing (TFLite and
  ONNX): the vocabulary (index = token id) and the rules that turn a text into token ids.

The task decides the signature (:meth:`seqkit.task.Task.export_inputs`, ``export_prepare``,
``export_outputs``), so a third-party task exports too. The folder is written under a
temporary name and renamed into place: a failed export leaves nothing that looks complete.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from seqkit.errors import SeqkitError

FORMATS = ("saved_model", "tflite", "onnx")
ONNX_OPSET = 17
SERVE_ENDPOINT = "serve"  # the SavedModel endpoint; also its serving_default signature


class ExportError(SeqkitError):
    """An export that cannot be written (a format that cannot carry a part, a converter missing)."""


def _split_preprocessor(model):
    """``(preprocessor, network)`` of a saved seqkit model: the model seqkit saves is
    ``raw inputs -> preprocessor -> network`` when its inputs need preprocessing (text), else
    the network alone (``preprocessor`` None)."""
    import keras

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if len(layers) == 2 and isinstance(layers[1], keras.Model) and not layers[0].trainable_weights:
        return layers[0], layers[1]
    return None, model


def _tokenizer(preprocessor) -> dict:
    """The rules and vocabulary of a ``TextVectorization`` layer as JSON, so a program without
    TensorFlow turns texts into the token ids a TFLite / ONNX export takes."""
    import keras

    if not isinstance(preprocessor, keras.layers.TextVectorization):
        raise ExportError(
            f"the model's preprocessing layer {type(preprocessor).__name__} cannot be carried by this format and is not "
            "a TextVectorization layer that seqkit can describe in tokenizer.json; export --format saved_model instead"
        )
    config = preprocessor.get_config()
    for key, supported in (
        ("standardize", ("lower_and_strip_punctuation", "lower", "strip_punctuation", None)),
        ("split", ("whitespace", None)),
        ("ngrams", (None,)),
        ("output_mode", ("int",)),
    ):
        if config.get(key) not in supported:
            raise ExportError(
                f"the model's TextVectorization has {key}={config.get(key)!r}, which tokenizer.json cannot describe "
                f"(supported: {', '.join(map(str, supported))}); export --format saved_model, which carries it"
            )
    return {
        "vocabulary": [str(token) for token in preprocessor.get_vocabulary()],
        "padding_id": 0,
        "oov_id": 1,
        "standardize": config.get("standardize"),
        # TensorFlow's punctuation set for strip_punctuation (keras TextVectorization)
        "punctuation_regex": r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']',
        "split": config.get("split"),
        "sequence_length": config.get("output_sequence_length"),
        "how": "standardize (lower-case, then delete every match of punctuation_regex), split on whitespace, "
        "look each token up in vocabulary (its index is the id; unknown tokens get oov_id), then cut or pad with "
        "padding_id to sequence_length",
    }


def _versions(fmt: str) -> dict[str, str]:
    from importlib import metadata

    names = ["seqkit", "keras", "numpy"]
    names += {"saved_model": [], "tflite": [], "onnx": ["tf2onnx", "onnx", "onnxruntime"]}[fmt]
    versions = {}
    import tensorflow as tf

    versions["tensorflow"] = tf.__version__
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def _spec_json(spec) -> dict:
    return {"dtype": spec.dtype.name, "shape": [None if d is None else int(d) for d in spec.shape]}


def export_run(run, fmt: str, output, overwrite: bool = False) -> Path:
    """Write ``run`` (a :class:`seqkit.api.Run`) as ``fmt`` into the folder ``output``; returns
    it. See the module docstring for what the folder holds."""
    if fmt not in FORMATS:
        raise ExportError(f"--format: expected one of {', '.join(FORMATS)}. Received: {fmt!r}")
    output = Path(output)
    if output.exists() and not overwrite:
        raise ExportError(f"{output}: already exists; choose another --output or pass --overwrite")
    if output.exists() and not output.is_dir():
        raise ExportError(f"{output}: exists and is not a folder")
    if fmt == "onnx":
        try:
            import tf2onnx  # noqa: F401
        except ImportError:
            raise ExportError(
                "--format onnx needs tf2onnx and onnx: pip install 'seqkit[export]' (make install installs it)"
            ) from None

    import tensorflow as tf

    model = run.model
    info = run.info
    task = run.task
    preprocessor, network = _split_preprocessor(model)
    carried = fmt == "saved_model"  # TFLite (no Flex delegate in the Python interpreter) and ONNX: no text ops
    inner = model if (carried or preprocessor is None) else network
    model_input = inner.inputs[0]
    batch = 1 if fmt == "tflite" else None  # TFLite's LSTM (TensorList) conversion needs a static batch size
    spec = tf.TensorSpec([batch, *model_input.shape[1:]], tf.as_dtype(model_input.dtype))
    input_specs = task.export_inputs(info, spec)
    if not isinstance(input_specs, dict) or not input_specs:
        raise ExportError(f"task {run.recipe.task!r}: export_inputs must return a dict of name -> tf.TensorSpec")
    input_specs = {name: tf.TensorSpec(s.shape, s.dtype, name=name) for name, s in input_specs.items()}
    names = list(input_specs)

    def serve(*tensors):
        inputs = dict(zip(names, tensors))
        outputs = inner(task.export_prepare(inputs, info), training=False)
        named = task.export_outputs(outputs, info)
        return {name: tf.identity(value, name=name) for name, value in named.items()}

    signature = [input_specs[n] for n in names]
    tmp = output.with_name(f".{output.name}.tmp-export")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        import logging
        import re

        from seqkit.quiet import filtered_stderr

        logging.getLogger("tf2onnx").setLevel(logging.ERROR)
        with filtered_stderr(re.compile(".")):  # the converters' progress lines; failures raise
            files = _write(fmt, tmp, inner, serve, signature)
        concrete = tf.function(serve, input_signature=signature).get_concrete_function()
        outputs_json = {name: _spec_json(t) for name, t in concrete.structured_outputs.items()}
        meta: dict[str, Any] = {
            "format": fmt,
            "files": files,
            "run": str(run.path),
            "task": run.recipe.task,
            "recipe_name": run.recipe.get("name"),
            "inputs": {name: _spec_json(s) for name, s in input_specs.items()},
            "outputs": outputs_json,
            "classes": list(info.get("classes", [])) or None,
            "versions": _versions(fmt),
        }
        if fmt == "saved_model":
            meta["signature"] = "serving_default"
            meta["carries"] = "the whole model, preprocessing included: raw inputs in, named outputs out"
        else:
            meta["signature"] = "serving_default" if fmt == "tflite" else None
            if fmt == "onnx":
                meta["opset"] = ONNX_OPSET
            if preprocessor is not None:
                tokenizer = _tokenizer(preprocessor)
                (tmp / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False, indent=1), "utf-8")
                meta["files"].append("tokenizer.json")
                meta["carries"] = (
                    f"the network from token ids on; {fmt} cannot carry the text preprocessing (TensorFlow string ops "
                    "such as regex replace and string split are not ONNX or built-in TFLite ops): turn texts into "
                    "token ids with tokenizer.json"
                )
            else:
                meta["carries"] = "the whole model: raw inputs in, named outputs out"
            if fmt == "tflite":
                meta["carries"] += "; a batch of 1 per call (TFLite's LSTM conversion needs a static batch size)"
        (tmp / "export.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", "utf-8")
        if output.exists():
            shutil.rmtree(output)
        tmp.rename(output)
    except SeqkitError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except Exception as exc:  # noqa: BLE001 - a converter's failure is one line naming the format
        shutil.rmtree(tmp, ignore_errors=True)
        message = str(exc).strip().splitlines()
        raise ExportError(
            f"{run.path}: cannot export as {fmt}: {type(exc).__name__}: {message[-1][:300] if message else ''}"
        ) from None
    return output


def _write(fmt: str, folder: Path, inner, serve, signature) -> list[str]:
    import keras
    import tensorflow as tf

    if fmt == "onnx":
        import tf2onnx

        function = tf.function(serve, input_signature=signature)
        tf2onnx.convert.from_function(
            function, input_signature=signature, opset=ONNX_OPSET, output_path=str(folder / "model.onnx")
        )
        return ["model.onnx"]
    saved = folder / "saved_model"
    archive = keras.export.ExportArchive()
    archive.track(inner)
    archive.add_endpoint(name=SERVE_ENDPOINT, fn=serve, input_signature=signature)
    archive.write_out(str(saved), verbose=False)
    if fmt == "saved_model":
        return ["saved_model"]
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    (folder / "model.tflite").write_bytes(converter.convert())
    shutil.rmtree(saved)
    return ["model.tflite"]
