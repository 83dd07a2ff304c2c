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
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
