"""Hostile inputs: corrupted or lying run-directory files and model archives, FIFOs, devices,
YAML bombs and values that validation must refuse (issue #18, items 4-7).

Every case must end with exit code 2 and one line on stderr, ``seqkit: error: ...`` naming the
file, without a traceback. A run directory is trained once per module (tiny recipe, one epoch)
and copied per case; commands run in-process (``seqkit.testing.run_cli``) except where a hang
or unbounded read is the danger: those run as a subprocess with a timeout and a memory cap.
"""

from __future__ import annotations

import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from seqkit.testing import TINY_RECIPE, run_cli, run_tiny_recipe, write_reviews

FEW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
DEEP = 100_000


# -- helpers -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A completed one-epoch run directory (read-only to the tests: they copy it)."""
    folder = tmp_path_factory.mktemp("trained")
    write_reviews(folder / "reviews.csv")
    run = run_tiny_recipe(TINY_RECIPE.format(epochs=1, runs=folder / "runs"), folder)
    return run.path


def _copy(trained: Path, into: Path, status: str | None = None) -> Path:
    run_dir = into / "run"
    shutil.copytree(trained, run_dir)
    if status:
        data = json.loads((run_dir / "status.json").read_text())
        (run_dir / "status.json").write_text(json.dumps({**data, "status": status}))
    return run_dir


def _one_line_error(code: int, err: str, names: str | Path, prefix: str = "seqkit: error:") -> str:
    """The one stderr line; ``seqkit validate`` starts its lines with the recipe's path instead."""
    assert "Traceback" not in err, err[-3000:]
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2, err[-3000:]
    assert len(lines) == 1, err[-3000:]
    assert lines[0].startswith(str(prefix)), lines[0]
    assert str(names) in lines[0], lines[0]
    return lines[0]


def _cli(argv, capsys, names, prefix: str = "seqkit: error:") -> str:
    capsys.readouterr()
    code = run_cli(argv)
    return _one_line_error(code, capsys.readouterr().err, names, prefix)


def _validate(recipe, capsys, names=None, data=False) -> str:
    return _cli(["validate", *(["--data"] if data else []), recipe], capsys, names or recipe, prefix=recipe)


def _limit_memory():  # a read without bound fails here instead of taking the machine down
    resource.setrlimit(resource.RLIMIT_DATA, (3 << 30, 3 << 30))


def _subprocess(args, cwd, timeout=120):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "seqkit", *map(str, args)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"seqkit {' '.join(map(str, args))} hung (no answer in {timeout} s)")
    return done.returncode, done.stderr


def _deep(depth: int = DEEP) -> str:
    return "[" * depth + "]" * depth


# -- run-directory files ---------------------------------------------------------------------------

# Each file, the command that reads it back, the status the run must have for that command, and
# keys whose type the file's schema fixes (with the types it accepts).
RUN_FILES = {
    "status.json": (["predict", "{run}", "great"], None, {"status": (str,)}),
    "run.json": (["predict", "{run}", "great"], None, {"base_dir": (str,), "evaluate": (bool,)}),
    "data_info.json": (
        ["predict", "{run}", "great"],
        None,
        {"classes": (list,), "multilabel": (bool,), "sizes": (dict,)},
    ),
    "checkpoints/state.json": (
        ["run", "--resume", "{run}", "--quiet"],
        "interrupted",
        {
            "epochs_done": (int,),
            "history": (list,),
            "best_epoch": (int, type(None)),
            "early_stopping": (dict,),
            "rng": (list,),
            "training_finished": (bool,),
            "monitor": (str,),
        },
    ),
}

JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def _kind(value) -> tuple:
    return (bool,) if isinstance(value, bool) else (type(value),)


@st.composite
def json_corruptions(draw, text: str, keys: dict):
    """Bytes of a run-directory JSON file made invalid: truncated, a byte's top bit flipped (not
    UTF-8), a constrained key given another type, a value nested 100,000 deep, not an object."""
    raw = text.encode()
    kind = draw(st.sampled_from(["truncate", "flip", "retype", "deep", "top"]))
    if kind == "truncate":
        return raw.rstrip()[: draw(st.integers(0, len(raw.rstrip()) - 1))]
    if kind == "flip":
        at = draw(st.integers(0, len(raw) - 1))
        return raw[:at] + bytes([raw[at] | 0x80]) + raw[at + 1 :]
    data = json.loads(text)
    if kind == "top":
        return json.dumps(
            draw(st.one_of(st.lists(st.integers(), max_size=2), st.integers(), st.text(max_size=5), st.none()))
        ).encode()
    key = draw(st.sampled_from(sorted(keys)))
    if kind == "deep":
        return json.dumps({**data, key: "@"}).replace('"@"', _deep()).encode()
    value = draw(JSON_VALUES)
    allowed = keys[key]
    assume(
        not (
            _kind(value)[0] in allowed or (float in allowed and isinstance(value, int) and not isinstance(value, bool))
        )
    )
    return json.dumps({**data, key: value}).encode()


