"""Planner statistics of the invoice tables, refreshed by the billing run as they grow."""

from __future__ import annotations

import pytest
from django.db import connection

from billguard.billing import statistics
from billguard.billing.models import Invoice, InvoiceLine
from billguard.billing.run import billing_run_execute
from billguard.billing.statistics import grown_tables, statistics_refresh
from billguard.domain.periods import parse_period
from tests.factories import make_contract

pytestmark = pytest.mark.django_db(transaction=True)

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="planner statistics are PostgreSQL's"
)


def analyze_empty_tables() -> None:
    """Make the statistics describe the tables as the test starts: empty."""
    with connection.cursor() as cursor:
        for model in (Invoice, InvoiceLine):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def described_rows(table: str) -> float:
    """Return the row count that the table's statistics describe (-1: never analyzed)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        (rows,) = cursor.fetchone()
    return float(rows)


@postgresql_only
def test_run_analyzes_grown_invoice_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    analyze_empty_tables()
    monkeypatch.setattr(statistics, "MIN_NEW_PAGES", 0)
    make_contract()
    lines = InvoiceLine._meta.db_table
    assert described_rows(lines) == 0

    billing_run_execute(period=parse_period("2026-11"))

    assert InvoiceLine.objects.count() > 0
    assert described_rows(Invoice._meta.db_table) == Invoice.objects.count()
    assert described_rows(lines) == InvoiceLine.objects.count()
    assert grown_tables() == []


@postgresql_only
def test_refresh_skips_tables_within_growth(monkeypatch: pytest.MonkeyPatch) -> None:
    analyze_empty_tables()
    make_contract()
    # Below MIN_NEW_PAGES: the run leaves the statistics of its few rows alone.
    billing_run_execute(period=parse_period("2026-11"))
    assert described_rows(Invoice._meta.db_table) == 0
    monkeypatch.setattr(statistics, "MIN_NEW_PAGES", 0)

    analyzed = statistics_refresh()
    again = statistics_refresh()

    assert Invoice._meta.db_table in analyzed
    assert InvoiceLine._meta.db_table in analyzed
    assert again == []


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite keeps no such statistics")
def test_refresh_does_nothing_on_sqlite() -> None:
    make_contract()
    billing_run_execute(period=parse_period("2026-11"))

    assert grown_tables() == []
    assert statistics_refresh() == []
