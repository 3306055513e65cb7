# callfunnel — the two commands of the README, and the ones behind them.
#   make demo   fresh machine → venv, install, migrate SQLite, demo data, serve on 127.0.0.1:8000
#   make test   install test dependencies, lint, run the whole suite

# The first Python ≥ 3.11 on PATH. The probe is silent: a pyenv shim for a version that is not
# installed answers `command -v` and then prints "pyenv: python3.13: command not found" when run.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 \
	&& { echo $$p; break; }; done 2>/dev/null)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo test lint format serve install clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "callfunnel needs Python 3.11 or newer on PATH (python3.11, python3.12, …)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the dependency list changes.
$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/callfunnel demo --host $(HOST) --port $(PORT)

serve: $(INSTALLED)
	$(BIN)/callfunnel serve --host $(HOST) --port $(PORT)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo.db demo.db-wal demo.db-shm demo-recordings
