"""Invoice documents for the writer and validator tests, with totals computed from their lines."""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from billguard.domain.invoice import (
    Address,
    DocumentType,
    InvoiceDocument,
    InvoiceLine,
    PartyInfo,
)
from billguard.domain.tax import build_totals

DocumentFactory = Callable[..., InvoiceDocument]


def make_document(
    lines: list[InvoiceLine],
    *,
    currency: str = "EUR",
    document_type: DocumentType = DocumentType.INVOICE,
    number: str = "INV-2024-0042",
    **fields: object,
) -> InvoiceDocument:
    subtotals, totals = build_totals(lines, currency)
    values: dict[str, object] = {
        "document_type": document_type,
        "number": number,
        "issue_date": dt.date(2024, 4, 2),
        "currency": currency,
        "seller": PartyInfo(
            name="Acme Software GmbH",
            tax_id="DE123456789",
            registration_id="HRB 12345",
            identifier="ACME",
            address=Address(street="Hauptstrasse 1", city="Berlin", postcode="10115", country="DE"),
            contact_email="billing@acme.example",
        ),
        "buyer": PartyInfo(
            name="Beta SARL",
            tax_id="FR12345678901",
            identifier="CUST-0007",
            address=Address(
                street="1 rue de la Paix", city="Paris", postcode="75002", country="FR"
            ),
        ),
        "lines": lines,
        "tax_subtotals": subtotals,
        "totals": totals,
    }
    values.update(fields)
    return InvoiceDocument(**values)


def line(
    line_id: str,
    quantity: str,
    unit_price: str,
    net_amount: str,
    *,
    category: str = "S",
    rate: str | None = "19",
    **fields: object,
) -> InvoiceLine:
    return InvoiceLine(
        line_id=line_id,
        description=f"Item {line_id}",
        quantity=Decimal(quantity),
        unit_code="C62",
        unit_price=Decimal(unit_price),
        net_amount=Decimal(net_amount),
        tax_category=category,
        tax_rate=None if rate is None else Decimal(rate),
        **fields,
    )


@pytest.fixture
def eur_invoice() -> InvoiceDocument:
    """A EUR invoice with a standard-rated (19 %) and an exempt line, references and periods."""
    return make_document(
        [
            line(
                "1",
                "1",
                "1200.00",
                "1200.00",
                item_id="SUP-1",
                gl_account="4000",
                service_start=dt.date(2024, 3, 1),
                service_end=dt.date(2024, 3, 31),
            ),
            line("2", "3", "15.50", "46.50", gross_price=Decimal("17.00"), gl_account="4010"),
            line(
                "3",
                "2",
                "250.00",
                "500.00",
                category="E",
                rate="0",
                exemption_reason="Exempt under Article 132(1)(i) of Directive 2006/112/EC",
            ),
        ],
        due_date=dt.date(2024, 5, 2),
        buyer_reference="BR-77",
        order_reference="PO-4711",
        contract_reference="C-2023-19",
        period_start=dt.date(2024, 3, 1),
        period_end=dt.date(2024, 3, 31),
        payment_terms="30 days net",
        notes=["Thank you for your business."],
    )


@pytest.fixture
def credit_note() -> InvoiceDocument:
    return make_document(
        [line("1", "1", "100.00", "100.00")],
        document_type=DocumentType.CREDIT_NOTE,
        number="CN-2024-0003",
        preceding_invoice="INV-2024-0042",
        due_date=dt.date(2024, 5, 2),
    )


@pytest.fixture
def jpy_invoice() -> InvoiceDocument:
    return make_document([line("1", "3", "12000", "36000", rate="10")], currency="JPY")


@pytest.fixture
def us_invoice() -> InvoiceDocument:
    """A USD invoice between US companies with EINs, taxed at the 8.875 % sales tax of NYC."""
    return make_document(
        [
            line("1", "3", "1250.00", "3750.00", rate="8.875"),
            line("2", "1", "60.00", "60.00", rate="8.875"),
        ],
        currency="USD",
        number="BLU-000017",
        seller=PartyInfo(
            name="Bluebird Analytics Inc.",
            tax_id="46-4210951",
            registration_id="Delaware file number 7741025",
            address=Address(
                street="200 Park Avenue",
                city="New York",
                postcode="10166",
                subdivision="NY",
                country="US",
            ),
        ),
        buyer=PartyInfo(
            name="Harbor Freight Partners LLC",
            tax_id="12-0374943",
            identifier="CUST-0815",
            address=Address(
                street="1 Harbor Way",
                city="Brooklyn",
                postcode="11201",
                subdivision="NY",
                country="US",
            ),
        ),
    )


@pytest.fixture
def document_factory() -> DocumentFactory:
    """make_document: a document around the given lines, with its totals computed."""
    return make_document


@pytest.fixture
def line_factory() -> Callable[..., InvoiceLine]:
    """line: an invoice line from quantity, unit price and net amount as strings."""
    return line
