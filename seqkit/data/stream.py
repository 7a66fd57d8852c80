"""Data larger than memory: ``seqkit prepare`` and the ``tfrecord`` adapter.

``seqkit prepare RECIPE --output DIR`` reads the recipe's data through its adapter *as a
stream* (an adapter that can stream is a :class:`~seqkit.data.adapter.StreamingAdapter`;
the ``text_table`` adapter's CSV / TSV / JSONL files are read a row at a time), fits the encoder's preprocessing (vocabulary,
scalers) on that stream or on a declared sample (``--sample N``), and writes preprocessed
TFRecord shards, one folder per split, with ``prepared.json`` (what the shards hold) and
``preprocessor.keras`` (the fitted preprocessing layer).

A recipe then trains on the shards with ``data: {adapter: tfrecord, path: DIR}``: training
reads the shards through ``tf.data`` (interleaved, shuffled in a bounded buffer, prefetched),
so memory does not grow with the data. Targets of the validation and test splits (a
number or a few per row) are held in memory to score them.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from seqkit.data.adapter import Adapter, DataBundle, Split, StreamingAdapter
from seqkit.data.pipeline import ModelSplit, TrainingData
from seqkit.errors import DataError, SeqkitError

MANIFEST = "prepared.json"
PREPROCESSOR = "preprocessor.keras"
FORMAT = "seqkit-prepared/1"
SPLITS = ("train", "validation", "test")
DEFAULT_SHARD_ROWS = 8192
DEFAULT_SHUFFLE_BUFFER = 8192
ENCODE_BATCH = 2048


# -- seqkit prepare -----------------------------------------------------------------------------


def prepare(
    recipe,
    output: str | Path,
    sample: int | None = None,
    shard_rows: int = DEFAULT_SHARD_ROWS,
    overwrite: bool = False,
    manager=None,
    echo: Callable[[str], None] = print,
) -> dict:
    """Write the recipe's data as preprocessed TFRecord shards in ``output``; return the manifest."""
    import keras

    from seqkit.data import DataContext
    from seqkit.plugins import get_plugin_manager

    manager = manager or get_plugin_manager()
    output = Path(output)
    if output.exists() and any(output.iterdir()):
        if not overwrite:
            raise SeqkitError(f"{output}: folder exists and is not empty; choose another --output or pass --overwrite")
        if not (output / MANIFEST).is_file() and not (output / ".partial").exists():
            raise SeqkitError(f"{output}: not a prepared-data folder (no {MANIFEST}); refusing to overwrite it")
        shutil.rmtree(output)
    output.mkdir(parents=True, exist_ok=True)
    (output / ".partial").write_text("seqkit prepare is writing this folder\n")

    task = manager.tasks.get(recipe.task)
    adapter_name = recipe.get("data.adapter")
    adapter = manager.adapters.get(adapter_name)(
        recipe.section("data"), DataContext(recipe.base_dir, recipe.seed, task)
    )
    if not isinstance(adapter, StreamingAdapter):
        streaming = [name for name, cls in manager.adapters.items() if issubclass(cls, StreamingAdapter)]
        raise SeqkitError(
            f"data.adapter {adapter_name!r} cannot stream its data; seqkit prepare works with: {', '.join(streaming) or 'none'}"
        )
    started = time.perf_counter()

    # Pass 1: labels and the preprocessing, from the stream (or its first `sample` rows).
    raw_labels: list[str] = []
    seen_labels: set[str] = set()
    counts = dict.fromkeys(SPLITS, 0)
    for split, _x, label, _origin in adapter.iter_examples():
        counts[split] += 1
        if label not in seen_labels:
            seen_labels.add(label)
            raw_labels.append(label)
    if not counts["train"]:
        raise DataError(f"{adapter_name}: no training rows found")
    info = adapter.stream_info(raw_labels)
    encoder = manager.encoders.get(recipe.get("model.encoder.type"))(
        recipe.get("model.encoder"), info, base_dir=recipe.base_dir
    )
    fit_rows = min(sample, counts["train"]) if sample else counts["train"]
    train_x = _train_inputs(adapter, fit_rows)
    preprocessor = encoder.preprocessor(train_x)
    echo(
        f"seqkit: preprocessing fitted on {fit_rows:,} of {counts['train']:,} training rows"
        + (" (streamed)" if not sample else " (sample)")
    )

    # Pass 2: encode in batches and write the shards.
    spec = encoder.raw_input_spec()
    writers = {s: _ShardWriter(output / s, shard_rows) for s in SPLITS if counts[s]}
    pending: dict[str, list] = {s: [] for s in SPLITS}
    target_shape: tuple | None = None

    def flush(split):
        nonlocal target_shape
        rows = pending[split]
        if not rows:
            return
        xs = np.asarray([r[0] for r in rows], dtype=object if spec["dtype"] == "string" else spec["dtype"])
        if spec["dtype"] == "string":
            xs = xs.astype(str)
        encoded = xs if preprocessor is None else keras.ops.convert_to_numpy(preprocessor(xs))
        y = adapter.encode_stream_labels([r[1] for r in rows], [r[2] for r in rows], info)
        target_shape = tuple(np.asarray(y).shape[1:])
        writers[split].write(encoded, np.asarray(y), [str(r[0]) for r in rows])
        pending[split] = []

    for split, x, label, origin in adapter.iter_examples():
        pending[split].append((x, label, origin))
        if len(pending[split]) >= ENCODE_BATCH:
            flush(split)
    for split in SPLITS:
        flush(split)
    for writer in writers.values():
        writer.close()

    if preprocessor is not None:
        raw = keras.Input(shape=spec["shape"], dtype=spec["dtype"])
        keras.Model(raw, preprocessor(raw)).save(output / PREPROCESSOR)
    first = next(iter(writers.values()))
    manifest = {
        "format": FORMAT,
        "task": recipe.task,
        "source": {"recipe": str(recipe.path) if recipe.path else None, "adapter": adapter_name},
        "encoder": recipe.get("model.encoder"),
        "info": {**info, "sizes": {s: counts[s] for s in SPLITS}},
        "input": {"shape": list(first.x_shape), "dtype": first.x_dtype},
        "target": {"shape": list(target_shape or ()), "dtype": first.y_dtype},
        "preprocessor": PREPROCESSOR if preprocessor is not None else None,
        "fitted_on_rows": fit_rows,
        "splits": {s: {"rows": counts[s], "files": [p.name for p in w.paths]} for s, w in writers.items()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    (output / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (output / ".partial").unlink()
    total = sum(counts.values())
    echo(
        f"seqkit: wrote {total:,} rows ({', '.join(f'{s}={n:,}' for s, n in counts.items() if n)}) "
        f"in {sum(len(w.paths) for w in writers.values())} shard(s) to {output} in {time.perf_counter() - started:.1f} s"
    )
    return manifest


def _train_inputs(adapter, rows: int):
    """The first `rows` training inputs as a tf.data stream of strings / arrays (not a list)."""
    import tensorflow as tf

    def generate():
        taken = 0
        for split, x, _label, _origin in adapter.iter_examples():
            if split != "train":
                continue
            yield x
            taken += 1
            if taken >= rows:
                return

    first = next(x for split, x, _l, _o in adapter.iter_examples() if split == "train")
    if isinstance(first, str):
        signature = tf.TensorSpec((), tf.string)
    else:
        first = np.asarray(first, dtype="float32")
        signature = tf.TensorSpec(first.shape, tf.float32)
    return tf.data.Dataset.from_generator(generate, output_signature=signature).batch(1024)


class _ShardWriter:
    """Rows -> ``<split>/part-00000.tfrecord`` ... with at most `shard_rows` rows a file."""

    def __init__(self, folder: Path, shard_rows: int):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.shard_rows = folder, shard_rows
        self.paths: list[Path] = []
        self.writer = None
        self.in_shard = 0
        self.x_shape = self.x_dtype = self.y_dtype = None

    def write(self, x: np.ndarray, y: np.ndarray, raw: list[str]) -> None:
        import tensorflow as tf

        self.x_shape = tuple(x.shape[1:])
        self.x_dtype = "int64" if np.issubdtype(x.dtype, np.integer) else "float32"
        self.y_dtype = "int64" if np.issubdtype(y.dtype, np.integer) else "float32"
        for row in range(len(x)):
            if self.writer is None or self.in_shard >= self.shard_rows:
                self._next()
            feature = {
                "x": _feature(x[row].reshape(-1), self.x_dtype),
                "y": _feature(np.asarray(y[row]).reshape(-1), self.y_dtype),
                "raw": tf.train.Feature(bytes_list=tf.train.BytesList(value=[raw[row].encode("utf-8")])),
            }
            self.writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
            self.in_shard += 1

    def _next(self):
        import tensorflow as tf

        if self.writer is not None:
            self.writer.close()
        path = self.folder / f"part-{len(self.paths):05d}.tfrecord"
        self.paths.append(path)
        self.writer = tf.io.TFRecordWriter(str(path))
        self.in_shard = 0

    def close(self):
        if self.writer is not None:
            self.writer.close()


def _feature(values: np.ndarray, dtype: str):
    import tensorflow as tf

    if dtype == "int64":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values.astype("int64").tolist()))
    return tf.train.Feature(float_list=tf.train.FloatList(value=values.astype("float32").tolist()))


# -- reading prepared shards --------------------------------------------------------------------


class PreparedInputs:
    """The inputs of one prepared split: TFRecord shards read lazily through ``tf.data``."""

    def __init__(self, folder: Path, manifest: dict, split: str):
        self.folder, self.manifest, self.split = folder, manifest, split
        entry = manifest["splits"][split]
        self.rows = int(entry["rows"])
        self.files = [str(folder / split / name) for name in entry["files"]]

    def __len__(self) -> int:
        return self.rows

    def _parse(self):
        import tensorflow as tf

        x_shape = self.manifest["input"]["shape"]
        y_shape = self.manifest["target"]["shape"]
        x_dtype = tf.int64 if self.manifest["input"]["dtype"] == "int64" else tf.float32
        y_dtype = tf.int64 if self.manifest["target"]["dtype"] == "int64" else tf.float32
        spec = {
            "x": tf.io.FixedLenFeature([int(np.prod(x_shape))], x_dtype),
            "y": tf.io.FixedLenFeature([max(1, int(np.prod(y_shape)))], y_dtype),
        }

        def parse(records):
            parsed = tf.io.parse_example(records, spec)
            x = tf.reshape(parsed["x"], [-1, *x_shape])
            y = tf.reshape(parsed["y"], [-1, *y_shape]) if y_shape else parsed["y"][:, 0]
            return x, y

        return parse

    def dataset(self, batch_size: int, shuffle_seed: int | None = None, buffer: int = DEFAULT_SHUFFLE_BUFFER):
        """(x, y) batches; with a seed, shards and rows are shuffled (bounded buffer)."""
        import tensorflow as tf

        records = self._records(shuffle_seed)
        if shuffle_seed is not None:
            records = records.shuffle(buffer, seed=shuffle_seed, reshuffle_each_iteration=True)
        batches = records.batch(batch_size).map(self._parse(), num_parallel_calls=tf.data.AUTOTUNE)
        # A known length: Keras warns that a validation set of unknown length "ran out of data".
        batches = batches.apply(tf.data.experimental.assert_cardinality(math.ceil(self.rows / batch_size)))
        return batches.prefetch(tf.data.AUTOTUNE)

    def _records(self, shuffle_seed: int | None = None):
        """The serialized rows, shards interleaved (in a fixed order without a seed: the order
        of :meth:`inputs`, :meth:`targets` and :meth:`raw` alike)."""
        import tensorflow as tf

        files = tf.data.Dataset.from_tensor_slices(self.files)
        if shuffle_seed is not None:
            files = files.shuffle(len(self.files), seed=shuffle_seed, reshuffle_each_iteration=True)
        return files.interleave(
            tf.data.TFRecordDataset,
            cycle_length=min(4, len(self.files)),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )

    def inputs(self, batch_size: int):
        return self.dataset(batch_size).map(lambda x, y: x)

    def targets(self) -> np.ndarray:
        """Every target of the split (small: a number or a few per row)."""
        chunks = [y.numpy() for _x, y in self.dataset(ENCODE_BATCH)]
        return np.concatenate(chunks) if chunks else np.zeros((0,))

    def raw(self) -> list[str]:
        import tensorflow as tf

        spec = {"raw": tf.io.FixedLenFeature([], tf.string)}
        rows = []
        # The rows in the order of inputs() and targets(): predictions.csv pairs them up.
        for batch in self._records().batch(ENCODE_BATCH):
            rows.extend(v.decode("utf-8") for v in tf.io.parse_example(batch, spec)["raw"].numpy())
        return rows

    def training_dataset(self, batch_size: int, seed: int, first_epoch: int, epochs: int):
        """Batches for epochs ``first_epoch .. epochs - 1``, each epoch in its own seeded order
        (so a resumed run sees the batches an uninterrupted one would)."""
        import tensorflow as tf

        dataset = tf.data.Dataset.range(first_epoch, epochs).flat_map(
            lambda epoch: _epoch_dataset(self, batch_size, seed, epoch)
        )
        return dataset.prefetch(tf.data.AUTOTUNE)


def _epoch_dataset(inputs: PreparedInputs, batch_size: int, seed: int, epoch):
    import tensorflow as tf

    epoch_seed = tf.cast(epoch, tf.int64) * 1000003 + seed
    files = tf.data.Dataset.from_tensor_slices(inputs.files)
    files = files.shuffle(len(inputs.files), seed=epoch_seed)
    records = files.interleave(tf.data.TFRecordDataset, cycle_length=min(4, len(inputs.files)))
    records = records.shuffle(DEFAULT_SHUFFLE_BUFFER, seed=epoch_seed)
    return records.batch(batch_size).map(inputs._parse())


def with_targets(dataset, head):
    """Targets shaped as the runner's in-memory path shapes them (binary: float ``(n, 1)``)."""
    if head.loss() != "binary_crossentropy":
        return dataset
    import tensorflow as tf

    def shape(x, y):
        y = tf.cast(y, tf.float32)
        return x, (tf.reshape(y, [-1, 1]) if y.shape.rank == 1 else y)

    return dataset.map(shape)


MANIFEST_SCHEMA = {
    "type": "object",
    "required": ["format"],
    "properties": {
        "format": {"type": "string"},
        "splits": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "rows": {"type": "integer", "minimum": 0},
                    "files": {"type": "array", "items": {"type": "string", "pattern": "^[^/\\\\]+$"}},
                },
            },
        },
        "preprocessor": {"type": ["string", "null"], "pattern": "^[^/\\\\]+$"},
    },
}


