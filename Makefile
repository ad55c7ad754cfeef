# One-command entry points; each creates .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all lint conformance clean

demo: $(STAMP)
	$(BIN)/pagemig demo

test: $(STAMP)
	$(BIN)/coverage run -m pytest -m "not slow"
	$(BIN)/coverage report --include='src/pagemig/mm/migrate.py' --fail-under=100 --show-missing

test-all: $(STAMP)
	$(BIN)/pytest -m "not qemu"

# The conformance suite on a real Linux 6.1 under QEMU (.ci/conformance installs qemu).
conformance: $(STAMP)
	$(BIN)/pagemig conformance --backend qemu

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[cli,dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
