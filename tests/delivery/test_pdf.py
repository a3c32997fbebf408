import datetime as dt
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from billguard.billing.credit import credit_note_issue
from billguard.delivery.models import InvoiceTemplate, TemplateRule
from billguard.delivery.pdf import format_amount
from billguard.delivery.rendering import invoice_load, invoice_pdf
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation
from tests.delivery.helpers import issued_invoice, make_rule, make_template


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.parametrize(
    ("value", "currency", "language", "expected"),
    [
        (Decimal("1234.5"), "EUR", "en", "1,234.50 EUR"),
        (Decimal("1234.5"), "EUR", "de", "1.234,50 EUR"),
        (Decimal("1234567"), "JPY", "en", "1,234,567 JPY"),
        (Decimal("12.3456"), "BHD", "en", "12.346 BHD"),
        (Decimal("-0.5"), "USD", "en", "-0.50 USD"),
    ],
)
def test_format_amount_uses_iso_4217_minor_units(value, currency, language, expected):
    assert format_amount(value, currency, language) == expected


@pytest.mark.django_db(transaction=True)
def test_pdf_shows_parties_numbers_and_totals():
    invoice = issued_invoice("C-1")

    text = pdf_text(invoice_pdf(invoice_load(invoice.number)))

    assert "Acme Services GmbH" in text
    assert "DE136695976" in text
    assert "Northwind Traders GmbH" in text
    assert "DE123456788" in text
    assert "Marienplatz 8" in text
    assert invoice.number in text
    assert "2026-11-01" in text
    assert "PO-7781" in text
    assert "Managed service, monthly fee" in text
    assert "1,000.00 EUR" in text
    assert "S 19 %" in text
    assert "190.00 EUR" in text
    assert "1,190.00 EUR" in text
    assert "Net 30 days" in text
    assert "IBAN DE89370400440532013000" in text
    assert "Thank you for your business." in text
    assert "Pay by bank transfer." in text
    assert "Acme Services GmbH, Berlin" in text
    assert "Credit note" not in text


@pytest.mark.django_db(transaction=True)
def test_pdf_of_credit_note_names_credited_invoice():
    invoice = issued_invoice("C-1")
    credit_note = credit_note_issue(
        invoice=invoice, reason="Service outage", issue_date=dt.date(2026, 11, 20)
    )

    text = pdf_text(invoice_pdf(invoice_load(credit_note.number)))

    assert "Credit note" in text
    assert "Credits invoice" in text
    assert invoice.number in text
    assert credit_note.number in text
    assert "1,190.00 EUR" in text


@pytest.mark.django_db(transaction=True)
def test_pdf_in_german_template():
    invoice = issued_invoice("C-1")
    make_template("STD-DE", language="de", title="Rechnung", header_text="Vielen Dank.")

    text = pdf_text(invoice_pdf(invoice_load(invoice.number), _template("STD-DE")))

    assert "Rechnung" in text
    assert "1.190,00 EUR" in text
    assert "Zahlbar innerhalb von 30 Tagen" in text


@pytest.mark.django_db(transaction=True)
def test_pdf_shows_cyrillic_customer_name():
    invoice = issued_invoice("C-1")
    name = "ООО «Северный ветер» Łódź"  # noqa: RUF001 (Cyrillic on purpose)
    invoice.parties["buyer"]["name"] = name
    invoice.save(update_fields=["parties"])

    text = pdf_text(invoice_pdf(invoice_load(invoice.number)))

    assert name in text


@pytest.mark.django_db(transaction=True)
def test_pdf_rejects_characters_outside_the_font():
    invoice = issued_invoice("C-1")
    invoice.parties["buyer"]["name"] = "北风贸易有限公司"
    invoice.save(update_fields=["parties"])

    with pytest.raises(InvalidInput) as raised:
        invoice_pdf(invoice_load(invoice.number))

    assert raised.value.place == "buyer name"
    assert "U+5317" in str(raised.value)
    assert raised.value.fix


@pytest.mark.django_db(transaction=True)
def test_pdf_uses_the_rules_choice():
    invoice = issued_invoice("C-1")
    make_template("CUSTOMER", title="Statement of charges")
    make_rule("CUSTOMER", customer="CUST-1")

    text = pdf_text(invoice_pdf(invoice_load(invoice.number)))

    assert "Statement of charges" in text


@pytest.mark.django_db(transaction=True)
def test_pdf_without_matching_rule_is_an_error():
    invoice = issued_invoice("C-1")
    TemplateRule.objects.all().delete()

    with pytest.raises(RuleViolation) as raised:
        invoice_pdf(invoice_load(invoice.number))

    assert raised.value.code == "TEMPLATE_NOT_FOUND"
    assert "customer CUST-1" in str(raised.value)


@pytest.mark.django_db
def test_invoice_load_unknown_number():
    with pytest.raises(NotFound) as raised:
        invoice_load("NOPE-1")

    assert "NOPE-1" in str(raised.value)


def _template(code: str) -> InvoiceTemplate:
    return InvoiceTemplate.objects.get(code=code)
