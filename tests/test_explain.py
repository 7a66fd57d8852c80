"""seqkit explain: integrated gradients (completeness), LSTM gate traces replayed in NumPy
(equal to Keras's own outputs, masks honoured), the tasks' output of interest, the CLI and
figures, and a sentiment model whose attributions land on "terrible" / "great"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

REVIEWS = Path(__file__).resolve().parents[1] / "recipes" / "sentiment" / "data" / "reviews.csv"


def _tiny_text_model(bidirectional=True, layers=1, seed=3):
    import keras

    from seqkit.models.backbone import StackedLSTM
    from seqkit.models.encoders import TokenEmbedding
    from seqkit.models.heads import ClassifierHead

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(6,), dtype="int32", name="inputs")
    x = TokenEmbedding(vocabulary_size=20, dim=4, name="encoder")(inputs)
    x = StackedLSTM(units=3, layers=layers, bidirectional=bidirectional, name="backbone")(x)
    outputs = ClassifierHead(num_classes=3, name="head")(x)
    return keras.Model(inputs, outputs)


def _evaluate(network, tokens, weights, mask):
    from seqkit.explain import value_and_gradient_of

    compiled = value_and_gradient_of(network)
    return lambda batch: compiled(np.asarray(batch, "float32"), weights, mask, tokens)


def test_integrated_gradients_are_complete_on_a_tiny_model():
    from seqkit.explain import Network, integrated_gradients

    model = _tiny_text_model(bidirectional=False)  # the bidirectional case: the slow reviews test
    network = Network.of(model)
    assert not network.numeric_inputs
    tokens = np.array([[5, 7, 2, 9, 0, 0]])  # two padding steps
    mask = network.mask(tokens)
    assert mask.tolist() == [[True, True, True, True, False, False]]
    vectors = np.asarray(network.vectors(tokens))[0]
    weights = np.array([0.0, 1.0, 0.0], "float32")
    evaluate = _evaluate(network, tokens, weights, mask)
    result = integrated_gradients(None, vectors, np.zeros_like(vectors), points=64, evaluate=evaluate)

    expected = float(np.asarray(model(tokens))[0, 1])
    assert result.output == pytest.approx(expected, abs=1e-6)
    assert result.relative_error <= 1e-3
    assert abs(result.values.sum() - (result.output - result.baseline_output)) == pytest.approx(result.absolute_error)
    # Padding steps are masked: they get no attribution at all.
    assert np.all(result.values[4:] == 0)
    # One quadrature point is a poor integral: the check reports it.
    crude = integrated_gradients(None, vectors, np.zeros_like(vectors), points=1, evaluate=evaluate)
    assert crude.relative_error > result.relative_error


def test_integrated_gradients_on_numeric_inputs_per_step_and_feature():
    import keras

    from seqkit.explain import Network, integrated_gradients
    from seqkit.models.backbone import StackedLSTM
    from seqkit.models.encoders import NumericProjection
    from seqkit.models.heads import RegressorHead

    keras.utils.set_random_seed(5)
    inputs = keras.Input(shape=(5, 2), dtype="float32")
    x = NumericProjection(dim=None)(inputs)
    x = StackedLSTM(units=4, layers=2)(x)
    model = keras.Model(inputs, RegressorHead(outputs=1)(x))
    network = Network.of(model)
    assert network.numeric_inputs
    point = np.array([[0.5, -1.0], [2.0, 0.3], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]], "float32")
    mask = network.mask(point[None])
    assert mask.tolist() == [[True, True, True, False, False]]
    # Eager gradients here (the plain path of integrated_gradients), the model's own output.
    from keras import ops

    def function(batch):
        masks = ops.broadcast_to(ops.convert_to_tensor(mask), (batch.shape[0], 5))
        return ops.sum(network.head_output(network.vectors(batch), masks, batch), axis=1)

    result = integrated_gradients(function, point, np.zeros_like(point), points=32)
    assert result.values.shape == (5, 2)
    assert result.relative_error <= 1e-3
    assert result.output == pytest.approx(float(np.asarray(model(point[None]))[0, 0]), abs=1e-5)


@pytest.mark.parametrize(
    "units, layers, bidirectional, return_sequences, extra",
    [
        (4, 1, False, False, {}),
        ([5, 3], 2, True, False, {}),  # a bidirectional 2-layer stack, final state
        (4, 2, False, True, {"layer_norm": True, "residual": True}),  # the whole sequence, through norms
        (3, 2, True, True, {"merge_mode": "sum"}),
    ],
)
def test_gate_traces_equal_keras_outputs_with_masked_padding(units, layers, bidirectional, return_sequences, extra):
    import keras

    from seqkit.explain.gates import replay_lstm, trace_backbone
    from seqkit.models.backbone import StackedLSTM

    keras.utils.set_random_seed(11)
    backbone = StackedLSTM(
        units=units, layers=layers, bidirectional=bidirectional, return_sequences=return_sequences, **extra
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 7, 4)).astype("float32")
    mask = np.array([[True] * 7, [True] * 4 + [False] * 3])
    own = np.asarray(backbone(x, mask=mask))
    for row in range(2):
        traces = trace_backbone(backbone, x[row], mask[row])
        assert len(traces) == layers * (2 if bidirectional else 1)
        assert max(t.check_error for t in traces) < 1e-5
        last = [t for t in traces if t.layer == layers - 1]
        real = int(mask[row].sum())
        for t in traces:
            assert t.values.shape[:2] == (6, real)  # quantities x real steps
            assert 0 <= np.nanmin(t.quantity("forget_gate")) and np.nanmax(t.quantity("forget_gate")) <= 1
            assert len(t.top_units) == min(8, t.values.shape[2])
        # The backbone's own output, rebuilt from the replayed hidden states of its last layer.
        forward = last[0].quantity("hidden_state")
        if not return_sequences:
            rebuilt = forward[-1]
            if bidirectional:
                rebuilt = np.concatenate([forward[-1], last[1].quantity("hidden_state")[0]])
            np.testing.assert_allclose(own[row], rebuilt, atol=1e-5)
        elif not bidirectional and not extra.get("layer_norm"):
            np.testing.assert_allclose(own[row][:real], forward, atol=1e-5)
        elif bidirectional:  # merge_mode sum
            np.testing.assert_allclose(own[row][:real], forward + last[1].quantity("hidden_state"), atol=1e-5)
    # Masked steps keep the state: the replay from the layer's weights, on padded input.
    lstm = backbone.rnns[0].forward_layer if bidirectional else backbone.rnns[0]
    cell = lstm.cell
    weights = [np.asarray(w.numpy(), "float64") for w in (cell.kernel, cell.recurrent_kernel, cell.bias)]
    replay = replay_lstm(x[1], mask[1], *weights)
    assert np.all(np.isnan(replay[0, 4:]))  # no gates at padding
    np.testing.assert_array_equal(replay[4, 6], replay[4, 3])  # the cell state carried through it


def test_cell_change_ranks_the_units_that_move():
    from seqkit.explain.gates import replay_lstm

    # Unit 0 has a large input weight, unit 1 none: unit 0's cell state changes most.
    units = 2
    kernel = np.zeros((1, 4 * units))
    kernel[0, 2 * units] = 3.0  # the candidate of unit 0
    recurrent = np.zeros((units, 4 * units))
    bias = np.zeros(4 * units)
    replay = replay_lstm(np.array([[1.0], [-1.0], [1.0]]), None, kernel, recurrent, bias)
    cells = replay[4]
    assert abs(cells[:, 0]).max() > 0.3 and np.all(cells[:, 1] == 0)
    # c_1 = f * 0 + i * g = 0.5 * tanh(3)
    assert cells[0, 0] == pytest.approx(0.5 * np.tanh(3.0))


def test_named_array_selects_by_label():
    from seqkit.explain import NamedArray

    array = NamedArray(np.arange(6).reshape(2, 3), ("step", "feature"), {"feature": ["a", "b", "c"]})
    assert array.sel(feature="b").tolist() == [1, 4]
    with pytest.raises(ValueError, match="2 axis names"):
        NamedArray(np.zeros(3), ("step", "feature"), {})


def test_tasks_say_what_they_explain():
    from seqkit.errors import DataError
    from seqkit.task import ClassificationTask, RegressionTask, Task

    info = {"classes": ["negative", "neutral", "positive"]}
    task = ClassificationTask()
    chosen = task.explain_target(np.array([0.1, 0.2, 0.7]), info)
    assert chosen.label == "p(positive)" and chosen.weights.tolist() == [0, 0, 1]
    assert task.explain_target(np.array([0.1, 0.2, 0.7]), info, target="neutral").weights.tolist() == [0, 1, 0]
    with pytest.raises(DataError, match="expected one of the classes .*Did you mean 'neutral'"):
        task.explain_target(np.array([0.1, 0.2, 0.7]), info, target="neutrl")
    binary = task.explain_target(np.array([0.2]), {"classes": ["no", "yes"]})
    assert binary.label == "p(no)" and binary.weights.tolist() == [-1.0]  # 1 - p(yes), up to a constant
    regression = RegressionTask().explain_target(np.array([1.0, 2.0]), {"targets": ["a", "b"]}, target="b")
    assert regression.label == "predicted b" and regression.weights.tolist() == [0, 1]
    assert Task().explain_target(np.zeros((2, 2)), {}).weights.sum() == 4


@pytest.fixture(scope="module")
def reviews_run(tmp_path_factory):
    """A tiny sentiment model on seqkit.testing's hand-written reviews (fixed seed)."""
    from seqkit.testing import TINY_RECIPE, TINY_REVIEWS, run_tiny_recipe, write_reviews

    folder = tmp_path_factory.mktemp("explain")
    write_reviews(folder / "reviews.csv", TINY_REVIEWS * 3)
    return run_tiny_recipe(TINY_RECIPE.format(epochs=25, runs=folder / "runs"), folder)


