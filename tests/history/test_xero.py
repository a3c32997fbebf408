"""Importing Xero exports: day-first dates, discounts, credit notes, payments, XLSX."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billguard.history.models import ImportedInvoice, ImportedPayment
from billguard.history.services import history_import
from tests.history.conftest import (
    XERO_CREDIT_NOTE_HEADER,
    XERO_INVOICE_HEADER,
    XERO_PAYMENT_HEADER,
    Book,
    write_csv,
    write_xlsx,
)

pytestmark = pytest.mark.django_db


def xero_rows() -> list[list[str]]:
    return [
        [
            "Contoso Ltd", "ap@contoso.example", "INV-0001", "C-2 November", "01/11/2026",
            "01/12/2026", "PLATFORM", "Platform fee", "1", "1000.00", "10", "200", "19% VAT",
            "171.00", "EUR",
        ],
        [
            "Contoso Ltd", "ap@contoso.example", "INV-0001", "C-2 November", "01/11/2026",
            "01/12/2026", "API-CALLS", "API calls", "333", "0.25", "", "200", "19% VAT",
            "15.82", "EUR",
        ],
    ]  # fmt: skip


def test_xero_invoice_with_discount(tmp_path, book: Book, sample_users):
    path = write_csv(tmp_path / "xero.csv", XERO_INVOICE_HEADER, xero_rows())

    outcome = history_import(system="xero", invoices=path, by=sample_users["fran.finance"])

    assert outcome.invoices.created == 1
    invoice = ImportedInvoice.objects.get(source="xero", external_id="INV-0001")
    assert invoice.issue_date == dt.date(2026, 11, 1)
    assert invoice.contract == book.contoso_first
    platform, usage = invoice.lines.order_by("position")
    assert platform.discount_percent == Decimal("10")
    assert platform.unit_price == Decimal("1000.00")
    assert platform.net_amount == Decimal("900.00")
    assert platform.account_code == "200"
    # 333 x 0.25 = 83.25, no rounding needed; billed in arrears: October.
    assert usage.net_amount == Decimal("83.25")
    assert (usage.service_start, usage.service_end) == (
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 31),
    )
    assert invoice.line_extension == Decimal("983.25")
    assert invoice.tax_total == Decimal("186.82")


def test_xero_credit_note_links_by_reference(tmp_path, book: Book, sample_users):
    invoices = write_csv(tmp_path / "xero.csv", XERO_INVOICE_HEADER, xero_rows())
    credit = [
        "Contoso Ltd", "", "CN-0001", "INV-0001", "15/11/2026", "PLATFORM", "Refund", "1",
        "100.00", "", "200", "19% VAT", "19.00", "EUR",
    ]  # fmt: skip
    credits = write_csv(tmp_path / "credits.csv", XERO_CREDIT_NOTE_HEADER, [credit])

    history_import(
        system="xero", invoices=invoices, credit_notes=credits, by=sample_users["fran.finance"]
    )

    note = ImportedInvoice.objects.get(source="xero", external_id="credit-note/CN-0001")
    assert note.credited_invoice is not None
    assert note.credited_invoice.number == "INV-0001"
    assert note.contract == book.contoso_first
    assert note.due_date is None


def test_xero_payment_takes_invoice_currency(tmp_path, book: Book, sample_users):
    invoices = write_csv(tmp_path / "xero.csv", XERO_INVOICE_HEADER, xero_rows())
    payments = write_csv(
        tmp_path / "payments.csv",
        XERO_PAYMENT_HEADER,
        [["b3c1e2f4-0001", "20/11/2026", "1170.07", "Bank transfer", "INV-0001", "", ""]],
    )

    outcome = history_import(
        system="xero", invoices=invoices, payments=payments, by=sample_users["fran.finance"]
    )

    payment = ImportedPayment.objects.get(source="xero")
    assert payment.external_id == "b3c1e2f4-0001"
    assert payment.currency == "EUR"
    assert payment.customer_name == "Contoso Ltd"
    assert payment.received_on == dt.date(2026, 11, 20)
    assert payment.allocations.get().invoice.number == "INV-0001"
    assert outcome.allocations == 1


def test_xlsx_matches_csv(tmp_path, book: Book, sample_users):
    rows: list[list[object]] = [list(row) for row in xero_rows()]
    for row in rows:
        row[4] = dt.date(2026, 11, 1)  # a date cell, as Excel stores it
        row[5] = dt.date(2026, 12, 1)
        row[8] = int(str(row[8]))
        row[9] = float(str(row[9]))
    path = write_xlsx(tmp_path / "xero.xlsx", XERO_INVOICE_HEADER, rows)

    history_import(system="xero", invoices=path, by=sample_users["fran.finance"])
    from_xlsx = ImportedInvoice.objects.get(source="xero")
    xlsx_lines = list(from_xlsx.lines.order_by("position").values_list("net_amount", "line_code"))

    assert from_xlsx.issue_date == dt.date(2026, 11, 1)
    assert from_xlsx.line_extension == Decimal("983.25")
    assert xlsx_lines == [(Decimal("900.00"), "L1"), (Decimal("83.25"), "L2")]
