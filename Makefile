# threadrunner: `make run` serves the API locally, `make test` runs every test. See `make help`.

PYTHON ?= python3
VENV := .venv
TOOLS := .venv-tools
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TOOLS_STAMP := $(TOOLS)/.installed
CHECKOV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV)/.installed
# template.yaml after the SAM transform: the roles, permissions, rules and routes the local stack enforces.
TRANSFORMED := .aws-sam/transformed.json
SANDBOX := .venv-sandbox
SANDBOX_STAMP := $(SANDBOX)/.installed
NODE_STAMP := tests/node/node_modules/.installed
# The console's browser test drives Debian's Chromium: installed here, never downloaded by a test.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# sam build needs the Lambda runtime's Python on PATH; pyenv machines keep it under versions/.
PY312 := $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin) $(dir $(shell command -v python3.12 2>/dev/null)))
SAM_ENV := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
BUILD_DIR := .aws-sam/build
# pytest-xdist workers: the end-to-end tests mostly wait on runs, so each worker (with a local stack of its own)
# waits beside the others; WORKERS=0 runs every test in one process.
WORKERS ?= 3

.PHONY: help run test test-fast lint bench load build validate invoke key sandbox screenshot clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The project's environment: reinstalled only when what pins it changes.
$(STAMP): pyproject.toml layers/core/requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

# SAM CLI and cfn-lint pin their own boto3 and pydantic, so they live in a venv of their own.
$(TOOLS_STAMP): requirements-tools.txt
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	@touch $@

# checkov pins an older boto3 than SAM CLI does: its own venv.
$(CHECKOV_STAMP): requirements-checkov.txt
	@test -x $(CHECKOV)/bin/python || $(PYTHON) -m venv $(CHECKOV)
	$(CHECKOV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

# SAM's translator (the tools' venv: it pins a pydantic the project's venv cannot take) writes the transform the
# local stack reads; the stack makes it again itself when template.yaml changed since.
$(TRANSFORMED): template.yaml $(TOOLS_STAMP)
	$(SAM_ENV) $(TOOLS)/bin/python local/threadrunner_local/sam_transform.py template.yaml $@

# The code interpreter's Python for the local stack's sandbox (docs/code-interpreter.md), apart from threadrunner's:
# the model's code imports what it likes there. matplotlib's font list is made once here, or every new session
# would make it again at its first chart.
$(SANDBOX_STAMP): requirements-sandbox.txt
	@test -x $(SANDBOX)/bin/python || $(PYTHON) -m venv $(SANDBOX)
	$(SANDBOX)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-sandbox.txt
	MPLCONFIGDIR=$(SANDBOX)/mplconfig MPLBACKEND=Agg $(SANDBOX)/bin/python -c "import matplotlib.pyplot"
	@touch $@

# The Node openai SDK of the contract tests, as its lock file pins it.
$(NODE_STAMP): tests/node/package.json tests/node/package-lock.json
	@command -v npm >/dev/null || { echo "make test needs Node.js 20+ with npm (the Node SDK's contract test)"; exit 1; }
	cd tests/node && npm ci --no-audit --no-fund --silent
	@touch $@

# The browser itself is the stamp: installed once, from Debian's packages, when it is missing.
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium

sandbox: $(SANDBOX_STAMP) ## The code interpreter's Python environment (numpy, pandas, matplotlib) in .venv-sandbox

run: $(STAMP) $(TRANSFORMED) $(SANDBOX_STAMP) ## Serve the API on http://127.0.0.1:3000/v1 with the local stack (data kept in .threadrunner/; ARGS=--ephemeral)
	$(PY) -m threadrunner_harness.serve $(ARGS)

test: $(STAMP) $(TOOLS_STAMP) $(TRANSFORMED) $(SANDBOX_STAMP) $(NODE_STAMP) $(CHROMIUM) lint validate build ## Lint, validate, scan and build the template, run every test
	$(PY) -m pytest -q -n $(WORKERS)

test-fast: $(STAMP) $(TRANSFORMED) $(SANDBOX_STAMP) $(NODE_STAMP) $(CHROMIUM) ## Run the tests only
	$(PY) -m pytest -q -n $(WORKERS)

lint: $(STAMP) ## ruff and mypy
	$(VENV)/bin/ruff check layers/core local functions tests scripts examples
	$(VENV)/bin/ruff format --check layers/core local functions tests scripts examples
	$(VENV)/bin/mypy

validate: $(TOOLS_STAMP) $(CHECKOV_STAMP) ## cfn-lint, sam validate --lint, and checkov's scan (a finding is fixed or skipped in template.yaml with its reason)
	$(SAM_ENV) $(TOOLS)/bin/cfn-lint template.yaml
	$(SAM_ENV) $(TOOLS)/bin/sam validate --lint
	$(CHECKOV)/bin/checkov --file template.yaml --framework cloudformation --skip-download --compact --quiet

build: $(TOOLS_STAMP) ## sam build (needs python3.12, found under pyenv)
	@test -n "$(PY312)" || { echo "sam build needs python3.12 on PATH (pyenv install 3.12)"; exit 1; }
	PATH="$(PY312):$$PATH" $(SAM_ENV) $(TOOLS)/bin/sam build --build-dir $(BUILD_DIR)

invoke: $(STAMP) $(TRANSFORMED) ## Run one function on one sample event, no Docker: make invoke FN=ToolFunction EVENT=events/ToolFunction/list-tools.json
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=<LogicalId> EVENT=events/<LogicalId>/<file>.json"; exit 2; }
	@$(PY) -m threadrunner_harness.invoke $(FN) $(EVENT)

key: $(STAMP) ## Create an API key on make run's stack: make key NAME=alice [PROJECT=acme] (scripts/keys.py: list, revoke)
	@test -n "$(NAME)" || { echo "usage: make key NAME=<name> [PROJECT=<project>]"; exit 2; }
	@$(PY) scripts/keys.py create --name $(NAME) --project $(or $(PROJECT),default)

load: $(STAMP) $(TRANSFORMED) ## N concurrent users through conversations with tool calls: make load [USERS=50]
	$(PY) scripts/load.py --users $(or $(USERS),50)

screenshot: $(STAMP) $(TRANSFORMED) $(SANDBOX_STAMP) $(CHROMIUM) ## The console's screenshot in docs/console.png (the README's), taken by its browser test
	$(PY) -m pytest -q tests/e2e/test_console.py -k timeline
	cp .aws-sam/console.png docs/console.png

bench: $(STAMP) $(TRANSFORMED) $(SANDBOX_STAMP) build ## Print the baseline figures (a run polling and with webhooks: latency, transitions, cost; cold imports, sizes)
	$(PY) scripts/bench.py --build-dir $(BUILD_DIR)

clean: ## Remove the environments and build output
	rm -rf $(VENV) $(TOOLS) $(CHECKOV) $(SANDBOX) tests/node/node_modules .aws-sam .pytest_cache .mypy_cache .ruff_cache
