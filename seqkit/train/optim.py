"""Optimizers, learning-rate schedules and class weights from a recipe's ``train:`` section."""

from __future__ import annotations

import keras
import numpy as np

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "nadam": keras.optimizers.Nadam,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
    "adagrad": keras.optimizers.Adagrad,
}


class _ScaledRates:
    """A Keras optimizer whose learning rate is multiplied, per weight, by a factor
    (discriminative fine-tuning, layer-wise learning-rate decay).

    ``learning_rate_multipliers`` maps a weight's ``path`` to its factor; other weights train at
    the optimizer's own rate. The weights of each factor are updated together by the backend's
    own update step (so TensorFlow's distribution and PyTorch's fused updates still apply), and
    the mapping is in the optimizer's config, so a checkpoint resumes with it. Weight decay
    (AdamW) is applied at the optimizer's own rate."""

    def __init__(self, *args, learning_rate_multipliers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.learning_rate_multipliers = {str(k): float(v) for k, v in (learning_rate_multipliers or {}).items()}

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        groups: dict[float, tuple[list, list]] = {}
        for grad, variable in zip(grads, trainable_variables):
            factor = self.learning_rate_multipliers.get(variable.path, 1.0)
            group = groups.setdefault(factor, ([], []))
            group[0].append(grad)
            group[1].append(variable)
        for factor, (group_grads, group_variables) in groups.items():
            rate = learning_rate if factor == 1.0 else learning_rate * factor
            super()._backend_update_step(group_grads, group_variables, rate)

    def get_config(self):
        return {**super().get_config(), "learning_rate_multipliers": dict(self.learning_rate_multipliers)}


#: Each optimizer of :data:`OPTIMIZERS` with per-weight learning-rate factors, registered so
#: that a checkpoint of a model compiled with one reloads (``seqkit>ScaledAdam``, ...).
SCALED = {
    name: keras.saving.register_keras_serializable(package="seqkit")(
        type(f"Scaled{cls.__name__}", (_ScaledRates, cls), {"__module__": __name__})
    )
    for name, cls in OPTIMIZERS.items()
}


def learning_rate(train: dict, steps_per_epoch: int):
    """A float, or a schedule stepping per batch, from ``train.optimizer`` and ``train.lr_schedule``."""
    base = float(train.get("optimizer", {}).get("learning_rate", 1e-3))
    schedule = train.get("lr_schedule") or {}
    kind = schedule.get("type", "constant")
    epochs = int(train.get("epochs", 10))
    if kind == "cosine":
        warmup = int(round(schedule.get("warmup_epochs", 0) * steps_per_epoch))
        total = max(epochs * steps_per_epoch - warmup, 1)
        if warmup:
            return keras.optimizers.schedules.CosineDecay(
                initial_learning_rate=base * 0.01,
                decay_steps=total,
                alpha=schedule.get("alpha", 0.0),
                warmup_target=base,
                warmup_steps=warmup,
            )
        return keras.optimizers.schedules.CosineDecay(base, decay_steps=total, alpha=schedule.get("alpha", 0.0))
    if kind == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            base, decay_steps=steps_per_epoch, decay_rate=schedule.get("decay_rate", 0.9)
        )
    return base


def build_optimizer(
    train: dict, steps_per_epoch: int, multipliers: dict[str, float] | None = None
) -> keras.optimizers.Optimizer:
    """The recipe's optimizer; ``multipliers`` (weight path -> factor on the learning rate,
    from the encoder's :meth:`~seqkit.plugin_api.EncoderSpec.learning_rate_multipliers`)
    makes it the :data:`SCALED` variant when any factor is not 1."""
    config = dict(train.get("optimizer") or {})
    name = config.pop("name", "adam")
    config.pop("learning_rate", None)
    kwargs = {k: v for k, v in config.items() if v is not None}
    if "momentum" in kwargs and name not in ("sgd", "rmsprop"):
        kwargs.pop("momentum")
    multipliers = {path: float(factor) for path, factor in (multipliers or {}).items() if float(factor) != 1.0}
    if multipliers:
        kwargs["learning_rate_multipliers"] = multipliers
    cls = SCALED[name] if multipliers else OPTIMIZERS[name]
    return cls(learning_rate=learning_rate(train, steps_per_epoch), **kwargs)


def plateau_callback(train: dict):
    schedule = train.get("lr_schedule") or {}
    if schedule.get("type") != "plateau":
        return None
    return keras.callbacks.ReduceLROnPlateau(
        monitor="val_loss",
        factor=schedule.get("factor", 0.5),
        patience=schedule.get("patience", 2),
        min_lr=schedule.get("min_learning_rate", 0.0),
        verbose=1,
    )


def class_weights(setting, y: np.ndarray, classes: list[str]) -> dict[int, float] | None:
    """``balanced`` -> n / (k * count); a mapping of label name -> weight -> index -> weight."""
    if not setting:
        return None
    y = np.asarray(y)
    if y.ndim != 1:
        from seqkit.errors import RecipeError

        raise RecipeError("train.class_weight: only single-label classification supports class weights")
    if setting == "balanced":
        counts = np.bincount(y.astype(int), minlength=len(classes))
        return {i: float(len(y) / (len(classes) * c)) if c else 0.0 for i, c in enumerate(counts)}
    weights = {i: 1.0 for i in range(len(classes))}
    for name, weight in setting.items():
        if str(name) not in classes:
            from seqkit.errors import RecipeError, did_you_mean

            hint = did_you_mean(str(name), classes)
            raise RecipeError(
                f"train.class_weight.{name}: unknown class. Expected one of: {', '.join(classes)}"
                + (f". {hint}" if hint else "")
            )
        weights[classes.index(str(name))] = float(weight)
    return weights
