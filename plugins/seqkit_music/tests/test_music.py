"""The music plugin: encodings, adapters, the frame-level NLL, tiny end-to-end runs, and
generation (CLI and API): lengths, determinism, top-k / beam checks, primers, reloading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import seqkit
from seqkit.plugin_api import DataContext, DataError, SeqkitError
from seqkit.testing import run_cli as main
from seqkit_music import encodings
from seqkit_music.adapters import JsbChoralesAdapter, MidiAdapter, Music21Adapter
from seqkit_music.generation import Generation
from seqkit_music.sources import read_midi
from seqkit_music.tasks import MelodyTask, PianoRollTask

ROOT = Path(__file__).resolve().parents[3]  # the repository: recipes/ and ../shared/data

pretty_midi = pytest.importorskip("pretty_midi")

QPM = 120.0
SPQ = 2  # eighth-note grid in the tiny data
STEP_SECONDS = 60.0 / QPM / SPQ

# Parsed scores go to a cache of this test session, not the user's ~/.cache/seqkit.
os.environ.setdefault("SEQKIT_CACHE", tempfile.mkdtemp(prefix="seqkit-test-cache-"))


def write_midi(path: Path, notes, qpm=QPM, extra_part=None):
    """notes: (pitch, start_quarter, end_quarter)."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    spq_seconds = 60.0 / qpm
    for part in [notes] + ([extra_part] if extra_part else []):
        instrument = pretty_midi.Instrument(program=0)
        instrument.notes = [pretty_midi.Note(90, p, a * spq_seconds, b * spq_seconds) for p, a, b in part]
        midi.instruments.append(instrument)
    midi.write(str(path))
    return path


