# Two commands on a fresh machine: `make run` (the demo) and `make test` (everything CI runs).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OIDC_PROVIDER := tests/e2e/oidc-provider
AXE := tests/e2e/axe

.PHONY: run test lint typecheck pytest test-deps bench mutation clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/webrix demo $(DEMO_ARGS)

# Peers the end-to-end tests drive: Debian's Chromium, the npm OpenID provider and axe-core.
test-deps: $(VENV)/.installed-test
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@if [ -f $(OIDC_PROVIDER)/package-lock.json ]; then \
	  cd $(OIDC_PROVIDER) && npm ci --no-audit --no-fund --loglevel=error; fi
	cd $(AXE) && npm ci --no-audit --no-fund --loglevel=error

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: test-deps
	$(BIN)/python -m pytest

test: lint typecheck pytest

# The benchmark (never part of `make test`): Debian's wrk drives the service and a bare baseline.
bench: $(VENV)/.installed
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "Installing Debian's wrk for the benchmark"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

# Mutation testing (never part of `make test`): does each core module's own test file notice one
# small change to it? tests/README.md explains the report. MUTATION_ARGS="--module patch" etc.
mutation: $(VENV)/.installed-test
	$(BIN)/python tests/mutation.py $(MUTATION_ARGS)

clean:
	rm -rf $(VENV) $(OIDC_PROVIDER)/node_modules $(AXE)/node_modules .mypy_cache .ruff_cache .pytest_cache
