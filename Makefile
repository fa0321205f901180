# Everything runs from a virtualenv in .venv, made on first use with the python3 on PATH.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint format install clean translations translations-extract

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

## translations: extract UI messages, merge them into every catalogue, compile (commit the result)
translations-extract: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-wrap --sort-by-file \
		--project "Nordic Good Practice KB" -o kb/translations/messages.pot .
	$(BIN)/pybabel update -i kb/translations/messages.pot -d kb/translations --no-wrap --ignore-obsolete

translations: install
	$(BIN)/pybabel compile -d kb/translations --statistics

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