def tiny_melodies(folder: Path, n=8):
    """Scales up and down in a few keys, with held notes and rests."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        root = 60 + (i % 4) * 2
        steps = [0, 2, 4, 5, 7, 5, 4, 2] if i % 2 == 0 else [7, 5, 4, 2, 0, 2, 4, 7]
        notes = [(root + s, k * 0.5, k * 0.5 + 0.5) for k, s in enumerate(steps)]
        notes.append((root, 4.5, 5.5))  # a held note after a rest at 4.0
        write_midi(folder / f"m{i}.mid", notes, extra_part=[(root - 12, 0.0, 2.0)])
    return folder


def tiny_jsb(path: Path, rng_seed=0):
    rng = np.random.default_rng(rng_seed)

    def chorale(length):
        chords = [[48, 64, 67, 72], [50, 65, 69, 74], [52, 67, 71, 76], [43, 62, 67, 71]]
        return [chords[int(rng.integers(0, 4))] for _ in range(length)]

    data = {
        "train": [chorale(int(rng.integers(5, 10))) for _ in range(6)],
        "valid": [chorale(int(rng.integers(4, 8))) for _ in range(3)],
        "test": [chorale(int(rng.integers(4, 8))) for _ in range(3)],
    }
    path.write_text(json.dumps(data))
    return path, data


TINY_TRAIN = {"epochs": 1, "batch_size": 4, "verbose": 0, "optimizer": {"learning_rate": 0.01}}


@pytest.fixture(scope="module")
def melody_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("melody")
    tiny_melodies(root / "midi")
    recipe = {
        "name": "tiny-melody",
        "task": "melody",
        "seed": 3,
        "data": {
            "adapter": "midi",
            "path": str(root / "midi"),
            "steps_per_quarter": SPQ,
            "transpose": [-1, 1],
            "pitch_range": [48, 84],
            "split": {"validation": 0.25, "test": 0.25},
        },
        "model": {"encoder": {"dim": 8}, "backbone": {"units": 8}},
        "train": TINY_TRAIN,
        "output": {"dir": str(root / "runs"), "tensorboard": False},
    }
    return seqkit.run(recipe, quiet=True), root


@pytest.fixture(scope="module")
def roll_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("roll")
    path, _ = tiny_jsb(root / "jsb.json")
    recipe = {
        "name": "tiny-roll",
        "task": "piano_roll",
        "seed": 3,
        "data": {"adapter": "jsb_chorales", "path": str(path), "transpose": [0, 1]},
        "model": {"encoder": {"dropout": 0.1}, "backbone": {"units": 8, "layers": 2, "layer_norm": True}},
        "train": TINY_TRAIN,
        "output": {"dir": str(root / "runs"), "tensorboard": False},
    }
    return seqkit.run(recipe, quiet=True), root


# -- encodings ---------------------------------------------------------------------------


def test_melody_events_round_trip():
    notes = [
        encodings.Note(60, 0.0, 1.0),
        encodings.Note(62, 1.0, 1.5),
        encodings.Note(64, 2.0, 3.0),
        encodings.Note(64, 3.0, 3.5),
    ]
    events = encodings.notes_to_events(notes, 2, 48, 84)
    first = encodings.FIRST_PITCH_TOKEN - 48
    assert events.tolist() == [
        first + 60,
        encodings.HOLD,
        first + 62,
        encodings.REST,
        first + 64,
        encodings.HOLD,
        first + 64,
    ]
    assert encodings.events_to_notes(events, 2, 48) == notes
    # Polyphony becomes its highest line; pitches outside the range move by octaves.
    chord = [encodings.Note(48, 0, 1), encodings.Note(55, 0, 1), encodings.Note(100, 1, 2)]
    events = encodings.notes_to_events(chord, 1, 48, 84)
    assert [n.pitch for n in encodings.events_to_notes(events, 1, 48)] == [55, 76]


def test_piano_roll_round_trip_through_midi(tmp_path):
    roll = np.zeros((6, encodings.KEYS), "float32")
    roll[0:3, 60 - 21] = 1
    roll[1:2, 64 - 21] = 1
    roll[4:6, 21 - 21] = 1  # A0, the lowest key
    roll[5, 108 - 21] = 1  # C8, the highest
    notes = encodings.roll_to_notes(roll, 1)
    assert np.array_equal(encodings.notes_to_roll(notes, 1, steps=6), roll)
    generation = Generation("piano_roll", roll, 0, 1, QPM, notes)
    generation.write_midi(tmp_path / "r.mid")
    piece = read_midi(tmp_path / "r.mid")
    assert np.array_equal(encodings.notes_to_roll(piece.notes(), 1, steps=6), roll)
    assert pretty_midi.PrettyMIDI(str(tmp_path / "r.mid")).get_end_time() == pytest.approx(6 * 0.5)


def test_transposition():
    events = encodings.notes_to_events([encodings.Note(60, 0, 1), encodings.Note(83, 1, 2)], 1, 48, 84)
    up = encodings.transpose_events(events, 1, 48, 84)
    assert [n.pitch for n in encodings.events_to_notes(up, 1, 48)] == [61, 84]
    assert encodings.transpose_events(events, 2, 48, 84) is None  # 85 leaves the range
    roll = encodings.notes_to_roll([encodings.Note(100, 0, 1)], 1)
    assert encodings.transpose_roll(roll, 8)[0, 108 - 21] == 1
    assert encodings.transpose_roll(roll, 9) is None
    assert encodings.transpositions(-2, 1) == [0, -2, -1, 1]


def test_frame_nll_matches_numpy_and_excludes_padding():
    y_true = np.full((2, 3, encodings.KEYS), -1.0, "float32")
    rng = np.random.default_rng(0)
    real = (rng.random((2, 3, encodings.KEYS)) < 0.1).astype("float32")
    y_true[0] = real[0]  # 3 real frames
    y_true[1, :2] = real[1, :2]  # 2 real frames, 1 padded
    p = rng.uniform(0.01, 0.99, (2, 3, encodings.KEYS))

    def frame(i, t):
        return -(real[i, t] * np.log(p[i, t]) + (1 - real[i, t]) * np.log(1 - p[i, t])).sum()

    counted = [(0, 1), (0, 2), (1, 1)]  # frames 2..T of each sequence
    nll, frames = encodings.frame_nll(y_true, p)
    assert frames == 3 and nll == pytest.approx(np.mean([frame(i, t) for i, t in counted]))
    nll_all, frames_all = encodings.frame_nll(y_true, p, skip_first=False)
    assert frames_all == 5 and nll_all == pytest.approx(np.mean([frame(i, t) for i, t in counted + [(0, 0), (1, 0)]]))
    metrics = PianoRollTask().evaluate(y_true, p, {})
    assert metrics["nll_per_step"] == pytest.approx(nll) and metrics["frames"] == 3
    # The training loss is the same average, over every real frame of the batch.
    from seqkit_music.layers import EventNLL, FrameNLL

    loss = float(FrameNLL()(y_true, p.astype("float32")))
    assert loss == pytest.approx(nll_all, rel=1e-4)
    tokens = np.array([[5, 6, 0], [7, 0, 0]])
    probs = rng.dirichlet(np.ones(9), size=(2, 3))
    picked = [probs[0, 0, 5], probs[0, 1, 6], probs[1, 0, 7]]
    nll_events, _, steps = encodings.event_nll(tokens, probs)
    assert steps == 3 and nll_events == pytest.approx(-np.mean(np.log(picked)))
    assert float(EventNLL()(tokens, probs.astype("float32"))) == pytest.approx(nll_events, rel=1e-4)


# -- adapters ------------------------------------------------------------------------------


def test_jsb_adapter_shifts_inputs_pads_targets_and_augments_train_only(tmp_path):
    path, data = tiny_jsb(tmp_path / "jsb.json")
    adapter = JsbChoralesAdapter({"path": "jsb.json", "transpose": [-1, 1]}, DataContext(tmp_path, 1, PianoRollTask()))
    bundle = adapter.load()
    assert len(bundle.train) == 6 * 3 and len(bundle.validation) == 3 and len(bundle.test) == 3
    first = data["test"][0]
    x, y = bundle.test.x[0], bundle.test.y[0]
    assert not x[0].any()  # the all-zero start frame
    assert sorted(np.flatnonzero(y[0]) + 21) == sorted(first[0])
    assert np.array_equal(x[1 : len(first)], y[: len(first) - 1])
    assert (y[len(first) :] == -1).all()
    assert bundle.info["steps"]["test"] == sum(len(c) for c in data["test"])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"train": [[[60, 200]]], "valid": [], "test": []}))
    with pytest.raises(DataError, match=r"bad.json: train chorale 1, step 1: pitch 200 is outside"):
        JsbChoralesAdapter({"path": "bad.json"}, DataContext(tmp_path, 1, PianoRollTask())).load()
    bad.write_text('{"train": [], "valid": []}')
    with pytest.raises(DataError, match="missing key"):
        JsbChoralesAdapter({"path": "bad.json"}, DataContext(tmp_path, 1, PianoRollTask())).load()


def test_midi_adapter_melody_and_corrupt_file(tmp_path):
    tiny_melodies(tmp_path / "midi", n=4)
    config = {
        "path": "midi",
        "steps_per_quarter": SPQ,
        "pitch_range": [48, 84],
        "split": {"validation": 0.0, "test": 0.0},
    }
    bundle = MidiAdapter(config, DataContext(tmp_path, 1, MelodyTask())).load()
    assert bundle.info["vocabulary"] == 4 + 37 and bundle.info["qpm"] == QPM
    assert bundle.train.raw[0].endswith("m0.mid")
    y = bundle.train.y[0]
    assert y.tolist()[:11] == [encodings.FIRST_PITCH_TOKEN + p - 48 for p in [60, 62, 64, 65, 67, 65, 64, 62]] + [
        encodings.REST,
        encodings.FIRST_PITCH_TOKEN + 12,
        encodings.HOLD,
    ]
    assert bundle.train.x[0, 0] == encodings.START and bundle.train.x[0, 1:11].tolist() == y[:10].tolist()
    (tmp_path / "midi" / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    with pytest.raises(DataError, match=r"broken.mid: not a readable MIDI file"):
        MidiAdapter(config, DataContext(tmp_path, 1, MelodyTask())).load()


def test_test_files_beside_path_are_the_test_split(tmp_path):
    """data.test (or data.validation) beside data.path: those files are that split, the rest
    of the split comes from data.path (seqkit evaluate RUN --set data.test=other.mid)."""
    tiny_melodies(tmp_path / "midi", n=6)
    write_midi(tmp_path / "other.mid", [(70, 0, 1), (72, 1, 2)])
    config = {"path": "midi", "test": "other.mid", "steps_per_quarter": SPQ, "split": {"validation": 0.2, "test": 0.5}}
    bundle = MidiAdapter(config, DataContext(tmp_path, 1, MelodyTask())).load()
    assert list(bundle.test.raw) == [str(tmp_path / "other.mid")]
    assert bundle.info["pieces"] == {"train": 5, "validation": 1, "test": 1}
    (tmp_path / "tune.abc").write_text("X:1\nT:Tiny\nM:4/4\nL:1/8\nK:C\nCDEF G2z2|c4 G4|]\n")
    bundle = Music21Adapter(
        {"path": "tune.abc", "validation": "tune.abc", "split": {"validation": 0.5, "test": 0.0}},
        DataContext(tmp_path, 1, MelodyTask()),
    ).load()
    assert bundle.info["pieces"] == {"train": 1, "validation": 1, "test": 0}


def test_music21_corpus_composers_and_works(tmp_path):
    """data.corpus: besides the Bach chorales, any composer, collection or work that ships
    in music21's corpus (no download)."""
    config = {"corpus": "nottingham-dataset", "limit": 2, "split": {"validation": 0.0, "test": 0.0}}
    bundle = Music21Adapter(config, DataContext(tmp_path, 1, MelodyTask())).load()
    assert bundle.info["pieces"]["train"] == 2 and bundle.train.raw[0].endswith("reelsa-c.abc#1")
    for name, message in (
        ("mozrt", "Did you mean 'mozart'"),
        ("mozart/k999", "no composer, collection or work 'mozart/k999'"),
    ):
        with pytest.raises(DataError, match=f"data.corpus: .*{message}"):
            Music21Adapter({"corpus": name}, DataContext(tmp_path, 1, MelodyTask())).load()


