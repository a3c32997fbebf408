# The two commands of the README: `make demo` runs the main job on the embedded
# SQLite database, `make test` runs lint, type checks and the tests on SQLite and PostgreSQL.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
# The PostgreSQL server the tests use; pytest-django creates and drops its own test database there.
TEST_POSTGRES_URL ?= postgresql://root@127.0.0.1:5432/billguard

.PHONY: demo test lint typecheck test-sqlite test-postgres clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/billguard demo

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

test-sqlite: $(STAMP)
	BILLGUARD_DATABASE_URL=sqlite:///$(CURDIR)/var/test.sqlite3 $(BIN)/pytest -q -p no:cacheprovider

test-postgres: $(STAMP)
	BILLGUARD_DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/python -m billguard.cli.dbcheck
	BILLGUARD_DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest -q -p no:cacheprovider

test: lint typecheck test-sqlite test-postgres

clean:
	rm -rf $(VENV) var
