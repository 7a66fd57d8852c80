"""The sensors plugin: .ts, .npz and long-format CSV sequences, standardisation, padding,
masks, and a tiny end-to-end run."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import seqkit
from seqkit.plugin_api import DataContext, DataError
from seqkit_sensors.adapters import SequenceCsvAdapter, SequenceNpzAdapter, UeaTsAdapter

SPLIT = {"validation": 0.25, "test": 0.25}


def ts_file(path, n=16):
    """Two channels; class 'up' rises, class 'down' falls; lengths 3 to 6."""
    rng = np.random.default_rng(0)
    lines = ["# tiny", "@problemName Tiny", "@dimensions 2", "@equalLength false", "@classLabel true up down", "@data"]
    for i in range(n):
        steps = 3 + i % 4
        base = np.linspace(0, 1, steps) * (1 if i % 2 == 0 else -1)
        a = ",".join(f"{v + rng.normal(0, 0.05):.3f}" for v in base)
        b = ",".join(f"{2 * v:.3f}" for v in base)
        lines.append(f"{a}:{b}:{'up' if i % 2 == 0 else 'down'}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_ts_files_are_padded_masked_and_standardised(tmp_path):
    ts_file(tmp_path / "t.ts")
    adapter = UeaTsAdapter({"train": "t.ts", "split": SPLIT, "normalize": True}, DataContext(tmp_path, 1))
    bundle = adapter.load()
    info = bundle.info
    assert info["classes"] == ["down", "up"] and info["features"] == 2 and info["max_steps"] == 6
    assert bundle.train.x.shape[1:] == (6, 2)
    assert (len(bundle.train), len(bundle.validation), len(bundle.test)) == (8, 4, 4)
    real = np.any(bundle.train.x != 0, axis=2)
    # raw: "t.ts:LINE (N steps)", which predictions.csv shows for each test sequence
    assert all(r.startswith(f"{tmp_path / 't.ts'}:") for r in bundle.train.raw)
    assert real.sum() == sum(int(r.split("(")[1].split()[0]) for r in bundle.train.raw)
    np.testing.assert_allclose(bundle.train.x[real].mean(axis=0), 0.0, atol=1e-5)


@pytest.mark.parametrize(
    "line, message",
    [
        ("1,2:3:up\n", "dimensions have different lengths"),
        ("1,x:3,4:up\n", "values must be numbers"),
        ("1,nan:3,4:up\n", "NaN or infinite value"),
        ("1,?:3,4:up\n", "missing value '\\?'"),
    ],
)
def test_bad_ts_lines(tmp_path, line, message):
    path = tmp_path / "bad.ts"
    path.write_text("@data\n1,2:3,4:down\n" + line)
    with pytest.raises(DataError, match=f"bad.ts:3: {message}"):
        UeaTsAdapter({"train": "bad.ts"}, DataContext(tmp_path, 1)).load()
    (tmp_path / "nodata.ts").write_text("@problemName x\n1,2:down\n")
    with pytest.raises(DataError, match="no sequences found"):
        UeaTsAdapter({"train": "nodata.ts"}, DataContext(tmp_path, 1)).load()


def test_npz_and_long_csv_give_the_same_sequences(tmp_path):
    x = np.zeros((6, 4, 2), "float32")
    lengths = np.array([2, 3, 4, 2, 3, 4])
    for i, n in enumerate(lengths):
        x[i, :n] = np.arange(n * 2).reshape(n, 2) + i
    y = np.array(["a", "b"] * 3)
    np.savez(tmp_path / "s.npz", x=x, y=y, lengths=lengths)
    npz = SequenceNpzAdapter({"train": "s.npz"}, DataContext(tmp_path, 1)).read(tmp_path / "s.npz")
    rows = ["id,step,f1,f2,label"]
    for i, n in enumerate(lengths):
        for t in reversed(range(n)):  # out of order on purpose: steps are sorted
            rows.append(f"s{i},{t},{x[i, t, 0]},{x[i, t, 1]},{y[i]}")
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
    csv_adapter = SequenceCsvAdapter({"train": "s.csv", "features": ["f1", "f2"]}, DataContext(tmp_path, 1))
    from_csv = csv_adapter.read(tmp_path / "s.csv")
    assert [s.tolist() for s in npz[0]] == [s.tolist() for s in from_csv[0]]
    assert npz[1] == from_csv[1] == list(y)
    np.savez(tmp_path / "bad.npz", x=x)
    with pytest.raises(DataError, match="missing array 'y'"):
        SequenceNpzAdapter({"train": "bad.npz"}, DataContext(tmp_path, 1)).read(tmp_path / "bad.npz")
    (tmp_path / "two.csv").write_text("id,step,f1,f2,label\ns,0,1,1,a\ns,1,1,1,b\n")
    with pytest.raises(DataError, match="two.csv:3: sequence 's' has two labels"):
        csv_adapter.read(tmp_path / "two.csv")
    (tmp_path / "dup.csv").write_text("id,step,f1,f2,label\ns,0,1,1,a\nt,0,1,1,a\ns,0,2,2,a\n")
    with pytest.raises(DataError, match="dup.csv:4: sequence 's' has step 0 twice \\(first on line 2\\)"):
        csv_adapter.read(tmp_path / "dup.csv")


def test_sktime_dataset_names_are_checked(tmp_path):
    if importlib.util.find_spec("sktime") is None:
        pytest.skip("sktime not installed")
    adapter = UeaTsAdapter({"dataset": "JapanseVowels"}, DataContext(tmp_path, 1))
    with pytest.raises(DataError, match="no .ts data set 'JapanseVowels'. Did you mean 'JapaneseVowels'"):
        adapter.load()
    bundle = UeaTsAdapter({"dataset": "JapaneseVowels", "split": {"validation": 0.15}}, DataContext(tmp_path, 1)).load()
    assert bundle.info["features"] == 12 and len(bundle.info["classes"]) == 9
    assert len(bundle.train) + len(bundle.validation) == 270 and len(bundle.test) == 370
    # data.test beside data.dataset replaces the set's TEST file (seqkit evaluate --set data.test=...)
    (tmp_path / "mine.ts").write_text("@data\n" + ":".join(["1,2,3"] * 12) + ":4\n")
    bundle = UeaTsAdapter({"dataset": "JapaneseVowels", "test": "mine.ts"}, DataContext(tmp_path, 1)).load()
    assert len(bundle.test) == 1 and bundle.test.y.tolist() == [3]


def test_tiny_run_and_prediction_on_raw_sequences(tmp_path):
    ts_file(tmp_path / "t.ts", n=24)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "task: sequence_classification\nseed: 3\n"
        "data: {train: t.ts, split: {validation: 0.25, test: 0.25}}\n"
        "model: {backbone: {units: 8}, head: {type: classifier, pooling: mean}}\n"
        f"train: {{epochs: 30, batch_size: 4, verbose: 0, optimizer: {{learning_rate: 0.02}}}}\n"
        f"output: {{dir: {tmp_path / 'runs'}, tensorboard: false}}\n"
    )
    run = seqkit.run(recipe, quiet=True)
    assert run.metrics["test"]["accuracy"] >= 0.8
    loaded = seqkit.load_run(run.path)
    rows = loaded.predict([[[0.0, 0.0], [0.5, 1.0], [1.0, 2.0]], "[[0, 0], [-0.5, -1], [-1, -2], [-1.2, -2.4]]"])
    assert [r["label"] for r in rows] == ["up", "down"]
    # Sequences longer than any seen in training are predicted and evaluated too (the LSTM
    # takes any number of steps).
    long_up = np.stack([np.linspace(0, 1, 9), np.linspace(0, 2, 9)], axis=1)
    assert loaded.predict([long_up.tolist()])[0]["label"] == "up"
    lines = ["@data"] + [
        f"{','.join(map(str, s * d[:, 0]))}:{','.join(map(str, s * d[:, 1]))}:{lab}"
        for s, lab in ((1, "up"), (-1, "down"))
        for d in (long_up, long_up[:4])
    ]
    (tmp_path / "long.ts").write_text("\n".join(lines) + "\n")
    assert loaded.evaluate({"data.test": str(tmp_path / "long.ts")})["accuracy"] == 1.0
    with pytest.raises(DataError, match="input 2: not a JSON list of steps"):
        loaded.predict(["[[0, 0]]", "hello"])
    for bad in ("[[0, NaN]]", [[0.0, None]], [[float("inf"), 1.0]]):
        with pytest.raises(DataError, match="input 1: .*(NaN|null|infinite)"):
            loaded.predict([bad])


def test_regression_ts_files_and_non_ts_folders_are_refused(tmp_path):
    (tmp_path / "reg.ts").write_text("@problemName R\n@targetLabel true\n@data\n1,2,3:0.5\n2,3,4:1.25\n")
    with pytest.raises(DataError, match=r"reg.ts:2: .*regression data set \(@targetLabel true\)"):
        UeaTsAdapter({"train": "reg.ts"}, DataContext(tmp_path, 1)).load()
    if importlib.util.find_spec("sktime") is None:
        return
    for name in ("Airline", "Covid3Month"):  # a CSV-only folder; a regression data set
        with pytest.raises(DataError, match=f"(no .ts data set {name!r}|regression data set)"):
            UeaTsAdapter({"dataset": name}, DataContext(tmp_path, 1)).load()


def test_prediction_files_need_no_labels_and_are_named(tmp_path):
    """New data to predict has no label: CSV without the label column, .ts with
    '@classLabel false' (or just the feature fields), .npz without y. Each prediction is
    named by its sequence id (CSV) or file:line / file[index]."""
    (tmp_path / "new.csv").write_text("id,step,f1,f2\nb,1,3,4\nb,0,1,2\na,0,5,6\n")
    csv_adapter = SequenceCsvAdapter({"train": "x.csv", "features": ["f1", "f2"]}, DataContext(tmp_path, 1))
    info = {"features": 2, "max_steps": 4, "mean": [0, 0], "std": [1, 1]}
    names = csv_adapter.read_inputs(tmp_path / "new.csv", info)
    assert names == ["b", "a"]
    np.testing.assert_allclose(csv_adapter.encode_inputs(names, info)[0, :2], [[1, 2], [3, 4]])
    (tmp_path / "new.ts").write_text("@classLabel false\n@data\n1,2:3,4\n5:6\n")
    (tmp_path / "bare.ts").write_text("@problemName new\n@data\n1,2:3,4\n5:6\n")
    ts_adapter = UeaTsAdapter({"train": "x.ts"}, DataContext(tmp_path, 1))
    for name in ("new.ts", "bare.ts"):
        inputs = ts_adapter.read_inputs(tmp_path / name, info)
        assert [str(i) for i in inputs] == [f"{tmp_path / name}:3", f"{tmp_path / name}:4"]
        np.testing.assert_allclose(ts_adapter.encode_inputs(inputs, info)[1, :1], [[5, 6]])
    np.savez(tmp_path / "new.npz", x=np.ones((2, 3, 2)))
    inputs = SequenceNpzAdapter({"train": "x.npz"}, DataContext(tmp_path, 1)).read_inputs(tmp_path / "new.npz", info)
    assert inputs == [f"{tmp_path / 'new.npz'}[0]", f"{tmp_path / 'new.npz'}[1]"]


def test_bad_npz_files(tmp_path):
    adapter = SequenceNpzAdapter({"train": "x.npz"}, DataContext(tmp_path, 1))
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(DataError, match=r"text.npz: not a NumPy .npz archive"):
        adapter.read(tmp_path / "text.npz")
    np.savez(tmp_path / "len.npz", x=np.ones((2, 3, 1)), y=np.array([0, 1]), lengths=np.array([3, 4]))
    with pytest.raises(DataError, match=r"len.npz: lengths\[1\] is 4; expected 1 to 3"):
        adapter.read(tmp_path / "len.npz")


def test_scoring_a_run_uses_its_classes_and_scaling(tmp_path):
    """seqkit evaluate passes the run's data_info (context.info): a test file with fewer
    classes, or another training file, is encoded exactly as the model was trained."""
    ts_file(tmp_path / "t.ts")
    trained = UeaTsAdapter({"train": "t.ts", "split": SPLIT}, DataContext(tmp_path, 1)).load().info
    (tmp_path / "other.ts").write_text("@data\n5,6,7:10,12,14:up\n9,9:1,1:up\n")
    (tmp_path / "test.ts").write_text("@data\n0,0.5,1:0,1,2:up\n")
    context = DataContext(tmp_path, 1, None, trained)
    bundle = UeaTsAdapter({"train": "other.ts", "test": "test.ts"}, context).load()
    assert bundle.info["classes"] == ["down", "up"] and bundle.test.y.tolist() == [1]
    expected = (np.array([[0, 0], [0.5, 1], [1, 2]]) - trained["mean"]) / trained["std"]
    np.testing.assert_allclose(bundle.test.x[0, :3], expected, rtol=1e-5)
    # The training file is not read when a test file is scored (it may be gone).
    bundle = UeaTsAdapter({"train": "gone.ts", "test": "test.ts"}, context).load()
    assert bundle.train is None and bundle.test.y.tolist() == [1]
    np.testing.assert_allclose(bundle.test.x[0, :3], expected, rtol=1e-5)
    (tmp_path / "three.ts").write_text("@data\n1:2:up\n1:2:sideways\n")
    with pytest.raises(DataError, match=r"three.ts:3: unknown label 'sideways'.*Expected one of: down, up"):
        UeaTsAdapter({"train": "t.ts", "test": "three.ts"}, context).load()
    (tmp_path / "wide.ts").write_text("@data\n1:2:3:up\n")
    with pytest.raises(DataError, match=r"wide.ts:2: 3 features per step; the run's model takes 2"):
        UeaTsAdapter({"train": "t.ts", "test": "wide.ts"}, context).load()


@pytest.mark.slow  # about 60 s on a loaded 2-core machine: three exports and a fresh TensorFlow process
def test_export_takes_raw_sequences_and_agrees_with_predict(tmp_path):
    """seqkit export of a sequence model: raw (unstandardised) steps and their lengths in, the
    run's scaling inside the export, class names out; reloaded without seqkit (SavedModel,
    TFLite, ONNX) it predicts what Run.predict does."""
    pytest.importorskip("tf2onnx", reason="--format onnx needs tf2onnx (pip install 'seqkit[export]')")
    pytest.importorskip("onnxruntime", reason="the ONNX check needs onnxruntime (pip install 'seqkit[export]')")
    from seqkit.testing import predict_without_seqkit

    ts_file(tmp_path / "t.ts", n=12)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "task: sequence_classification\nseed: 3\n"
        "data: {train: t.ts, split: {validation: 0.25, test: 0.25}}\n"
        "model: {backbone: {units: 4}, head: {type: classifier, pooling: mean}}\n"
        f"train: {{epochs: 1, batch_size: 4, verbose: 0}}\n"
        f"output: {{dir: {tmp_path / 'runs'}, tensorboard: false}}\n"
    )
    run = seqkit.run(recipe, quiet=True)
    sequences = [[[0.0, 0.0], [0.5, 1.0], [1.0, 2.0]], [[0.0, 0.0], [-0.5, -1.0], [-1.0, -2.0], [-1.2, -2.4]]]
    rows = run.predict(sequences)
    padded = [s + [[0.0, 0.0]] * (4 - len(s)) for s in sequences]
    folders = []
    for fmt in ("saved_model", "tflite", "onnx"):
        folders.append(run.export(fmt, tmp_path / fmt))
    results = predict_without_seqkit(folders, {"sequences": padded, "lengths": [3, 4]})
    for folder in folders:
        result = results[str(folder)]
        assert result["label"] == [row["label"] for row in rows], folder.name
        for probs, row in zip(result["probabilities"], rows):
            assert probs == pytest.approx([row["p_down"], row["p_up"]], abs=1e-5), folder.name