def test_music21_adapter_reads_abc_and_the_bundled_chorales(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("seqkit.progress.QUIET_S", 0.0)  # report even this short parse (stderr is not a terminal)
    (tmp_path / "tune.abc").write_text("X:1\nT:Tiny\nM:4/4\nL:1/8\nK:C\nCDEF G2z2|c4 G4|]\n")
    config = {"path": "tune.abc", "steps_per_quarter": 2, "split": {"validation": 0.0, "test": 0.0}}
    bundle = Music21Adapter(config, DataContext(tmp_path, 1, MelodyTask())).load()
    notes = encodings.events_to_notes(bundle.train.y[0], 2, 36)
    assert [n.pitch for n in notes] == [60, 62, 64, 65, 67, 72, 67]
    chorales = Music21Adapter(
        {"limit": 3, "split": {"validation": 0.0, "test": 0.0}}, DataContext(tmp_path, 1, PianoRollTask())
    ).load()
    assert chorales.info["pieces"]["train"] == 3 and chorales.train.x.shape[-1] == 88
    assert chorales.train.raw[0].startswith("music21:bach/")
    assert "parsing music21's Bach chorales: 3 chorales in" in capsys.readouterr().err


# -- end to end ----------------------------------------------------------------------------


def test_tiny_runs_report_nll_per_step(melody_run, roll_run):
    run, _ = melody_run
    metrics = run.metrics
    assert metrics["test"]["nll_per_step"] > 0 and metrics["validation"]["steps"] > 0
    assert metrics["test"]["perplexity"] == pytest.approx(np.exp(metrics["test"]["nll_per_step"]))
    assert (run.path / "plots" / "melody.png").exists()
    run, _ = roll_run
    assert run.metrics["test"]["frames"] == run.metrics["test"]["frames_with_first"] - 3
    assert (run.path / "plots" / "piano_roll.png").exists()


def test_cli_generate_writes_midi_of_the_requested_length(melody_run, roll_run, tmp_path, capsys):
    for (run, _), steps in ((melody_run, 12), (roll_run, 7)):
        out = tmp_path / f"{run.recipe.task}.mid"
        assert (
            main(
                [
                    "generate",
                    str(run.path),
                    "--steps",
                    str(steps),
                    "--temperature",
                    "0.9",
                    "--top-k",
                    "5",
                    "--seed",
                    "1",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        spq, qpm = run.info["steps_per_quarter"], run.info["qpm"]
        midi = pretty_midi.PrettyMIDI(str(out))
        assert midi.get_end_time() == pytest.approx(steps / spq * 60 / qpm)
        assert out.with_suffix(".png").stat().st_size > 0
        assert f"{steps} steps" in capsys.readouterr().out


def test_greedy_is_deterministic_and_seeds_repeat(melody_run, roll_run):
    for run, _ in (melody_run, roll_run):
        a = run.generate(steps=10, temperature=0)
        b = run.generate(steps=10, temperature=0)
        assert np.array_equal(a.sequence, b.sequence) and len(a.sequence) == 10
        s1 = run.generate(steps=10, temperature=1.5, seed=4)
        s2 = run.generate(steps=10, temperature=1.5, seed=4)
        assert np.array_equal(s1.sequence, s2.sequence)
        beam = run.generate(steps=6, beam=3)
        assert beam.steps == 6
        # Beam search finds a continuation at least as likely as greedy decoding, step by step.
        greedy = run.generate(steps=6, temperature=0)
        assert beam.log_likelihood >= greedy.log_likelihood - 1e-6


def test_top_k_restricts_choices(melody_run):
    run, _ = melody_run
    generation = run.generate(steps=30, temperature=5.0, top_k=1, seed=0)
    assert np.array_equal(generation.sequence, run.generate(steps=30, temperature=0).sequence)


@pytest.mark.parametrize(
    "options",
    [
        {"temperature": 0},
        {"temperature": 1.5, "seed": 4},
        {"temperature": 1.2, "top_k": 3, "seed": 1},
        {"beam": 3},
        {"temperature": 1.0, "seed": 2, "primer": "m1.mid"},
    ],
    ids=["greedy", "sampled", "top-k", "beam", "primer"],
)
def test_carried_states_choose_what_rerunning_the_whole_prefix_chooses(melody_run, roll_run, options):
    # 24 steps: longer than every training piece, so both paths go past what the model saw.
    from seqkit_music.generation import generate

    root = melody_run[1]
    if "primer" in options:
        options = {**options, "primer": root / "midi" / options["primer"]}
    for run, _ in (melody_run, roll_run):
        carried = generate(run, steps=24, **options)
        rerun = generate(run, steps=24, stateful=False, **options)
        assert np.array_equal(carried.sequence, rerun.sequence)
        assert carried.log_likelihood == pytest.approx(rerun.log_likelihood, rel=1e-6)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"steps": 0}, "--steps: expected an integer >= 1"),
        ({"steps": 4, "top_k": 0}, "--top-k: expected an integer >= 1"),
        ({"steps": 4, "top_k": 1000}, "--top-k: expected an integer >= 1 and <= 39"),
        ({"steps": 4, "beam": 0}, "--beam: expected an integer >= 1"),
        ({"steps": 4, "beam": 2, "top_k": 3}, "--beam and --top-k"),
        ({"steps": 4, "beam": 2, "temperature": 0}, "--beam: needs --temperature > 0"),
        ({"steps": 4, "temperature": -1}, "--temperature: expected a number >= 0"),
        ({"steps": 4, "out": "x.wav"}, "--out: expected a .mid or .midi"),
    ],
)
def test_generation_arguments_are_checked(melody_run, options, message):
    run, _ = melody_run
    with pytest.raises(SeqkitError, match=message.replace("(", r"\(")):
        run.generate(**options)


