"""Tasks: what a recipe's ``task:`` names. A task ties together its default adapter,
encoder and head, the metrics it reports, how predictions are decoded and written, and
its own plots. Plugins register instances through ``seqkit_register_tasks``.

Nothing here imports TensorFlow; plots import matplotlib only when drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from seqkit.recipe import Recipe


@dataclass
class ExplainTarget:
    """The output of interest of one prediction, as ``seqkit explain`` attributes it.

    The explained quantity is the scalar ``sum(weights * output)`` of one input's raw model
    output (no batch axis): a one-hot ``weights`` picks one class probability, one forecast
    step or one tag of one token; several ones add outputs up (all the tags of an entity).

    Attributes:
        weights: same shape as one input's model output.
        label: what the quantity is, for figures and JSON (``"p(positive)"``).
        steps: a name for each input step (tokens, notes, times); None: seqkit names them
            (the preprocessor's vocabulary for token ids, else the step numbers).
        features: a name for each input feature of numeric inputs; None: numbers.
        highlight: input steps figures outline (the tokens of the explained entity).
    """

    weights: np.ndarray
    label: str
    steps: list[str] | None = None
    features: list[str] | None = None
    highlight: list[int] = field(default_factory=list)


def _target_index(target: Any, names: Sequence[str], what: str) -> int:
    """``target`` (a name in ``names`` or an index) as an index; a one-line error otherwise."""
    from seqkit.errors import DataError, did_you_mean

    names = [str(n) for n in names]
    if str(target) in names:
        return names.index(str(target))
    text = str(target).strip()
    if text.lstrip("-").isdigit() and -len(names) <= int(text) < len(names):
        return int(text) % len(names)
    raise DataError(
        f"explain target {target!r}: expected one of the {what} ({', '.join(names)}). {did_you_mean(text, names)}".rstrip()
    )


class Task:
    """Base class for tasks.

    Attributes:
        name: the recipe's ``task:`` value.
        description: one line for ``seqkit plugins``.
        default_adapter / default_encoder / default_head: used when the recipe omits them.
        sections: extra top-level recipe sections this task accepts: name -> JSON Schema.
        monitor_mode: for ``early_stopping.mode: auto`` on metrics other than losses.
        adapters / encoders / heads: the registered names of the parts this task works with;
            :meth:`check_recipe` refuses a recipe that names another. Empty (the default):
            any part.
        causal: True if the task predicts each step from the steps before it (a language
            model, next-note music): :meth:`check_recipe` refuses a bidirectional backbone,
            which would read the very steps it is asked to predict.
    """

    name: str = ""
    description: str = ""
    default_adapter: str = ""
    default_encoder: str = ""
    default_head: str = ""
    sections: dict[str, dict] = {}
    adapters: tuple[str, ...] = ()
    encoders: tuple[str, ...] = ()
    heads: tuple[str, ...] = ()
    causal: bool = False

    def check_recipe(self, recipe: Recipe) -> list[tuple[str, str]]:
        """Check the whole recipe before anything is loaded: ``[(dotted key, message), ...]``.

        ``recipe`` is validated against the schema with its defaults filled in (read it with
        ``recipe.get("model.head.type")``); keys are dotted from the recipe's top, and
        ``seqkit validate`` reports each with that key's file and line. The default refuses
        parts outside :attr:`adapters` / :attr:`encoders` / :attr:`heads` and, for a
        :attr:`causal` task, a bidirectional backbone. Override it to add checks, and extend
        ``super().check_recipe(recipe)``."""
        problems = []
        for key, accepted, what in (
            ("data.adapter", self.adapters, "data adapter"),
            ("model.encoder.type", self.encoders, "encoder"),
            ("model.head.type", self.heads, "head"),
        ):
            value = recipe.get(key)
            if accepted and isinstance(value, str) and value not in accepted:
                problems.append(
                    (
                        key,
                        f"task {self.name!r} does not work with the {what} {value!r}. It takes: {', '.join(accepted)}",
                    )
                )
        if self.causal and recipe.get("model.backbone.bidirectional") is True:
            problems.append(
                (
                    "model.backbone.bidirectional",
                    f"task {self.name!r} predicts each step from the steps before it; a bidirectional backbone would read "
                    "the steps it is asked to predict. Expected false. Received: True",
                )
            )
        return problems

    def evaluate(self, y_true: np.ndarray, y_pred: np.ndarray, info: dict) -> dict[str, Any]:
        """Test metrics from targets and raw model outputs (JSON-serialisable)."""
        return {}

    def decode(self, y_pred: np.ndarray, info: dict, inputs: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Raw model outputs -> one row per input for predictions files and printing.

        ``inputs`` are the raw inputs (e.g. the sentences whose tokens a tagger labels) when
        seqkit has them, else None."""
        return [{"output": np.asarray(row).tolist()} for row in y_pred]

    def describe_targets(self, y_true: np.ndarray, info: dict, inputs: Sequence[Any] | None = None) -> list[str]:
        """Printable form of each true target, for predictions.csv (``inputs`` as in :meth:`decode`)."""
        return [str(np.asarray(v).tolist()) for v in y_true]

    def format_prediction(self, raw_input: Any, row: dict[str, Any]) -> str:
        """One line for the terminal."""
        return f"{raw_input!r}: {row}"

    def summary(self, metrics: dict[str, Any]) -> str:
        """A short line of the headline test metrics."""
        shown = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        return ", ".join(f"{k}={v:.4f}" for k, v in shown.items())

    def plots(self, plot_dir: Path, y_true: np.ndarray, y_pred: np.ndarray, info: dict) -> list[Path]:
        """Task-specific plots of the test split; return the files written."""
        return []

    def evaluate_model(self, model: Any, bundle: Any, info: dict, plot_dir: Path, echo: Any = print) -> dict[str, Any]:
        """Further evaluation with the trained model, after the test split (e.g. a forecaster's
        rolling-origin backtest against baselines). ``bundle`` is the run's ``DataBundle``,
        ``echo`` prints. The returned entries are added to ``metrics.json``. Default: none."""
        return {}

    # -- export (seqkit export; TensorFlow only, called inside a traced tf.function) --------------

    def export_inputs(self, info: dict, model_input: Any) -> dict[str, Any]:
        """The named inputs of an exported model: ``{name: tf.TensorSpec}``.

        ``model_input`` is the ``tf.TensorSpec`` of what the exported network takes (raw
        strings when the format carries the text preprocessing, token ids when it does not; the
        batch dimension is None, or 1 for TFLite). Default: that one input, named ``text``
        (strings), ``token_ids`` (integers) or ``inputs``."""
        dtype = getattr(model_input.dtype, "name", str(model_input.dtype))
        name = "text" if dtype == "string" else "token_ids" if dtype.startswith("int") else "inputs"
        return {name: model_input}

    def export_prepare(self, inputs: dict[str, Any], info: dict) -> Any:
        """The exported inputs (tensors named as :meth:`export_inputs`) -> the network's input,
        with TensorFlow / ``keras.ops`` operations (e.g. standardising raw numbers with the
        run's scaling). Default: the one input unchanged."""
        if len(inputs) != 1:
            raise NotImplementedError(f"task {self.name!r} exports several inputs; it must define export_prepare")
        return next(iter(inputs.values()))

    def export_outputs(self, outputs: Any, info: dict) -> dict[str, Any]:
        """The network's output tensor -> the exported model's named outputs (``{name: tensor}``,
        TensorFlow ops; string tensors are allowed: class names). Default: ``{"outputs": outputs}``."""
        return {"outputs": outputs}

    def report_sections(self, report: Any) -> list[Any]:
        """This task's sections of the run's ``report.html``: a list of
        :class:`seqkit.plugin_api.ReportSection`. ``report`` is a
        :class:`seqkit.plugin_api.ReportContext` (the run's metrics, data description,
        predictions and plots, and helpers to build tables and inline figures). Called only
        for a run that wrote its metrics. Default: the scalar test metrics, the task's figures
        and a sample of the test predictions; override it (and extend the parent's list, or
        replace it) to show per-class, per-type or per-step tables and the worst errors."""
        sections = [report.metrics_section()]
        sections.append(report.predictions_sample())
        return [s for s in sections if s is not None]

    def explain_target(
        self,
        output: np.ndarray,
        info: dict,
        raw_input: Any = None,
        target: str | None = None,
        model_input: np.ndarray | None = None,
    ) -> ExplainTarget:
        """The output of interest of one prediction, for ``seqkit explain`` / ``Run.explain``.

        ``output`` is one input's raw model output (no batch axis), ``raw_input`` the input as
        given (or the printable form of a test example), ``target`` the user's choice
        (``--target``: a class name, a forecast step, an entity ...) or None for the task's
        default, ``model_input`` what the trained model read for it (token ids, a window; no
        batch axis). Default: the sum of all outputs, or with ``target`` an index into the
        flattened output."""
        output = np.asarray(output)
        weights = np.zeros(output.size) if target is not None else np.ones(output.size)
        if target is not None:
            index = _target_index(target, [str(i) for i in range(output.size)], "output indices")
            weights[index] = 1.0
            return ExplainTarget(weights.reshape(output.shape), f"output[{index}]")
        return ExplainTarget(weights.reshape(output.shape), "sum of the outputs")


@runtime_checkable
class GeneratingTask(Protocol):
    """A task that generates new sequences from a trained run (the music plugin's ``melody``
    and ``piano_roll``). ``Run.generate(**options)`` calls it; seqkit checks for it with
    ``isinstance(task, GeneratingTask)``. To feed each chosen step back in at a constant cost
    per step, wrap ``run.model`` in :class:`seqkit.models.stepping.StepModel` (in the plugin API)."""

    def generate(self, run: Any, **options: Any) -> Any:
        """Generate with ``run`` (a :class:`seqkit.api.Run`: its ``model``, ``info`` and
        ``recipe``); ``options`` are the task's own (e.g. ``steps``, ``temperature``)."""
        ...


@runtime_checkable
class SearchingTask(Protocol):
    """A task whose outputs are sequences found by beam search (the seq2seq plugin's
    ``seq2seq``). ``Run.predict(inputs, beam=K, n_best=N)`` and ``seqkit predict --beam K
    --n-best N`` call it; seqkit checks for it with ``isinstance(task, SearchingTask)``."""

    def search(self, run: Any, inputs: Sequence[Any], beam: int | None = None, n_best: int = 1) -> list[dict]:
        """One row per raw input, as :meth:`Task.decode` gives (printed by ``format_prediction``):
        the best output found with ``beam`` hypotheses (None: the run's default) and, for
        ``n_best`` > 1, the ``n_best`` best with their scores. ``n_best`` is 1 to ``beam``."""
        ...


class ClassificationTask(Task):
    """Single-label (binary or multiclass) or multilabel classification.

    ``info["classes"]`` holds the class names in index order. The head outputs one
    probability (binary), a softmax over classes, or independent sigmoids (multilabel).
    """

    default_head = "classifier"

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def probabilities(y_pred: np.ndarray, info: dict) -> np.ndarray:
        """Return an (n, classes) matrix of probabilities for any classifier output."""
        y_pred = np.asarray(y_pred, dtype="float64")
        if not info.get("multilabel") and (y_pred.ndim == 1 or y_pred.shape[-1] == 1):
            p = y_pred.reshape(-1)
            y_pred = np.stack([1.0 - p, p], axis=1)
        classes = list(info.get("classes", []))
        if y_pred.ndim != 2 or y_pred.shape[1] != len(classes):
            from seqkit.errors import RunError

            raise RunError(
                f"the model gives {y_pred.shape[-1] if y_pred.ndim else 0} output(s) per input for the "
                f"{len(classes)} classes of data_info.json ({', '.join(map(str, classes))})"
            )
        return y_pred

    def predicted_indices(self, y_pred: np.ndarray, info: dict) -> np.ndarray:
        probs = self.probabilities(y_pred, info)
        if info.get("multilabel"):
            return (probs >= 0.5).astype(int)
        return probs.argmax(axis=1)

    # -- Task API -------------------------------------------------------------------------------

    def evaluate(self, y_true, y_pred, info):
        classes = list(info["classes"])
        if info.get("multilabel"):
            return multilabel_metrics(np.asarray(y_true).astype(int), self.predicted_indices(y_pred, info), classes)
        y_true = np.asarray(y_true).reshape(-1).astype(int)
        return classification_metrics(y_true, self.predicted_indices(y_pred, info), classes)

    def decode(self, y_pred, info, inputs=None):
        classes = list(info["classes"])
        probs = self.probabilities(y_pred, info)
        rows = []
        for p in probs:
            if info.get("multilabel"):
                labels = [c for c, v in zip(classes, p) if v >= 0.5]
                row = {"labels": "|".join(labels)}
            else:
                best = int(np.argmax(p))
                row = {"label": classes[best], "probability": round(float(p[best]), 6)}
            row.update({f"p_{c}": round(float(v), 6) for c, v in zip(classes, p)})
            rows.append(row)
        return rows

    def describe_targets(self, y_true, info, inputs=None):
        classes = list(info["classes"])
        if info.get("multilabel"):
            return ["|".join(c for c, v in zip(classes, row) if v) for row in np.asarray(y_true)]
        return [classes[int(v)] for v in np.asarray(y_true).reshape(-1)]

    def explain_target(self, output, info, raw_input=None, target=None, model_input=None):
        """The probability of the predicted class (``target``: another class, by name or
        index). A single sigmoid output explains p(class 1) or, for class 0, its negation
        (1 - p up to a constant, which attributions do not see)."""
        output = np.asarray(output)
        classes = [str(c) for c in info["classes"]]
        probs = self.probabilities(output.reshape(1, -1), info)[0]
        index = int(np.argmax(probs)) if target is None else _target_index(target, classes, "classes")
        if info.get("multilabel") or output.size == len(classes):
            weights = np.zeros(output.size)
            weights[index] = 1.0
        else:  # one sigmoid: p(classes[1])
            weights = np.array([1.0 if index == 1 else -1.0])
        return ExplainTarget(weights.reshape(output.shape), f"p({classes[index]})")

    def format_prediction(self, raw_input, row):
        text = str(raw_input)
        text = text if len(text) <= 70 else text[:67] + "..."
        if "label" in row:
            return f"{row['label']:<10} p={row['probability']:.3f}  {text}"
        return f"{row['labels'] or '(none)':<20} {text}"

    def summary(self, metrics):
        keys = [k for k in ("accuracy", "macro_f1", "micro_f1") if k in metrics]
        return ", ".join(f"{k}={metrics[k]:.4f}" for k in keys)

    def export_outputs(self, outputs, info):
        """``probabilities`` (batch, classes) as :meth:`probabilities` gives them and, for
        single-label runs, ``label`` (the class name, a string) and ``label_index``; for
        multilabel runs ``labels`` (batch, classes) 0/1 at the 0.5 threshold."""
        import tensorflow as tf

        probs = tf.cast(outputs, tf.float32)
        if not info.get("multilabel") and probs.shape[-1] == 1:
            p = tf.reshape(probs, [-1])
            probs = tf.stack([1.0 - p, p], axis=1)
        if info.get("multilabel"):
            return {"probabilities": probs, "labels": tf.cast(probs >= 0.5, tf.int32)}
        index = tf.argmax(probs, axis=-1, output_type=tf.int32)
        names = tf.constant([str(c) for c in info["classes"]])  # made inside the traced function: a graph constant
        return {"label": tf.gather(names, index), "label_index": index, "probabilities": probs}

    def report_sections(self, report):
        """Headline metrics, per-class precision / recall / F1 beside each class's support,
        the confusion matrix, and the test rows misclassified with the highest confidence."""
        from seqkit.export.report import ReportSection

        test = report.test_metrics
        keys = [
            k for k in ("accuracy", "macro_f1", "weighted_f1", "subset_accuracy", "micro_f1", "loss", "n") if k in test
        ]
        sections = [report.metrics_section(keys=keys)]
        per_class = test.get("per_class") or {}
        if per_class:
            validation = (report.metrics.get("validation") or {}).get("per_class") or {}
            rows = [
                {"class": c, **v, **({"validation f1": validation[c]["f1"]} if c in validation else {})}
                for c, v in per_class.items()
            ]
            body = report.table(rows)
            figure = report.plot_html("confusion_matrix.png", "confusion matrix")
            sections.append(ReportSection("Per class", body + figure))
        multilabel = bool(report.info.get("multilabel"))

        def error(row):
            if multilabel or str(row.get("label")) == str(row.get("target")):
                return None
            return float(row.get("probability", 0.0))

        sections.append(report.predictions_sample(worst=error))
        return [s for s in sections if s is not None]

    def plots(self, plot_dir, y_true, y_pred, info):
        if info.get("multilabel"):
            return []
        from seqkit.export.plots import plot_confusion_matrix

        y_true = np.asarray(y_true).reshape(-1).astype(int)
        matrix = confusion_matrix(y_true, self.predicted_indices(y_pred, info), len(info["classes"]))
        path = plot_dir / "confusion_matrix.png"
        plot_confusion_matrix(matrix, list(info["classes"]), path)
        return [path]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    matrix = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def _prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray):
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
        recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    return precision, recall, f1


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro / weighted F1, per-class precision / recall / F1 and the confusion matrix."""
    matrix = confusion_matrix(y_true, y_pred, len(classes))
    tp = np.diag(matrix).astype(float)
    fp = matrix.sum(axis=0) - tp
    fn = matrix.sum(axis=1) - tp
    precision, recall, f1 = _prf(tp, fp, fn)
    support = matrix.sum(axis=1)
    present = support > 0
    return {
        "accuracy": float(tp.sum() / max(matrix.sum(), 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "weighted_f1": float((f1 * support).sum() / max(support.sum(), 1)),
        "per_class": {
            c: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for c, p, r, f, s in zip(classes, precision, recall, f1, support)
        },
        "confusion_matrix": {"labels": list(classes), "matrix": matrix.tolist()},
        "n": int(matrix.sum()),
    }


def multilabel_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    tp = (y_true & y_pred).sum(axis=0).astype(float)
    fp = ((1 - y_true) & y_pred).sum(axis=0).astype(float)
    fn = (y_true & (1 - y_pred)).sum(axis=0).astype(float)
    precision, recall, f1 = _prf(tp, fp, fn)
    micro_p, micro_r, micro_f = _prf(tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True))
    return {
        "subset_accuracy": float((y_true == y_pred).all(axis=1).mean()),
        "micro_f1": float(micro_f[0]),
        "macro_f1": float(f1.mean()),
        "per_class": {
            c: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for c, p, r, f, s in zip(classes, precision, recall, f1, y_true.sum(axis=0))
        },
        "n": int(len(y_true)),
    }


class RegressionTask(Task):
    """Real-valued targets, one or several per input. ``info["targets"]`` names them."""

    default_head = "regressor"

    def evaluate(self, y_true, y_pred, info):
        y_true = np.asarray(y_true, dtype="float64").reshape(len(y_true), -1)
        y_pred = np.asarray(y_pred, dtype="float64").reshape(len(y_pred), -1)
        error = y_pred - y_true
        ss_res = (error**2).sum(axis=0)
        ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(ss_tot > 0, 1 - ss_res / np.maximum(ss_tot, 1e-12), 0.0)
        return {
            "mae": float(np.abs(error).mean()),
            "rmse": float(np.sqrt((error**2).mean())),
            "r2": float(r2.mean()),
            "n": int(len(y_true)),
        }

    def decode(self, y_pred, info, inputs=None):
        names = list(
            info.get("targets") or [f"y{i}" for i in range(np.asarray(y_pred).reshape(len(y_pred), -1).shape[1])]
        )
        return [{name: round(float(v), 6) for name, v in zip(names, np.asarray(row).reshape(-1))} for row in y_pred]

    def describe_targets(self, y_true, info, inputs=None):
        return [" ".join(f"{v:.6g}" for v in np.asarray(row).reshape(-1)) for row in y_true]

    def explain_target(self, output, info, raw_input=None, target=None, model_input=None):
        """One target's predicted value (``target``: its name or index; default the first)."""
        output = np.asarray(output)
        names = list(info.get("targets") or [f"y{i}" for i in range(output.size)])
        index = 0 if target is None else _target_index(target, names, "targets")
        weights = np.zeros(output.size)
        weights[index] = 1.0
        return ExplainTarget(weights.reshape(output.shape), f"predicted {names[index]}")

    def format_prediction(self, raw_input, row):
        values = ", ".join(f"{k}={v:.4f}" for k, v in row.items())
        return f"{values}  <- {str(raw_input)[:60]}"

    def summary(self, metrics):
        return ", ".join(f"{k}={metrics[k]:.4f}" for k in ("mae", "rmse", "r2") if k in metrics)