@pytest.mark.parametrize("name", sorted(RUN_FILES))
@FEW
@given(data=st.data())
def test_corrupted_run_directory_files_are_one_line_errors(name, data, trained, capsys):
    argv, status, keys = RUN_FILES[name]
    with tempfile.TemporaryDirectory() as scratch:
        run_dir = _copy(trained, Path(scratch), status)
        target = run_dir / name
        if (
            name == "checkpoints/state.json"
        ):  # each checkpoint is a folder: damage the newest (here the only) one's state
            target = sorted(run_dir.glob("checkpoints/epoch-*/state.json"))[-1]
        target.write_bytes(data.draw(json_corruptions(target.read_text(), keys)))
        _cli([a.format(run=run_dir) for a in argv], capsys, target)


@pytest.mark.parametrize(
    "name, content",
    [
        ("status.json", {"status": "finished-ish"}),
        ("status.json", {"status": "completed", "error": ["x"]}),
        ("run.json", {"evaluate": True}),  # no base_dir
        ("run.json", {"base_dir": 5}),
        ("data_info.json", {"classes": "abc"}),
        ("data_info.json", {"classes": [], "sizes": {"train": "many"}}),
        ("environment.json", ["not", "a", "mapping"]),
    ],
)
def test_lying_run_directory_files(name, content, trained, tmp_path, capsys):
    run_dir = _copy(trained, tmp_path)
    if name == "environment.json":  # read back only when the recipe no longer validates
        recipe = run_dir / "recipe.yaml"
        recipe.write_text(recipe.read_text().replace("task: sentiment", "task: no_such_task"))
        (run_dir / name).write_text(json.dumps(content))
        capsys.readouterr()
        code = run_cli(["predict", run_dir, "great"])
        err = capsys.readouterr().err
        _one_line_error(code, err, "no_such_task")
        return
    (run_dir / name).write_text(json.dumps(content))
    _cli(["predict", run_dir, "great"], capsys, run_dir / name)


@pytest.mark.parametrize(
    "state",
    [
        {"epochs_done": -1, "history": []},
        {"epochs_done": "3"},
        {"history": [1, 2]},
        {"epochs_done": 1, "history": [{"epoch": "one"}]},
        {"epochs_done": 1, "rng": "x"},
    ],
)
def test_lying_state_json_stops_resume(state, trained, tmp_path, capsys):
    run_dir = _copy(trained, tmp_path, status="interrupted")
    path = run_dir / "checkpoints" / "epoch-0001" / "state.json"  # the run's only checkpoint
    path.write_text(json.dumps({**json.loads(path.read_text()), **state}))
    _cli(["run", "--resume", run_dir, "--quiet"], capsys, path)


def test_lock_that_is_a_folder(trained, tmp_path, capsys):
    run_dir = _copy(trained, tmp_path, status="interrupted")
    (run_dir / ".lock").unlink(missing_ok=True)
    (run_dir / ".lock").mkdir()
    _cli(["run", "--resume", run_dir, "--quiet"], capsys, run_dir / ".lock")


@pytest.mark.parametrize("name", ["status.json", "recipe.yaml", "data_info.json"])
def test_run_directory_file_that_is_a_fifo(name, trained, tmp_path):
    run_dir = _copy(trained, tmp_path)
    (run_dir / name).unlink()
    os.mkfifo(run_dir / name)
    code, err = _subprocess(["predict", run_dir, "great"], tmp_path, timeout=90)
    assert "not a regular file" in _one_line_error(code, err, run_dir / name)


# -- model archives ---------------------------------------------------------------------------------


def _rewrite_config(path: Path, change) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    config = json.loads(members["config.json"])
    members["config.json"] = change(config)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data if isinstance(data, bytes) else json.dumps(data))
    path.write_bytes(buffer.getvalue())