def test_primer_is_continued(melody_run, roll_run, tmp_path):
    run, root = melody_run
    primer = root / "midi" / "m0.mid"
    generation = seqkit_music_generate(run.path, steps=5, temperature=0, primer=primer, out=tmp_path / "p.mid")
    expected = encodings.notes_to_events(read_midi(primer).notes(0), SPQ, 48, 84)
    assert generation.primer_steps == len(expected) and np.array_equal(generation.sequence[: len(expected)], expected)
    midi = pretty_midi.PrettyMIDI(str(tmp_path / "p.mid"))
    assert midi.get_end_time() == pytest.approx((len(expected) + 5) * STEP_SECONDS)
    run, _ = roll_run
    generation = run.generate(steps=3, temperature=0, primer=primer)
    assert (
        generation.primer_steps == len(encodings.notes_to_roll(read_midi(primer).notes(), 1)) and generation.steps == 3
    )


def seqkit_music_generate(*args, **kwargs):
    import seqkit_music

    return seqkit_music.generate(*args, **kwargs)


def test_reload_in_a_fresh_process_generates_the_same(melody_run):
    run, _ = melody_run
    expected = run.generate(steps=8, temperature=0).sequence.tolist()
    code = (
        "import json, sys, seqkit\n"
        "run = seqkit.load_run(sys.argv[1])\n"
        "print(json.dumps(run.generate(steps=8, temperature=0).sequence.tolist()))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(run.path)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == expected


def test_bad_inputs_end_in_one_line(melody_run, tmp_path, capsys):
    run, _ = melody_run
    out = tmp_path / "o.mid"
    assert (
        main(["generate", str(run.path), "--steps", "4", "--primer", str(tmp_path / "missing.mid"), "--out", str(out)])
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing.mid: primer file not found" in err
    corrupt = tmp_path / "corrupt.mid"
    corrupt.write_bytes(b"not midi at all")
    assert main(["generate", str(run.path), "--steps", "4", "--primer", str(corrupt), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "corrupt.mid: not a readable MIDI file" in err
    assert main(["generate", str(run.path), "--steps", "4", "--top-k", "0", "--out", str(out)]) == 2
    assert "--top-k" in capsys.readouterr().err
    assert not out.exists()
    sentiment_like = tmp_path / "nothing"
    assert main(["generate", str(sentiment_like), "--steps", "4", "--out", str(out)]) == 2


@pytest.mark.slow
def test_jsb_recipe_beats_the_plain_keras_lstm(tmp_path):
    data = (
        Path(os.environ.get("SEQKIT_DATA", ROOT.parent / "shared" / "data"))
        / "jsb_chorales"
        / "jsb-chorales-quarter.json"
    )
    if not data.exists():
        pytest.skip("JSB Chorales not available (set SEQKIT_DATA)")
    run = seqkit.run(ROOT / "recipes" / "music" / "jsb.yaml", overrides=[f"output.dir={tmp_path}"], quiet=True)
    assert run.metrics["test"]["frames"] == 4725 - 77
    assert run.metrics["test"]["nll_per_step"] < 8.45


# -- layers, with seqkit.testing's Keras-style layer test --------------------------------------


@pytest.mark.parametrize(
    "kwargs, shape, weights", [({"dim": 0}, (2, 5, 88), 0), ({"dim": 4, "dropout": 0.1}, (2, 5, 4), 2)]
)
def test_frame_encoder_layer(kwargs, shape, weights):
    from seqkit.testing import run_layer_test
    from seqkit_music.layers import FrameEncoder

    frames = (np.random.default_rng(0).random((2, 5, 88)) > 0.9).astype("float32")
    run_layer_test(FrameEncoder, kwargs, frames, shape, weights)


@pytest.mark.parametrize("activation", ["sigmoid", "softmax"])
def test_step_output_layer(activation):
    from seqkit.testing import run_layer_test
    from seqkit_music.layers import StepOutput

    features = np.random.default_rng(1).normal(size=(2, 5, 8)).astype("float32")
    layer = run_layer_test(StepOutput, {"units": 88, "activation": activation, "dropout": 0.2}, features, (2, 5, 88), 2)
    out = np.asarray(layer(features))
    assert ((out > 0) & (out < 1)).all()
    if activation == "softmax":
        np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)


def test_parsed_scores_are_cached_and_read_back_identical(tmp_path, monkeypatch):
    """music21 parses a score once; later reads come from seqkit's data cache (JSON), note for note."""
    import music21

    from seqkit_music.sources import read_corpus_entry, read_score

    monkeypatch.setenv("SEQKIT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "tunes.abc").write_text(
        "X:1\nT:One\nM:4/4\nL:1/8\nK:C\nCDEF G2z2|c4 G4|]\n\nX:2\nT:Two\nM:3/4\nL:1/4\nK:G\nG A B|d2 z|]\n"
    )
    first, chorale = read_score(tmp_path / "tunes.abc"), read_corpus_entry("bach/bwv269")

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr(music21.converter, "parse", no_parsing)
    monkeypatch.setattr(music21.corpus, "parse", no_parsing)
    again, chorale_again = read_score(tmp_path / "tunes.abc"), read_corpus_entry("bach/bwv269")
    assert [p.name for p in again] == [f"{tmp_path / 'tunes.abc'}#1", f"{tmp_path / 'tunes.abc'}#2"]
    assert again == first and chorale_again == chorale and len(chorale.parts) == 4
    assert [n.pitch for n in again[0].parts[0]] == [60, 62, 64, 65, 67, 72, 67]
