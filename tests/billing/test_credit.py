import datetime as dt
from decimal import Decimal

import pytest
from lxml import etree

from billguard.billing.credit import credit_note_issue, invoice_by_number
from billguard.billing.models import Invoice
from billguard.billing.run import billing_run_execute
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation
from billguard.domain.periods import parse_period
from billguard.einvoice.ubl_names import NAMESPACES
from billguard.einvoice.ubl_reader import read_ubl
from billguard.einvoice.validation import has_fatal, validate_ubl
from tests.factories import make_contract

pytestmark = pytest.mark.django_db(transaction=True)

ISSUE_DATE = dt.date(2026, 11, 20)


def issued_invoice() -> Invoice:
    make_contract()
    billing_run_execute(period=parse_period("2026-11"))
    return invoice_by_number("ADE-000001")


def test_full_credit_reverses_invoice_exactly(var_dir):
    invoice = issued_invoice()

    note = credit_note_issue(invoice=invoice, reason="Billed twice", issue_date=ISSUE_DATE)

    assert note.document_type == Invoice.DocumentType.CREDIT_NOTE
    assert note.number == "ADE-000002"
    assert note.credited_invoice == invoice
    assert note.line_extension == invoice.line_extension
    assert note.tax_total == invoice.tax_total
    assert note.payable == invoice.payable
    xml = (var_dir / "invoices" / "acme-de" / "ADE-000002.xml").read_bytes()
    assert b"<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>" in xml
    assert not has_fatal(validate_ubl(xml))


def test_credit_reason_is_note_of_credit_note(var_dir):
    invoice = issued_invoice()

    credit_note_issue(invoice=invoice, reason="  Billed twice for November ", issue_date=ISSUE_DATE)

    folder = var_dir / "invoices" / "acme-de"
    xml = (folder / "ADE-000002.xml").read_bytes()
    notes = etree.fromstring(xml).findall("cbc:Note", NAMESPACES)
    assert [note.text for note in notes] == ["Reason for credit: Billed twice for November"]
    assert not has_fatal(validate_ubl(xml))
    assert read_ubl(xml, source="ADE-000002.xml").notes == [
        "Reason for credit: Billed twice for November"
    ]
    original = etree.fromstring((folder / "ADE-000001.xml").read_bytes())
    assert original.findall("cbc:Note", NAMESPACES) == []


def test_partial_credit_credits_quantity_of_line():
    invoice = issued_invoice()

    note = credit_note_issue(
        invoice=invoice,
        reason="Half the month was not delivered",
        issue_date=ISSUE_DATE,
        quantities={"1": Decimal("0.5")},
    )

    assert note.line_extension == Decimal("500.00")
    assert note.tax_total == Decimal("95.00")


def test_credit_beyond_remaining_quantity_is_rejected():
    invoice = issued_invoice()
    credit_note_issue(
        invoice=invoice, reason="Partial", issue_date=ISSUE_DATE, quantities={"1": Decimal("0.5")}
    )

    with pytest.raises(InvalidInput) as error:
        credit_note_issue(
            invoice=invoice, reason="Again", issue_date=ISSUE_DATE, quantities={"1": Decimal("1")}
        )

    assert "0.5" in str(error.value)


def test_full_credit_after_partial_is_rejected():
    invoice = issued_invoice()
    credit_note_issue(
        invoice=invoice, reason="Partial", issue_date=ISSUE_DATE, quantities={"1": Decimal("0.5")}
    )

    with pytest.raises(RuleViolation):
        credit_note_issue(invoice=invoice, reason="All of it", issue_date=ISSUE_DATE)


def test_credit_needs_reason():
    invoice = issued_invoice()

    with pytest.raises(InvalidInput):
        credit_note_issue(invoice=invoice, reason="  ", issue_date=ISSUE_DATE)

    assert Invoice.objects.filter(document_type="credit_note").count() == 0


def test_unknown_invoice_number_is_not_found():
    with pytest.raises(NotFound) as error:
        invoice_by_number("ADE-999999")

    assert "ADE-999999" in str(error.value)


def test_credit_dated_before_invoice_is_rejected():
    invoice = issued_invoice()

    with pytest.raises(InvalidInput) as error:
        credit_note_issue(invoice=invoice, reason="Wrong", issue_date=dt.date(2020, 1, 1))

    assert "2020-01-01" in str(error.value)
    assert Invoice.objects.filter(document_type="credit_note").count() == 0


def test_second_full_credit_says_nothing_left():
    invoice = issued_invoice()
    credit_note_issue(invoice=invoice, reason="Billed twice", issue_date=ISSUE_DATE)

    with pytest.raises(RuleViolation) as error:
        credit_note_issue(invoice=invoice, reason="Again", issue_date=ISSUE_DATE)

    assert "credited in full" in str(error.value)


def test_credit_reason_over_limit_is_rejected():
    invoice = issued_invoice()

    with pytest.raises(InvalidInput) as error:
        credit_note_issue(invoice=invoice, reason="x" * 301, issue_date=ISSUE_DATE)

    assert "301" in str(error.value)
    assert Invoice.objects.filter(document_type="credit_note").count() == 0