def _set_everywhere(node, key, value):
    if isinstance(node, dict):
        for k in node:
            if k == key:
                node[k] = value
            else:
                _set_everywhere(node[k], key, value)
    elif isinstance(node, list):
        for item in node:
            _set_everywhere(item, key, value)
    return node


def _data_ranges(raw: bytes) -> list[tuple[int, int]]:
    """(start, end) of each member's stored bytes: a flipped bit there breaks its CRC."""
    ranges = []
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        for info in archive.infolist():
            start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
            name_len = int.from_bytes(raw[info.header_offset + 26 : info.header_offset + 28], "little")
            extra_len = int.from_bytes(raw[info.header_offset + 28 : info.header_offset + 30], "little")
            start = info.header_offset + 30 + name_len + extra_len
            if info.compress_size:
                ranges.append((start, start + info.compress_size))
    return ranges


@st.composite
def archive_corruptions(draw, raw: bytes):
    kind = draw(st.sampled_from(["flip", "truncate", "config"]))
    if kind == "flip":
        start, end = draw(st.sampled_from(_data_ranges(raw)))
        at = draw(st.integers(start, end - 1))
        return ("bytes", raw[:at] + bytes([raw[at] ^ (1 << draw(st.integers(0, 7)))]) + raw[at + 1 :])
    if kind == "truncate":
        return ("bytes", raw[: draw(st.integers(0, len(raw) - 1))])
    return (
        "config",
        draw(st.sampled_from(["list", "string", "deep", "units", "units_text", "unknown_argument", "no_class"])),
    )


CONFIG_CHANGES = {
    "list": lambda c: [c],
    "string": lambda c: "model",
    "deep": lambda c: json.dumps({**c, "config": "@"}).replace('"@"', _deep()).encode(),
    "units": lambda c: _set_everywhere(c, "units", -3),
    "units_text": lambda c: _set_everywhere(c, "units", "eight"),
    "unknown_argument": lambda c: (
        _set_everywhere(c, "merge_mode", {"bogus": 1}) and _set_everywhere(c, "mask_padding", [[[]]])
    ),
    "no_class": lambda c: {"config": c["config"]},
}


@FEW
@given(data=st.data())
def test_corrupted_model_archives_are_one_line_errors(data, trained, capsys):
    with tempfile.TemporaryDirectory() as scratch:
        run_dir = _copy(trained, Path(scratch))
        model = run_dir / "model.keras"
        kind, value = data.draw(archive_corruptions(model.read_bytes()))
        if kind == "bytes":
            model.write_bytes(value)
        else:
            _rewrite_config(model, CONFIG_CHANGES[value])
        _cli(["predict", run_dir, "great"], capsys, model)


@pytest.mark.parametrize("change", sorted(CONFIG_CHANGES))
def test_each_crafted_model_config(change, trained, tmp_path, capsys):
    run_dir = _copy(trained, tmp_path)
    _rewrite_config(run_dir / "model.keras", CONFIG_CHANGES[change])
    _cli(["predict", run_dir, "great"], capsys, run_dir / "model.keras")


def test_huge_layer_argument_is_refused_before_keras_builds_it(trained, tmp_path, capsys):
    run_dir = _copy(trained, tmp_path)
    _rewrite_config(run_dir / "model.keras", lambda c: _set_everywhere(c, "units", 10**9))
    assert "units" in _cli(["predict", run_dir, "great"], capsys, run_dir / "model.keras")


def test_vocabulary_file_outside_the_archive_gets_its_own_message(trained, tmp_path, capsys):
    run_dir = _copy(trained, tmp_path)
    _rewrite_config(run_dir / "model.keras", lambda c: _set_everywhere(c, "vocabulary", "/etc/hostname"))
    line = _cli(["predict", run_dir, "great"], capsys, run_dir / "model.keras")
    assert "vocabulary" in line and "/etc/hostname" in line and "Lambda" not in line


def test_checkpoint_archive_corrupted_stops_resume(trained, tmp_path, capsys):
    run_dir = _copy(trained, tmp_path, status="interrupted")
    last = run_dir / "checkpoints" / "epoch-0001" / "model.keras"  # the run's only checkpoint
    last.write_bytes(last.read_bytes()[:-100])
    _cli(["run", "--resume", run_dir, "--quiet"], capsys, last)


# -- recipes and data that are not regular files, bombs, huge files -----------------------------------


