# Two commands on a fresh machine:  `make demo` (the main job) and `make test` (the test suite).
PYTHON ?= python3
VENV ?= .venv
EXTRAS ?= semantic,dev
BIN := $(VENV)/bin

.PHONY: install demo test lint bench clean

$(BIN)/nkwatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[$(EXTRAS)]'
	touch $(BIN)/nkwatch

install: $(BIN)/nkwatch

demo: install
	$(BIN)/nkwatch demo

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) nkwatch.db nkwatch.db-wal nkwatch.db-shm
