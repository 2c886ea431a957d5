# The two commands a newcomer needs: `make run` and `make test`. Everything else installs itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat uv.lock pyproject.toml | cksum | cut -d' ' -f1)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))

.PHONY: install run test test-unit chaos lint bench schemas docs clean

install: $(STAMP)

$(STAMP): pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv sync --frozen --python $(BIN)/python
	@rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)  ## the whole system: embedded Postgres + Kafka-protocol broker + every service
	$(BIN)/recouvrement run

# The portal's browser tests drive Debian's Chromium (no browser download): installed once, as root or with sudo.
CHROMIUM ?= /usr/bin/chromium
export PORTAL_BROWSER := $(CHROMIUM)

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "Chromium introuvable : installez-le ou indiquez CHROMIUM=/chemin/vers/chromium"; exit 1; }
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq
	$(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

test: $(STAMP) $(CHROMIUM)  ## unit, integration, e2e and browser tests against the real embedded Postgres and broker
	$(BIN)/pytest -q

chaos: $(STAMP)  ## kill -9 the broker twice and a service once under traffic (tests marked chaos)
	$(BIN)/pytest -q -s -m chaos

test-unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy contracts services partners
	$(BIN)/mypy --strict contracts $(wildcard services/*/domain)
	$(BIN)/lint-imports

bench: $(STAMP)  ## speed, each figure beside a same-run baseline
	$(BIN)/python -m bench

schemas: $(STAMP)  ## regenerate the committed JSON Schemas, AsyncAPI and OpenAPI documents (contracts/)
	$(BIN)/python -m contracts.export
	$(BIN)/python -m services.stack.openapi

docs: $(STAMP)  ## regenerate the configuration reference in docs/operations.md from the settings classes
	$(BIN)/python -m services.stack.config_reference

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