def read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if (folder / ".partial").exists():
        raise DataError(f"{folder}: seqkit prepare did not finish writing this folder; run it again")
    if not path.is_file():
        raise DataError(f"{folder}: no {MANIFEST}; write prepared data with: seqkit prepare RECIPE --output {folder}")
    from seqkit.train.rundir import read_checked_json

    manifest = read_checked_json(path, MANIFEST_SCHEMA)  # a damaged or lying file is one line naming it
    if manifest.get("format") != FORMAT:
        raise DataError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    for split, entry in manifest.get("splits", {}).items():
        for name in entry.get("files", []):
            if not (folder / split / name).is_file():
                raise DataError(f"{folder / split / name}: shard listed in {MANIFEST} is missing")
    return manifest


class PreparedAdapter(Adapter):
    """Preprocessed TFRecord shards written by ``seqkit prepare``, read lazily."""

    name = "tfrecord"
    description = "preprocessed TFRecord shards written by `seqkit prepare` (data larger than memory)"
    schema = {
        "properties": {
            "path": {
                "type": "string",
                "format": "path",
                "description": "The folder seqkit prepare wrote. Relative to the recipe.",
            },
        },
        "required": ["path"],
    }

    def load(self) -> DataBundle:
        folder = self.context.resolve(self.config["path"])
        manifest = read_manifest(folder)
        task = self.context.task.name if self.context.task is not None else None
        if task and manifest.get("task") and manifest["task"] != task:
            raise DataError(f"{folder}: prepared for task {manifest['task']!r}, this recipe's task is {task!r}")
        splits = {}
        for split in SPLITS:
            if split in manifest["splits"]:
                inputs = PreparedInputs(folder, manifest, split)
                # Training targets stay in the shards; validation / test ones are scored in memory.
                y = None if split == "train" else inputs.targets()
                splits[split] = Split(inputs, y, None)
        if "train" not in splits:
            raise DataError(f"{folder}: no training split in {MANIFEST}")
        info = {**manifest["info"], "prepared": str(folder)}
        return DataBundle(
            train=splits["train"], validation=splits.get("validation"), test=splits.get("test"), info=info
        )

    def preprocessor(self, info: dict, layer_modules: Sequence[str] = ()):
        """The preprocessing layer fitted by seqkit prepare (None for numeric inputs);
        ``layer_modules``: where its custom layers are defined (see saving.load_model)."""
        from seqkit.export.saving import load_model

        folder = Path(info["prepared"])
        manifest = read_manifest(folder)
        if not manifest.get("preprocessor"):
            return None
        return load_model(folder / manifest["preprocessor"], layer_modules).layers[-1]

    def encode_inputs(self, raw_inputs, info):
        raw_inputs = list(raw_inputs)
        if all(isinstance(t, str) for t in raw_inputs):
            return np.asarray(raw_inputs, dtype=object)
        return np.asarray(raw_inputs, dtype="float32")


