"""The DuckDB path resolves documents as the row-by-row path does.

On PostgreSQL a CSV export is resolved set-based in DuckDB (history/fast_resolution.py); the
row-by-row path resolves one document at a time (history/resolution.py). One file covers
each rule. The customer is named or coded, the contract named in the memo or covering the
day. A memo names another customer's contract, two customers share one name, and credit
notes take the terms of the invoice they credit. Both paths must store the same documents
and report the same unresolved ones, with the same wording.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection

import billguard.history.fast_import as fast_import
from billguard.history.models import ImportedInvoice, ImportedInvoiceLine
from billguard.history.services import ImportOutcome, history_import
from tests.factories import make_customer
from tests.history.conftest import (
    QUICKBOOKS_CREDIT_MEMO_HEADER,
    QUICKBOOKS_INVOICE_HEADER,
    Book,
    quickbooks_line,
    write_csv,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the DuckDB path runs on PostgreSQL only"
    ),
]

STORED = (
    "external_id", "document_type", "customer_name", "party__code", "bill_to__code",
    "contract__number", "credited_invoice__external_id", "lines__line_code",
    "lines__service_start", "lines__service_end",
)  # fmt: skip


def export_files(tmp_path: Path) -> tuple[Path, Path]:
    invoices = [
        quickbooks_line("1001", "Northwind Traders GmbH"),
        quickbooks_line("1002", "Contoso Ltd"),
        quickbooks_line("1003", "Contoso Ltd", memo="Contract C-3, November"),
        quickbooks_line("1004", "Contoso Ltd", memo="C-1 renewal"),
        quickbooks_line("1005", "Unknown Corp"),
        quickbooks_line("1006", "Unknown Corp", memo="see C-4 and C-2"),
        quickbooks_line("1007", "Fabrikam Inc", date="01/15/2026", due="02/15/2026"),
        quickbooks_line("1008", "CUST-A", item="API-CALLS", quantity="4", rate="0.25",
                        amount="1.00", tax="0.19"),
        quickbooks_line("1009", "Fabrikam Inc", memo="c-4", date="03/02/2026",
                        due="04/02/2026", service_date="03/01/2026"),
        quickbooks_line("1010", "Adatum"),
        quickbooks_line("1011", "Adatum", memo="Contract C-1"),
        quickbooks_line("1012", "Parent Co:Northwind Traders GmbH", service_date="10/01/2026"),
    ]  # fmt: skip
    credits = [
        ["CM-1", "Contoso Ltd", "11/20/2026", "Credit for invoice 1003", "PLATFORM",
         "Platform fee", "1", "100.00", "100.00", "19% VAT", "19.00", "EUR", ""],
        ["CM-2", "Unknown Corp", "11/20/2026", "Refund 1001", "PLATFORM", "Platform fee",
         "1", "50.00", "50.00", "19% VAT", "9.50", "EUR", ""],
        ["CM-3", "Contoso Ltd", "11/21/2026", "no invoice named", "PLATFORM",
         "Platform fee", "1", "10.00", "10.00", "19% VAT", "1.90", "EUR", ""],
        ["CM-4", "Northwind Traders GmbH", "11/22/2026", "1002 1001", "PLATFORM",
         "Platform fee", "1", "10.00", "10.00", "19% VAT", "1.90", "EUR", ""],
    ]  # fmt: skip
    return (
        write_csv(tmp_path / "invoices.csv", QUICKBOOKS_INVOICE_HEADER, invoices),
        write_csv(tmp_path / "credits.csv", QUICKBOOKS_CREDIT_MEMO_HEADER, credits),
    )


def imported(tmp_path: Path, user: Any) -> tuple[ImportOutcome, list[tuple[Any, ...]]]:
    invoices, credits = export_files(tmp_path)
    outcome = history_import(system="quickbooks", invoices=invoices, credit_notes=credits, by=user)
    stored = list(
        ImportedInvoice.objects.order_by("external_id", "lines__position").values_list(*STORED)
    )
    ImportedInvoiceLine.objects.all().delete()
    ImportedInvoice.objects.filter(document_type="credit_note").delete()
    ImportedInvoice.objects.all().delete()
    return outcome, stored


def reported(outcome: ImportOutcome) -> dict[str, Any]:
    return {
        "customers": [(u.number, u.customer, u.issue) for u in outcome.unresolved_customers],
        "contracts": [(u.number, u.customer, u.issue) for u in outcome.unresolved_contracts],
        "linked": outcome.credit_notes_linked,
        "invoices": outcome.invoices,
        "credit_notes": outcome.credit_notes,
        "without_line": outcome.lines_without_contract_line,
    }


def test_duckdb_resolution_matches_row_by_row(
    tmp_path: Path, book: Book, sample_users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_customer("CUST-E", name="Adatum GmbH", tax_id="DE812345673")
    make_customer("CUST-F", name="Adatum AG", tax_id="DE812345681")
    user = sample_users["fran.finance"]
    used: list[bool] = []
    original = fast_import.documents_import_fast

    def recording(**kwargs: Any) -> bool:
        result = original(**kwargs)
        used.append(result)
        return result

    monkeypatch.setattr(fast_import, "documents_import_fast", recording)
    fast_outcome, fast_stored = imported(tmp_path, user)
    monkeypatch.setattr(fast_import, "fast_path_applies", lambda path: False)
    row_outcome, row_stored = imported(tmp_path, user)

    assert used == [True, True]
    assert fast_stored == row_stored
    assert reported(fast_outcome) == reported(row_outcome)


def test_duckdb_resolution_reports_each_rule(
    tmp_path: Path, book: Book, sample_users: dict[str, Any]
) -> None:
    make_customer("CUST-E", name="Adatum GmbH", tax_id="DE812345673")
    make_customer("CUST-F", name="Adatum AG", tax_id="DE812345681")

    outcome, stored = imported(tmp_path, sample_users["fran.finance"])

    contracts = {row[0]: row[5] for row in stored}
    assert contracts["1001"] == "C-1"
    assert contracts["1003"] == "C-3"
    assert contracts["1006"] == "C-4"
    assert contracts["1008"] == "C-1"
    assert contracts["1012"] == "C-1"
    assert contracts["credit-note/CM-1"] == "C-3"
    assert contracts["credit-note/CM-4"] == "C-1"
    issues = {u.number: u.issue for u in outcome.unresolved_contracts}
    assert issues["1002"] == "2 contracts cover 2026-11-01 (C-2, C-3)"
    assert issues["1004"] == "contract C-1 belongs to another customer"
    assert issues["1007"] == "no contract of the customer covers 2026-01-15"
    customers = {u.number: u.issue for u in outcome.unresolved_customers}
    assert customers["1005"] == "no customer is named or coded 'Unknown Corp'"
    assert customers["1010"] == "'Adatum' matches 2 customers"
    assert "1011" not in customers
    assert outcome.credit_notes_linked == 3
