"""Journal exports: balance, totals, credit notes, mappings and the documented CSV headers."""

import csv
import io
from collections import defaultdict
from decimal import Decimal

import pytest

from billguard.billing.models import Invoice
from billguard.billing.run import billing_run_execute
from billguard.domain.errors import InvalidInput
from billguard.domain.periods import parse_period
from billguard.exports.journals import (
    QUICKBOOKS_HEADER,
    XERO_HEADER,
    MappingsMissing,
    build_journals,
    quickbooks_csv,
    require_mappings,
    split_journals,
    xero_csv,
)
from billguard.exports.selection import issued_in_period
from billguard.exports.treatments import parse_treatment, treatment_key
from billguard.registry.terms import LineTerms
from tests.exports.helpers import issue_november, map_everything
from tests.factories import make_contract

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


def november_journals():  # type: ignore[no-untyped-def]
    return build_journals(issued_in_period(parse_period("2026-11")))


def test_journals_balance_per_journal_and_in_total():
    issue_november()

    journals = november_journals()

    assert len(journals) == 4
    total_debits = total_credits = D(0)
    for journal in journals:
        debits = sum(line.debit for line in journal.lines)
        credits = sum(line.credit for line in journal.lines)
        assert debits == credits, journal.number
        assert debits > 0, journal.number
        total_debits += debits
        total_credits += credits
    assert total_debits == total_credits


def test_journal_amounts_equal_invoice_totals():
    invoices = issue_november()

    journals = {journal.number: journal for journal in november_journals()}

    for invoice in invoices:
        journal = journals[invoice.number]
        sign = -1 if invoice.document_type == Invoice.DocumentType.CREDIT_NOTE else 1
        by_kind: dict[str, Decimal] = defaultdict(Decimal)
        for line in journal.lines:
            by_kind[line.kind] += (line.debit - line.credit) * sign
        assert by_kind["receivable"] == invoice.payable, invoice.number
        assert -by_kind["revenue"] == invoice.line_extension, invoice.number
        assert -by_kind["tax"] == invoice.tax_total, invoice.number


def test_revenue_per_account_tax_per_rate():
    issue_november()

    journal = next(j for j in november_journals() if j.number == "ADE-000002")

    revenue = {line.account: line.credit for line in journal.lines if line.kind == "revenue"}
    taxes = {line.treatment: line.credit for line in journal.lines if line.kind == "tax"}
    assert revenue == {"4000": D("1000.00"), "4100": D("999.99")}
    assert taxes == {"S:19": D("190.00"), "S:7": D("70.00")}


def test_credit_note_reverses_its_invoice():
    issue_november()

    journals = {journal.number: journal for journal in november_journals()}
    invoice = journals["ADE-000001"]
    credit_note = journals["ADE-000004"]

    assert credit_note.label == "Credit note ADE-000004"
    assert credit_note.lines[0].description == "credit note ADE-000004 for ADE-000001: receivable"
    swapped = [(line.account, line.credit, line.debit) for line in invoice.lines]
    assert [(line.account, line.debit, line.credit) for line in credit_note.lines] == swapped


def test_reverse_charge_posts_no_zero_tax_line():
    issue_november()

    journal = next(j for j in november_journals() if j.number == "ADE-000003")

    assert [line.kind for line in journal.lines] == ["receivable", "revenue"]


def test_unmapped_account_names_itself():
    issue_november()
    map_everything(skip=("4100",))

    with pytest.raises(MappingsMissing) as error:
        require_mappings(november_journals(), "xero")

    text = str(error.value)
    assert "GL account 4100 (Services revenue)" in text
    assert "used by ADE-000002" in text
    assert "billguard accounting-mappings add account 4100 --system xero" in text
    assert [(m.kind, m.key) for m in error.value.missing] == [("account", "4100")]


def test_every_missing_mapping_is_listed():
    issue_november()

    with pytest.raises(MappingsMissing) as error:
        require_mappings(november_journals(), "quickbooks")

    keys = {(m.kind, m.key) for m in error.value.missing}
    # QuickBooks Online needs no tax code for untaxed lines, so "none" is not asked for.
    assert keys == {
        ("account", "1200"),
        ("account", "2200"),
        ("account", "4000"),
        ("account", "4100"),
        ("tax", "S:19"),
        ("tax", "S:7"),
    }


