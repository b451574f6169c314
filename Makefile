# Mobile court backend. `make demo` runs the product; `make test` runs every check.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: setup demo serve migrate test test-sqlite test-postgres lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## The main job on the embedded default (SQLite + files under ./var): migrate, seed, start the
## server and the fake WeChat platform, play the scripted case end to end, keep serving.
demo: setup
	$(PY) -m backend.cli demo

serve: setup
	$(PY) -m backend.cli serve

migrate: setup
	$(PY) -m backend.cli migrate

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test-sqlite: setup
	scripts/ensure-chromium.sh
	MC_TEST_DATABASE=sqlite $(VENV)/bin/pytest -q

test-postgres: setup
	scripts/ensure-postgres.sh
	scripts/ensure-chromium.sh
	MC_TEST_DATABASE=postgres MC_TEST_POSTGRES_URL=$(PG_URL) $(VENV)/bin/pytest -q

## Everything CI checks: lint, then the suite on SQLite and on PostgreSQL.
test: lint test-sqlite test-postgres

bench: setup
	$(PY) bench/http_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
