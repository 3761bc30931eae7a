# Every target bootstraps .venv from nothing: a fresh machine needs only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

LOCK := constraints.txt

.PHONY: demo test soak lint typecheck pytest bench clean lock

# '.[dev]' pulls in every extra (emulator, postgres, worker, ...); $(LOCK) pins their exact versions.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[dev]'
	touch $(STAMP)

# Re-resolve every dependency and extra of pyproject.toml from scratch and pin the result in $(LOCK).
# Run it after adding or changing a dependency, and commit $(LOCK) with pyproject.toml.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet '.[dev]'
	{ sed -n '/^#/p;/^#/!q' $(LOCK); .lock-venv/bin/python -m pip freeze --exclude listingsync; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)
	rm -rf .lock-venv

demo: $(STAMP)
	$(BIN)/listingsync demo

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q -m "not soak"

# The long soaks (marker 'soak'): kill -9 and signals mid-run, thousands of generated listings. CI runs them.
soak: $(STAMP)
	$(BIN)/pytest -q -m soak

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf .lock-venv $(VENV) .pytest_cache .mypy_cache .ruff_cache