def is_prepared(bundle: DataBundle) -> bool:
    return isinstance(bundle.train.x, PreparedInputs)


class PreparedSplit(ModelSplit):
    """A prepared split as the model sees it: batches read from its shards; the targets of
    validation and test splits (``targets``) are in memory for scoring."""

    def __init__(self, name: str, split: Split, head):
        self.name, self.split, self.head = name, split, head
        self.shards: PreparedInputs = split.x
        self.targets = split.y

    def __len__(self) -> int:
        return len(self.shards)

    def raw(self):
        return self.split.raw if self.split.raw is not None else self.shards.raw()

    def training_dataset(self, batch_size, seed, first_epoch, epochs, class_weight=None):
        if class_weight:
            raise SeqkitError(f"train.class_weight: {PreparedData.refuses['train.class_weight']}")
        return with_targets(self.shards.training_dataset(batch_size, seed, first_epoch, epochs), self.head)

    def validation_data(self, batch_size):
        return with_targets(self.shards.dataset(batch_size), self.head)

    def inputs(self, batch_size):
        return self.shards.inputs(batch_size)

    def evaluation_arguments(self, batch_size):
        return {"x": with_targets(self.shards.dataset(batch_size), self.head)}


class PreparedData(TrainingData):
    """The splits of a ``tfrecord`` bundle: already preprocessed (by seqkit prepare)."""

    refuses = {
        "train.class_weight": "not available with prepared data (data.adapter tfrecord); weight the data when preparing it",
    }

    def fit_preprocessor(self, adapter, encoder, layer_modules=()):
        """The preprocessing seqkit prepare fitted (the model's raw-input front)."""
        return adapter.preprocessor(self.bundle.info, layer_modules)

    def _split(self, name, split, preprocessor) -> ModelSplit:
        return PreparedSplit(name, split, self.head)


def training_data(bundle: DataBundle, head) -> TrainingData:
    """The bundle's splits behind the one :class:`~seqkit.data.pipeline.ModelSplit`
    interface: prepared shards or arrays in memory."""
    return PreparedData(bundle, head) if is_prepared(bundle) else TrainingData(bundle, head)
