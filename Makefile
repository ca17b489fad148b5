# Custodiet — two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_HOME ?= custodiet-data
DEMO_WORLD ?= demo-world

.PHONY: install sysdeps demo test lint typecheck pytest bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py
	@# the ledger's C hashing needs a compiler and OpenSSL's headers (it falls back to hashlib without them)
	@{ command -v cc >/dev/null 2>&1 && [ -f /usr/include/openssl/sha.h ]; } || { \
	  echo "installing build-essential libssl-dev (Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential libssl-dev >/dev/null; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@# bytecode up front: with PYTHONDONTWRITEBYTECODE set, every CLI run would otherwise recompile the package
	$(BIN)/python -m compileall -q src
	touch $@

# Debian packages the tests use as references (tshark decodes the captures independently; SoftHSM2 is the
# PKCS#11 token the ledger's signing key is tested on), and Chromium, which prints evidence bundles'
# report.pdf (`custodiet evidence export` needs it at run time too). Run as root.
sysdeps:
	@command -v tshark >/dev/null 2>&1 || { \
	  echo "installing tshark (Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null; }
	@command -v softhsm2-util >/dev/null 2>&1 || { \
	  echo "installing softhsm2 (Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq softhsm2 >/dev/null; }
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium (Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: install
	$(BIN)/ruff check src tests bench

typecheck: install
	$(BIN)/mypy src

pytest: install sysdeps
	$(BIN)/pytest

test: lint typecheck pytest

CLI := $(BIN)/custodiet --home $(DEMO_HOME)
PORTAL := $(DEMO_WORLD)/portal
SIGNALLING := $(DEMO_WORLD)/signalling
INTERCEPTION := $(DEMO_WORLD)/interception

demo: install
	rm -rf $(DEMO_HOME) $(DEMO_WORLD)
	@echo "== a synthetic national-portal world (no real person's data)"
	$(BIN)/custodiet simulate portal --out $(PORTAL) --seed 7
	$(CLI) context load actors $(PORTAL)/actors.csv
	$(CLI) context load cases $(PORTAL)/cases.csv
	$(CLI) context load case-subjects $(PORTAL)/case_subjects.csv
	$(CLI) context load protected $(PORTAL)/protected.csv
	$(CLI) ingest portal $(PORTAL)/access_log.csv
	$(CLI) stats
	@echo "== detection: who looked up whom without a reason"
	$(CLI) detect --channel portal
	$(CLI) rank --limit 10
	@echo "== a leaked sample seen for sale: who sold it?"
	$(CLI) trace-leak $(PORTAL)/leaks/leak_02.csv --listed-at \
	  $$($(BIN)/python -c "import json; print(next(l['listed_at'] for l in json.load(open('$(PORTAL)/truth.json'))['leaks'] if l['file'].endswith('leak_02.csv')))") \
	  --limit 5
	$(CLI) evaluate --truth $(PORTAL)/truth.json
	@echo "== signalling: foreign networks locating and intercepting our subscribers"
	$(BIN)/custodiet simulate signalling --out $(SIGNALLING) --seed 7
	$(CLI) context load network $(SIGNALLING)/network.toml
	$(CLI) ingest signalling $(SIGNALLING)/*.pcap
	$(CLI) signalling report --format md
	$(CLI) evaluate --truth $(SIGNALLING)/truth.json
	@echo "== interception oversight: every task held against its warrant"
	$(BIN)/custodiet simulate interception --out $(INTERCEPTION) --seed 7
	$(CLI) context load warrants $(INTERCEPTION)/warrants.csv
	$(CLI) ingest interception $(INTERCEPTION)/x1.jsonl $(INTERCEPTION)/x1.xml
	$(CLI) detect --channel interception
	$(CLI) transparency report --period 2026-Q3 --format md
	$(CLI) evaluate --truth $(INTERCEPTION)/truth.json
	@echo "== the ledger: every event under a signed Merkle tree head"
	$(CLI) verify
	$(CLI) head --format json

# Benchmarks, each against a named reference in the same run (see bench/README.md). The detection bench
# builds a 20M-event store under bench/out/ (several GB, kept for re-runs); the IsolationForest baseline
# scores the demo world, so it runs after `make demo`.
bench: install sysdeps
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/signalling.py
	$(BIN)/python bench/signalling_world.py
	$(BIN)/python bench/simulate_portal.py
	$(BIN)/python bench/registry.py
	$(BIN)/python bench/detect.py --work bench/out/detect
	@if [ -d $(DEMO_HOME) ]; then $(BIN)/python bench/baseline_iforest.py --home $(DEMO_HOME) \
	  --truth $(PORTAL)/truth.json; else echo "run make demo first for the IsolationForest baseline"; fi

clean:
	rm -rf $(VENV) $(DEMO_HOME) $(DEMO_WORLD) .pytest_cache .mypy_cache .ruff_cache
