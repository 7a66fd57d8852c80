"""The plugin system: entry points, in-process plugins, registries built from pluggy's own
hook calls, duplicate names and broken plugins that take down only themselves, and a
third-party plugin installed with pip."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from conftest import ROOT, write_recipe

import seqkit
from seqkit.errors import PluginError, RecipeError, UnknownNameError
from seqkit.plugins import PluginManager
from seqkit.testing import registered_plugin, run_cli


def _task(task_name, base=seqkit.ClassificationTask):
    class PluginTask(base):
        name = task_name
        description = f"the {task_name} task of a test plugin"
        default_adapter = "text_table"
        default_encoder = "token_embedding"

    return PluginTask()


def _plugin(**functions):
    """A plugin object: a class whose attributes are the given (hook) functions."""
    return type("TestPlugin", (), {name: staticmethod(function) for name, function in functions.items()})


def _tasks_plugin(*tasks):
    return _plugin(seqkit_register_tasks=seqkit.hookimpl(lambda register: [register(t) for t in tasks]))


def _messages(manager):
    return [str(problem) for problem in manager.problems]


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
    plugin = _tasks_plugin(_task("echo_task"))
    manager.register(plugin, name="echo_plugin")
    try:
        assert "echo_task" in manager.tasks.names()
        assert manager.tasks.owner("echo_task") == "echo_plugin"
    finally:
        manager.unregister("echo_plugin")
    with pytest.raises(
        UnknownNameError, match="no installed plugin provides task 'echo_task'; installed tasks: forecast, "
    ):
        manager.tasks.get("echo_task")


def test_an_unhashable_plugin_object_is_refused_in_one_line(manager):
    with pytest.raises(
        PluginError, match="^cannot register plugin 'ns': a SimpleNamespace is not hashable; register a module, a class"
    ):
        manager.register(SimpleNamespace(seqkit_register_tasks=seqkit.hookimpl(lambda register: None)), name="ns")
    assert manager.pm.get_plugin("ns") is None


def test_a_function_without_hookimpl_is_not_called(manager):
    calls = []

    def seqkit_register_tasks(register):
        calls.append("called")
        register(_task("unmarked_task"))

    with registered_plugin(_plugin(seqkit_register_tasks=seqkit_register_tasks), name="unmarked"):
        assert "unmarked_task" not in manager.tasks.names()
        assert calls == []
        assert (
            "plugin 'unmarked': seqkit_register_tasks is not marked @hookimpl, so seqkit does not call it"
            in _messages(manager)
        )
    assert not any("unmarked" in m for m in _messages(manager))


def test_a_specname_implementation_is_used_and_owned_by_its_plugin(manager):
    @seqkit.hookimpl(specname="seqkit_register_tasks")
    def provide_my_tasks(register):
        register(_task("specname_task"))

    with registered_plugin(_plugin(provide_my_tasks=provide_my_tasks), name="specname_plugin"):
        assert manager.tasks.owner("specname_task") == "specname_plugin"
        assert _messages(manager) == []
        info = next(i for i in manager.plugin_infos() if i.name == "specname_plugin")
        assert info.hooks == ["seqkit_register_tasks"] and info.provides == {"tasks": ["specname_task"]}


def test_a_misspelt_hook_is_reported(manager):
    plugin = _plugin(seqkit_register_task=seqkit.hookimpl(lambda register: register(_task("typo_task"))))
    with registered_plugin(plugin, name="typo"):
        assert "typo_task" not in manager.tasks.names()
        assert (
            "plugin 'typo' implements 'seqkit_register_task', which is not a seqkit hook. "
            "Did you mean 'seqkit_register_tasks'?"
        ) in _messages(manager)


def test_owners_in_seqkit_plugins_come_from_pluggy(manager, capsys):
    # Two plugins implement the same hook; each item is listed under the plugin whose
    # implementation registered it, whatever order pluggy calls them in (tryfirst here).
    first = _plugin(seqkit_register_tasks=seqkit.hookimpl(trylast=True)(lambda register: register(_task("late_task"))))
    second = _plugin(
        seqkit_register_tasks=seqkit.hookimpl(tryfirst=True)(lambda register: register(_task("early_task")))
    )
    with registered_plugin(first, name="owner_a", version="1.2"), registered_plugin(second, name="owner_b"):
        assert run_cli(["plugins"]) == 0
        out = capsys.readouterr().out
        block_a = out.split("owner_a 1.2 (in-process)\n", 1)[1].split("\nowner_b", 1)[0]
        assert "task     late_task" in block_a and "early_task" not in block_a
        block_b = out.split("owner_b 0 (in-process)\n", 1)[1]
        assert block_b.startswith("  task     early_task             the early_task task of a test plugin\n")
        assert run_cli(["plugins", "--json"]) == 0
        listed = {info["name"]: info for info in json.loads(capsys.readouterr().out)}
        assert listed["owner_a"]["provides"] == {"tasks": ["late_task"]}
        assert listed["owner_a"]["hooks"] == ["seqkit_register_tasks"]
        assert listed["text"]["provides"]["adapters"] == ["text_table"]
        assert listed["seqkit.builtin"]["hooks"] == [
            "seqkit_register_adapters",
            "seqkit_register_encoders",
            "seqkit_register_heads",
        ]


def test_duplicate_name_is_disabled_with_a_warning_naming_both(manager):
    plugin = _tasks_plugin(_task("sentiment"), _task("own_task"))
    manager.register(plugin, name="clashing_plugin")
    try:
        message = (
            "plugins 'clashing_plugin' and 'text' both register task 'sentiment'; "
            "task 'sentiment' is disabled until one of them is uninstalled"
        )
        assert message in _messages(manager)
        assert "sentiment" not in manager.tasks.names()
        # Only that name: the rest of both plugins stays.
        assert {"own_task", "text_classification"} <= set(manager.tasks.names())
        assert manager.tasks.disabled() == {"sentiment": ["clashing_plugin", "text"]}
        with pytest.raises(
            UnknownNameError,
            match="task 'sentiment' is disabled: registered by plugins 'clashing_plugin' and 'text'; uninstall one of them",
        ):
            manager.tasks.get("sentiment")
    finally:
        manager.unregister("clashing_plugin")
    assert "sentiment" in manager.tasks.names()
    assert _messages(manager) == []


def test_a_recipe_naming_a_disabled_task_says_so_and_other_recipes_still_run(manager, tiny_recipe, capsys):
    with registered_plugin(_tasks_plugin(_task("sentiment")), name="clashing_plugin"):
        assert run_cli(["validate", str(tiny_recipe)]) == 2
        err = capsys.readouterr().err
        assert err.count("seqkit: warning: plugins 'clashing_plugin' and 'text' both register task 'sentiment'") == 1
        assert (
            f"{tiny_recipe}:2: task: task 'sentiment' is disabled: registered by plugins 'clashing_plugin' and "
            "'text'; uninstall one of them"
        ) in err
        other = write_recipe(
            tiny_recipe.parent / "other.yaml",
            tiny_recipe.read_text().replace("task: sentiment", "task: text_classification"),
        )
        assert run_cli(["validate", str(other)]) == 0
        assert run_cli(["plugins"]) == 0
        out = capsys.readouterr().out
        assert "  task     sentiment              (disabled: also registered by 'text')" in out
        assert "  task     sentiment              (disabled: also registered by 'clashing_plugin')" in out
        assert "  task     text_classification" in out


def test_failing_hook_is_reported_by_plugin_name(manager):
    def broken(register):
        register(_task("half_registered"))
        raise RuntimeError("boom")

    with registered_plugin(_plugin(seqkit_register_tasks=seqkit.hookimpl(broken)), name="broken_hook"):
        assert "plugin 'broken_hook' failed in seqkit_register_tasks: RuntimeError: boom" in _messages(manager)
        # A hook call registers all or nothing, and the other plugins are untouched.
        assert "half_registered" not in manager.tasks.names()
        assert "sentiment" in manager.tasks.names()


@pytest.mark.parametrize(
    "register_what, message",
    [
        (
            lambda: _task(""),
            "plugin 'bad_names' registered a task without a name: PluginTask.name is ''; expected a non-empty string",
        ),
        (
            lambda: type(_task("a_class")),
            "plugin 'bad_names' registered <class 'test_plugins._task.<locals>.PluginTask'> as a task: expected a Task instance",
        ),
    ],
)
def test_registrations_without_a_name_or_of_the_wrong_kind_name_the_plugin(manager, register_what, message):
    obj = register_what()
    with registered_plugin(_tasks_plugin(obj), name="bad_names"):
        assert any(
            m.startswith(f"plugin 'bad_names' failed in seqkit_register_tasks: PluginError: {message}")
            for m in _messages(manager)
        ), _messages(manager)


def test_adapter_without_a_name_is_refused(manager):
    from seqkit.data import Adapter

    class Nameless(Adapter):
        description = "an adapter that forgot its name"

    plugin = _plugin(seqkit_register_adapters=seqkit.hookimpl(lambda register: register(Nameless)))
    with registered_plugin(plugin, name="nameless"):
        assert (
            "plugin 'nameless' failed in seqkit_register_adapters: PluginError: plugin 'nameless' registered an adapter "
            "without a name: Nameless.name is ''; expected a non-empty string (a `name = \"...\"` class attribute)"
        ) in _messages(manager)


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
    plugin = _plugin(seqkit_register_commands=seqkit.hookimpl(lambda register: [register(c) for c in commands]))
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


def test_entry_point_that_fails_to_import_is_named_and_the_others_load(monkeypatch):
    broken = importlib.metadata.EntryPoint(name="ghost", value="seqkit_ghost_plugin_missing", group="seqkit")
    real = importlib.metadata.entry_points

    def fake_entry_points(group):
        assert group == "seqkit"
        return [broken, *real(group=group)]

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    manager = PluginManager()
    assert "sentiment" in manager.tasks.names()
    [problem] = manager.problems
    assert str(problem) == (
        "plugin 'ghost' (entry point 'seqkit_ghost_plugin_missing') failed to load: "
        "ModuleNotFoundError: No module named 'seqkit_ghost_plugin_missing'"
    )
    assert problem.plugins == ("ghost",)
    ghost = next(info for info in manager.plugin_infos() if info.name == "ghost")
    assert not ghost.loaded and ghost.problems == [str(problem)]
    assert "ghost" not in manager.plugin_versions()
    with pytest.raises(UnknownNameError) as info:
        manager.tasks.get("char_lm")
    assert str(info.value).endswith(
        "; not loaded: plugin 'ghost' (ModuleNotFoundError: No module named 'seqkit_ghost_plugin_missing')"
    )


def test_a_second_entry_point_under_a_taken_name_is_reported_not_loaded(monkeypatch):
    real = importlib.metadata.entry_points
    impostor = importlib.metadata.EntryPoint(name="text", value="seqkit_example_sum", group="seqkit")
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [*real(group=group), impostor])
    manager = PluginManager()
    assert [str(p) for p in manager.problems] == [
        "plugin 'text' (entry point 'seqkit_example_sum' of distribution 'unknown') is not loaded: "
        "the name is taken by entry point 'seqkit_text' of distribution 'seqkit-text'"
    ]
    assert manager.tasks.owner("sentiment") == "text" and "sequence_sum" not in manager.tasks.names()


def _broken_distribution(site):
    """A distribution on sys.path whose entry point imports a dependency that is not installed."""
    dist_info = site / "seqkit_ghost-2.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: seqkit-ghost\nVersion: 2.0\n")
    (dist_info / "entry_points.txt").write_text("[seqkit]\nghost = seqkit_ghost\n")
    (site / "seqkit_ghost.py").write_text("import a_dependency_that_is_not_installed\n")
    return {**os.environ, "PYTHONPATH": str(site)}


def test_a_broken_entry_point_leaves_core_and_plugin_verbs_working(tmp_path, tiny_recipe):
    env = _broken_distribution(tmp_path / "site")
    warning = (
        "seqkit: warning: plugin 'ghost' (entry point 'seqkit_ghost') failed to load: "
        "ModuleNotFoundError: No module named 'a_dependency_that_is_not_installed'"
    )

    def seqkit_cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "seqkit", *args], env=env, capture_output=True, text=True, timeout=300
        )

    helped = seqkit_cli("--help")
    assert helped.returncode == 0 and helped.stderr.strip() == warning
    assert "forecast" in helped.stdout and "generate" in helped.stdout and "validate" in helped.stdout
    validated = seqkit_cli("validate", str(tiny_recipe))
    assert validated.returncode == 0 and validated.stdout == f"{tiny_recipe}: valid\n"
    assert validated.stderr.strip() == warning  # printed once
    listed = seqkit_cli("plugins")
    assert listed.returncode == 0
    assert (
        "ghost 2.0 (seqkit-ghost): not loaded\n  problem  plugin 'ghost' (entry point 'seqkit_ghost') failed to load"
        in listed.stdout
    )
    assert "task     sentiment" in listed.stdout
    unknown = write_recipe(
        tmp_path / "ghostly.yaml", tiny_recipe.read_text().replace("task: sentiment", "task: ghost_task")
    )
    refused = seqkit_cli("validate", str(unknown))
    assert refused.returncode == 2
    tasks, plugins = _installed("tasks")
    assert (
        f"{unknown}:2: task: no installed plugin provides task 'ghost_task'; installed tasks: {tasks} "
        f"(plugins: {plugins}); not loaded: plugin 'ghost' (ModuleNotFoundError: No module named "
        "'a_dependency_that_is_not_installed')"
    ) in refused.stderr


def test_two_plugins_registering_the_same_verb_lose_only_that_verb(manager, capsys):
    from seqkit import cli

    def add_arguments(parser):
        parser.add_argument("word")

    def plugin_with(*names):
        commands = [
            seqkit.Command(name, f"{name} a word", add_arguments, lambda args: print(f"ran {args.word}") or 0)
            for name in names
        ]
        return _plugin(seqkit_register_commands=seqkit.hookimpl(lambda register: [register(c) for c in commands]))

    with (
        registered_plugin(plugin_with("shout", "whisper"), name="loud"),
        registered_plugin(plugin_with("shout"), name="louder"),
    ):
        warning = (
            "seqkit: warning: plugins 'loud' and 'louder' both register command 'shout'; "
            "command 'shout' is disabled until one of them is uninstalled"
        )
        assert run_cli(["whisper", "hey"]) == 0
        captured = capsys.readouterr()
        assert captured.out == "ran hey\n" and captured.err.strip() == warning
        with pytest.raises(SystemExit) as exited:
            run_cli(["shout", "hey"])
        assert exited.value.code == 2
        assert "invalid choice: 'shout'" in capsys.readouterr().err
        help_text = cli.build_parser().format_help()
        assert (
            "shout" not in help_text and "whisper" in help_text and "forecast" in help_text and "generate" in help_text
        )
        assert run_cli(["plugins"]) == 0
        captured = capsys.readouterr()
        assert captured.err.strip() == warning
        assert "  command  shout                  (disabled: also registered by 'louder')" in captured.out
        assert "  command  shout                  (disabled: also registered by 'loud')" in captured.out
        assert "  command  whisper                whisper a word" in captured.out
        assert "  command  forecast" in captured.out
    assert run_cli(["plugins"]) == 0 and capsys.readouterr().err == ""


def _installed(kind: str) -> tuple[str, str]:
    """What the unknown-name message lists: the names of one kind, and the plugins installed
    (from entry points, so the tests hold whichever plugins are installed)."""
    import importlib.metadata

    from seqkit.plugins import PluginManager

    names = ", ".join(getattr(PluginManager(), kind).names())
    plugins = ", ".join(sorted(ep.name for ep in importlib.metadata.entry_points(group="seqkit")))
    return names, plugins


def test_unknown_names_in_a_recipe_say_no_installed_plugin_provides_them(tmp_path, tiny_recipe):
    from seqkit.recipe import load_recipe

    text = tiny_recipe.read_text()
    path = write_recipe(tmp_path / "charlm.yaml", text.replace("task: sentiment", "task: char_lm"))
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    tasks, plugins = _installed("tasks")
    assert "sentiment" in tasks and "forecast" in plugins
    assert str(info.value) == (
        f"{path}:2: task: no installed plugin provides task 'char_lm'; installed tasks: {tasks} (plugins: {plugins})"
    )
    path = write_recipe(tmp_path / "head.yaml", text.replace("head: {type: classifier}", "head: {type: char_softmax}"))
    with pytest.raises(
        RecipeError,
        match=r"head.yaml:\d+: model.head.type: no installed plugin provides head 'char_softmax'; "
        r"installed heads: (\w+, )*classifier, crf, .*\(plugins: (\w+, )*forecast, ",
    ):
        load_recipe(path)
    # A close name keeps its suggestion.
    path = write_recipe(tmp_path / "close.yaml", text.replace("head: {type: classifier}", "head: {type: clasifier}"))
    with pytest.raises(
        RecipeError,
        match=r"model.head.type: Unknown head: 'clasifier'. Did you mean 'classifier'\? Available: (\w+, )*classifier, crf",
    ):
        load_recipe(path)


def test_third_party_plugin_installed_with_pip_runs_a_recipe(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(ROOT / "tests" / "plugin_example"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    listed = subprocess.run(
        [sys.executable, "-m", "seqkit", "plugins"], env=env, capture_output=True, text=True, check=True
    )
    assert "example_sum 1.0.0 (seqkit-example-sum)" in listed.stdout
    assert "task     sequence_sum" in listed.stdout
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "seqkit",
            "run",
            str(ROOT / "tests" / "plugin_example" / "sum.yaml"),
            "--set",
            f"output.dir={tmp_path / 'runs'}",
            "--set",
            "train.epochs=3",
            "--set",
            "train.verbose=0",
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "seqkit: test mae=" in result.stdout
    assert "<- [0.5, 0.5]" in result.stdout
    run_dir = next((tmp_path / "runs" / "example-sum").iterdir())
    predicted = subprocess.run(
        [sys.executable, "-m", "seqkit", "predict", str(run_dir), "[0.25, 0.25]"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert predicted.returncode == 0 and predicted.stdout.startswith("sum="), predicted.stderr[-2000:]


def test_plugin_layer_modules_are_imported_before_loading_models(manager, tmp_path, monkeypatch):
    from seqkit.models.parts import HeadSpec
    from seqkit.train.runner import import_layer_modules

    (tmp_path / "my_plugin_layers.py").write_text("IMPORTED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    class MyHead(HeadSpec):
        name = "my_head"
        keras_module = "my_plugin_layers"

    plugin = _plugin(seqkit_register_heads=seqkit.hookimpl(lambda register: register(MyHead)))
    manager.register(plugin, name="layers_plugin")
    try:
        assert "my_plugin_layers" in import_layer_modules(manager)
        assert "my_plugin_layers" in sys.modules
    finally:
        manager.unregister("layers_plugin")
        sys.modules.pop("my_plugin_layers", None)
