# Everything runs from a virtualenv in .venv, made on first use with the python3 on PATH.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint format install clean

$(BIN)/kb: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/kb

## run: the demo on SQLite in ./instance (debug server, random per-process secret key)
run: install
	FLASK_DEBUG=1 $(BIN)/kb init
	FLASK_DEBUG=1 $(BIN)/kb demo
	FLASK_DEBUG=1 $(BIN)/kb run --host $(HOST) --port $(PORT)

## test: the whole suite (PostgreSQL variants run when KB_TEST_POSTGRES_URL is set)
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
