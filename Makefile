# `make run` starts the whole local stack; `make test` runs every check. Both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The local identity provider's npm packages (panva's oidc-provider), exactly as package-lock.json pins them.
OIDC_DIR := vre_app/local/oidc
NPM_STAMP := $(OIDC_DIR)/node_modules/.installed
# The web console and upload page (web/, Vite + TypeScript + Preact), pinned by web/package-lock.json.
WEB_DIR := web
WEB_STAMP := $(WEB_DIR)/node_modules/.installed
WEB_BUILD := $(WEB_DIR)/dist/index.html
WEB_SOURCES := $(shell find $(WEB_DIR)/src $(WEB_DIR)/public -type f 2>/dev/null) $(WEB_DIR)/index.html \
	$(WEB_DIR)/upload/index.html $(WEB_DIR)/vite.config.ts $(WEB_DIR)/api-docs.ts $(WEB_DIR)/tsconfig.json

.PHONY: run test lint typecheck pytest web-test web-schema fuzz bench package clean rehearse scan

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip<26.3'
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(NPM_STAMP): $(OIDC_DIR)/package.json $(OIDC_DIR)/package-lock.json
	cd $(OIDC_DIR) && npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

$(WEB_STAMP): $(WEB_DIR)/package.json $(WEB_DIR)/package-lock.json
	cd $(WEB_DIR) && npm ci --no-audit --no-fund
	touch $(WEB_STAMP)

# Type-checks, then bundles into web/dist (served by the local stack at FRONTEND_URL, published by the deploy).
$(WEB_BUILD): $(WEB_STAMP) $(WEB_SOURCES)
	cd $(WEB_DIR) && npm run build

run: $(STAMP) $(NPM_STAMP) $(WEB_BUILD)
	exec $(BIN)/python -m vre_app local

test: lint typecheck scan web-test pytest

# The console's own unit tests (vitest).
web-test: $(WEB_STAMP)
	cd $(WEB_DIR) && npm test

# After an API change: the OpenAPI document the console's typed client is generated from, and that client's
# types (tests/contract/test_console_client.py fails until both are regenerated and committed).
web-schema: $(STAMP) $(WEB_STAMP)
	$(BIN)/python -m vre_app openapi > $(WEB_DIR)/openapi.json
	cd $(WEB_DIR) && npm run --silent schema

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint infra/template.yaml infra/console.yaml

typecheck: $(STAMP)
	$(BIN)/mypy

# The page tests drive Debian's Chromium (Playwright cannot download its own browser here); CI starts without it.
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	apt-get install -y chromium || (apt-get update && apt-get install -y chromium)

pytest: $(STAMP) $(NPM_STAMP) $(WEB_BUILD) $(CHROMIUM)
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
	find chalicelib -name __pycache__ -type d -prune -exec rm -rf {} +
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-eu-west-1} $(BIN)/chalice package --stage prod build/package

clean:
	rm -rf $(VENV) .venv-checkov build .mypy_cache .ruff_cache .pytest_cache $(OIDC_DIR)/node_modules \
		$(WEB_DIR)/node_modules $(WEB_DIR)/dist

# The operator's `python -m vre_app deploy --stage dev` (twice: first deploy and upgrade) and a redrive, against
# moto on loopback, checking what got wired (README, Rehearsing a deploy). `make test` runs it through
# tests/e2e/test_rehearsal.py; about 30 s.
rehearse: $(STAMP) $(WEB_BUILD)
	$(BIN)/python -m vre_app.rehearse

# checkov over infra/template.yaml and the packaged SAM template. Its pins clash with the project's
# (boto3, botocore, packaging), so it has its own venv.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
$(CHECKOV_STAMP): requirements-scan.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-scan.txt
	touch $(CHECKOV_STAMP)

scan: $(CHECKOV_STAMP) package
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --config-file .checkov.yaml -f infra/template.yaml
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --config-file .checkov.yaml -f infra/console.yaml
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --config-file .checkov.yaml -f build/package/sam.json