def test_quickbooks_csv_parses_with_documented_header():
    issue_november()
    map_everything()
    journals = november_journals()

    rows = list(csv.DictReader(io.StringIO(quickbooks_csv(journals))))

    assert list(rows[0]) == QUICKBOOKS_HEADER
    by_entry: dict[str, list[Decimal]] = defaultdict(lambda: [D(0), D(0)])
    for row in rows:
        by_entry[row["Journal No"]][0] += D(row["Debits"] or "0")
        by_entry[row["Journal No"]][1] += D(row["Credits"] or "0")
        assert bool(row["Debits"]) != bool(row["Credits"]), row
    assert set(by_entry) == {"ADE-000001", "ADE-000002", "ADE-000003", "ADE-000004"}
    for number, (debits, credits) in by_entry.items():
        assert debits == credits, number
    first = rows[0]
    assert first["Journal Date"] == "11/01/2026"
    assert first["Account"] == "Accounts Receivable (A/R)"
    assert first["Name"] == "Northwind Traders GmbH"
    assert first["Currency"] == "EUR"
    tax_codes = {row["Tax Code"] for row in rows if row["Account"] == "VAT Control"}
    assert tax_codes == {"VAT 19%", "VAT 7%"}


def test_xero_csv_parses_with_documented_header():
    issue_november()
    map_everything()
    journals = november_journals()

    rows = list(csv.DictReader(io.StringIO(xero_csv(journals))))

    assert list(rows[0]) == XERO_HEADER
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        sums[(row["Narration"], row["Date"])] += D(row["Amount"])
        assert row["TaxRate"], row
    assert len(sums) == 4
    assert all(total == 0 for total in sums.values()), sums
    credit_rows = [row for row in rows if row["Narration"].startswith("Credit note ADE-000004")]
    assert credit_rows[0]["Date"] == "20/11/2026"
    assert credit_rows[0]["AccountCode"] == "610"
    assert D(credit_rows[0]["Amount"]) == D("-1190.00")


def test_period_and_seller_select_the_invoices():
    issue_november()

    assert issued_in_period(parse_period("2026-10")) == []
    assert len(issued_in_period(parse_period("2026-Q4"), "acme-de")) == 4


@pytest.mark.parametrize(
    ("category", "rate", "jurisdiction", "key"),
    [
        ("S", D("19.0000"), "DE", "S:19"),
        ("AE", D("0.0000"), "FR", "AE:0"),
        ("S", D("8.2500"), "US-TX", "US-TX"),
        ("O", None, "", "O"),
        ("Z", D("0"), "US-TX", "Z:0"),
    ],
)
def test_treatment_key_of_tax_line(category, rate, jurisdiction, key):
    assert treatment_key(category, rate, jurisdiction) == key


@pytest.mark.parametrize(
    ("typed", "key"), [("s:19.00", "S:19"), ("us-tx", "US-TX"), ("None", "none"), ("e", "E")]
)
def test_parse_treatment_normalizes(typed, key):
    assert parse_treatment(typed, place="key") == key


def test_amounts_use_currency_minor_units():
    make_contract(
        currency="JPY",
        lines=[
            LineTerms(
                line_code="L1",
                kind="recurring_fixed",
                description="Managed service, monthly fee",
                unit_price=D("123457"),
                quantity=D("1"),
                gl_account="4000",
            )
        ],
    )
    billing_run_execute(period=parse_period("2026-11"))
    map_everything()
    journals = november_journals()

    rows = list(csv.DictReader(io.StringIO(xero_csv(journals))))
    quickbooks_rows = list(csv.DictReader(io.StringIO(quickbooks_csv(journals))))

    # 123457 JPY at 19 % is 23456.83, rounded to 23457 because the yen has no minor unit.
    assert [row["Amount"] for row in rows] == ["146914", "-123457", "-23457"]
    assert [row["Debits"] or row["Credits"] for row in quickbooks_rows] == [
        "146914",
        "123457",
        "23457",
    ]


def test_split_never_cuts_a_journal():
    issue_november()
    journals = november_journals()

    parts = split_journals(journals, 5)

    assert [[j.number for j in part] for part in parts] == [
        ["ADE-000001"],
        ["ADE-000002"],
        ["ADE-000003", "ADE-000004"],
    ]
    assert all(sum(len(j.lines) for j in part) <= 5 for part in parts)
    with pytest.raises(InvalidInput) as error:
        split_journals(journals, 4)
    assert "ADE-000002 has 5 lines" in str(error.value)
