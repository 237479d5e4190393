# `make run` starts the whole local stack; `make test` runs every check. Both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest fuzz bench package clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip<26.3'
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	exec $(BIN)/python -m vre_app local

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint infra/template.yaml

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# The contract fuzzer's longer pass (`make test` sends 2,000 requests); it prints what it sent.
FUZZ_REQUESTS ?= 20000
fuzz: $(STAMP)
	FUZZ_REQUESTS=$(FUZZ_REQUESTS) $(BIN)/python -m pytest tests/contract/test_fuzz.py -n 0 -s

bench: $(STAMP)
	$(BIN)/python -m bench

package: $(STAMP)
	rm -rf build/package
	$(BIN)/chalice package --stage prod build/package

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache
