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

# Beside the frameworks (docs/integrations.md): each in its own venv, pinned by constraints/.
PIPECAT_VENV := .venv-pipecat
LIVEKIT_VENV := .venv-livekit
SDK_OLDEST_VENV := .venv-sdk-oldest
# What the SDK matrix runs: every test that drives the SDK against the emulator.
SDK_TESTS := tests/session tests/emulator tests/transcript -m "not js and not browser"

.PHONY: demo test lint typecheck pytest docs fuzz install lock system-deps node-deps js-deps clean \
	test-integrations test-pipecat test-livekit integrations-table test-sdk-matrix test-sdk-oldest test-sdk-newest

demo: $(STAMP)
	$(BIN)/relive demo

test: $(STAMP) system-deps js-deps lint typecheck pytest test-sdk-oldest test-integrations

install: $(STAMP)

# The test environment resolves to the versions pinned in constraints.txt (the library itself
# keeps ranges in pyproject.toml), so every CI run tests the same packages.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[all,dev]'
	touch $(STAMP)

# Re-resolve the newest versions pyproject.toml allows, in a throwaway venv, and pin them.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[all,dev]'
	{ echo "# Pinned test environment: regenerate with \`make lock\` (pyproject.toml keeps the ranges)."; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable; } > constraints.txt
	rm -rf .lock-venv

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

# node and npm for the JS SDK test, from Debian, when missing.
node-deps:
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
		echo "installing Debian nodejs and npm"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; \
	fi

# The official @google/genai JS SDK, pinned by package-lock.json.
js-deps: node-deps $(JS_DIR)/node_modules/.package-lock.json

$(JS_DIR)/node_modules/.package-lock.json: $(JS_DIR)/package.json $(JS_DIR)/package-lock.json | node-deps
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

# The long fuzz run: atheris (coverage-guided) over the properties of the fuzz tests, 100,000
# inputs per surface; a failing input is written to test-artifacts/fuzz/ (docs/security.md).
fuzz: $(STAMP)
	mkdir -p test-artifacts/fuzz
	for surface in codec machine parser; do \
		$(BIN)/python -m tests.fuzz_atheris $$surface -runs=100000 \
			-artifact_prefix=test-artifacts/fuzz/ || exit 1; \
	done

# relive installed beside the current Pipecat / LiveKit Agents, each in its own venv.
test-integrations: test-pipecat test-livekit

test-pipecat: $(PIPECAT_VENV)/.installed
	$(PIPECAT_VENV)/bin/pytest -p no:cacheprovider tests/integrations/test_pipecat.py

test-livekit: $(LIVEKIT_VENV)/.installed
	$(LIVEKIT_VENV)/bin/pytest -p no:cacheprovider tests/integrations/test_livekit.py

# The side-by-side table of docs/integrations.md: the same scenarios on the framework's own
# service too (recorded, not asserted; lost turns wait out their timeouts: a few minutes).
integrations-table: $(PIPECAT_VENV)/.installed $(LIVEKIT_VENV)/.installed
	rm -f integrations-table.jsonl
	RELIVE_BASELINE=1 RELIVE_INTEGRATIONS_REPORT=integrations-table.jsonl \
		$(PIPECAT_VENV)/bin/pytest -p no:cacheprovider tests/integrations/test_pipecat.py
	RELIVE_BASELINE=1 RELIVE_INTEGRATIONS_REPORT=integrations-table.jsonl \
		$(LIVEKIT_VENV)/bin/pytest -p no:cacheprovider tests/integrations/test_livekit.py
	$(PIPECAT_VENV)/bin/python -m tests.integrations.report integrations-table.jsonl

# The oldest and the newest google-genai relive supports, each in its own venv.
test-sdk-matrix: test-sdk-oldest test-sdk-newest

test-sdk-oldest: $(SDK_OLDEST_VENV)/.installed
	$(SDK_OLDEST_VENV)/bin/pytest -p no:cacheprovider $(SDK_TESTS)

test-sdk-newest: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider $(SDK_TESTS)

$(PIPECAT_VENV)/.installed: pyproject.toml constraints/pipecat.txt
	test -x $(PIPECAT_VENV)/bin/python || $(PYTHON) -m venv $(PIPECAT_VENV)
	$(PIPECAT_VENV)/bin/python -m pip install --quiet -c constraints/pipecat.txt -e '.[pipecat,emulator,test]'
	touch $@

$(LIVEKIT_VENV)/.installed: pyproject.toml constraints/livekit.txt
	test -x $(LIVEKIT_VENV)/bin/python || $(PYTHON) -m venv $(LIVEKIT_VENV)
	$(LIVEKIT_VENV)/bin/python -m pip install --quiet -c constraints/livekit.txt -e '.[livekit,emulator,test]'
	touch $@

$(SDK_OLDEST_VENV)/.installed: pyproject.toml constraints/sdk-oldest.txt
	test -x $(SDK_OLDEST_VENV)/bin/python || $(PYTHON) -m venv $(SDK_OLDEST_VENV)
	$(SDK_OLDEST_VENV)/bin/python -m pip install --quiet -c constraints/sdk-oldest.txt -e '.[emulator,test]'
	touch $@

clean:
	rm -rf $(VENV) .lock-venv $(PIPECAT_VENV) $(LIVEKIT_VENV) $(SDK_OLDEST_VENV) $(JS_DIR)/node_modules \
		.pytest_cache .mypy_cache .ruff_cache
