"""The plugin system: entry points, in-process plugins, duplicate names, broken plugins,
and a third-party plugin installed with pip."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

import seqkit
from conftest import ROOT
from seqkit.errors import PluginError, UnknownNameError
from seqkit.plugins import PluginManager


def test_builtins_are_found_through_entry_points():
    names = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="seqkit")}
    assert names.get("text") == "seqkit_text"
    manager = PluginManager()
    assert {"sentiment", "text_classification"} <= set(manager.tasks.names())
    assert manager.adapters.owner("text_table") == "text"
    assert manager.heads.owner("classifier") == "seqkit.builtin"


def test_without_entry_points_only_core_parts_exist():
    manager = PluginManager(load_entry_points=False)
    assert manager.tasks.names() == []
    assert manager.encoders.names() == ["numeric", "token_embedding"]


def test_in_process_plugin_registers_and_unregisters(manager):
    class Echo(seqkit.ClassificationTask):
        name = "echo_task"
        default_adapter = "text_table"
        default_encoder = "token_embedding"

    plugin = SimpleNamespace(seqkit_register_tasks=seqkit.hookimpl(lambda register: register(Echo())))
    manager.register(plugin, name="echo_plugin")
    try:
        assert "echo_task" in manager.tasks.names()
        assert manager.tasks.owner("echo_task") == "echo_plugin"
    finally:
        manager.unregister("echo_plugin")
    with pytest.raises(UnknownNameError, match="Unknown task: 'echo_task'"):
        manager.tasks.get("echo_task")


def test_duplicate_name_names_both_plugins(manager):
    class Clash(seqkit.ClassificationTask):
        name = "sentiment"

    plugin = SimpleNamespace(seqkit_register_tasks=seqkit.hookimpl(lambda register: register(Clash())))
    manager.register(plugin, name="clashing_plugin")
    try:
        with pytest.raises(PluginError, match="Duplicate task name 'sentiment': registered by plugin 'text' and by plugin 'clashing_plugin'"):
            manager.tasks.names()
    finally:
        manager.unregister("clashing_plugin")
    assert "sentiment" in manager.tasks.names()


def test_failing_hook_is_reported_by_plugin_name(manager):
    def broken(register):
        raise RuntimeError("boom")

    manager.register(SimpleNamespace(seqkit_register_adapters=seqkit.hookimpl(broken)), name="broken_hook")
    try:
        with pytest.raises(PluginError, match="Plugin 'broken_hook' failed in seqkit_register_adapters: RuntimeError: boom"):
            manager.adapters.names()
    finally:
        manager.unregister("broken_hook")


def test_plugin_commands_become_cli_verbs(manager, capsys):
    from seqkit import cli

    calls = []

    def add_arguments(parser):
        parser.add_argument("word")
        parser.add_argument("--times", type=int, default=1)

    def run(args):
        calls.append((args.word, args.times))
        return 3

    commands = [
        seqkit.Command("shout", "repeat a word", add_arguments, run),
        seqkit.Command("predict", "tries to replace a core verb", add_arguments, run),
    ]
    plugin = SimpleNamespace(seqkit_register_commands=seqkit.hookimpl(lambda register: [register(c) for c in commands]))
    manager.register(plugin, name="shouting_plugin")
    try:
        assert manager.commands.owner("shout") == "shouting_plugin"
        assert cli.main(["shout", "hey", "--times", "2"]) == 3
        assert calls == [("hey", 2)]
        assert "core command; ignored" in capsys.readouterr().err
        help_text = cli.build_parser().format_help()
        assert "shout" in help_text and "repeat a word" in help_text
    finally:
        manager.unregister("shouting_plugin")
    assert "shout" not in cli.build_parser().format_help()


def test_entry_point_that_fails_to_import_is_named(monkeypatch):
    broken = importlib.metadata.EntryPoint(name="ghost", value="seqkit_ghost_plugin_missing", group="seqkit")

    def fake_entry_points(group):
        assert group == "seqkit"
        return [broken]

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    with pytest.raises(PluginError) as info:
        PluginManager().tasks.names()
    message = str(info.value)
    assert "Plugin 'ghost' (entry point 'seqkit_ghost_plugin_missing') failed to load" in message
    assert "ModuleNotFoundError" in message


def test_third_party_plugin_installed_with_pip_runs_a_recipe(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(ROOT / "tests" / "plugin_example")],
        check=True,
        capture_output=True,
        text=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    listed = subprocess.run([sys.executable, "-m", "seqkit", "plugins"], env=env, capture_output=True, text=True, check=True)
    assert "example_sum 1.0.0 (seqkit-example-sum)" in listed.stdout
    assert "task     sequence_sum" in listed.stdout
    result = subprocess.run(
        [sys.executable, "-m", "seqkit", "run", str(ROOT / "tests" / "plugin_example" / "sum.yaml"),
         "--set", f"output.dir={tmp_path / 'runs'}", "--set", "train.epochs=3", "--set", "train.verbose=0"],
        env=env, capture_output=True, text=True, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "seqkit: test mae=" in result.stdout
    assert "<- [0.5, 0.5]" in result.stdout
    run_dir = next((tmp_path / "runs" / "example-sum").iterdir())
    predicted = subprocess.run(
        [sys.executable, "-m", "seqkit", "predict", str(run_dir), "[0.25, 0.25]"], env=env, capture_output=True, text=True
    )
    assert predicted.returncode == 0 and predicted.stdout.startswith("sum="), predicted.stderr[-2000:]


def test_plugin_layer_modules_are_imported_before_loading_models(manager, tmp_path, monkeypatch):
    from seqkit.train.runner import import_layer_modules
    from seqkit.models.parts import HeadSpec

    (tmp_path / "my_plugin_layers.py").write_text("IMPORTED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    class MyHead(HeadSpec):
        keras_module = "my_plugin_layers"

    plugin = SimpleNamespace(seqkit_register_heads=seqkit.hookimpl(lambda register: register("my_head", MyHead)))
    manager.register(plugin, name="layers_plugin")
    try:
        assert "my_plugin_layers" in import_layer_modules(manager)
        assert "my_plugin_layers" in sys.modules
    finally:
        manager.unregister("layers_plugin")
        sys.modules.pop("my_plugin_layers", None)
