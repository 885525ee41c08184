# The two commands a newcomer needs: `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve test unit compat bench tox clean

serve:  ## start every server with its defaults (data under ./data/)
	PYTHONPATH=src $(PYTHON) -m fromscratch serve

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

test: $(STAMP)  ## unit tests, then compat tests through the real clients
	$(BIN)/python -m pytest -q tests compat_tests

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests

compat: $(STAMP)
	$(BIN)/python -m pytest -q compat_tests

tox: $(STAMP)  ## the compat matrix across client versions
	$(BIN)/tox

bench: $(STAMP)  ## every benchmark, ours against the reference, as ratios
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .tox .pytest_cache build src/*.egg-info
