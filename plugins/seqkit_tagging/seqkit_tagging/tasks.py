"""The ``tagging`` task: per-token tags, scored as entities (conlleval semantics, seqeval)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seqkit.plugin_api import DataError, ExplainTarget, Task
from seqkit_tagging import schemes
from seqkit_tagging.features import tokens_of


class Entities(list):
    """Entities of a sentence: a list of dicts (``text``, ``type``, ``start``, ``end`` token
    indices, end exclusive) that prints as ``Paris [location]  France [location]``."""

    def __str__(self) -> str:
        return "  ".join(f"{e['text']} [{e['type']}]" for e in self)


def predicted_tag_ids(y_pred: np.ndarray, info: dict) -> np.ndarray:
    """Tag ids from either head's output: the first ``len(tags)`` channels score the tags."""
    y_pred = np.asarray(y_pred)
    return y_pred[..., : len(info["tags"])].argmax(axis=-1)


def _tag_names(ids: Sequence[int], length: int, info: dict) -> list[str]:
    """Model tag ids of one sentence -> tags in the files' scheme."""
    tags = [info["tags"][int(i)] for i in ids[:length]]
    return schemes.convert(tags, info["scheme"])


def _gold(y_true: np.ndarray, info: dict) -> list[list[str]]:
    y_true = np.asarray(y_true)
    return [_tag_names(row, int((row >= 0).sum()), info) for row in y_true]


class TaggingTask(Task):
    name = "tagging"
    description = "per-token tags (named entities, chunks) in BIO / BIOES, scored by entity F1"
    default_adapter = "conll"
    default_encoder = "word_char"
    default_head = "crf"
    adapters = ("conll",)
    encoders = ("word_char",)
    heads = ("token_classifier", "crf")

    def evaluate(self, y_true, y_pred, info):
        from seqeval.metrics import accuracy_score, classification_report, f1_score, precision_score, recall_score

        gold = _gold(y_true, info)
        ids = predicted_tag_ids(y_pred, info)
        predicted = [_tag_names(row, len(g), info) for row, g in zip(ids, gold)]
        report = classification_report(gold, predicted, output_dict=True, zero_division=0)
        per_type = {
            kind: {
                "precision": float(v["precision"]),
                "recall": float(v["recall"]),
                "f1": float(v["f1-score"]),
                "support": int(v["support"]),
            }
            for kind, v in report.items()
            if not kind.endswith(" avg")
        }
        for kind in info["entity_types"]:  # types absent from this split's gold and predictions
            per_type.setdefault(kind, {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0})
        return {
            "entity_f1": float(f1_score(gold, predicted, zero_division=0)),
            "entity_precision": float(precision_score(gold, predicted, zero_division=0)),
            "entity_recall": float(recall_score(gold, predicted, zero_division=0)),
            "macro_entity_f1": float(report["macro avg"]["f1-score"]) if "macro avg" in report else 0.0,
            "token_accuracy": float(accuracy_score(gold, predicted)),
            "per_type": dict(sorted(per_type.items())),
            "entities": int(sum(len(schemes.entities(g)) for g in gold)),
            "predicted_entities": int(sum(len(schemes.entities(p)) for p in predicted)),
            "sentences": len(gold),
            "tokens": int(sum(len(g) for g in gold)),
            "scoring": "seqeval, conlleval semantics (default mode), scheme " + info["scheme"].upper(),
        }

    def decode(self, y_pred, info, inputs=None):
        ids = predicted_tag_ids(y_pred, info)
        rows = []
        for index, row in enumerate(ids):
            tokens = tokens_of(inputs[index]) if inputs is not None else [""] * len(row)
            tags = _tag_names(row, len(tokens), info)
            found = Entities(
                {"text": " ".join(tokens[e.start : e.end]), "type": e.type, "start": e.start, "end": e.end}
                for e in schemes.entities(tags)
            )
            rows.append({"entities": found, "tokens": " ".join(tokens), "tags": " ".join(tags)})
        return rows

    def describe_targets(self, y_true, info, inputs=None):
        return [" ".join(tags) for tags in _gold(y_true, info)]

    def explain_target(self, output, info, raw_input=None, target=None, model_input=None):
        """The scores of one predicted entity's tags, added over its tokens (softmax
        probabilities of the token classifier, unary scores of the CRF). ``target``: the
        entity's text, or its number (1 = the first entity of the sentence); default the first
        entity, or the first token's tag when the model found none."""
        output = np.asarray(output)
        tokens = tokens_of(raw_input) if raw_input is not None else []
        length = len(tokens) if tokens else int(output.shape[0])
        ids = predicted_tag_ids(output[None], info)[0][:length]
        tags = _tag_names(ids, length, info)
        spans = schemes.entities(tags)
        texts = [" ".join(tokens[e.start : e.end]) for e in spans] if tokens else [f"{e.start}-{e.end}" for e in spans]
        if target is not None:
            wanted = str(target).strip()
            matches = [i for i, text in enumerate(texts) if text.lower() == wanted.lower()]
            if matches:
                chosen = matches[0]
            elif wanted.isdigit() and 1 <= int(wanted) <= len(spans):
                chosen = int(wanted) - 1
            else:
                found = "; ".join(f"{i + 1}: {t} [{e.type}]" for i, (t, e) in enumerate(zip(texts, spans))) or "none"
                raise DataError(
                    f"explain target {target!r}: expected an entity's text or number. Entities found: {found}"
                )
            start, end, label = (
                spans[chosen].start,
                spans[chosen].end,
                f"{spans[chosen].type} tags of {texts[chosen]!r}",
            )
        elif spans:
            start, end, label = spans[0].start, spans[0].end, f"{spans[0].type} tags of {texts[0]!r}"
        else:
            start, end, label = 0, 1, f"tag {tags[0] if tags else 'O'} of token 1"
        weights = np.zeros(output.shape)
        for step in range(start, min(end, length)):
            weights[step, int(ids[step])] = 1.0
        return ExplainTarget(weights, label, steps=tokens or None, highlight=list(range(start, end)))

    def format_prediction(self, raw_input, row):
        text = str(raw_input)
        text = text if len(text) <= 60 else text[:57] + "..."
        return f"{str(row['entities']) or '(no entities)'}  <- {text}"

    def summary(self, metrics):
        keys = ("entity_f1", "entity_precision", "entity_recall", "token_accuracy")
        return ", ".join(f"{k}={metrics[k]:.4f}" for k in keys if k in metrics)

    def report_sections(self, report):
        """Entity-level scores, a table per entity type (test beside validation), the
        figures, and the test sentences with the most wrongly tagged tokens."""
        from seqkit.plugin_api import ReportSection

        test = report.test_metrics
        keys = [
            k
            for k in ("entity_f1", "entity_precision", "entity_recall", "macro_entity_f1", "token_accuracy", "loss")
            if k in test
        ] + [k for k in ("entities", "predicted_entities", "sentences", "tokens", "scoring") if k in test]
        sections = [report.metrics_section("Entity scores", keys=keys)]
        per_type = test.get("per_type") or {}
        if per_type:
            validation = (report.metrics.get("validation") or {}).get("per_type") or {}
            rows = [
                {"type": kind, **v, **({"validation f1": validation[kind]["f1"]} if kind in validation else {})}
                for kind, v in per_type.items()
            ]
            figures = report.plot_html("entity_confusion.png", "entity-type confusion")
            sections.append(ReportSection("Per entity type", report.table(rows) + figures))

        def wrong_tokens(row):
            gold, predicted = str(row.get("target", "")).split(), str(row.get("tags", "")).split()
            wrong = sum(a != b for a, b in zip(gold, predicted)) + abs(len(gold) - len(predicted))
            return wrong or None

        sections.append(report.predictions_sample(worst=wrong_tokens))
        return [s for s in sections if s is not None]

    def plots(self, plot_dir, y_true, y_pred, info):
        """``entity_confusion.png``: each gold entity against the prediction over the same
        span (its type, or ``missed``), and predicted entities with no gold span (``spurious``)."""
        gold = _gold(y_true, info)
        ids = predicted_tag_ids(y_pred, info)
        predicted = [_tag_names(row, len(g), info) for row, g in zip(ids, gold)]
        types = list(info.get("entity_types") or [])
        matrix = entity_confusion(gold, predicted, types)
        path = plot_dir / "entity_confusion.png"
        plot_entity_confusion(matrix, types, path)
        return [path]


