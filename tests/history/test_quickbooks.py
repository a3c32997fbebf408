"""Importing QuickBooks Online exports: resolution, idempotency, dry run, links, payments."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from billguard.history.models import (
    HistoryImport,
    ImportedInvoice,
    ImportedInvoiceLine,
    ImportedPayment,
)
from billguard.history.services import history_import
from tests.history.conftest import (
    QUICKBOOKS_CREDIT_MEMO_HEADER,
    QUICKBOOKS_INVOICE_HEADER,
    QUICKBOOKS_PAYMENT_HEADER,
    Book,
    quickbooks_line,
    write_csv,
)

pytestmark = pytest.mark.django_db


def invoices_file(tmp_path: Path) -> Path:
    rows = [
        # Northwind has one contract: found by date. The usage line has no Service Date, so
        # it is billed in arrears: October.
        quickbooks_line("1001", "Northwind Traders GmbH"),
        quickbooks_line(
            "1001", "Northwind Traders GmbH", item="API-CALLS", quantity="400", rate="0.25",
            amount="100.00", tax="19.00",
        ),
        # Contoso has two contracts: the memo names one; the Service Date sets the period.
        quickbooks_line(
            "1002", "contoso ltd.", memo="Contract C-3, November", service_date="10/15/2026"
        ),
        # Contoso again without a contract number: two contracts cover the date.
        quickbooks_line("1003", "Contoso Ltd"),
        # No customer has that name.
        quickbooks_line("1004", "Unknown Buyer LLC", item="CONSULTING"),
        # Fabrikam's contract starts on 2026-06-01.
        quickbooks_line("1005", "Fabrikam Inc", date="05/10/2026", due="06/09/2026"),
    ]  # fmt: skip
    return write_csv(tmp_path / "invoices.csv", QUICKBOOKS_INVOICE_HEADER, rows)


def test_import_resolves_customer_contract_and_lines(tmp_path, book: Book, sample_users):
    outcome = history_import(
        system="quickbooks", invoices=invoices_file(tmp_path), by=sample_users["fran.finance"]
    )

    assert outcome.invoices.created == 5
    assert outcome.invoices.lines == 6
    northwind = ImportedInvoice.objects.get(source="quickbooks", external_id="1001")
    assert northwind.party == book.northwind.party
    assert northwind.contract == book.northwind
    assert northwind.bill_to is not None
    assert northwind.issue_date == dt.date(2026, 11, 1)
    assert northwind.due_date == dt.date(2026, 12, 1)
    assert northwind.line_extension == Decimal("1100.00")
    assert northwind.tax_total == Decimal("209.00")
    assert northwind.total == Decimal("1309.00")
    platform, usage = northwind.lines.order_by("position")
    assert (platform.item_code, platform.line_code) == ("PLATFORM", "L1")
    assert (platform.service_start, platform.service_end) == (
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 30),
    )
    assert platform.tax_rate == Decimal("19")
    assert (usage.line_code, usage.quantity, usage.unit_price) == ("L2", 400, Decimal("0.25"))
    assert (usage.service_start, usage.service_end) == (
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 31),
    )

    contoso = ImportedInvoice.objects.get(external_id="1002")
    assert contoso.contract == book.contoso_second
    assert contoso.reference == "Contract C-3, November"
    line = contoso.lines.get()
    assert (line.service_start, line.service_end) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))


def test_import_reports_what_stays_unresolved(tmp_path, book: Book, sample_users):
    outcome = history_import(
        system="quickbooks", invoices=invoices_file(tmp_path), by=sample_users["fran.finance"]
    )

    assert [(u.number, u.issue) for u in outcome.unresolved_customers] == [
        ("1004", "no customer is named or coded 'Unknown Buyer LLC'")
    ]
    assert [(u.number, u.issue) for u in outcome.unresolved_contracts] == [
        ("1003", "2 contracts cover 2026-11-01 (C-2, C-3)"),
        ("1005", "no contract of the customer covers 2026-05-10"),
    ]
    unknown = ImportedInvoice.objects.get(external_id="1004")
    assert unknown.party is None
    assert unknown.contract is None
    assert unknown.lines.get().line_code == ""
    ambiguous = ImportedInvoice.objects.get(external_id="1003")
    assert ambiguous.party == book.contoso_first.party
    assert ambiguous.contract is None
    assert outcome.lines_without_contract_line == 3


def test_second_import_changes_nothing(tmp_path, book: Book, sample_users):
    path = invoices_file(tmp_path)
    history_import(system="quickbooks", invoices=path, by=sample_users["fran.finance"])
    before = list(ImportedInvoiceLine.objects.order_by("id").values())
    imported_at = set(ImportedInvoice.objects.values_list("imported_at", flat=True))

    outcome = history_import(system="quickbooks", invoices=path, by=sample_users["fran.finance"])

    assert outcome.changed is False
    assert outcome.invoices.unchanged == 5
    assert outcome.invoices.created == 0
    assert outcome.invoices.updated == 0
    assert list(ImportedInvoiceLine.objects.order_by("id").values()) == before
    assert set(ImportedInvoice.objects.values_list("imported_at", flat=True)) == imported_at
    assert HistoryImport.objects.count() == 1


def test_changed_document_is_replaced(tmp_path, book: Book, sample_users):
    path = invoices_file(tmp_path)
    history_import(system="quickbooks", invoices=path, by=sample_users["fran.finance"])
    rows = [quickbooks_line("1001", "Northwind Traders GmbH", quantity="2", amount="2000.00")]
    changed = write_csv(tmp_path / "changed.csv", QUICKBOOKS_INVOICE_HEADER, rows)

    outcome = history_import(system="quickbooks", invoices=changed, by=sample_users["fran.finance"])

    assert (outcome.invoices.updated, outcome.invoices.created) == (1, 0)
    invoice = ImportedInvoice.objects.get(external_id="1001")
    assert invoice.lines.count() == 1
    assert invoice.line_extension == Decimal("2000.00")
    assert ImportedInvoice.objects.count() == 5


def test_dry_run_writes_nothing(tmp_path, book: Book, sample_users):
    outcome = history_import(
        system="quickbooks", invoices=invoices_file(tmp_path), dry_run=True, by=None
    )

    assert outcome.invoices.created == 5
    assert outcome.dry_run is True
    assert ImportedInvoice.objects.count() == 0
    assert ImportedInvoiceLine.objects.count() == 0
    assert HistoryImport.objects.count() == 0


def test_import_needs_a_permitted_user(tmp_path, book: Book, sample_users):
    from billguard.domain.errors import InvalidInput, NotAllowed

    with pytest.raises(NotAllowed):
        history_import(
            system="quickbooks", invoices=invoices_file(tmp_path), by=sample_users["sam.sales"]
        )
    with pytest.raises(InvalidInput):
        history_import(system="quickbooks", invoices=invoices_file(tmp_path), by=None)
    assert ImportedInvoice.objects.count() == 0


def test_credit_memo_links_to_invoice_and_its_contract(tmp_path, book: Book, sample_users):
    credit = [
        "CM-1", "Contoso Ltd", "11/20/2026", "Credit for invoice 1002", "PLATFORM",
        "Platform fee", "1", "100.00", "100.00", "19% VAT", "19.00", "EUR", "",
    ]  # fmt: skip
    credits = write_csv(tmp_path / "credits.csv", QUICKBOOKS_CREDIT_MEMO_HEADER, [credit])

    outcome = history_import(
        system="quickbooks",
        invoices=invoices_file(tmp_path),
        credit_notes=credits,
        by=sample_users["fran.finance"],
    )

    note = ImportedInvoice.objects.get(external_id="credit-note/CM-1")
    assert note.document_type == ImportedInvoice.DocumentType.CREDIT_NOTE
    assert note.credited_invoice == ImportedInvoice.objects.get(external_id="1002")
    assert note.contract == book.contoso_second
    assert note.total == Decimal("119.00")
    assert note.lines.get().line_code == "L1"
    assert outcome.credit_notes_linked == 1


def test_credit_memo_may_share_invoice_number(tmp_path, book: Book, sample_users):
    credit = [
        "1001", "Northwind Traders GmbH", "11/20/2026", "", "PLATFORM", "", "1", "10.00",
        "10.00", "", "", "EUR", "",
    ]  # fmt: skip
    credits = write_csv(tmp_path / "credits.csv", QUICKBOOKS_CREDIT_MEMO_HEADER, [credit])

    history_import(
        system="quickbooks",
        invoices=invoices_file(tmp_path),
        credit_notes=credits,
        by=sample_users["fran.finance"],
    )

    assert ImportedInvoice.objects.filter(number="1001").count() == 2
    assert ImportedInvoice.objects.get(external_id="credit-note/1001").credited_invoice is None


def test_payments_allocate_to_named_invoices(tmp_path, book: Book, sample_users):
    payments = write_csv(
        tmp_path / "payments.csv",
        QUICKBOOKS_PAYMENT_HEADER,
        [
            ["P-1", "11/25/2026", "CHK-1", "Northwind Traders GmbH", "Check", "Checking",
             "1001", "1309.00", "", "EUR"],
            ["P-2", "11/26/2026", "ACH-2", "Contoso Ltd", "ACH", "Checking", "1002", "500.00",
             "", "EUR"],
            ["P-2", "11/26/2026", "ACH-2", "Contoso Ltd", "ACH", "Checking", "1003", "700.00",
             "", "EUR"],
        ],
    )  # fmt: skip

    outcome = history_import(
        system="quickbooks",
        invoices=invoices_file(tmp_path),
        payments=payments,
        by=sample_users["fran.finance"],
    )

    assert outcome.payments.created == 2
    assert outcome.allocations == 3
    split = ImportedPayment.objects.get(external_id="P-2")
    assert split.amount == Decimal("1200.00")
    assert split.received_on == dt.date(2026, 11, 26)
    assert split.reference == "ACH-2"
    assert split.party == book.contoso_first.party
    allocated = sorted(
        (a.invoice.number, a.amount) for a in split.allocations.select_related("invoice")
    )
    assert allocated == [("1002", Decimal("500.00")), ("1003", Decimal("700.00"))]

    again = history_import(system="quickbooks", payments=payments, by=sample_users["fran.finance"])
    assert again.payments.unchanged == 2
    assert again.changed is False


def xero_invoices_file(tmp_path: Path) -> Path:
    header = [
        "*ContactName", "*InvoiceNumber", "Reference", "*InvoiceDate", "*DueDate",
        "InventoryItemCode", "*Description", "*Quantity", "*UnitAmount", "*AccountCode",
        "*TaxType", "TaxAmount", "Currency",
    ]  # fmt: skip
    rows = [
        ["Contoso Ltd", "INV-1", "C-2", "01/11/2026", "01/12/2026", "PLATFORM", "Platform",
         "1", "1000.00", "200", "19% VAT", "190.00", "EUR"],
        ["Contoso Ltd", "INV-1", "C-2", "01/11/2026", "01/12/2026", "API-CALLS", "Calls",
         "333", "0.255", "200", "19% VAT", "16.14", "EUR"],
        ["Northwind Traders GmbH", "INV-2", "", "15/11/2026", "15/12/2026", "Cat:PLATFORM",
         "Platform", "2", "1000.00", "200", "", "", "EUR"],
    ]  # fmt: skip
    return write_csv(tmp_path / "xero.csv", header, rows)


@pytest.mark.parametrize("system", ["quickbooks", "xero"])
def test_fast_path_matches_row_by_row_path(tmp_path, book: Book, sample_users, monkeypatch, system):
    """On PostgreSQL a CSV file is read with DuckDB; both paths store the same values."""
    import billguard.history.fast_import as fast_import

    columns = [
        "external_id", "party_id", "bill_to_id", "contract_id", "issue_date", "due_date",
        "currency", "line_extension", "tax_total", "total", "reference",
        "lines__position", "lines__item_code", "lines__line_code", "lines__quantity",
        "lines__unit_price", "lines__net_amount", "lines__tax_rate", "lines__tax_amount",
        "lines__service_start", "lines__service_end",
    ]  # fmt: skip
    path = invoices_file(tmp_path) if system == "quickbooks" else xero_invoices_file(tmp_path)
    used = []
    original = fast_import.documents_import_fast

    def recording(**kwargs):  # type: ignore[no-untyped-def]
        result = original(**kwargs)
        used.append(result)
        return result

    monkeypatch.setattr(fast_import, "documents_import_fast", recording)
    history_import(system=system, invoices=path, by=sample_users["fran.finance"])
    first = list(
        ImportedInvoice.objects.order_by("external_id", "lines__position").values_list(*columns)
    )
    assert used == ([True] if connection.vendor == "postgresql" else [])

    ImportedInvoiceLine.objects.all().delete()
    ImportedInvoice.objects.all().delete()
    monkeypatch.setattr(fast_import, "fast_path_applies", lambda path: False)
    history_import(system=system, invoices=path, by=sample_users["fran.finance"])
    second = list(
        ImportedInvoice.objects.order_by("external_id", "lines__position").values_list(*columns)
    )

    assert first == second
    assert len(first) == (6 if system == "quickbooks" else 3)


def test_import_record_names_file_digests(tmp_path, book: Book, sample_users):
    invoices = invoices_file(tmp_path)
    credits = write_csv(
        tmp_path / "credits.csv",
        QUICKBOOKS_CREDIT_MEMO_HEADER,
        [["CM-1", "Contoso Ltd", "11/20/2026", "Credit for invoice 1002", "PLATFORM",
          "Platform fee", "1", "100.00", "100.00", "19% VAT", "19.00", "EUR", ""]],
    )  # fmt: skip

    outcome = history_import(
        system="quickbooks", invoices=invoices, credit_notes=credits,
        by=sample_users["fran.finance"],
    )  # fmt: skip

    files = HistoryImport.objects.get(pk=outcome.import_id).files
    assert files["invoices"] == {
        "name": invoices.name,
        "sha256": hashlib.sha256(invoices.read_bytes()).hexdigest(),
    }
    assert files["credit_notes"]["sha256"] == hashlib.sha256(credits.read_bytes()).hexdigest()


def test_spaced_column_labels_are_read(tmp_path, book: Book, sample_users):
    """QuickBooks Online's import screen labels the columns "*Invoice number", "Item Rate"..."""
    header = [
        "*Invoice number", "*Customer", "*Invoice date", "*Due date", "Terms", "Memo",
        "Item (Product/Service)", "Item Description", "Item Quantity", "Item Rate",
        "*Item Amount", "Item tax code", "Service Date",
    ]  # fmt: skip
    row = [
        "2001", "Northwind Traders GmbH", "11/01/2026", "12/01/2026", "Net 30", "",
        "PLATFORM", "Platform fee", "1", "1000.00", "1000.00", "NON", "11/01/2026",
    ]  # fmt: skip
    path = write_csv(tmp_path / "labels.csv", header, [row])

    history_import(
        system="quickbooks", invoices=path, default_currency="EUR", by=sample_users["fran.finance"]
    )

    line = ImportedInvoiceLine.objects.get(invoice__external_id="2001")
    assert (line.item_code, line.line_code, line.unit_price) == ("PLATFORM", "L1", 1000)
    assert line.invoice.contract == book.northwind


