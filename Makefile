# The two commands of the README: `make demo` runs the main job on the embedded
# SQLite database, `make test` runs lint, type checks and the tests on SQLite and PostgreSQL.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
# The PostgreSQL server the tests use; pytest-django creates and drops its own test database there.
TEST_POSTGRES_URL ?= postgresql://root@127.0.0.1:5432/billguard_suite

# Debian's Chromium for the browser tests; root installs it, anyone else through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: browser demo test lint typecheck test-sqlite test-postgres bench bench-matching bench-leakage bench-import bench-web clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/billguard demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

test-sqlite: $(STAMP) browser
	BILLGUARD_DATABASE_URL=sqlite:///$(CURDIR)/var/test.sqlite3 $(BIN)/pytest -q -p no:cacheprovider

test-postgres: $(STAMP) browser
	BILLGUARD_DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/python -m billguard.cli.dbcheck
	BILLGUARD_DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest -q -p no:cacheprovider

# Headless Chromium from Debian's packages, driven by Playwright in tests/browser/.
browser:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -q && \
		$(SUDO) apt-get install -y -q --no-install-recommends chromium; }

test: lint typecheck browser test-sqlite test-postgres

# The billing run on a generated book (docs/benchmarks.md): PostgreSQL in its own database
# billguard_bench (dropped and created again) in process, then in queue mode on
# BENCH_QUEUE_WORKERS workers through Redis (0 skips it), then SQLite under var/bench/.
# Not part of `make test`. BENCH_CONTRACTS sets the book size (10 billed lines per contract),
# BENCH_SQLITE_CONTRACTS the SQLite book's, BENCH_CHUNK_SIZE the contracts per chunk (empty:
# the billing run's default).
BENCH_CONTRACTS ?= 100000
BENCH_SQLITE_CONTRACTS ?= 10000
BENCH_QUEUE_WORKERS ?= 2
BENCH_CHUNK_SIZE ?=
BENCH_POSTGRES_URL ?= postgresql://root@127.0.0.1:5432/billguard_bench
BENCH_OPTIONS = $(if $(BENCH_CHUNK_SIZE),--chunk-size $(BENCH_CHUNK_SIZE))

bench: $(STAMP)
	$(BIN)/python -m benchmarks --backend postgresql --database-url $(BENCH_POSTGRES_URL) \
		--contracts $(BENCH_CONTRACTS) $(BENCH_OPTIONS)
	$(if $(filter-out 0,$(BENCH_QUEUE_WORKERS)),$(BIN)/python -m benchmarks --backend postgresql \
		--database-url $(BENCH_POSTGRES_URL) --contracts $(BENCH_CONTRACTS) \
		--queue-workers $(BENCH_QUEUE_WORKERS) --skip-copy $(BENCH_OPTIONS))
	$(BIN)/python -m benchmarks --backend sqlite --contracts $(BENCH_SQLITE_CONTRACTS) $(BENCH_OPTIONS)
	$(MAKE) bench-matching bench-leakage bench-import bench-web

# The duplicate matcher (docs/benchmarks.md, "Duplicate parties"): precision, recall and F1
# on FEBRL 3, FEBRL 4 and generated companies, and the time to deduplicate
# BENCH_MATCHING_RECORDS generated parties (0 skips it) on BENCH_MATCHING_THREADS DuckDB threads.
BENCH_MATCHING_RECORDS ?= 1000000
BENCH_MATCHING_THREADS ?= 2

bench-matching: $(STAMP)
	mkdir -p var/bench
	$(BIN)/python -m benchmarks.matching --million $(BENCH_MATCHING_RECORDS) \
		--threads $(BENCH_MATCHING_THREADS) --json var/bench/matching.json

# The leakage audit (docs/benchmarks.md, "Leakage audit"): BENCH_LEAKAGE_CONTRACTS contracts
# with 10 imported invoice lines each, in the database billguard_leakage_bench (dropped and
# created again), timed on both audit engines against a bare aggregate of the same lines.
BENCH_LEAKAGE_CONTRACTS ?= 100000
BENCH_LEAKAGE_URL ?= postgresql://root@127.0.0.1:5432/billguard_leakage_bench

bench-leakage: $(STAMP)
	$(BIN)/python -m benchmarks.leakage --contracts $(BENCH_LEAKAGE_CONTRACTS) \
		--database-url $(BENCH_LEAKAGE_URL)

# The history import (docs/benchmarks.md, "History import"): a generated QuickBooks Online
# export of BENCH_IMPORT_LINES invoice lines as CSV on PostgreSQL (its own database
# billguard_history, dropped and created again), BENCH_IMPORT_SQLITE_LINES as CSV on SQLite,
# and BENCH_IMPORT_XLSX_LINES as XLSX on PostgreSQL. Each file is imported twice; the second
# import changes nothing. Figures go to var/bench/history-*/results-*.json.
BENCH_IMPORT_LINES ?= 1000000
BENCH_IMPORT_SQLITE_LINES ?= 200000
BENCH_IMPORT_XLSX_LINES ?= 100000
BENCH_IMPORT_POSTGRES_URL ?= postgresql://root@127.0.0.1:5432/billguard_history

bench-import: $(STAMP)
	$(BIN)/python -m benchmarks.history_import --backend postgresql \
		--database-url $(BENCH_IMPORT_POSTGRES_URL) --lines $(BENCH_IMPORT_LINES)
	$(BIN)/python -m benchmarks.history_import --backend sqlite --lines $(BENCH_IMPORT_SQLITE_LINES)
	$(BIN)/python -m benchmarks.history_import --backend postgresql --format xlsx \
		--database-url $(BENCH_IMPORT_POSTGRES_URL) --lines $(BENCH_IMPORT_XLSX_LINES)

# The web pages (docs/benchmarks.md, "Web pages"): BENCH_WEB_CONTRACTS contracts with a year of
# billing (ten invoice lines per contract) in the database billguard_pages_bench (dropped and
# created again), each page fetched BENCH_WEB_REQUESTS times through gunicorn by a signed-in
# HTTP client. Figures go to var/bench/pages/results.json.
BENCH_WEB_CONTRACTS ?= 100000
BENCH_WEB_REQUESTS ?= 40
BENCH_WEB_URL ?= postgresql://root@127.0.0.1:5432/billguard_pages_bench

bench-web: $(STAMP)
	$(BIN)/python -m benchmarks.pages --contracts $(BENCH_WEB_CONTRACTS) \
		--requests $(BENCH_WEB_REQUESTS) --database-url $(BENCH_WEB_URL)

clean:
	rm -rf $(VENV) var
