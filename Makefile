# licserver — two commands do all set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck test-sqlite test-postgresql install clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/licserver init
	$(BIN)/licserver demo
	@echo "Serving on http://127.0.0.1:$(PORT) (Ctrl-C stops)"
	$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers 2 --access-logfile - 'licserver:create_app()'

lint: $(STAMP)
	$(BIN)/ruff check licserver tests
	$(BIN)/ruff format --check licserver tests

typecheck: $(STAMP)
	$(BIN)/mypy

test-sqlite: $(STAMP)
	LICSERVER_TEST_DB=sqlite $(BIN)/pytest

test-postgresql: $(STAMP)
	LICSERVER_TEST_DB=postgresql $(BIN)/pytest

# Under CI (CI=true) or with TEST_POSTGRES=1 the suite also runs on PostgreSQL.
test: lint typecheck test-sqlite
	@if [ "$$CI" = "true" ] || [ "$$TEST_POSTGRES" = "1" ]; then \
		$(MAKE) --no-print-directory test-postgresql; \
	else \
		echo "(PostgreSQL run skipped: set TEST_POSTGRES=1, or CI=true, to include it)"; \
	fi

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
