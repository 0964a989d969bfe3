# licserver — two commands do all set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
STAMP  := $(VENV)/.installed
# Python may read its cached bytecode but, with PYTHONDONTWRITEBYTECODE set (as
# on some CI machines), never writes it: then every process of `make test`
# (each gunicorn worker, each CLI run, each pytest worker's test modules)
# compiles licserver's 230 modules again, about 0.25 s apiece. __pycache__/ is
# ignored by git.
unexport PYTHONDONTWRITEBYTECODE
# The SDK is its own package; installed into the same venv once it exists.
SDK    := $(wildcard client_sdk/python/setup.cfg)

.PHONY: run test lint typecheck test-sqlite test-postgresql install clean

# A fresh clone has no venv: make one and install licserver (editable) with its
# dev tools. Re-runs when the packaging metadata changes.
$(STAMP): setup.cfg pyproject.toml $(SDK)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "licserver needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(if $(SDK),$(BIN)/python -m pip install --quiet -e client_sdk/python)
	touch $(STAMP)

install: $(STAMP)

# The demo's printed curl commands (and links in emails) use the port we serve on.
run: export LICSERVER_PUBLIC_URL ?= http://127.0.0.1:$(PORT)
run: $(STAMP)
	$(BIN)/licserver init
	$(BIN)/licserver demo
	@echo "Serving on http://127.0.0.1:$(PORT) (Ctrl-C stops)"
	$(BIN)/gunicorn -c gunicorn.conf.py --bind 127.0.0.1:$(PORT) --access-logfile - 'licserver:create_app()'

# Everything Python in the repository (licserver, tests, client_sdk, bench).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m licserver.tools.layers
	$(BIN)/python -m licserver.tools.sizes

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite on TEST_WORKERS processes (pytest-xdist). --dist loadfile keeps each
# test file on one worker, so a file's module-scoped servers and browser start
# once; every worker has its own database, temporary folders and free ports
# (tests/conftest.py). --no-loadscope-reorder: files in the order collected,
# which tests/support/ordering.py makes the slowest first (the last full run's
# times, else tests/file_seconds.json), so no slow file starts last on one
# worker. Workers: one more than the cores, at most 4: a test often waits (a
# server starting, a browser, an SDK's back-off) and a third worker on two
# cores fills those waits (SQLite 168 s -> 153 s, PostgreSQL 206 s -> 180 s).
# TEST_WORKERS=0 runs it in this process alone.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ "$$n" -lt 3 ] && echo $$((n + 1)) || echo 4)
PYTEST_XDIST := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

test-sqlite: $(STAMP) axe
	LICSERVER_TEST_DB=sqlite $(BIN)/pytest $(PYTEST_XDIST)

# axe-core (npm, pinned in tests/a11y/package.json) for the accessibility test
# of every page (tests/e2e/test_accessibility.py; docs/accessibility.md).
# Without npm the test skips, except under CI=true, where this fails.
AXE_JS := tests/a11y/node_modules/axe-core/axe.min.js
.PHONY: axe
axe: $(AXE_JS)
$(AXE_JS): tests/a11y/package.json tests/a11y/package-lock.json
	@if ! command -v npm >/dev/null; then \
		if [ "$$CI" = "true" ]; then echo "axe: npm is required (CI=true)" >&2; exit 1; fi; \
		echo "(axe-core not installed: npm is missing; the accessibility test skips)"; exit 0; \
	fi; \
	npm ci --prefix tests/a11y --no-audit --no-fund --loglevel=error && touch $@

# Fails (exit 3), never skips, when PostgreSQL is unreachable.
test-postgresql: $(STAMP) axe
	LICSERVER_TEST_DB=postgresql $(BIN)/pytest $(PYTEST_XDIST)

# Each SDK other than Python brings its own build and tests in client_sdk/LANG/sdk.mk,
# as a target test-sdk-LANG that installs its toolchain when missing (and, under
# CI=true, fails rather than skips when it cannot).
-include $(wildcard client_sdk/*/sdk.mk)
SDK_TESTS := $(patsubst client_sdk/%/sdk.mk,test-sdk-%,$(wildcard client_sdk/*/sdk.mk))

# Lint, types and each SDK's checks first, two at a time (each is one process:
# mypy beside the C SDK's valgrind run), their output kept apart; then the
# suite. Under CI (CI=true) or with TEST_POSTGRES=1 it also runs on PostgreSQL.
test: $(STAMP)
	@$(MAKE) --no-print-directory -j2 --output-sync=target lint typecheck $(SDK_TESTS)
	@$(MAKE) --no-print-directory test-sqlite
	@if [ "$$CI" = "true" ] || [ "$$TEST_POSTGRES" = "1" ]; then \
		$(MAKE) --no-print-directory test-postgresql; \
	else \
		echo "(PostgreSQL run skipped: set TEST_POSTGRES=1, or CI=true, to include it)"; \
	fi

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

# Benchmarks, never part of `make test`: gunicorn under wrk on SQLite and
# PostgreSQL (127.0.0.1:5432, user postgres), small and 1M-licence data sets;
# about 10 minutes; then the three SDKs' offline status benchmarks (Python, C
# through bench-sdk-c, Node; bench/sdk_status.py, alone: python -m bench.sdk_status);
# writes docs/performance.md. BENCH_ARGS="--quick" for a short development run,
# "--workers 4" for another worker count (python -m bench.run -h).
.PHONY: bench
bench: $(STAMP)
	command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)
	test -x $(BIN)/py-spy || $(BIN)/python -m pip install --quiet py-spy
	$(BIN)/python -m bench.run $(BENCH_ARGS)
