# tap-dockerdvp developer commands. `make demo` and `make test` set everything up on a fresh machine.
#
#   .venv            the tap, its dev tools (pytest, ruff, mypy, duckdb<1.3, the demo's matplotlib and plotext)
#   .venv-meltano    meltano itself, kept apart so its pins (sqlalchemy<2.1, click<8.6, pip<27, ...)
#                    never decide which versions the tap is tested with
#   .meltano/        meltano's plugin venvs (tap-dockerdvp -e ., target-duckdb, target-jsonl, target-postgres,
#                    the dbt-duckdb and dbt-postgres utilities that build transform/) and system db
#   .venv-sdk-pre    `make test-sdk-pre` only: the tap and the simulator with the newest singer-sdk pre-release
#   .venv-snowflake  MeltanoLabs target-snowflake and the fakesnow emulator, for tests/e2e/test_e2e_deletes.py (through
#                    tests/support/fakesnow_target.py); its own venv because the target pins a singer-sdk pre-release.
#                    fakesnow needs Python 3.11+: SNOWFLAKE_PYTHON=python3.12 picks another interpreter for it
#
# tests/e2e/test_e2e_postgres.py needs a PostgreSQL server: `make postgres` (or .ci/run, which CI runs) installs
# and starts one on localhost; without one the test is skipped, except with CI=true, where it fails.
#
# Each setup step leaves a stamp file and reruns only when its inputs change.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
MELTANO_VERSION ?= 4.4.1
PIP_FLAGS ?= --quiet --disable-pip-version-check

VENV := .venv
BIN := $(VENV)/bin
MELTANO_VENV := .venv-meltano
# MELTANO_BIN=/path/to/meltano uses that meltano instead of installing one into .venv-meltano
ifeq ($(origin MELTANO_BIN),undefined)
MELTANO_BIN := $(CURDIR)/$(MELTANO_VENV)/bin/meltano
MELTANO_DEP := $(MELTANO_VENV)/.stamp-meltano-$(MELTANO_VERSION)
else
MELTANO_DEP :=
endif
export MELTANO_SEND_ANONYMOUS_USAGE_STATS := false
# meltano installs its plugins with uv, which ignores pip's configuration: let it trust the system's
# CA store (a TLS-inspecting proxy's CA lives there on some machines, this project's CI among them)
export UV_SYSTEM_CERTS ?= 1
export MELTANO_BIN

DEV_STAMP := $(VENV)/.stamp-dev
PLUGINS_STAMP := .meltano/.stamp-plugins

SDK_PRE_VENV := .venv-sdk-pre

SNOWFLAKE_PYTHON ?= $(PYTHON)
SNOWFLAKE_VENV := .venv-snowflake
TARGET_SNOWFLAKE_VERSION ?= 0.20.4
FAKESNOW_VERSION ?= 0.12.1
SNOWFLAKE_STAMP := $(SNOWFLAKE_VENV)/.stamp-$(TARGET_SNOWFLAKE_VERSION)-$(FAKESNOW_VERSION)

.PHONY: help setup demo marts test test-fast test-sdk-pre hub-definition dbt-staging postgres lint format dist clean distclean

help:
	@echo "make demo       set up everything, then run the demo (simulator -> meltano -> DuckDB -> dbt marts)"
	@echo "make marts      rebuild the dbt marts on the demo's database, then show their answers and chart"
	@echo "make test       set up everything, then run the full test suite (with the meltano e2e tests)"
	@echo "make test-fast  the test suite without the e2e tests"
	@echo "make test-sdk-pre  the test suite without the e2e tests, on the newest singer-sdk pre-release"
	@echo "make hub-definition  rewrite the Hub definition and meltano.yml's extractor settings from --about"
	@echo "make dbt-staging  rewrite the dbt package's sources and staging models from the tap's catalog"
	@echo "make postgres   install and start PostgreSQL on localhost for the e2e test (root or sudo)"
	@echo "make lint       ruff check, ruff format --check, mypy"
	@echo "make format     ruff format + ruff check --fix"
	@echo "make dist       build the wheel into dist/"
	@echo "make clean      remove outputs, caches and build files (keeps the venvs)"
	@echo "make distclean  clean, and remove .venv, .venv-meltano, .venv-snowflake and .meltano"

setup: $(DEV_STAMP) $(PLUGINS_STAMP) $(SNOWFLAKE_STAMP)

