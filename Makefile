# Two commands for a fresh machine: `make demo` and `make test`.
# Every target installs what it needs by itself and is safe to run again.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
REDIS := /usr/bin/redis-server
HAPROXY := /usr/sbin/haproxy
JS_DIR := tests/js

.PHONY: demo test lint typecheck pytest docs install system-deps js-deps clean

demo: $(STAMP)
	$(BIN)/relive demo

test: $(STAMP) system-deps js-deps lint typecheck pytest

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

# Debian's chromium for the browser tests (a Playwright browser download fails here), and
# redis-server and haproxy for the replica tests.
system-deps:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "installing Debian chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi
	@if [ ! -x $(REDIS) ] || [ ! -x $(HAPROXY) ]; then \
		echo "installing Debian redis-server and haproxy (the replica tests)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server haproxy; \
	fi

# The official @google/genai JS SDK, pinned by package-lock.json.
js-deps: $(JS_DIR)/node_modules/.package-lock.json

$(JS_DIR)/node_modules/.package-lock.json: $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	cd $(JS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check relive tests tools
	$(BIN)/ruff format --check relive tests tools
	$(BIN)/python -m tools.apidoc --check

# docs/api.md from the docstrings (pdoc); `make test` fails when it is stale.
docs: $(STAMP)
	$(BIN)/python -m tools.apidoc

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) system-deps js-deps
	$(BIN)/pytest

clean:
	rm -rf $(VENV) $(JS_DIR)/node_modules .pytest_cache .mypy_cache .ruff_cache
