# make run   : create .venv, install seqkit with its plugins and TensorFlow (CPU), run the default recipe
# make test  : create .venv, install, run the fast test suite
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
RECIPE ?= recipes/sentiment/reviews.yaml
STAMP   = $(VENV)/.installed

.PHONY: install run test test-slow bench clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[tensorflow-cpu,sensors,forecast,music,tagging,jax,test]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/seqkit run $(RECIPE)

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) runs .pytest_cache build *.egg-info