# the simulator (simulator/, a test double) is its own project: it never ships in the tap's wheel
$(DEV_STAMP): pyproject.toml simulator/pyproject.toml
	@test -x $(BIN)/python || { echo "creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing tap-dockerdvp[dev] and the simulator into $(VENV)"
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[dev]' -e ./simulator
	@touch $@

$(MELTANO_VENV)/.stamp-meltano-$(MELTANO_VERSION):
	@test -x $(MELTANO_VENV)/bin/python || { echo "creating $(MELTANO_VENV)"; $(PYTHON) -m venv $(MELTANO_VENV); }
	@echo '*' > $(MELTANO_VENV)/.gitignore
	@echo "installing meltano==$(MELTANO_VERSION) into $(MELTANO_VENV)"
	$(MELTANO_VENV)/bin/python -m pip install $(PIP_FLAGS) 'meltano==$(MELTANO_VERSION)'
	@rm -f $(MELTANO_VENV)/.stamp-meltano-*
	@touch $@

# the tap plugin is `pip install -e .`: code changes need no reinstall, dependency changes do
$(PLUGINS_STAMP): $(MELTANO_DEP) meltano.yml pyproject.toml
	$(MELTANO_BIN) install
	@mkdir -p output  # target-duckdb's database (meltano.yml) goes there: it does not make the folder
	@touch $@

$(SNOWFLAKE_STAMP):
	@$(SNOWFLAKE_PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "fakesnow needs Python 3.11 or newer: make ... SNOWFLAKE_PYTHON=python3.12"; exit 1; }
	@test -x $(SNOWFLAKE_VENV)/bin/python || { echo "creating $(SNOWFLAKE_VENV)"; $(SNOWFLAKE_PYTHON) -m venv $(SNOWFLAKE_VENV); }
	@echo '*' > $(SNOWFLAKE_VENV)/.gitignore
	@echo "installing meltanolabs-target-snowflake==$(TARGET_SNOWFLAKE_VERSION) and fakesnow==$(FAKESNOW_VERSION) into $(SNOWFLAKE_VENV)"
	$(SNOWFLAKE_VENV)/bin/python -m pip install $(PIP_FLAGS) \
		'meltanolabs-target-snowflake==$(TARGET_SNOWFLAKE_VERSION)' 'fakesnow==$(FAKESNOW_VERSION)'
	@rm -f $(SNOWFLAKE_VENV)/.stamp-*
	@touch $@

# the demo loads DuckDB only: it needs no Snowflake venv (whose fakesnow needs Python 3.11+)
demo: $(DEV_STAMP) $(PLUGINS_STAMP)
	$(BIN)/python scripts/demo.py $(DEMO_ARGS)

marts: $(DEV_STAMP) $(PLUGINS_STAMP)
	$(BIN)/python scripts/demo.py --marts-only

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(DEV_STAMP)
	$(BIN)/python -m pytest -m "not e2e" $(PYTEST_ARGS)

# The unit tests against the newest singer-sdk pre-release, in a venv of their own. The tap pins
# singer-sdk~=0.54.9, so the pre-release is installed after it, as an explicit upgrade (with its own
# dependencies): pip installs it and reports the broken pin ("tap-dockerdvp 0.1.0 requires
# singer-sdk~=0.54.9, but you have singer-sdk 0.55.0b7 which is incompatible"), which is expected here.
$(SDK_PRE_VENV)/.stamp-dev: pyproject.toml simulator/pyproject.toml
	@test -x $(SDK_PRE_VENV)/bin/python || { echo "creating $(SDK_PRE_VENV)"; $(PYTHON) -m venv $(SDK_PRE_VENV); }
	@echo '*' > $(SDK_PRE_VENV)/.gitignore
	$(SDK_PRE_VENV)/bin/python -m pip install $(PIP_FLAGS) -e '.[dev]' -e ./simulator
	@touch $@

test-sdk-pre: $(SDK_PRE_VENV)/.stamp-dev
	$(SDK_PRE_VENV)/bin/python -m pip install $(PIP_FLAGS) --upgrade --pre 'singer-sdk[testing]'
	@echo "testing with singer-sdk $$($(SDK_PRE_VENV)/bin/python -c 'import importlib.metadata as m; print(m.version("singer-sdk"))')"
	$(SDK_PRE_VENV)/bin/python -m pytest -m "not e2e" $(PYTEST_ARGS)

hub-definition: $(DEV_STAMP)
	$(BIN)/python scripts/hub_definition.py

dbt-staging: $(DEV_STAMP)
	$(BIN)/python scripts/dbt_staging.py

# the server, role and database that tests/e2e/test_e2e_postgres.py uses by default (see .ci/postgres.sh)
postgres:
	bash .ci/postgres.sh >/dev/null

# Python paths only: ruff also formats code blocks in Markdown, and DEVELOPERS.md's are laid out by hand
LINT_PATHS := tap_dockerdvp simulator tests scripts benchmarks

lint: $(DEV_STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy tap_dockerdvp

format: $(DEV_STAMP)
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

dist: $(DEV_STAMP)
	rm -rf dist
	$(BIN)/python -m pip wheel $(PIP_FLAGS) --no-deps --wheel-dir dist .

clean:
	rm -rf output dist build *.egg-info .pytest_cache .mypy_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -path ./$(MELTANO_VENV) -prune -o -path ./.meltano -prune \
		-o -path ./$(SDK_PRE_VENV) -prune -o -path ./$(SNOWFLAKE_VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV) $(MELTANO_VENV) $(SDK_PRE_VENV) $(SNOWFLAKE_VENV) .meltano
