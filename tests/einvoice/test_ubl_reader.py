"""read_ubl on the official EN 16931 examples and on broken copies of them."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from billguard.domain.currencies import is_currency
from billguard.domain.errors import InvalidInput
from billguard.domain.invoice import DocumentType
from billguard.einvoice.errors import UnreadableDocument
from billguard.einvoice.ubl_reader import read_ubl

# Collected before fixtures exist, so the folder is found the way tests/conftest.py finds it;
# the tests join these names to the einvoice_examples fixture.
_SHARED_EINVOICE = Path(__file__).resolve().parents[3] / "shared" / "data" / "einvoice"
EXAMPLE_NAMES = sorted(
    f"{folder}/{path.name}"
    for folder in ("en16931-examples", "en16931-testfiles")
    for path in (_SHARED_EINVOICE / folder).glob("*")
    if path.suffix.lower() == ".xml"
)


def example_bytes(einvoice_examples: Path, name: str) -> bytes:
    return (einvoice_examples / name).read_bytes()


def test_examples_all_found(einvoice_examples: Path) -> None:
    # 19 files in en16931-examples and 29 in en16931-testfiles, all of them UBL.
    assert len(EXAMPLE_NAMES) == 48
    assert all((einvoice_examples / name).is_file() for name in EXAMPLE_NAMES)


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_example_parses(einvoice_examples: Path, name: str) -> None:
    path = einvoice_examples / name
    doc = read_ubl(path, source=path.name)

    assert doc.source == path.name
    assert doc.number
    assert doc.issue_date is not None
    assert is_currency(doc.currency)
    assert doc.lines
    assert doc.seller.name
    assert doc.buyer.name
    assert doc.tax_subtotals
    # BR-CO-10: the sum of line net amounts is the line extension total.
    assert sum(line.net_amount for line in doc.lines) == doc.totals.line_extension
    # BR-CO-14: the VAT total is the sum of the breakdown.
    assert sum(subtotal.tax_amount for subtotal in doc.tax_subtotals) == doc.totals.tax_total
    # BR-CO-15: total with VAT = total without VAT + VAT total.
    assert doc.totals.tax_inclusive == doc.totals.tax_exclusive + doc.totals.tax_total


def test_tc434_example1_values(einvoice_examples: Path) -> None:
    doc = read_ubl(
        einvoice_examples / "en16931-examples" / "ubl-tc434-example1.xml", source="example1.xml"
    )

    assert doc.document_type is DocumentType.INVOICE
    assert doc.number == "12115118"
    assert doc.issue_date == dt.date(2015, 1, 9)
    assert doc.currency == "EUR"
    assert len(doc.lines) == 20
    assert doc.lines[0].net_amount == Decimal("19.90")
    assert doc.totals.line_extension == Decimal("229.60")
    assert doc.totals.tax_total == Decimal("20.73")
    assert doc.totals.payable == Decimal("250.33")
    assert doc.seller.tax_id == "NL8200.98.395.B.01"
    assert [(s.category, s.tax_amount) for s in doc.tax_subtotals] == [
        ("S", Decimal("10.99")),
        ("S", Decimal("9.74")),
    ]


def test_amounts_are_exact_decimals(einvoice_examples: Path) -> None:
    doc = read_ubl(
        einvoice_examples / "en16931-examples" / "ubl-tc434-example1.xml", source="example1.xml"
    )

    assert isinstance(doc.totals.payable, Decimal)
    assert str(doc.totals.payable) == "250.33"
    assert all(isinstance(line.quantity, Decimal) for line in doc.lines)


def test_credit_note_values(einvoice_examples: Path) -> None:
    doc = read_ubl(
        einvoice_examples / "en16931-examples" / "ubl-tc434-creditnote1.xml",
        source="creditnote1.xml",
    )

    assert doc.document_type is DocumentType.CREDIT_NOTE
    assert doc.number == "018304 / 28865"
    assert doc.buyer_reference == "018304 / 28865"
    assert (doc.period_start, doc.period_end) == (dt.date(2019, 2, 1), dt.date(2019, 2, 28))
    assert doc.seller.name == "My Supplier Company"
    assert doc.seller.tax_id == "BE0000000196"
    assert doc.seller.registration_id == "0000000196"
    assert doc.seller.contact_email == "john.doole@mysuppliercompany.be"
    assert doc.buyer.tax_id == "BE0000000295"
    assert doc.buyer.address.city == "BRUXELLES"
    assert len(doc.lines) == 1
    line = doc.lines[0]
    assert line.quantity == Decimal("1.00")
    assert line.unit_code == "C62"
    assert line.item_id == "V55"
    assert line.tax_category == "E"
    assert doc.tax_subtotals[0].exemption_reason == "Taxes are not applicable"
    assert doc.totals.payable == Decimal("100.11")


def test_max_content_invoice_values(einvoice_examples: Path) -> None:
    doc = read_ubl(
        einvoice_examples / "en16931-testfiles" / "Invoice-Max_content.xml",
        source="Invoice-Max_content.xml",
    )

    assert doc.currency == "SEK"
    assert doc.tax_currency == "EUR"
    assert doc.due_date == dt.date(2018, 3, 7)
    assert doc.order_reference == "20180117"
    assert doc.contract_reference == "2017-123"
    assert doc.preceding_invoice == "Preceding invoice no.1"
    assert doc.payment_terms.startswith("30 days net.")
    assert doc.notes == ["Document level Note\nLine break should be respected here."]

    # The VAT scheme's identifier, not the Swedish F-skatt entry of scheme TAX.
    assert doc.seller.tax_id == "SE123456789001"
    assert doc.seller.name == "The Global Chain Sweden AB"
    assert doc.seller.identifier == "7350000001204"
    assert doc.seller.address.country == "SE"

    # Only the TaxTotal in the document currency gives the breakdown, not the EUR one (249).
    assert doc.totals.tax_total == Decimal("2500")
    assert [s.category for s in doc.tax_subtotals] == ["S", "E"]
    assert doc.tax_subtotals[1].exemption_reason_code == "vatex-eu-132-1g"

    assert [(a.is_charge, a.reason_code, a.tax_category) for a in doc.allowances_charges] == [
        (False, "95", "E"),
        (True, "WH", "E"),
    ]
    line = doc.lines[0]
    assert line.quantity == Decimal("500")
    assert line.unit_code == "MTR"
    assert line.unit_price == Decimal("20")
    assert line.gross_price == Decimal("20.50")
    assert line.gl_account == "Accounting 101-222-8"
    assert line.item_id == "UNI+X"
    assert (line.service_start, line.service_end) == (dt.date(2018, 2, 1), dt.date(2018, 2, 7))
    assert len(line.allowances_charges) == 2
    assert doc.lines[1].tax_category == "E"


def test_credit_note_payment_due_date(einvoice_examples: Path) -> None:
    # A UBL 2.1 CreditNote has no cbc:DueDate; EN 16931 puts BT-9 in PaymentMeans instead.
    data = example_bytes(einvoice_examples, "en16931-examples/ubl-tc434-creditnote1.xml")
    with_due_date = data.replace(
        b"<cbc:PaymentMeansCode>1</cbc:PaymentMeansCode>",
        b"<cbc:PaymentMeansCode>1</cbc:PaymentMeansCode>"
        b"<cbc:PaymentDueDate>2019-10-23</cbc:PaymentDueDate>",
    )
    assert with_due_date != data

    doc = read_ubl(with_due_date, source="creditnote.xml")

    assert doc.document_type is DocumentType.CREDIT_NOTE
    assert doc.due_date == dt.date(2019, 10, 23)


def test_foreign_currency_invoice(einvoice_examples: Path) -> None:
    doc = read_ubl(
        einvoice_examples / "en16931-testfiles" / "BIS_Billing_30-Valutor i faktura.xml",
        source="valutor.xml",
    )

    assert doc.currency == "USD"
    assert doc.tax_currency == "SEK"
    assert doc.totals.tax_total == Decimal("23000")
    assert doc.totals.payable == Decimal("115000")


def test_negative_invoice_stays_invoice(einvoice_examples: Path) -> None:
    doc = read_ubl(
        einvoice_examples / "en16931-examples" / "BIS3_Invoice_negativ.XML", source="neg.xml"
    )

    assert doc.document_type is DocumentType.INVOICE
    assert doc.totals.payable == Decimal("-782179.43")


def test_italian_example_is_ubl(einvoice_examples: Path) -> None:
    # The Italian public-sector example carries a FatturaPA-like name, but its root element is
    # a UBL 2.1 Invoice (with a 3 MB attachment), so it parses like the others.
    name = "FT G2G_TD01 con Allegato, Bonifico e Split Payment.xml"
    doc = read_ubl(einvoice_examples / "en16931-examples" / name, source=name)

    assert doc.number == "1316/85"
    assert doc.seller.tax_id == "IT01598570354"
    assert doc.tax_subtotals[0].category == "B"
    assert doc.totals.payable == Decimal("1246.00")


def test_bytes_and_path_read_alike(einvoice_examples: Path) -> None:
    path = einvoice_examples / "en16931-testfiles" / "Invoice-Min_content_with_VAT.xml"

    assert read_ubl(path.read_bytes(), source="a.xml") == read_ubl(path, source="a.xml")


# Errors


def test_fatturapa_root_rejected() -> None:
    fattura = (
        b'<?xml version="1.0"?>\n'
        b'<p:FatturaElettronica versione="FPR12" '
        b'xmlns:p="http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2">'
        b"<FatturaElettronicaHeader/></p:FatturaElettronica>"
    )

    with pytest.raises(UnreadableDocument) as caught:
        read_ubl(fattura, source="fattura.xml")

    error = caught.value
    assert error.code == "UNREADABLE_DOCUMENT"
    assert error.place == "fattura.xml"
    assert "FatturaElettronica" in error.message
    assert "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice" in error.message
    assert "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote" in error.message
    assert error.fix is not None


def test_malformed_xml_names_line() -> None:
    with pytest.raises(UnreadableDocument) as caught:
        read_ubl(b"<Invoice>\n<cbc:ID>1</cbc:ID>\n</Invoic>", source="invoice.xml")

    assert caught.value.place is not None
    assert caught.value.place.startswith("invoice.xml, line ")
    assert "not well-formed XML" in caught.value.message


def test_empty_file_rejected() -> None:
    with pytest.raises(UnreadableDocument):
        read_ubl(b"", source="empty.xml")


def test_doctype_rejected() -> None:
    data = (
        b'<!DOCTYPE Invoice [<!ENTITY name "x">]>'
        b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>'
    )

    with pytest.raises(UnreadableDocument) as caught:
        read_ubl(data, source="doctype.xml")

    assert "DOCTYPE" in caught.value.message


def test_missing_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(UnreadableDocument) as caught:
        read_ubl(tmp_path / "absent.xml", source="absent.xml")

    assert caught.value.place == "absent.xml"


def test_bad_number_names_element(einvoice_examples: Path) -> None:
    data = example_bytes(einvoice_examples, "en16931-testfiles/Invoice-Max_content.xml")
    broken = data.replace(
        b'<cbc:LineExtensionAmount currencyID="SEK">0</cbc:LineExtensionAmount>',
        b'<cbc:LineExtensionAmount currencyID="SEK">1,000.00</cbc:LineExtensionAmount>',
    )
    assert broken != data

    with pytest.raises(InvalidInput) as caught:
        read_ubl(broken, source="invoice.xml")

    error = caught.value
    assert error.place == "invoice.xml, /Invoice/cac:InvoiceLine[2]/cbc:LineExtensionAmount"
    assert error.value == "1,000.00"
    assert error.message == "'1,000.00' is not a number."
    assert error.fix is not None


def test_exponent_number_rejected(einvoice_examples: Path) -> None:
    data = example_bytes(einvoice_examples, "en16931-testfiles/Invoice-Min_content_with_VAT.xml")
    broken = data.replace(b">500</cbc:PayableAmount>", b">5E2</cbc:PayableAmount>")

    with pytest.raises(InvalidInput) as caught:
        read_ubl(broken, source="invoice.xml")

    assert caught.value.place == "invoice.xml, /Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount"


def test_bad_date_rejected(einvoice_examples: Path) -> None:
    data = example_bytes(einvoice_examples, "en16931-testfiles/Invoice-Min_content_with_VAT.xml")
    broken = data.replace(b"<cbc:IssueDate>2018-07-31<", b"<cbc:IssueDate>2018-02-30<")

    with pytest.raises(InvalidInput) as caught:
        read_ubl(broken, source="invoice.xml")

    assert caught.value.place == "invoice.xml, /Invoice/cbc:IssueDate"
    assert caught.value.value == "2018-02-30"
    assert "YYYY-MM-DD" in (caught.value.fix or "")


def test_unknown_currency_rejected(einvoice_examples: Path) -> None:
    data = example_bytes(einvoice_examples, "en16931-testfiles/Invoice-Min_content_with_VAT.xml")
    broken = data.replace(b">SEK</cbc:DocumentCurrencyCode>", b">SKR</cbc:DocumentCurrencyCode>")

    with pytest.raises(InvalidInput) as caught:
        read_ubl(broken, source="invoice.xml")

    assert caught.value.place == "invoice.xml, /Invoice/cbc:DocumentCurrencyCode"
    assert caught.value.value == "SKR"


@pytest.mark.parametrize(
    ("element", "place"),
    [
        (b"<cbc:ID>2018-112</cbc:ID>", "/Invoice/cbc:ID"),
        (b"<cbc:IssueDate>2018-07-31</cbc:IssueDate>", "/Invoice/cbc:IssueDate"),
        (
            b"<cbc:DocumentCurrencyCode>SEK</cbc:DocumentCurrencyCode>",
            "/Invoice/cbc:DocumentCurrencyCode",
        ),
        (
            b'<cbc:PayableAmount currencyID="SEK">500</cbc:PayableAmount>',
            "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount",
        ),
    ],
)
def test_missing_mandatory_element(einvoice_examples: Path, element: bytes, place: str) -> None:
    data = example_bytes(einvoice_examples, "en16931-testfiles/Invoice-Min_content_with_VAT.xml")
    broken = data.replace(element, b"", 1)
    assert broken != data

    with pytest.raises(InvalidInput) as caught:
        read_ubl(broken, source="invoice.xml")

    assert caught.value.place == f"invoice.xml, {place}"
    assert "missing" in caught.value.message


def test_document_without_lines_rejected(einvoice_examples: Path) -> None:
    data = example_bytes(einvoice_examples, "en16931-testfiles/Invoice-Min_content_with_VAT.xml")
    start = data.index(b"<cac:InvoiceLine>")
    end = data.index(b"</cac:InvoiceLine>") + len(b"</cac:InvoiceLine>")
    broken = data[:start] + data[end:]

    with pytest.raises(InvalidInput) as caught:
        read_ubl(broken, source="invoice.xml")

    assert "BR-16" in caught.value.message
    assert caught.value.place == "invoice.xml, /Invoice"


def test_huge_text_node_rejected() -> None:
    data = b"<Invoice>" + b"A" * 10_000_001 + b"</Invoice>"

    with pytest.raises(UnreadableDocument) as caught:
        read_ubl(data, source="big.xml")

    assert "size limit" in caught.value.message
    assert caught.value.place == "big.xml, line 1"
