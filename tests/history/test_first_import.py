"""Copying new documents straight into the history tables on PostgreSQL.

When none of a file's documents is stored, the documents and lines are copied into the final
tables, and a bulk import drops and rebuilds the secondary indexes and the foreign keys among
the history tables. These tests compare that with an import into a history that contains some
of the file's documents, which goes through the staging tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection

import billguard.history.storage as storage
from billguard.history.models import ImportedInvoice, ImportedInvoiceLine
from billguard.history.services import HistoryImportInvalid, history_import
from tests.history.conftest import (
    QUICKBOOKS_CREDIT_MEMO_HEADER,
    QUICKBOOKS_INVOICE_HEADER,
    QUICKBOOKS_PAYMENT_HEADER,
    Book,
    quickbooks_line,
    write_csv,
)
from tests.history.test_quickbooks import invoices_file

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the COPY path runs on PostgreSQL only"
    ),
]

HEADER_FIELDS = (
    "external_id", "document_type", "number", "customer_name", "party_id", "bill_to_id",
    "contract_id", "issue_date", "due_date", "currency", "line_extension", "tax_total", "total",
    "balance", "reference", "content_sha256", "credited_invoice__external_id",
)  # fmt: skip
LINE_FIELDS = (
    "invoice__external_id", "position", "item_code", "line_code", "description", "quantity",
    "unit_price", "net_amount", "tax_code", "tax_rate", "tax_amount", "discount_percent",
    "account_code", "service_start", "service_end",
)  # fmt: skip


def stored_history() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Return every stored document and line, without database ids and import times."""
    documents = list(ImportedInvoice.objects.order_by("external_id").values_list(*HEADER_FIELDS))
    lines = list(
        ImportedInvoiceLine.objects.order_by("invoice__external_id", "position").values_list(
            *LINE_FIELDS
        )
    )
    return documents, lines


def schema_of_history() -> list[tuple[str, str]]:
    """Return the definition of every index and constraint of the invoice and line tables."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename IN (%s, %s) "
            "UNION ALL SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid IN (%s::regclass, %s::regclass) ORDER BY 1",
            [storage.INVOICES, storage.LINES, storage.INVOICES, storage.LINES],
        )
        return cursor.fetchall()


def bulk_import_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take the bulk branch whatever the size. It also depends on the planner's row estimate
    of the line table, which index builds in earlier tests leave behind."""
    monkeypatch.setattr(storage, "_is_bulk", lambda cursor, line_count: True)


def record_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[str]:
    """Record each call of the storage function ``name`` made by the DuckDB path."""
    import billguard.history.fast_import as fast_import

    calls: list[str] = []
    original = getattr(fast_import, name)

    def recording(**kwargs: Any) -> Any:
        calls.append(name)
        return original(**kwargs)

    monkeypatch.setattr(fast_import, name, recording)
    return calls


def test_first_import_matches_import_into_stored_history(
    tmp_path: Path, book: Book, sample_users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = sample_users["fran.finance"]
    path = invoices_file(tmp_path)
    bulk_import_forced(monkeypatch)
    copied = record_calls(monkeypatch, "documents_copy_new")
    staged = record_calls(monkeypatch, "documents_write")

    outcome = history_import(system="quickbooks", invoices=path, by=user)
    first = stored_history()

    assert (copied, staged) == (["documents_copy_new"], [])
    assert outcome.invoices.created == 5
    assert len(first[0]) == 5
    assert len(first[1]) == 6

    ImportedInvoiceLine.objects.all().delete()
    ImportedInvoice.objects.all().delete()
    older = [quickbooks_line("1001", "Northwind Traders GmbH", quantity="2", amount="2000.00")]
    history_import(
        system="quickbooks",
        invoices=write_csv(tmp_path / "older.csv", QUICKBOOKS_INVOICE_HEADER, older),
        by=user,
    )
    copied.clear()
    staged.clear()

    outcome = history_import(system="quickbooks", invoices=path, by=user)

    assert (copied, staged) == ([], ["documents_write"])
    assert (outcome.invoices.created, outcome.invoices.updated) == (4, 1)
    assert stored_history() == first


def test_bulk_import_restores_indexes_and_foreign_keys(
    tmp_path: Path, book: Book, sample_users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = schema_of_history()
    bulk_import_forced(monkeypatch)

    history_import(
        system="quickbooks", invoices=invoices_file(tmp_path), by=sample_users["fran.finance"]
    )

    assert schema_of_history() == before
    assert any("FOREIGN KEY (invoice_id)" in definition for _, definition in before)
    assert ImportedInvoiceLine.objects.count() == 6


def test_bulk_import_of_invoices_and_credit_memos(
    tmp_path: Path, book: Book, sample_users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = schema_of_history()
    bulk_import_forced(monkeypatch)
    prepared = record_calls_in_storage(monkeypatch, "_bulk_prepare")
    credit = [
        "CM-1", "Contoso Ltd", "11/20/2026", "Credit for invoice 1002", "PLATFORM",
        "Platform fee", "1", "100.00", "100.00", "19% VAT", "19.00", "EUR", "",
    ]  # fmt: skip

    outcome = history_import(
        system="quickbooks",
        invoices=invoices_file(tmp_path),
        credit_notes=write_csv(tmp_path / "credits.csv", QUICKBOOKS_CREDIT_MEMO_HEADER, [credit]),
        by=sample_users["fran.finance"],
    )

    # The second file alters the tables while the checks of the first file's rows are pending.
    assert prepared == ["_bulk_prepare", "_bulk_prepare"]
    assert outcome.credit_notes_linked == 1
    note = ImportedInvoice.objects.get(external_id="credit-note/CM-1")
    assert note.credited_invoice == ImportedInvoice.objects.get(external_id="1002")
    assert note.lines.get().line_code == "L1"
    assert schema_of_history() == before


def test_bulk_import_below_threshold_keeps_indexes(
    tmp_path: Path, book: Book, sample_users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = record_calls_in_storage(monkeypatch, "_bulk_prepare")

    history_import(
        system="quickbooks", invoices=invoices_file(tmp_path), by=sample_users["fran.finance"]
    )

    assert prepared == []
    assert ImportedInvoice.objects.count() == 5


def test_bulk_import_rolls_back_with_the_whole_import(
    tmp_path: Path, book: Book, sample_users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = schema_of_history()
    bulk_import_forced(monkeypatch)
    prepared = record_calls_in_storage(monkeypatch, "_bulk_prepare")
    # The payment names an invoice that is in no file, so the whole import is rejected after
    # the invoices were copied.
    payments = write_csv(
        tmp_path / "payments.csv",
        QUICKBOOKS_PAYMENT_HEADER,
        [["P-1", "11/20/2026", "", "Contoso Ltd", "", "", "9999", "10.00", "", "EUR"]],
    )

    with pytest.raises(HistoryImportInvalid, match="9999"):
        history_import(
            system="quickbooks",
            invoices=invoices_file(tmp_path),
            payments=payments,
            by=sample_users["fran.finance"],
        )

    assert prepared == ["_bulk_prepare"]
    assert ImportedInvoice.objects.count() == 0
    assert ImportedInvoiceLine.objects.count() == 0
    assert schema_of_history() == before


def record_calls_in_storage(monkeypatch: pytest.MonkeyPatch, name: str) -> list[str]:
    """Record each call of the storage module's private function ``name``."""
    calls: list[str] = []
    original = getattr(storage, name)

    def recording(*args: Any) -> Any:
        calls.append(name)
        return original(*args)

    monkeypatch.setattr(storage, name, recording)
    return calls