TINY_SENTENCES = ["it broke, terrible quality", "great value, very happy"]


def test_sentiment_attributions_land_on_the_sentiment_words(reviews_run):
    negative, positive = reviews_run.explain(TINY_SENTENCES)
    assert negative.prediction["label"] == "negative" and negative.target == "p(negative)"
    assert positive.prediction["label"] == "positive" and positive.target == "p(positive)"
    assert negative.steps == ["it", "broke", "terrible", "quality"]
    assert {step for step, _ in negative.top_steps(2)} == {"broke", "terrible"}
    assert positive.top_steps(1)[0][0] == "great"
    for e in (negative, positive):
        assert e.completeness.relative_error <= 1e-3
        assert e.attributions.axes == ("step", "feature") and e.attributions.shape == (len(e.steps), 8)
        assert len(e.gates) == 1 and e.gates[0].check_error < 1e-5


SENTENCES = ["The delivery was terrible and slow.", "The sound is great for the price."]


def test_cli_writes_figures_and_json(reviews_run, tmp_path, capsys):
    from seqkit.testing import run_cli

    out = tmp_path / "why"
    assert run_cli(["explain", reviews_run.path, *TINY_SENTENCES, "--output", out, "--json", "--units", "4"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["target"] for d in data] == ["p(negative)", "p(positive)"]
    assert data[0]["completeness"]["relative_error"] <= 1e-3
    assert data[0]["steps"] == ["it", "broke", "terrible", "quality"]
    assert data[0]["gates"][0]["trace"]["axes"] == ["quantity", "step", "unit"]
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "explanations.html",
        "explanations.json",
        "input_1_gates.png",
        "input_1_tokens.html",
        "input_1_tokens.png",
        "input_2_gates.png",
        "input_2_tokens.html",
        "input_2_tokens.png",
    ]
    assert (out / "input_1_tokens.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "input_1_tokens.html").read_text()
    assert ">terrible</span>" in page and "completeness error" in page
    # Bad arguments: one line, non-zero exit, nothing run.
    assert run_cli(["explain", reviews_run.path]) == 2
    assert "give inputs on the command line, --input FILE or --test N" in capsys.readouterr().err
    assert run_cli(["explain", reviews_run.path, "x", "--target", "positiv"]) == 2
    assert "Did you mean 'positive'" in capsys.readouterr().err


def test_report_section_explains_test_examples(reviews_run):
    from seqkit.explain import report_section

    html = report_section(reviews_run, count=2, points=16)
    assert html.startswith('<section class="seqkit-explain">')
    assert html.count("<h3>Input") == 2 and html.count("data:image/png;base64,") == 4


def test_the_run_report_gets_the_explanations(reviews_run, capsys):
    """seqkit report RUN --explain N explains N test examples in report.html; seqkit explain
    into the run's own folder replaces them with its inputs."""
    from seqkit.testing import run_cli

    report = reviews_run.path / "report.html"
    assert report.is_file() and "What the model looked at" not in report.read_text()
    assert run_cli(["report", reviews_run.path, "--explain", "0"]) == 2
    assert "--explain: expected a positive integer" in capsys.readouterr().err
    assert run_cli(["report", reviews_run.path, "--explain", "2"]) == 0
    page = report.read_text()
    assert page.count("What the model looked at") == 2  # the contents line and the section
    assert len(re.findall(r"<h3>Input \d", page)) == 2
    assert run_cli(["explain", reviews_run.path, TINY_SENTENCES[0], "--units", "4"]) == 0
    page = report.read_text()
    assert len(re.findall(r"<h3>Input \d", page)) == 1 and ">terrible</span>" in page
    (reviews_run.path / "explain" / "report_section.html").unlink()
    assert run_cli(["report", reviews_run.path]) == 0
    assert "What the model looked at" not in report.read_text()


@pytest.mark.slow
def test_sentiment_attributions_on_the_full_reviews_recipe(tmp_path):
    """The shipped recipe (smaller model, few epochs) on all 2,100 reviews."""
    import seqkit

    overrides = [
        "train.epochs=4",
        "model.encoder.dim=16",
        "model.backbone.units=16",
        "model.encoder.sequence_length=40",
        "model.encoder.dropout=0.0",
        "train.verbose=0",
        f"output.dir={tmp_path}",
        "output.tensorboard=false",
        "data.split.test=0.05",
        "train.early_stopping.patience=1",
        "train.deterministic=true",
    ]
    run = seqkit.run(str(REVIEWS.parents[1] / "reviews.yaml"), overrides=overrides, quiet=True)
    negative, positive = run.explain(SENTENCES)
    assert negative.steps == ["the", "delivery", "was", "terrible", "and", "slow"]
    assert [t.direction for t in negative.gates] == ["forward", "backward"]
    assert negative.top_steps(1)[0][0] == "terrible" and negative.prediction["label"] == "negative"
    assert positive.top_steps(1)[0][0] == "great" and positive.prediction["label"] == "positive"
    assert max(negative.completeness.relative_error, positive.completeness.relative_error) <= 1e-3
