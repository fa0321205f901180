# Everything runs from a virtualenv in .venv, made on first use with the python3 on PATH.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
UI_LANGUAGES := nb sv da fi is
PLUGIN_DIRS  := $(filter-out plugins/__pycache__,$(wildcard plugins/*/))

.PHONY: run serve loadtest loadtest-ceiling bench screenshots test test-all lint format install clean translations translations-extract

$(BIN)/kb: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/kb

## run: the demo on SQLite in ./instance (debug server; the secret key is made once and kept in
## instance/secret_key, so links printed by `kb invite` in another shell work here)
run: install
	FLASK_DEBUG=1 $(BIN)/kb init
	FLASK_DEBUG=1 $(BIN)/kb demo
	FLASK_DEBUG=1 KB_BASE_URL="$${KB_BASE_URL:-http://$(HOST):$(PORT)}" \
		$(BIN)/kb run --host $(HOST) --port $(PORT)

## serve: gunicorn with $(WORKERS) workers on the embedded defaults (SQLite + Whoosh in ./instance)
WORKERS ?= 4
serve: install
	@mkdir -p instance
	@test -s instance/secret_key || $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(48))" > instance/secret_key
	KB_SECRET_KEY="$$(cat instance/secret_key)" KB_BASE_URL="$${KB_BASE_URL:-http://$(HOST):$(PORT)}" \
		$(BIN)/kb init
	KB_SECRET_KEY="$$(cat instance/secret_key)" KB_BASE_URL="$${KB_BASE_URL:-http://$(HOST):$(PORT)}" \
		$(BIN)/gunicorn -c gunicorn.conf.py --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile - wsgi:app

## loadtest: a minute of searches, page views and submissions against $(WORKERS) gunicorn workers
loadtest: install
	$(BIN)/python -m tests.load --workers $(WORKERS) --seconds 60

## loadtest-ceiling: a bare Flask page (the ceiling), the search page and page views on $(WORKERS)
## workers, one after the other, wrk as the client, the demo plus $(CASES) synthetic cases
CASES ?= 10000
PHASE_SECONDS ?= 30
loadtest-ceiling: install
	@command -v wrk >/dev/null || { echo "loadtest-ceiling needs wrk (Debian: apt-get install wrk)"; exit 1; }
	$(BIN)/python -m tests.load --mode throughput --workers $(WORKERS) --cases $(CASES) \
		--seconds $(PHASE_SECONDS)

## bench: the search backends against SQLite FTS5 on synthetic corpora of BENCH_CASES cases, one
## Markdown table at the end (not a test). BENCH_ARGS passes more, e.g. "--engine whoosh
## --no-workers" for quick work or "--json run.json" to keep the figures (docs/performance.md)
BENCH_CASES ?= 10000 100000
BENCH_ARGS  ?=
bench: install
	$(BIN)/python -m tests.bench.run $(foreach n,$(BENCH_CASES),--cases $(n)) $(BENCH_ARGS)

## test: the suite without the tests marked slow, spread over $(JOBS) processes (one per core,
## at most 4). SLOW=1 adds the slow ones: those that only compute (the API contract, fuzzing)
## join the spread-out run; those marked serial (real servers, worker processes, a browser,
## against the clock) then run one at a time, so they never compete for the CPU.
## PostgreSQL variants run when KB_TEST_POSTGRES_URL is set; JUNIT=<dir> writes fast.xml
## (the spread-out run) and slow.xml (the serial one) there.
SLOW  ?=
JOBS  ?= $(shell $(PYTHON) -c "import os; print(min(4, len(os.sched_getaffinity(0))))")
JUNIT ?=
test: install
	$(BIN)/python -m pytest -m "$(if $(SLOW),not serial,not slow)" \
		$(if $(filter-out 1,$(JOBS)),-n $(JOBS) --dist loadfile --no-loadscope-reorder) \
		$(if $(JUNIT),--junitxml=$(JUNIT)/fast.xml) $(PYTEST_ARGS)
	$(if $(SLOW),$(BIN)/python -m pytest -m serial $(if $(JUNIT),--junitxml=$(JUNIT)/slow.xml) $(PYTEST_ARGS))

## screenshots: the browser tests, writing their screenshots to docs/screenshots (commit them)
screenshots: install
	KB_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots KB_REQUIRE_BROWSER=1 \
		$(BIN)/python -m pytest -p no:randomly tests/browser $(PYTEST_ARGS)

## test-all: everything, the slow tests included (what CI runs)
test-all:
	$(MAKE) test SLOW=1

## translations: extract UI messages, merge them into every catalogue, compile (commit the result)
translations-extract: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-wrap --sort-by-file \
		--project "Nordic Good Practice KB" -o kb/translations/messages.pot .
	$(BIN)/pybabel update -i kb/translations/messages.pot -d kb/translations --no-wrap --ignore-obsolete
	@# Each first-party plugin has its own catalogues, merged into the core's at run time.
	@for dir in $(PLUGIN_DIRS); do \
		pot=$$dir/translations/messages.pot; mkdir -p $$dir/translations; \
		$(BIN)/pybabel extract -F plugins/babel.cfg -k _l -k lazy_gettext --no-wrap --sort-by-file \
			--project "Nordic Good Practice KB" -o $$pot $$dir || exit 1; \
		if ! grep -q '^msgid "[^"]' $$pot; then rm -rf $$dir/translations; continue; fi; \
		for lang in $(UI_LANGUAGES); do \
			if [ -f $$dir/translations/$$lang/LC_MESSAGES/messages.po ]; then \
				$(BIN)/pybabel update -i $$pot -d $$dir/translations -l $$lang --no-wrap --ignore-obsolete || exit 1; \
			else \
				$(BIN)/pybabel init -i $$pot -d $$dir/translations -l $$lang --no-wrap || exit 1; \
			fi; \
		done; \
	done

translations: install
	$(BIN)/pybabel compile -d kb/translations --statistics
	@for dir in $(PLUGIN_DIRS); do \
		if [ -d $$dir/translations ]; then \
			$(BIN)/pybabel compile -d $$dir/translations --statistics || exit 1; \
		fi; \
	done

## lint: ruff, and the layer rules of .importlinter (tests/test_layers.py shows they bite)
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