def _recipe(folder: Path, **changes) -> Path:
    text = TINY_RECIPE.format(epochs=1, runs=folder / "runs")
    for old, new in changes.items():
        text = text.replace(old, new)
    write_reviews(folder / "reviews.csv")
    path = folder / "r.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("what", ["fifo", "/dev/zero", "/dev/null", "folder"])
def test_recipe_that_is_not_a_regular_file(what, tmp_path):
    path = tmp_path / "r.yaml"
    if what == "fifo":
        os.mkfifo(path)
    elif what == "folder":
        path.mkdir()
    else:
        path = Path(what)
    code, err = _subprocess(["validate", path], tmp_path, timeout=60)
    _one_line_error(code, err, path, prefix=path)


@pytest.mark.parametrize("what", ["fifo", "/dev/zero"])
def test_data_file_that_is_not_a_regular_file(what, tmp_path):
    data = tmp_path / "pipe.csv"
    if what == "fifo":
        os.mkfifo(data)
    else:
        data = Path(what)
    recipe = _recipe(tmp_path, **{"path: reviews.csv": f"path: {data}\n  format: csv"})
    code, err = _subprocess(["validate", "--data", recipe], tmp_path, timeout=60)
    assert "not a regular file" in _one_line_error(code, err, data, prefix=recipe)


@pytest.mark.parametrize("what", ["fifo", "/dev/zero"])
def test_predict_input_that_is_not_a_regular_file(what, trained, tmp_path):
    source = tmp_path / "inputs.txt"
    if what == "fifo":
        os.mkfifo(source)
    else:
        source = Path(what)
    code, err = _subprocess(["predict", trained, "--input", source], tmp_path, timeout=120)
    assert "not a regular file" in _one_line_error(code, err, source)


def test_huge_sparse_files_are_refused_by_size(tmp_path, capsys):
    recipe = tmp_path / "big.yaml"
    with recipe.open("wb") as handle:
        handle.truncate(50 << 30)  # sparse: 50 GiB that take no disk
    assert "too large" in _validate(recipe, capsys)
    data = tmp_path / "big.csv"
    capsys.readouterr()
    with data.open("wb") as handle:
        handle.write(b"review,sentiment\n")
        handle.truncate(50 << 30)
    recipe = _recipe(tmp_path, **{"path: reviews.csv": f"path: {data}"})
    assert "too large" in _validate(recipe, capsys, data, data=True)


BILLION_LAUGHS = (
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
    + "task: sentiment\ndata: {path: x.csv}\n"
)


@pytest.mark.parametrize(
    "text", [BILLION_LAUGHS, "a: " + "[" * 5000 + "]" * 5000 + "\n", "a: " + "{b: " * 3000 + "1" + "}" * 3000]
)
def test_yaml_bombs_end_quickly(text, tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    code, err = _subprocess(["validate", path], tmp_path, timeout=60)
    _one_line_error(code, err, path, prefix=path)


def test_yaml_merge_key_with_override(tmp_path, capsys):
    recipe = _recipe(
        tmp_path,
        **{
            "  batch_size: 8": "  batch_size: 8\n  early_stopping: &es {monitor: val_loss, patience: 2}",
            "output:": "tune:\n  early_stopping:\n    <<: *es\n    patience: 5\noutput:",
        },
    )
    from seqkit.recipe import load_recipe

    loaded = load_recipe(recipe)
    assert loaded.get("tune.early_stopping") == {
        "monitor": "val_loss",
        "patience": 5,
        "min_delta": 0.0,
        "mode": "auto",
        "restore_best_weights": True,
    }
    from seqkit.recipe.loader import parse_yaml

    data, source = parse_yaml("base: &d {units: 8, layers: 2}\nmine:\n  <<: *d\n  units: 4\n", "m.yaml")
    assert data["mine"] == {"units": 4, "layers": 2}
    assert source.lines["mine.units"] == 4 and source.lines["mine.layers"] == 1
    data, _ = parse_yaml("a: &a {k: 1}\nb: &b {k: 2, j: 3}\nc:\n  <<: [*a, *b]\n", "m.yaml")
    assert data["c"] == {"k": 1, "j": 3}  # earlier mappings in the list win (YAML merge spec)
    data, _ = parse_yaml("a: &a {k: 1}\nm: &m {<<: *a, k: 2}\nx: *m\ny: *m\n", "m.yaml")
    assert data["x"] == data["y"] == {"k": 2}
    with pytest.raises(Exception, match="appears twice"):
        parse_yaml("a: {k: 1, k: 2}\n", "m.yaml")


# -- validation gaps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, key",
    [
        ({"optimizer: {learning_rate: 0.01}": "optimizer: {learning_rate: .nan}"}, "learning_rate"),
        ({"optimizer: {learning_rate: 0.01}": "optimizer: {learning_rate: .inf}"}, "learning_rate"),
        ({"optimizer: {learning_rate: 0.01}": "optimizer: {learning_rate: 0.01, clipnorm: .nan}"}, "clipnorm"),
        ({"optimizer: {learning_rate: 0.01}": "optimizer: {learning_rate: 0.01, clipvalue: .inf}"}, "clipvalue"),
        ({"batch_size: 8": "batch_size: 8\n  l2: .nan"}, "l2"),
        ({"seed: 7": "seed: 1000000000000000000000000000000"}, "seed"),
        ({"seed: 7": "seed: 4294967296"}, "seed"),
        ({"seed: 7": "seed: " + "9" * 5000}, "seed"),
        ({"name: tiny": "name: " + "n" * 300}, "name"),
        ({"name: tiny": "name: a/b"}, "name"),
        ({"dim: 8}": "dim: 8, dropout: .nan}"}, "dropout"),
    ],
)
def test_values_validation_refuses(change, key, tmp_path, capsys):
    recipe = _recipe(tmp_path, **change)
    assert key in _validate(recipe, capsys)


