"""Where a recipe's training time goes: its model taken apart, timed on one epoch of its batches.

Usage:  python bench/profile_fit.py [--recipes wnut17 jsb] [--batches N]

For each recipe, the model seqkit builds (encoder -> stacked-LSTM backbone -> head) is fed the
length-bucketed training batches a run uses (the same seed, epoch 0), and each of these is
timed over the same batches, after a warm-up pass over them (tracing, one graph per shape):

- ``train_step``: ``model.train_on_batch`` (forward, backward, the optimizer's update, metrics);
- ``gradients``: forward and backward of the whole model and its loss, no update;
- ``encoder`` / ``backbone`` / ``head``: each part's forward and backward alone, on the inputs
  the part before it gives (the head with the loss; every part's input gradient included, as
  full backpropagation needs it);
- ``predict`` (``model.predict_on_batch``, the CRF's Viterbi decoding included) and
  ``head_inference`` (the head alone, not training).

Prints JSON (seconds per epoch of each, and each part's share of ``gradients``) and writes
bench/results/profile_fit.json. Needs ${SEQKIT_DATA} (default ../shared/data).
"""

from __future__ import annotations

import argparse
import inspect as pyinspect
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from report import write_report

RECIPES = {
    "wnut17": ROOT / "recipes" / "tagging" / "wnut17.yaml",
    "jsb": ROOT / "recipes" / "music" / "jsb.yaml",
    "sst2": ROOT / "recipes" / "sentiment" / "sst2.yaml",
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=["wnut17", "jsb"], choices=sorted(RECIPES))
    parser.add_argument("--batches", type=int, default=0, help="time only the first N batches (0: one epoch)")
    parser.add_argument("--output", default=None, help="default: bench/results/profile_fit.json")
    return parser.parse_args()


def takes_mask(layer) -> bool:
    return "mask" in pyinspect.signature(layer.call).parameters


def profile(recipe_path: Path, limit: int) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    import seqkit
    from seqkit.data import pipeline
    from seqkit.train.runner import bucket_multiple, compile_new_model, resolve_parts

    recipe = seqkit.load_recipe(recipe_path, ["train.verbose=0"])
    keras.utils.set_random_seed(recipe.seed)
    started = time.perf_counter()
    parts = resolve_parts(recipe, echo=lambda _m: None)
    data = pipeline.TrainingData(parts.bundle, parts.head)
    preprocessor = data.fit_preprocessor(parts.adapter, parts.encoder)
    data.encode(preprocessor)
    data_seconds = time.perf_counter() - started
    train = recipe.section("train")
    batch = int(train.get("batch_size", 32))
    data.train.length_buckets(parts.encoder, parts.head, bucket_multiple(train))
    steps = pipeline.steps_per_epoch(len(data.train), batch)
    model = compile_new_model(parts, preprocessor, steps)
    dataset = data.train.training_dataset(batch, recipe.seed, 0, 1)
    batches = [tuple(t.numpy() for t in b) for b in dataset.take(limit or steps)]
    encoder, backbone, head = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    loss_fn = model.loss
    head_mask = takes_mask(head)

    @tf.function(reduce_retracing=True)
    def whole(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        return tape.gradient(loss, model.trainable_variables)

    @tf.function(reduce_retracing=True)
    def encoder_part(x):
        with tf.GradientTape() as tape:
            out = encoder(x, training=True)
            total = tf.reduce_sum(tf.cast(out, "float32"))
        return tape.gradient(total, encoder.trainable_variables)

    def mask_of(x):
        mask = encoder.compute_mask(x, None)
        return None if mask is None else tf.convert_to_tensor(mask)

    @tf.function(reduce_retracing=True)
    def backbone_part(e, mask):
        with tf.GradientTape() as tape:
            tape.watch(e)
            total = tf.reduce_sum(backbone(e, mask=mask, training=True))
        return tape.gradient(total, [e, *backbone.trainable_variables])

    @tf.function(reduce_retracing=True)
    def head_part(h, mask, y):
        with tf.GradientTape() as tape:
            tape.watch(h)
            out = head(h, mask=mask, training=True) if head_mask else head(h, training=True)
            loss = loss_fn(y, out)
        return tape.gradient(loss, [h, *head.trainable_variables])

    @tf.function(reduce_retracing=True)
    def head_inference(h, mask):
        return head(h, mask=mask, training=False) if head_mask else head(h, training=False)

    # The inputs each part gets (computed once, outside the timings).
    inputs = []
    for x, y, *_ in batches:
        mask = mask_of(x)
        e = encoder(x, training=False)
        h = backbone(e, mask=mask, training=False)
        inputs.append((x, y, mask, e, h))

    def timed(step) -> float:
        for item in inputs:  # warm-up: one graph per batch shape
            step(*item)
        began = time.perf_counter()
        for item in inputs:
            out = step(*item)
            keras.tree.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, out)
        return time.perf_counter() - began

    seconds = {
        "train_step": timed(lambda x, y, m, e, h: model.train_on_batch(x, y)),
        "gradients": timed(lambda x, y, m, e, h: whole(x, y)),
        "encoder": timed(lambda x, y, m, e, h: encoder_part(x)),
        "backbone": timed(lambda x, y, m, e, h: backbone_part(e, m)),
        "head": timed(lambda x, y, m, e, h: head_part(h, m, y)),
        "predict": timed(lambda x, y, m, e, h: model.predict_on_batch(x)),
        "head_inference": timed(lambda x, y, m, e, h: head_inference(h, m)),
    }
    parts_sum = seconds["encoder"] + seconds["backbone"] + seconds["head"]
    return {
        "recipe": str(recipe_path.relative_to(ROOT)),
        "layers": {"encoder": type(encoder).__name__, "backbone": type(backbone).__name__, "head": type(head).__name__},
        "batches": len(inputs),
        "batch_size": batch,
        "mean_steps_per_batch": float(np.mean([np.shape(i[0])[1] for i in inputs])),
        "data_seconds": round(data_seconds, 2),
        "seconds_per_epoch": {k: round(v * steps / len(inputs), 2) for k, v in seconds.items()},
        "share_of_gradients": {k: round(seconds[k] / seconds["gradients"], 3) for k in ("encoder", "backbone", "head")},
        "parts_sum_vs_gradients": round(parts_sum / seconds["gradients"], 3),
        "optimizer_and_metrics_share_of_train_step": round(1 - seconds["gradients"] / seconds["train_step"], 3),
    }


def main() -> None:
    args = parse_args()
    report = {"benchmark": "profile_fit", "cpus": os.cpu_count(), "recipes": {}}
    for name in args.recipes:
        report["recipes"][name] = profile(RECIPES[name], args.batches)
        print(f"{name}: {report['recipes'][name]['seconds_per_epoch']}", file=sys.stderr, flush=True)
    write_report("profile_fit", report, Path(args.output) if args.output else None)


if __name__ == "__main__":
    main()
