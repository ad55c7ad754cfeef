# One-command entry points; each creates .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all test-compiled lint conformance clean

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

# The default suite against pagemig.mm compiled by mypyc (setup.py, PAGEMIG_MYPYC=1),
# from scratch: a copy of the work tree in $(COMPILED)/tree with the C extensions
# built in place beside the sources (Python imports them first), its own venv.
COMPILED := .compiled
CBIN     := $(COMPILED)/venv/bin

test-compiled:
	rm -rf $(COMPILED)
	mkdir -p $(COMPILED)/tree
	git ls-files -z --cached --others --exclude-standard \
		| tar --null -T - --ignore-failed-read -cf - | tar -xf - -C $(COMPILED)/tree
	$(PYTHON) -m venv $(COMPILED)/venv
	$(CBIN)/pip install --quiet --upgrade pip
	$(CBIN)/pip install --quiet -e '$(COMPILED)/tree[cli,dev,sim,sweep]'
	cd $(COMPILED)/tree && PAGEMIG_MYPYC=1 ../venv/bin/python setup.py --quiet build_ext --inplace
	cd $(COMPILED)/tree && ../venv/bin/python -c \
		'import pagemig.implementation as i, pagemig.mm.migrate as m; print(i.describe(), m.__file__)'
	# Collecting the .py files of compiled modules would clash with the extensions (pagemig/mm
	# has no doctests; those of machine.py and profiles.py run in `make test`).
	cd $(COMPILED)/tree && PAGEMIG_EXPECT_COMPILED=1 ../venv/bin/pytest -m "not slow" -x \
		--ignore=src/pagemig/mm --ignore=src/pagemig/machine.py --ignore=src/pagemig/profiles.py

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[cli,dev,sim,sweep]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) $(COMPILED) build .pytest_cache .mypy_cache .ruff_cache .hypothesis
