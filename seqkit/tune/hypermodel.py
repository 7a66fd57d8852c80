"""A KerasTuner ``HyperModel`` over a recipe: hyperparameter names are the recipe's dotted keys."""

from __future__ import annotations

import json
import time

import keras
import keras_tuner

from seqkit.data import pipeline
from seqkit.recipe import Recipe, validate
from seqkit.recipe.loader import SourceMap
from seqkit.train import callbacks as train_callbacks
from seqkit.train.optim import class_weights
from seqkit.train.runner import compile_new_model, encode_splits, make_parts
from seqkit.tune.space import apply_values, declare


class RecipeHyperModel(keras_tuner.HyperModel):
    """Builds and fits the model of a recipe with the trial's values applied.

    Data are loaded once; preprocessors (e.g. a vocabulary) and encoded arrays are cached
    per encoder configuration, so trials that change only the backbone re-use them.
    """

    def __init__(self, recipe: Recipe, task, adapter, bundle, manager=None):
        super().__init__(name=recipe.name)
        self.recipe = recipe
        self.space = recipe.get("tune.space") or {}
        self.task, self.adapter, self.bundle, self.manager = task, adapter, bundle, manager
        self._preprocessors: dict[str, object] = {}
        self._arrays: dict[str, tuple] = {}
        self.current = None  # (recipe, parts, preprocessor, cache key) of the last build

    def declare_hyperparameters(self, hp):
        declare(hp, self.space)

    def trial_recipe(self, values: dict) -> Recipe:
        data = apply_values(self.recipe.to_dict(), values)
        source = SourceMap(self.recipe.source.filename)
        validate(data, source, self.manager)
        return Recipe(data, source, self.recipe.path)

    def build(self, hp):
        recipe = self.trial_recipe(declare(hp, self.space))
        parts = make_parts(recipe, self.task, self.adapter, self.bundle, self.manager)
        key = json.dumps(recipe.get("model.encoder"), sort_keys=True)
        if key not in self._preprocessors:
            self._preprocessors[key] = parts.encoder.preprocessor(self.bundle.train.x)
        preprocessor = self._preprocessors[key]
        steps = pipeline.steps_per_epoch(len(self.bundle.train), int(recipe.get("train.batch_size")))
        self.current = (recipe, parts, preprocessor, key)
        return compile_new_model(parts, preprocessor, steps)

    def fit(self, hp, model, *args, callbacks=None, epochs=None, initial_epoch=0, **kwargs):
        recipe, parts, preprocessor, key = self.current
        if key not in self._arrays:
            self._arrays[key] = encode_splits(parts, preprocessor)
        x_train, y_train, validation_split, buckets = self._arrays[key]
        train = recipe.section("train")
        batch_size = int(train.get("batch_size", 32))
        validation = validation_split.validation_data(batch_size) if validation_split is not None else None
        epochs = int(epochs or recipe.get("tune.max_epochs") or train.get("epochs", 10))
        callbacks = [train_callbacks.NanGuard(), *(callbacks or [])]
        early = recipe.get("tune.early_stopping", train.get("early_stopping"))
        if early:
            monitor = early.get("monitor", "val_loss")
            if validation is None and monitor.startswith("val_"):
                monitor = monitor[4:]
            callbacks.insert(
                0,
                keras.callbacks.EarlyStopping(
                    monitor=monitor,
                    patience=early.get("patience", 3),
                    min_delta=early.get("min_delta", 0.0),
                    mode=early.get("mode", "auto"),
                ),
            )
        weights = None
        if "classes" in self.bundle.info:
            weights = class_weights(train.get("class_weight"), self.bundle.train.y, list(self.bundle.info["classes"]))
        dataset = pipeline.training_dataset(
            x_train,
            y_train,
            batch_size,
            recipe.seed,
            initial_epoch,
            epochs,
            pipeline.sample_weights(y_train, weights),
            buckets,
        )
        steps = pipeline.steps_per_epoch(len(y_train), batch_size)
        started = time.perf_counter()
        history = model.fit(
            dataset,
            steps_per_epoch=steps,
            epochs=epochs,
            initial_epoch=initial_epoch,
            shuffle=False,
            validation_data=validation,
            validation_batch_size=batch_size,
            callbacks=callbacks,
            verbose=0,
        )
        objective = recipe.get("tune.objective", "val_loss")
        if objective not in history.history:
            import keras_tuner

            # Fatal: KerasTuner stops the search instead of running every trial for nothing.
            logged = ", ".join(sorted(history.history))
            raise keras_tuner.errors.FatalValueError(
                f"{self.recipe.where('tune.objective')}: tune.objective: {objective!r} is not a metric this model logs. Logged: {logged}"
            )
        # KerasTuner records each metric at the best epoch; these two are the same at every
        # epoch, so the oracle (also a remote chief) learns the trial's epochs and time.
        count = len(history.epoch)
        history.history["trial_epochs"] = [float(count)] * count
        history.history["trial_seconds"] = [time.perf_counter() - started] * count
        return history
