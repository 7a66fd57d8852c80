"""Recipe loading: safe YAML, line-numbered errors, suggestions, overrides, ${ENV}."""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT, write_recipe

from seqkit.errors import RecipeError
from seqkit.recipe import load_recipe, recipe_from_dict
from seqkit.recipe.loader import parse_override

GOOD = """\
name: demo
task: sentiment
data:
  path: reviews.csv
model:
  backbone: {units: 16}
"""


def test_defaults_are_filled_in(tmp_path):
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml", GOOD))
    assert recipe.get("data.adapter") == "text_table"
    assert recipe.get("model.encoder.type") == "token_embedding"
    assert recipe.get("model.head.type") == "classifier"
    assert recipe.get("model.backbone.layers") == 1
    assert recipe.get("train.optimizer.name") == "adam"
    assert recipe.get("data.split.validation") == 0.15
    assert recipe.seed == 42


def test_unknown_key_names_file_line_and_suggests(tmp_path):
    path = write_recipe(tmp_path / "r.yaml", GOOD.replace("units: 16", "unitz: 16"))
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    message = str(info.value)
    assert f"{path}:6: model.backbone.unitz: unknown key. Did you mean 'units'?" in message


def test_wrong_type_says_expected_and_received(tmp_path):
    path = write_recipe(tmp_path / "r.yaml", GOOD.replace("units: 16", "units: many"))
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert "r.yaml:6: model.backbone.units: expected a positive integer (at most 65536) or a list of them" in str(
        info.value
    )
    assert "Received: 'many' (str)" in str(info.value)


def test_all_problems_are_reported_at_once(tmp_path):
    text = GOOD.replace("units: 16", "units: 0, dropuot: 0.1") + "train:\n  epochs: -1\n  batch_size: big\n"
    with pytest.raises(RecipeError) as info:
        load_recipe(write_recipe(tmp_path / "r.yaml", text))
    problems = info.value.problems
    assert len(problems) == 4, problems
    assert any("dropuot" in p and "Did you mean 'dropout'" in p for p in problems)
    assert any(":8: train.epochs: expected an integer >= 1 and <= 1000000. Received: -1" in p for p in problems)
    assert any(":9: train.batch_size" in p for p in problems)


def test_unknown_task_lists_available_with_suggestion(tmp_path):
    path = write_recipe(tmp_path / "r.yaml", GOOD.replace("task: sentiment", "task: sentimnt"))
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    message = str(info.value)
    assert "r.yaml:2: task: Unknown task: 'sentimnt'. Did you mean 'sentiment'?" in message
    assert "Available:" in message and "text_classification" in message
    # The data section cannot be checked without the task's adapter: no "data.path: unknown
    # key" noise beside the one real problem.
    assert info.value.problems == [p for p in info.value.problems if "unknown key" not in p], info.value.problems
    path = write_recipe(tmp_path / "r2.yaml", GOOD.replace("  path:", "  adapter: text_tabel\n  path:"))
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert len(info.value.problems) == 1, info.value.problems


def test_unknown_adapter(tmp_path):
    path = write_recipe(tmp_path / "r.yaml", GOOD.replace("  path:", "  adapter: text_tabel\n  path:"))
    with pytest.raises(
        RecipeError, match=r"r.yaml:4: data.adapter: Unknown adapter: 'text_tabel'. Did you mean 'text_table'\?"
    ):
        load_recipe(path)


def test_missing_required_section(tmp_path):
    path = write_recipe(tmp_path / "r.yaml", "name: x\ntask: sentiment\n")
    with pytest.raises(RecipeError, match="missing required key 'data'"):
        load_recipe(path)