def test_row_with_extra_cell_still_imports(tmp_path, book: Book, sample_users):
    """DuckDB rejects a row longer than the header; the row-by-row parser takes the file."""
    rows = [
        quickbooks_line("1001", "Northwind Traders GmbH"),
        [*quickbooks_line("1002", "Contoso Ltd", memo="C-2"), "extra"],
    ]
    path = write_csv(tmp_path / "ragged.csv", QUICKBOOKS_INVOICE_HEADER, rows)

    outcome = history_import(system="quickbooks", invoices=path, by=sample_users["fran.finance"])

    assert outcome.invoices.created == 2
    assert outcome.invoices.lines == 2
    assert outcome.unresolved_contracts == []
    assert ImportedInvoice.objects.get(external_id="1002").contract == book.contoso_first


def test_merged_customer_resolves_to_survivor(tmp_path, book: Book, sample_users):
    from django.utils import timezone

    from tests.factories import make_customer

    merged, _ = make_customer("CUST-OLD", name="Northwind Trading", tax_id="DE811569869")
    merged.merged_into = book.northwind.party
    merged.archived_at = timezone.now()
    merged.save(update_fields=["merged_into", "archived_at"])
    rows = [quickbooks_line("3001", "Northwind Trading")]
    path = write_csv(tmp_path / "merged.csv", QUICKBOOKS_INVOICE_HEADER, rows)

    history_import(system="quickbooks", invoices=path, by=sample_users["fran.finance"])

    invoice = ImportedInvoice.objects.get(external_id="3001")
    assert invoice.party == book.northwind.party
    assert invoice.contract == book.northwind
