# Custodiet — two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_HOME ?= custodiet-data
DEMO_WORLD ?= demo-world

.PHONY: install sysdeps demo test lint typecheck pytest bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Debian packages the tests use as references (tshark decodes the captures independently).
sysdeps:
	@command -v tshark >/dev/null 2>&1 || { \
	  echo "installing tshark (Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null; }

lint: install
	$(BIN)/ruff check src tests bench

typecheck: install
	$(BIN)/mypy src

pytest: install sysdeps
	$(BIN)/pytest

test: lint typecheck pytest

demo: install
	rm -rf $(DEMO_HOME) $(DEMO_WORLD)
	$(BIN)/custodiet simulate portal --out $(DEMO_WORLD)/portal --seed 7
	$(BIN)/custodiet --home $(DEMO_HOME) context load actors $(DEMO_WORLD)/portal/actors.csv
	$(BIN)/custodiet --home $(DEMO_HOME) context load cases $(DEMO_WORLD)/portal/cases.csv
	$(BIN)/custodiet --home $(DEMO_HOME) context load case-subjects $(DEMO_WORLD)/portal/case_subjects.csv
	$(BIN)/custodiet --home $(DEMO_HOME) context load protected $(DEMO_WORLD)/portal/protected.csv
	$(BIN)/custodiet --home $(DEMO_HOME) ingest portal $(DEMO_WORLD)/portal/access_log.csv
	$(BIN)/custodiet --home $(DEMO_HOME) stats

bench: install sysdeps
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) $(DEMO_HOME) $(DEMO_WORLD) .pytest_cache .mypy_cache .ruff_cache
