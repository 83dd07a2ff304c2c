# Every target creates .venv when it is missing and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint fmt typecheck pytest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/alisms demo

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check alisms tests
	$(BIN)/ruff format --check alisms tests

fmt: $(STAMP)
	$(BIN)/ruff format alisms tests
	$(BIN)/ruff check --fix alisms tests

typecheck: $(STAMP)
	$(BIN)/mypy --strict alisms

pytest: $(STAMP)
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build site *.egg-info

# make bench: the benchmark of issue 5 (bench/bench.py; numbers in docs/performance.md),
# about 3 minutes on 2 cores. BENCH_ARGS=--write-docs also refreshes the doc's numbers.
# Its tools go into the same .venv here, not into the dev extra: uvloop (for the local
# server, the load generators and the async runs) is needed by nothing but the benchmark,
# and make test should not pull a C event loop into every checkout; aiohttp (the fast
# async path) and httpx-aiohttp come from the project's own aiohttp extra.
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,aiohttp]' uvloop
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

# make docs: the documentation site (mkdocs.yml, docs/) built into site/ in strict mode:
# any warning (a broken link or anchor, a page missing from the nav) fails the build.
# Its tools come from the project's docs extra, with their own stamp.
DOCS_STAMP := $(VENV)/.installed-docs
$(DOCS_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $(DOCS_STAMP)

.PHONY: docs
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
