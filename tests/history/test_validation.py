"""Every kind of bad row is reported at once, with its place and fix, and nothing is written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billguard.history.models import ImportedInvoice, ImportedPayment
from billguard.history.services import HistoryImportInvalid, history_import
from tests.history.conftest import (
    QUICKBOOKS_CREDIT_MEMO_HEADER,
    QUICKBOOKS_INVOICE_HEADER,
    QUICKBOOKS_PAYMENT_HEADER,
    XERO_INVOICE_HEADER,
    Book,
    quickbooks_line,
    write_csv,
)

pytestmark = pytest.mark.django_db

CUSTOMER = "Northwind Traders GmbH"


def problems_of(tmp_path, rows, *, user, **options):  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "invoices.csv", QUICKBOOKS_INVOICE_HEADER, rows)
    with pytest.raises(HistoryImportInvalid) as raised:
        history_import(system="quickbooks", invoices=path, by=user, **options)
    return {(p.place, str(p.value)): p for p in raised.value.problems}


def test_every_bad_row_reported_at_once(tmp_path, book: Book, sample_users):
    rows = [
        quickbooks_line("", CUSTOMER),  # row 2: no number
        quickbooks_line("2", CUSTOMER, date="13/45/2026"),  # row 3: no such date
        quickbooks_line("3", CUSTOMER, amount="12,5", rate="12,5"),  # row 4: decimal comma
        quickbooks_line("4", CUSTOMER, quantity="2", amount="1000.00"),  # row 5: 2 x 1000
        quickbooks_line("5", CUSTOMER, currency="EURO"),  # row 6: not ISO 4217
        quickbooks_line("6", CUSTOMER, rate="10.005", amount="10.005"),  # row 7: 3 decimals
        quickbooks_line("7", CUSTOMER, currency="JPY", rate="100.5", amount="100.5", tax="0"),
        quickbooks_line("8", CUSTOMER),  # row 9: first line of 8
        quickbooks_line("8", "Contoso Ltd"),  # row 10: another customer on the same invoice
        quickbooks_line("9", CUSTOMER, date="11/10/2026", due="11/01/2026"),  # row 11
        quickbooks_line("10", CUSTOMER, quantity="-1", amount="-1000.00", tax="0"),  # row 12
        quickbooks_line("11", "", item="PLATFORM"),  # row 13: no customer
        quickbooks_line("12", CUSTOMER, service_date="2026-02-30"),  # row 14
        quickbooks_line("13", CUSTOMER, amount=""),  # row 15: no ItemAmount
    ]

    problems = problems_of(tmp_path, rows, user=sample_users["fran.finance"])

    expected = {
        ("invoices.csv, row 2, column *InvoiceNo", ""),
        ("invoices.csv, row 3, column *InvoiceDate", "13/45/2026"),
        ("invoices.csv, row 4, column ItemRate", "12,5"),
        ("invoices.csv, row 4, column *ItemAmount", "12,5"),
        ("invoices.csv, row 5, column *ItemAmount", "1000.00"),
        ("invoices.csv, row 6, column Currency", "EURO"),
        ("invoices.csv, row 7, column *ItemAmount", "10.005"),
        ("invoices.csv, row 8, column *ItemAmount", "100.5"),
        ("invoices.csv, row 10, column *Customer", "Contoso Ltd"),
        ("invoices.csv, row 11, column *DueDate", "11/01/2026"),
        ("invoices.csv, row 12, column *ItemAmount", "-1000.00"),
        ("invoices.csv, row 13, column *Customer", ""),
        ("invoices.csv, row 14, column Service Date", "2026-02-30"),
        ("invoices.csv, row 15, column *ItemAmount", ""),
    }
    assert set(problems) == expected
    for problem in problems.values():
        assert problem.fix, problem
    assert "quantity 2 times rate 1000.00" in problems[expected_key(5)].message
    assert "ISO 4217" in problems[("invoices.csv, row 6, column Currency", "EURO")].message
    assert ImportedInvoice.objects.count() == 0


def expected_key(row: int) -> tuple[str, str]:
    return (f"invoices.csv, row {row}, column *ItemAmount", "1000.00")


def test_thousands_separators_and_iso_dates_accepted(tmp_path, book: Book, sample_users):
    rows = [
        quickbooks_line(
            "1", CUSTOMER, date="2026-11-01", due="2026-12-01", rate="1,250.00",
            amount="1,250.00", tax="237.50",
        )
    ]  # fmt: skip
    path = write_csv(tmp_path / "invoices.csv", QUICKBOOKS_INVOICE_HEADER, rows)

    history_import(system="quickbooks", invoices=path, by=sample_users["fran.finance"])

    invoice = ImportedInvoice.objects.get()
    assert invoice.line_extension == Decimal("1250.00")
    assert invoice.total == Decimal("1487.50")


def test_missing_column_named_with_fix(tmp_path, book: Book, sample_users):
    header = [h for h in QUICKBOOKS_INVOICE_HEADER if h != "*ItemAmount"]
    path = write_csv(tmp_path / "invoices.csv", header, [["1", CUSTOMER, "11/01/2026"]])

    with pytest.raises(HistoryImportInvalid) as raised:
        history_import(system="quickbooks", invoices=path, by=sample_users["fran.finance"])

    (problem,) = raised.value.problems
    assert problem.place == "invoices.csv, row 1"
    assert "no ItemAmount column" in problem.message
    assert "ItemAmount" in (problem.fix or "")


def test_empty_currency_needs_home_currency(tmp_path, book: Book, sample_users):
    rows = [quickbooks_line("1", CUSTOMER, currency="")]
    problems = problems_of(tmp_path, rows, user=sample_users["fran.finance"])
    assert set(problems) == {("invoices.csv, row 2, column Currency", "")}

    path = tmp_path / "invoices.csv"
    history_import(
        system="quickbooks", invoices=path, default_currency="eur", by=sample_users["fran.finance"]
    )
    assert ImportedInvoice.objects.get().currency == "EUR"


def test_date_order_option_reads_day_first(tmp_path, book: Book, sample_users):
    rows = [quickbooks_line("1", CUSTOMER, date="25/11/2026", due="25/12/2026")]
    problems = problems_of(tmp_path, rows, user=sample_users["fran.finance"])
    assert ("invoices.csv, row 2, column *InvoiceDate", "25/11/2026") in problems

    path = tmp_path / "invoices.csv"
    history_import(
        system="quickbooks", invoices=path, date_order="dmy", by=sample_users["fran.finance"]
    )
    assert str(ImportedInvoice.objects.get().issue_date) == "2026-11-25"


def test_xero_total_must_match_lines(tmp_path, book: Book, sample_users):
    header = [*XERO_INVOICE_HEADER, "Total"]
    row = [
        CUSTOMER, "", "INV-1", "", "01/11/2026", "01/12/2026", "PLATFORM", "Platform", "1",
        "1000.00", "", "200", "19% VAT", "190.00", "EUR", "1200.00",
    ]  # fmt: skip
    path = write_csv(tmp_path / "xero.csv", header, [row])

    with pytest.raises(HistoryImportInvalid) as raised:
        history_import(system="xero", invoices=path, by=sample_users["fran.finance"])

    (problem,) = raised.value.problems
    assert problem.place == "xero.csv, row 2, column Total"
    assert "not the sum of its lines and tax, 1190.00" in problem.message


def test_one_bad_file_writes_nothing(tmp_path, book: Book, sample_users):
    good = write_csv(
        tmp_path / "invoices.csv", QUICKBOOKS_INVOICE_HEADER, [quickbooks_line("1", CUSTOMER)]
    )
    bad_credit = [
        "CM-1", CUSTOMER, "not a date", "", "PLATFORM", "", "1", "10", "10.00", "", "", "EUR", "",
    ]  # fmt: skip
    credits = write_csv(tmp_path / "credits.csv", QUICKBOOKS_CREDIT_MEMO_HEADER, [bad_credit])
    payments = write_csv(
        tmp_path / "payments.csv",
        QUICKBOOKS_PAYMENT_HEADER,
        [["P-1", "11/25/2026", "", CUSTOMER, "", "", "9999", "10.00", "", "EUR"]],
    )

    with pytest.raises(HistoryImportInvalid) as raised:
        history_import(
            system="quickbooks",
            invoices=good,
            credit_notes=credits,
            payments=payments,
            by=sample_users["fran.finance"],
        )

    places = [p.place for p in raised.value.problems]
    assert places == ["credits.csv, row 2, column Credit Memo Date"]
    assert ImportedInvoice.objects.count() == 0
    assert ImportedPayment.objects.count() == 0


def test_payment_naming_unknown_invoice_writes_nothing(tmp_path, book: Book, sample_users):
    good = write_csv(
        tmp_path / "invoices.csv", QUICKBOOKS_INVOICE_HEADER, [quickbooks_line("1", CUSTOMER)]
    )
    payments = write_csv(
        tmp_path / "payments.csv",
        QUICKBOOKS_PAYMENT_HEADER,
        [
            ["P-1", "11/25/2026", "", CUSTOMER, "", "", "9999", "10.00", "", "EUR"],
            ["P-2", "11/25/2026", "", CUSTOMER, "", "", "1", "-5.00", "", "EUR"],
        ],
    )

    with pytest.raises(HistoryImportInvalid) as raised:
        history_import(
            system="quickbooks", invoices=good, payments=payments, by=sample_users["fran.finance"]
        )

    problems = {p.place: p for p in raised.value.problems}
    assert set(problems) == {"payments.csv, row 3, column LineAmount"}
    assert ImportedInvoice.objects.count() == 0

    payments = write_csv(
        tmp_path / "payments.csv",
        QUICKBOOKS_PAYMENT_HEADER,
        [["P-1", "11/25/2026", "", CUSTOMER, "", "", "9999", "10.00", "", "EUR"]],
    )
    with pytest.raises(HistoryImportInvalid) as raised:
        history_import(
            system="quickbooks", invoices=good, payments=payments, by=sample_users["fran.finance"]
        )
    (problem,) = raised.value.problems
    assert problem.place == "payments.csv, row 2"
    assert "names invoice 9999" in problem.message
    assert ImportedInvoice.objects.count() == 0
