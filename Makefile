# `make run` starts the whole local stack; `make test` runs every check. Both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The local identity provider's npm packages (panva's oidc-provider), exactly as package-lock.json pins them.
OIDC_DIR := vre_app/local/oidc
NPM_STAMP := $(OIDC_DIR)/node_modules/.installed

.PHONY: run test lint typecheck pytest fuzz bench package clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip<26.3'
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(NPM_STAMP): $(OIDC_DIR)/package.json $(OIDC_DIR)/package-lock.json
	cd $(OIDC_DIR) && npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

run: $(STAMP) $(NPM_STAMP)
	exec $(BIN)/python -m vre_app local

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint infra/template.yaml

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(NPM_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# The contract fuzzer's longer pass (`make test` sends 2,000 requests); it prints what it sent.
FUZZ_REQUESTS ?= 20000
fuzz: $(STAMP)
	FUZZ_REQUESTS=$(FUZZ_REQUESTS) $(BIN)/python -m pytest tests/contract/test_fuzz.py -n 0 -s

bench: $(STAMP)
	$(BIN)/python -m bench

# What CI checks (tests/contract/test_package.py): the policies rendered with a placeholder account, then the
# SAM template and deployment.zip. Deploying is `python -m vre_app deploy --stage dev|prod` (docs/operations.md).
package: $(STAMP)
	rm -rf build/package
	$(BIN)/python -m vre_app policies --stage prod
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-eu-west-1} $(BIN)/chalice package --stage prod build/package

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache $(OIDC_DIR)/node_modules