def test_python_object_tags_are_refused(tmp_path):
    path = write_recipe(tmp_path / "r.yaml", GOOD + "description: !!python/object/apply:os.system ['echo owned']\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert "r.yaml:7: YAML error" in str(info.value)
    assert "not allowed in recipes (safe YAML only)" in str(info.value)


def test_non_utf8_recipe(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_bytes(GOOD.encode() + b"description: caf\xe9\n")
    with pytest.raises(RecipeError, match=r"r.yaml:7: recipe is not valid UTF-8"):
        load_recipe(path)


def test_yaml_syntax_error_has_line(tmp_path):
    path = write_recipe(tmp_path / "r.yaml", GOOD + "train: {epochs: 3\n")
    with pytest.raises(RecipeError, match=r"r.yaml:\d+: YAML error"):
        load_recipe(path)


def test_duplicate_key_is_an_error(tmp_path):
    path = write_recipe(tmp_path / "r.yaml", GOOD + "seed: 1\nseed: 2\n")
    with pytest.raises(RecipeError, match=r"r.yaml:8: seed: key appears twice \(first at line 7\)"):
        load_recipe(path)


def test_top_level_must_be_mapping(tmp_path):
    with pytest.raises(RecipeError, match="must be a mapping"):
        load_recipe(write_recipe(tmp_path / "r.yaml", "- a\n- b\n"))
    with pytest.raises(RecipeError, match="recipe is empty"):
        load_recipe(write_recipe(tmp_path / "e.yaml", "# nothing\n"))


def test_overrides_apply_and_are_validated(tmp_path):
    path = write_recipe(tmp_path / "r.yaml", GOOD)
    recipe = load_recipe(path, ["model.backbone.units=[32, 16]", "model.backbone.bidirectional=true", "train.epochs=3"])
    assert recipe.get("model.backbone.units") == [32, 16]
    assert recipe.get("model.backbone.bidirectional") is True
    assert recipe.get("train.epochs") == 3
    with pytest.raises(
        RecipeError, match=r"--set train.epochs: train.epochs: expected an integer >= 1 and <= 1000000. Received: 'x'"
    ):
        load_recipe(path, ["train.epochs=x"])
    with pytest.raises(
        RecipeError, match=r"--set model.backbone.unit: model.backbone.unit: unknown key. Did you mean 'units'"
    ):
        load_recipe(path, ["model.backbone.unit=3"])
    # A section that only --set created is blamed on --set, not on the recipe file.
    with pytest.raises(RecipeError, match=r"^--set trian: trian: unknown key. Did you mean 'train'"):
        load_recipe(path, ["trian.epochs=3"])


def test_override_syntax():
    assert parse_override("a.b=1.5e-3") == ("a.b", 1.5e-3)
    assert parse_override("a=hello world") == ("a", "hello world")
    with pytest.raises(RecipeError, match="expected dotted.key=value"):
        parse_override("novalue")
    with pytest.raises(RecipeError, match="non-empty key"):
        parse_override("a..b=1")


def test_env_interpolation(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_DATA", "/data/here")
    path = write_recipe(tmp_path / "r.yaml", GOOD.replace("path: reviews.csv", "path: ${MY_DATA}/r.csv"))
    assert load_recipe(path).get("data.path") == "/data/here/r.csv"
    monkeypatch.delenv("MY_DATA")
    with pytest.raises(RecipeError, match=r"r.yaml:4: data.path: environment variable MY_DATA is not set"):
        load_recipe(path)
    default = write_recipe(tmp_path / "d.yaml", GOOD.replace("path: reviews.csv", "path: ${MY_DATA:-fallback}/r.csv"))
    assert load_recipe(default).get("data.path") == "fallback/r.csv"


def test_seqkit_data_defaults_to_shared_data_beside_checkout(monkeypatch):
    shared = ROOT.parent / "shared" / "data"
    if not shared.is_dir():
        pytest.skip("no ../shared/data beside this checkout")
    monkeypatch.delenv("SEQKIT_DATA", raising=False)
    recipe = load_recipe(ROOT / "recipes" / "sentiment" / "sst2.yaml")
    assert recipe.get("data.train") == f"{shared}/sst2/stsa.binary.train"


def test_split_ratios_checked_across_keys(tmp_path):
    text = GOOD.replace("  path: reviews.csv", "  path: reviews.csv\n  split: {validation: 0.6, test: 0.5}")
    with pytest.raises(RecipeError, match="data.split: validation \\+ test must be less than 1"):
        load_recipe(write_recipe(tmp_path / "s.yaml", text))


def test_recipe_from_dict():
    recipe = recipe_from_dict({"task": "sentiment", "data": {"path": "x.csv"}})
    assert recipe.name == "sentiment"
    assert recipe.get("model.backbone.units") == 64


def test_exponent_floats_without_dot_are_numbers(tmp_path):
    path = write_recipe(tmp_path / "r.yaml", GOOD + "train:\n  optimizer: {learning_rate: 1e-4}\n")
    assert load_recipe(path, ["train.l2=5e-6"]).get("train.optimizer.learning_rate") == 1e-4
    assert load_recipe(path, ["train.l2=5e-6"]).get("train.l2") == 5e-6


def test_random_malformed_recipes_give_recipe_errors_only(tmp_path):
    """Replace values anywhere in a valid recipe by values of other types: validation must
    answer with a RecipeError (or accept), never crash."""
    import copy
    import random

    import yaml

    base = yaml.safe_load(GOOD + "train: {epochs: 2, optimizer: {name: adam}}\n")
    junk = [None, 0, -5, 1.5, "x", [], [1, "a"], {}, {"a": {"b": 1}}, True, "${NOPE}", 10**30]
    rng = random.Random(0)

    def paths(node, prefix=()):
        yield prefix
        if isinstance(node, dict):
            for key, value in node.items():
                yield from paths(value, prefix + (key,))

    all_paths = [p for p in paths(base) if p]
    cases = 0
    for _ in range(300):
        recipe = copy.deepcopy(base)
        for path in rng.sample(all_paths, rng.randint(1, 3)):
            node = recipe
            for key in path[:-1]:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node[path[-1]] = rng.choice(junk)
        file = tmp_path / "fuzz.yaml"
        file.write_text(yaml.safe_dump(recipe))
        try:
            load_recipe(file)
        except RecipeError as exc:
            assert str(exc).strip()
        cases += 1
    assert cases == 300


def test_override_paths_are_relative_to_the_current_folder(tmp_path, monkeypatch):
    # The recipe's own paths resolve against the recipe; a path typed with --set against
    # the folder the command runs in, as on any command line.
    folder = tmp_path / "recipes"
    folder.mkdir()
    path = write_recipe(folder / "r.yaml", GOOD)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    recipe = load_recipe(path, ["data.path=mine.csv"])
    assert recipe.get("data.path") == str(work.resolve() / "mine.csv")
    assert load_recipe(path).get("data.path") == "reviews.csv"
    assert load_recipe(path, ["data.path=/abs/x.csv"]).get("data.path") == "/abs/x.csv"
    section = load_recipe(path, ["data={path: mine.csv, text: body}"])
    assert section.get("data.path") == str(work.resolve() / "mine.csv") and section.get("data.text") == "body"


def test_yes_no_labels_read_as_booleans_get_a_hint(tmp_path):
    path = write_recipe(
        tmp_path / "r.yaml", GOOD.replace("  path: reviews.csv", "  path: reviews.csv\n  labels: [no, yes]")
    )
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert "r.yaml:5: data.labels.0: expected a string. Received: False (bool). YAML reads yes / no" in str(info.value)
    path.write_text(GOOD.replace("  path: reviews.csv", "  path: reviews.csv\n  labels: ['no', 'yes']"))
    assert load_recipe(path).get("data.labels") == ["no", "yes"]


# -- whole-recipe checks: Task.check_recipe / HeadSpec.check_recipe --------------------------

MISMATCH = """\
name: mismatch
task: sentiment
data:
  path: reviews.csv
model:
  encoder: {type: token_embedding}
  head: {type: crf}
"""


def test_validate_refuses_a_head_the_task_cannot_train_with_file_and_line(tmp_path, capsys):
    from seqkit.testing import run_cli

    path = write_recipe(tmp_path / "r.yaml", MISMATCH)
    assert run_cli(["validate", path]) == 2
    err = capsys.readouterr().err
    assert f"{path}:7: model.head.type: task 'sentiment' does not work with the head 'crf'. It takes: classifier" in err
    # `seqkit run` refuses it the same way, before loading anything: no run folder is left.
    assert run_cli(["run", path, "--set", f"output.dir={tmp_path / 'runs'}"]) == 2
    assert "model.head.type" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_every_mismatched_part_is_reported_in_one_error(tmp_path):
    text = MISMATCH.replace("{type: token_embedding}", "{type: numeric}").replace(
        "  path:", "  adapter: conll\n  path:"
    )
    with pytest.raises(RecipeError) as info:
        load_recipe(write_recipe(tmp_path / "r.yaml", text))
    problems = [p.split(": ", 1)[1] for p in info.value.problems if "does not work with" in p]
    assert problems == [
        "data.adapter: task 'sentiment' does not work with the data adapter 'conll'. It takes: text_table, tfrecord",
        "model.encoder.type: task 'sentiment' does not work with the encoder 'numeric'. It takes: token_embedding, pretrained_text",
        "model.head.type: task 'sentiment' does not work with the head 'crf'. It takes: classifier",
    ]
    assert [p.split(": ", 1)[0] for p in info.value.problems if "does not work with" in p] == [
        f"{tmp_path / 'r.yaml'}:{line}" for line in (4, 7, 8)
    ]


def test_a_next_step_task_refuses_a_bidirectional_backbone(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQKIT_DATA", "/data")
    for shipped in ("bach_melody.yaml", "jsb.yaml"):
        text = (ROOT / "recipes" / "music" / shipped).read_text()
        text = text.replace("\n  backbone: {", "\n  backbone: {bidirectional: true, ")
        path = write_recipe(tmp_path / shipped, text)
        line = next(i for i, row in enumerate(text.splitlines(), 1) if "bidirectional: true" in row)
        with pytest.raises(RecipeError) as info:
            load_recipe(path)
        assert info.value.problems == [
            f"{path}:{line}: model.backbone.bidirectional: task {load_task(shipped)!r} predicts each step from the steps "
            "before it; a bidirectional backbone would read the steps it is asked to predict. Expected false. Received: True"
        ]
        load_recipe(path, ["model.backbone.bidirectional=false"])  # the fix the message names


def load_task(shipped: str) -> str:
    return {"bach_melody.yaml": "melody", "jsb.yaml": "piano_roll"}[shipped]


def test_a_tune_space_may_not_reach_a_refused_part(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQKIT_DATA", "/data")
    data = yaml.safe_load((ROOT / "recipes" / "music" / "bach_melody.yaml").read_text())
    data["tune"] = {"space": {"model.backbone.bidirectional": {"choice": [False, True]}}}  # in place of its own
    text = yaml.safe_dump(data, sort_keys=False)
    with pytest.raises(
        RecipeError,
        match=r"tune.space.model.backbone.bidirectional: with model.backbone.bidirectional=True: "
        r"model.backbone.bidirectional: task 'melody' predicts each step",
    ):
        load_recipe(write_recipe(tmp_path / "r.yaml", text))


def test_a_head_checks_the_whole_recipe(monkeypatch, manager):
    # The forecast heads read forecast windows and bound their highway by data.lookback.
    monkeypatch.setenv("SEQKIT_DATA", "/data")
    path = ROOT / "recipes" / "forecast" / "etth1.yaml"
    with pytest.raises(RecipeError) as info:
        load_recipe(path, ["data.lookback=24"])
    assert info.value.problems == [f"{path}:27: model.head.highway: expected at most data.lookback (24). Received: 168"]
    # Under the forecast task the task names the accepted encoder first (one message a key);
    # the head says so too, for a task that declares no parts.
    with pytest.raises(
        RecipeError, match=r"model.encoder.type: task 'forecast' does not work with the encoder 'numeric'"
    ):
        load_recipe(path, ["model.encoder.type=numeric"])
    recipe = load_recipe(path)
    recipe.data["model"]["encoder"]["type"] = "numeric"
    assert manager.heads.get("point").check_recipe(recipe) == [
        (
            "model.encoder.type",
            "the forecast heads read forecast windows: expected 'forecast_window'. Received: 'numeric'",
        )
    ]
    assert load_recipe(path, ["data.lookback=168"]).get("model.head.highway") == 168


def test_built_in_tasks_declare_registered_parts_that_include_their_defaults(manager):
    for name, task in manager.tasks.items():
        for declared, default, registry in (
            (task.adapters, task.default_adapter, manager.adapters),
            (task.encoders, task.default_encoder, manager.encoders),
            (task.heads, task.default_head, manager.heads),
        ):
            assert declared, f"built-in task {name!r} declares no accepted parts"
            assert default in declared, (name, default, declared)
            assert set(declared) <= set(registry.names()), (name, declared)


def test_a_third_party_task_without_declared_parts_accepts_any_and_adds_its_own_checks(tmp_path, manager):
    import seqkit
    from seqkit.testing import registered_plugin

    class Anything(seqkit.ClassificationTask):
        name = "anything_goes"
        default_adapter = "text_table"
        default_encoder = "token_embedding"

    class Picky(seqkit.ClassificationTask):
        name = "picky"
        default_adapter = "text_table"
        default_encoder = "token_embedding"

        def check_recipe(self, recipe):
            problems = super().check_recipe(recipe)
            if recipe.get("model.backbone.units") != 8:
                problems.append(("model.backbone.units", f"expected 8. Received: {recipe.get('model.backbone.units')}"))
            return problems

    class Plugin:
        @seqkit.hookimpl
        def seqkit_register_tasks(self, register):
            register(Anything())
            register(Picky())

    with registered_plugin(Plugin(), "anything_plugin"):
        text = MISMATCH.replace("task: sentiment", "task: anything_goes") + "  backbone: {units: 16}\n"
        recipe = load_recipe(write_recipe(tmp_path / "any.yaml", text))
        assert recipe.get("model.head.type") == "crf"
        path = write_recipe(tmp_path / "picky.yaml", text.replace("anything_goes", "picky"))
        with pytest.raises(RecipeError) as info:
            load_recipe(path)
        assert info.value.problems == [f"{path}:8: model.backbone.units: expected 8. Received: 16"]
