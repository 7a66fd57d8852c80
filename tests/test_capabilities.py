"""Optional capabilities are typed Protocols (no getattr look-ups), and the data description a
task receives has a typed, checked core (``DataInfo``) that round-trips through data_info.json."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import ROOT, write_recipe

from seqkit.errors import PluginError, RunError, SeqkitError
from seqkit.plugin_api import (
    Adapter,
    DataBundle,
    DataInfo,
    GeneratingTask,
    PreprocessingAdapter,
    SearchingTask,
    Split,
    StreamingAdapter,
    Task,
)


def test_built_in_parts_have_the_capabilities_they_claim(manager):
    streaming = sorted(name for name, cls in manager.adapters.items() if issubclass(cls, StreamingAdapter))
    preprocessing = sorted(name for name, cls in manager.adapters.items() if issubclass(cls, PreprocessingAdapter))
    generating = sorted(name for name, task in manager.tasks.items() if isinstance(task, GeneratingTask))
    assert streaming == ["text_table"]
    assert preprocessing == ["tfrecord"]
    assert generating == ["melody", "piano_roll"]
    assert sorted(name for name, task in manager.tasks.items() if isinstance(task, SearchingTask)) == ["seq2seq"]


def test_a_capability_needs_every_method_of_its_protocol():
    class HalfStreaming(Adapter):
        def iter_examples(self):
            yield from ()

    class Streaming(HalfStreaming):
        def stream_info(self, raw_labels):
            return {}

        def encode_stream_labels(self, labels, origins, info):
            return np.zeros(len(labels))

    assert not issubclass(HalfStreaming, StreamingAdapter)
    assert issubclass(Streaming, StreamingAdapter)


def test_generate_on_a_task_that_does_not_generate_says_so(manager):
    from seqkit.api import Run

    calls = []

    class Generates(Task):
        def generate(self, run, **options):
            calls.append(options)
            return "generated"

    stand_in = SimpleNamespace(
        task=manager.tasks.get("sentiment"), path="runs/x/1", recipe=SimpleNamespace(task="sentiment")
    )
    with pytest.raises(RunError, match=r"runs/x/1: task 'sentiment' does not generate sequences"):
        Run.generate(stand_in, steps=4)
    stand_in.task = Generates()
    assert Run.generate(stand_in, steps=4) == "generated" and calls == [{"steps": 4}]


def test_prepare_refuses_an_adapter_that_cannot_stream(monkeypatch, tmp_path):
    from seqkit.data.stream import prepare
    from seqkit.recipe import load_recipe

    monkeypatch.setenv("SEQKIT_DATA", "/data")
    recipe = load_recipe(ROOT / "recipes" / "sensors" / "basic_motions.yaml")
    with pytest.raises(
        SeqkitError, match=r"^data.adapter 'uea_ts' cannot stream its data; seqkit prepare works with: text_table$"
    ):
        prepare(recipe, tmp_path / "out", echo=lambda *_: None)


def test_every_task_takes_inputs_in_decode_and_describe_targets(manager):
    import inspect

    for name, task in manager.tasks.items():
        for method in (task.decode, task.describe_targets):
            parameter = inspect.signature(method).parameters.get("inputs")
            assert parameter is not None and parameter.default is None, f"{name}.{method.__name__} lacks inputs=None"


# -- DataInfo ---------------------------------------------------------------------------------


def test_data_info_core_keys_are_typed_and_the_rest_belongs_to_the_plugin():
    info = DataInfo({"classes": ["neg", "pos"], "features": 3, "steps": {"train": 9}, "vocabulary": 812})
    assert (info.classes, info.multilabel, info.features, info.targets, info.outputs) == (
        ["neg", "pos"],
        False,
        3,
        None,
        None,
    )
    assert info.plugin_keys() == {"steps": {"train": 9}, "vocabulary": 812}
    assert info["classes"] == ["neg", "pos"] and isinstance(info, dict)  # a plain dict for every existing reader
    assert DataInfo.from_json(json.loads(json.dumps(info)), "data_info.json") == info


def test_a_bundle_turns_its_info_into_data_info_and_checks_it():
    bundle = DataBundle(
        Split(np.zeros((2, 1)), np.array([0, 1])), None, None, {"classes": ["a", "b"], "multilabel": False}
    )
    assert isinstance(bundle.info, DataInfo) and bundle.info.classes == ["a", "b"]
    assert DataBundle(Split([], None), None, None).info == {}
    with pytest.raises(
        PluginError,
        match=r"DataBundle.info \(the adapter's data description\): multilabel: expected true or "
        r"false. Received: 'no'; features: expected a positive integer. Received: '3'",
    ):
        DataBundle(Split([], None), None, None, {"features": "3", "multilabel": "no"})


@pytest.mark.parametrize(
    "value, message",
    [
        ({"classes": "pos"}, "classes: expected a list of class names. Received: 'pos'"),
        ({"targets": [1, 2]}, "targets: expected a list of target names (strings). Received: [1, 2]"),
        ({"features": 0}, "features: expected a positive integer. Received: 0"),
        ({"outputs": True}, "outputs: expected a positive integer. Received: True"),
        ([1, 2], "expected a mapping of facts about the data. Received: list"),
    ],
)
def test_a_broken_data_info_json_is_named_with_its_key(tmp_path, value, message):
    run = tmp_path / "run"
    run.mkdir()
    (run / "status.json").write_text('{"status": "completed"}')
    (run / "run.json").write_text(json.dumps({"base_dir": str(tmp_path)}))
    write_recipe(run / "recipe.yaml", "name: r\ntask: sentiment\ndata: {path: reviews.csv}\n")
    (run / "data_info.json").write_text(json.dumps(value))
    from seqkit.api import load_run

    with pytest.raises(RunError) as info:
        load_run(run)
    assert str(info.value) == f"{run / 'data_info.json'}: {message}"


def test_a_trained_runs_recipe_is_read_back_without_later_part_checks(tmp_path):
    # A run trained before a check existed (here: a bidirectional melody model) stays usable.
    from seqkit.recipe import load_recipe
    from seqkit.train.rundir import RunDirectory
    from seqkit.train.runner import load_run_recipe

    (tmp_path / "run.json").write_text(json.dumps({"base_dir": str(tmp_path)}))
    (tmp_path / "status.json").write_text('{"status": "completed"}')
    text = "name: r\ntask: melody\ndata: {adapter: music21}\nmodel: {backbone: {bidirectional: true}}\n"
    write_recipe(tmp_path / "recipe.yaml", text)
    assert load_run_recipe(RunDirectory.open(tmp_path)).get("model.backbone.bidirectional") is True
    with pytest.raises(SeqkitError, match="model.backbone.bidirectional: task 'melody' predicts each step"):
        load_recipe(tmp_path / "recipe.yaml")


def test_capabilities_and_whole_recipe_checks_are_documented():
    import inspect

    from seqkit.plugin_api import HeadSpec

    section = (ROOT / "docs" / "plugins.md").read_text().split("## Optional capabilities and whole-recipe checks")[1]
    for protocol in (GeneratingTask, SearchingTask, StreamingAdapter, PreprocessingAdapter):
        assert f"`{protocol.__name__}`" in section
        for name, method in vars(protocol).items():
            if not name.startswith("_") and callable(method):
                params = [p for p in inspect.signature(method).parameters if p != "self"]
                assert f"`{name}({params[0] if params else ''}" in section, (protocol.__name__, name)
    for key in DataInfo.CORE_KEYS:
        assert f"`{key}`" in section, key
    for owner, first in ((Task, "self"), (HeadSpec, "cls")):
        params = [p for p in inspect.signature(owner.check_recipe).parameters if p != "self"]
        assert f"`{owner.__name__}.check_recipe({', '.join([first, *params])})" in section
    for attribute in ("adapters", "encoders", "heads", "causal"):
        assert f"`{attribute}`" in section