def test_a_seed_at_the_top_of_its_range_is_valid(tmp_path, capsys):
    recipe = _recipe(tmp_path, **{"seed: 7": "seed: 4294967295"})
    assert run_cli(["validate", recipe]) == 0


@pytest.mark.parametrize("where", ["file", "/proc", "under_file"])
def test_output_dir_must_be_a_folder_or_creatable(where, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    target = {
        "file": tmp_path / "afile",
        "/proc": Path("/proc/seqkit-runs"),
        "under_file": tmp_path / "afile" / "runs",
    }[where]
    recipe = _recipe(tmp_path, **{f"dir: {tmp_path / 'runs'}": f"dir: {target}"})
    assert "output.dir" in _validate(recipe, capsys)


def test_environment_variable_in_a_numeric_field_is_converted(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SEQKIT_TEST_UNITS", "4")
    monkeypatch.setenv("SEQKIT_TEST_LR", "1e-3")
    recipe = _recipe(
        tmp_path,
        **{
            "backbone: {layers: 1, units: 8}": "backbone:\n    layers: 1\n    units: ${SEQKIT_TEST_UNITS}",
            "learning_rate: 0.01": "learning_rate: '${SEQKIT_TEST_LR}'",
        },
    )
    from seqkit.recipe import load_recipe

    loaded = load_recipe(recipe)
    assert loaded.get("model.backbone.units") == 4 and loaded.get("train.optimizer.learning_rate") == 0.001
    monkeypatch.setenv("SEQKIT_TEST_UNITS", "many")
    assert "model.backbone.units" in _validate(recipe, capsys)


@pytest.mark.parametrize("workers", ["host:99999", "host:0", "a:1,b:65536"])
def test_worker_ports_out_of_range(workers, tmp_path, capsys):
    recipe = _recipe(tmp_path)
    line = _cli(["run", recipe, "--workers", workers, "--worker-index", "0"], capsys, "--workers")
    assert "1..65535" in line


def test_distribution_address_ports_out_of_range(tmp_path, capsys):
    recipe = _recipe(
        tmp_path, **{"train:\n": "distribution: {strategy: data_parallel, coordinator: 'h:70000'}\ntrain:\n"}
    )
    assert "1..65535" in _validate(recipe, capsys, "distribution.coordinator")


@pytest.mark.parametrize(
    "line",
    ['{"review": ' + _deep() + ', "sentiment": "positive"}', '{"review": "ok", "sentiment": ' + "9" * 5000 + "}"],
)
def test_hostile_jsonl_lines(line, tmp_path, capsys):
    data = tmp_path / "reviews.jsonl"
    write_reviews(data, fmt="jsonl")
    data.write_text(data.read_text() + line + "\n")
    recipe = _recipe(tmp_path, **{"path: reviews.csv": "path: reviews.jsonl"})
    _validate(recipe, capsys, f"{data}:37", data=True)
