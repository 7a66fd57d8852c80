"""The pretrained_text encoder: a KerasHub BERT read from a Hugging Face-layout folder (here a
tiny one with random weights, written by the test), tokenizing raw text inside the saved model."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import seqkit
from seqkit.plugin_api import RecipeError, SeqkitError
from seqkit.testing import interrupted_after_epoch, write_reviews


def test_without_keras_hub_naming_the_encoder_is_one_line_saying_what_to_install(monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "keras_hub" else real(name, *a))
    write_reviews(tmp_path / "reviews.csv")
    recipe = {
        "task": "sentiment",
        "data": {"path": str(tmp_path / "reviews.csv"), "text": "review", "label": "sentiment"},
        "model": {"encoder": {"type": "pretrained_text"}},
        "output": {"dir": str(tmp_path / "runs")},
    }
    with pytest.raises(
        RecipeError, match=r"model.encoder.type: .*needs keras-hub, which is not installed: pip install"
    ):
        seqkit.run(recipe, quiet=True)
    assert not (tmp_path / "runs").exists()


def write_tiny_bert(folder: Path, words, hidden=16, layers=1, heads=2, intermediate=32, max_positions=64, seed=0):
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(words)), "##s", "##ed", "##ing"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": len(vocab),
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": intermediate,
        "max_position_embeddings": max_positions,
        "type_vocab_size": 2,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": True, "tokenizer_class": "BertTokenizer"})
    )
    rng = np.random.default_rng(seed)

    def w(*shape):
        return (rng.standard_normal(shape) * 0.02).astype("float32")

    t = {
        "embeddings.word_embeddings.weight": w(len(vocab), hidden),
        "embeddings.position_embeddings.weight": w(max_positions, hidden),
        "embeddings.token_type_embeddings.weight": w(2, hidden),
        "embeddings.LayerNorm.weight": np.ones(hidden, "float32"),
        "embeddings.LayerNorm.bias": np.zeros(hidden, "float32"),
        "pooler.dense.weight": w(hidden, hidden),
        "pooler.dense.bias": w(hidden),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            t[p + name + ".weight"], t[p + name + ".bias"] = w(hidden, hidden), w(hidden)
        t[p + "intermediate.dense.weight"], t[p + "intermediate.dense.bias"] = w(intermediate, hidden), w(intermediate)
        t[p + "output.dense.weight"], t[p + "output.dense.bias"] = w(hidden, intermediate), w(hidden)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            t[p + ln + ".weight"], t[p + ln + ".bias"] = np.ones(hidden, "float32"), np.zeros(hidden, "float32")
    save_file(t, str(folder / "model.safetensors"))
    return folder


@pytest.fixture(scope="module")
def bert_run(tmp_path_factory):
    pytest.importorskip("keras_hub", reason="the pretrained_text dependencies are not installed (make install)")
    tmp = tmp_path_factory.mktemp("pretrained")
    write_reviews(tmp / "reviews.csv")
    with open(tmp / "reviews.csv", newline="") as handle:
        words = [w.strip(".,!?").lower() for row in csv.DictReader(handle) for w in row["review"].split()]
    folder = write_tiny_bert(tmp / "bert", words)
    recipe = {
        "name": "pt",
        "task": "sentiment",
        "seed": 7,
        "data": {
            "path": str(tmp / "reviews.csv"),
            "text": "review",
            "label": "sentiment",
            "split": {"validation": 0.2, "test": 0.2},
        },
        "model": {
            "encoder": {"type": "pretrained_text", "model": str(folder), "sequence_length": 16},
            "backbone": {"layers": 1, "units": 8},
            "head": {"type": "classifier"},
        },
        "train": {"epochs": 2, "batch_size": 8, "verbose": 0, "optimizer": {"learning_rate": 0.001}},
        "output": {"dir": str(tmp / "runs"), "tensorboard": False},
    }
    return seqkit.run(recipe, quiet=True), recipe, tmp


def test_it_trains_on_raw_text_and_records_the_model(bert_run):
    run, _, _ = bert_run
    assert 0.0 <= run.metrics["test"]["accuracy"] <= 1.0
    info = json.loads((run.path / "data_info.json").read_text())
    facts = info["encoder"]["pretrained_model"]
    assert facts["trainable"] is True and facts["parameters"] > 1000


def test_the_saved_model_reloads_safely_in_a_fresh_process_with_identical_predictions(bert_run, tmp_path):
    run, _, _ = bert_run
    texts = ["great product works well", "terrible and broken", "zzyzx unknown words"]
    here = np.asarray(run.model.predict(np.array(texts, dtype=object), verbose=0))
    code = (
        "import json, numpy as np\nfrom seqkit.plugin_api import load_model\n"
        f"m = load_model({str(run.path / 'model.keras')!r})\n"
        f"print(json.dumps(np.asarray(m.predict(np.array({texts!r}, dtype=object), verbose=0)).tolist()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    np.testing.assert_allclose(np.array(json.loads(out.stdout.strip().splitlines()[-1])), here, atol=1e-6)


def test_a_frozen_encoder_keeps_its_weights(bert_run):
    _, recipe, tmp = bert_run
    frozen = json.loads(json.dumps(recipe))
    frozen["model"]["encoder"]["trainable"] = False
    frozen["train"]["epochs"] = 1
    run = seqkit.run(frozen, quiet=True)
    (layer,) = [layer for layer in run.model._flatten_layers() if layer.name == "pretrained_text"]
    assert layer.trainable_weights == [] and len(layer.weights) > 0


def test_a_folder_that_is_no_model_is_one_clear_error(bert_run, tmp_path):
    _, recipe, _ = bert_run
    bad = json.loads(json.dumps(recipe))
    bad["model"]["encoder"]["model"] = str(tmp_path)
    with pytest.raises(SeqkitError, match=r"model.encoder.model .*has no config.json; expected a known name"):
        seqkit.run(bad, quiet=True)


def _sublayer_weights(backbone) -> dict[str, list[np.ndarray]]:
    return {sub.name: [np.asarray(w) for w in sub.get_weights()] for sub in backbone.layers if sub.weights}


def test_gradual_unfreezing_trains_the_top_layer_first_and_resumes_exactly(bert_run, tmp_path, capsys):
    import keras_hub

    _, recipe, tmp = bert_run
    folder = Path(recipe["model"]["encoder"]["model"])  # one transformer layer
    gradual = json.loads(json.dumps(recipe))
    gradual["model"]["encoder"]["unfreeze_every"] = 1
    gradual["train"].update({"epochs": 2, "deterministic": True})
    gradual["output"]["dir"] = str(tmp_path / "straight")
    straight = seqkit.run(gradual)
    lines = capsys.readouterr().out.splitlines()
    assert any("epoch 2 on, transformer layers 1 to 1 train (of 1)" in line for line in lines), lines
    # Epoch 1: the LSTM and head alone; epoch 2: + the transformer layer. The embeddings
    # (unfrozen at epoch 3) never trained, nor the unused pooled projection.
    before = _sublayer_weights(keras_hub.models.BertBackbone.from_preset(str(folder)))
    (layer,) = [layer for layer in straight.model._flatten_layers() if layer.name == "pretrained_text"]
    after = _sublayer_weights(layer.backbone)
    for name in ("token_embedding", "position_embedding", "embeddings_layer_norm", "pooled_dense"):
        assert all(np.array_equal(a, b) for a, b in zip(before[name], after[name])), name
    assert not all(np.array_equal(a, b) for a, b in zip(before["transformer_layer_0"], after["transformer_layer_0"]))
    # Interrupted after epoch 1, its checkpoint saved with the transformer frozen, and resumed:
    # the same history and test metrics.
    gradual["output"]["dir"] = str(tmp_path / "resumed")
    with interrupted_after_epoch(1), pytest.raises(KeyboardInterrupt):
        seqkit.run(gradual, quiet=True)
    (path,) = (tmp_path / "resumed" / "pt").iterdir()
    resumed = seqkit.resume(path, quiet=True)
    assert (path / "history.csv").read_text() == (straight.path / "history.csv").read_text()
    assert resumed.metrics["test"] == straight.metrics["test"]


def test_layer_decay_trains_each_layer_down_at_a_smaller_rate_and_is_recorded(bert_run, tmp_path, capsys):
    _, recipe, _ = bert_run
    decayed = json.loads(json.dumps(recipe))
    decayed["model"]["encoder"]["layer_decay"] = 0.5
    decayed["train"]["epochs"] = 1
    decayed["output"]["dir"] = str(tmp_path)
    run = seqkit.run(decayed)
    assert "learning rate x0.5 per layer down, x0.25 for the embeddings" in capsys.readouterr().out
    facts = json.loads((run.path / "data_info.json").read_text())["encoder"]["pretrained_model"]
    assert facts["layer_decay"] == 0.5
    (checkpoint,) = (run.path / "checkpoints").glob("*/model.keras")
    with zipfile.ZipFile(checkpoint) as archive:
        optimizer = json.loads(archive.read("config.json"))["compile_config"]["optimizer"]
    assert optimizer["class_name"] == "ScaledAdam"
    factors = optimizer["config"]["learning_rate_multipliers"]
    # One transformer layer: it trains at half the rate, the embeddings at a quarter, the LSTM at the full rate.
    assert factors["transformer_layer_0/self_attention_layer/query/kernel"] == 0.5
    assert factors["token_embedding/embeddings"] == 0.25
    assert not any(path.startswith("backbone") for path in factors)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("layer_decay", 0.8, r"layer_decay: layer-wise learning rates need trainable: true"),
        ("unfreeze_every", 2, r"unfreeze_every: gradual unfreezing needs trainable: true"),
    ],
)
def test_training_settings_of_a_frozen_encoder_are_a_recipe_error(bert_run, key, value, message):
    _, recipe, _ = bert_run
    bad = json.loads(json.dumps(recipe))
    bad["model"]["encoder"].update({"trainable": False, key: value})
    with pytest.raises(RecipeError, match=message):
        seqkit.run(bad, quiet=True)
