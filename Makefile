# The two commands of the README: `make demo` and `make test`.
# Each creates .venv when missing and installs what it needs first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint serve bench-plan bench-demo install clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Laadbak needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/laadbak demo

# Lint and types first: a finding fails the run before the suite starts (docs/development.md).
lint: $(STAMP)
	$(BIN)/ruff check backend tests
	$(BIN)/ruff format --check backend tests
	$(BIN)/mypy

# Two workers (the machine's 2 cores; much of the suite waits on servers, browsers and disks),
# a whole file per worker at a time (a module's server and browser start once), heaviest files
# first (tests/conftest.py) rather than pytest-xdist's "most tests first". TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

serve: $(STAMP)
	$(BIN)/laadbak serve

bench-plan: $(STAMP)
	$(BIN)/laadbak bench plan --suite solomon --time-limit 10 --json

bench-demo: $(STAMP)
	$(BIN)/laadbak bench plan --suite demo --json

clean:
	rm -rf $(VENV) var .pytest_cache