MISSED, SPURIOUS = "missed", "spurious"


def entity_confusion(gold: list[list[str]], predicted: list[list[str]], types: list[str]) -> np.ndarray:
    """``(len(types) + 1, len(types) + 1)`` counts: row = gold type (last row: no gold entity,
    i.e. spurious predictions), column = predicted type over the same span (last column:
    missed, no prediction with that exact span)."""
    index = {kind: i for i, kind in enumerate(types)}
    n = len(types)
    matrix = np.zeros((n + 1, n + 1), dtype=int)
    for g_tags, p_tags in zip(gold, predicted):
        g_spans = {(e.start, e.end): e.type for e in schemes.entities(g_tags)}
        p_spans = {(e.start, e.end): e.type for e in schemes.entities(p_tags)}
        for span, kind in g_spans.items():
            row = index.get(kind)
            if row is None:
                continue
            found = p_spans.get(span)
            matrix[row, index.get(found, n) if found is not None else n] += 1
        for span, kind in p_spans.items():
            if span not in g_spans and kind in index:
                matrix[n, index[kind]] += 1
    return matrix


def plot_entity_confusion(matrix: np.ndarray, types: list[str], path):
    from seqkit.plugin_api import pyplot, save_figure

    plt = pyplot()
    rows = [*types, f"({SPURIOUS})"]
    columns = [*types, MISSED]
    n = len(rows)
    size = max(4.0, 0.7 * n + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, np.maximum(totals, 1))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), columns, rotation=40, ha="right")
    ax.set_yticks(range(n), rows)
    ax.set_xlabel("predicted type over the same span")
    ax.set_ylabel("gold entity type")
    for i in range(n):
        for j in range(n):
            if matrix[i, j] or (i < n - 1 and j == i):
                ax.text(
                    j,
                    i,
                    str(int(matrix[i, j])),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if share[i, j] > 0.5 else "black",
                )
    ax.axhline(n - 1.5, color="0.3", linewidth=1)
    ax.axvline(n - 1.5, color="0.3", linewidth=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the row's entities")
    gold_total = int(matrix[:-1].sum())
    ax.set_title(
        f"entities by type: {int(np.trace(matrix[:-1, :-1]))} of {gold_total} gold found with their type, "
        f"{int(matrix[:-1, -1].sum())} missed, {int(matrix[-1].sum())} spurious",
        fontsize=9,
    )
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path
