"""write_ubl: the UBL it writes, what survives reading it back, and what it rejects."""

import copy
import dataclasses
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from billguard.domain.errors import InvalidInput
from billguard.domain.invoice import DocumentType, InvoiceDocument, InvoiceLine
from billguard.einvoice.errors import UblNotSupported
from billguard.einvoice.ubl_names import CREDIT_NOTE_ROOT, INVOICE_ROOT, NAMESPACES
from billguard.einvoice.ubl_reader import read_ubl
from billguard.einvoice.ubl_writer import write_ubl
from billguard.einvoice.validation import has_fatal, validate_ubl

DocumentFactory = Callable[..., InvoiceDocument]
LineFactory = Callable[..., InvoiceLine]


def parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def texts(root: etree._Element, path: str) -> list[str]:
    return [element.text or "" for element in root.findall(path, NAMESPACES)]


def test_invoice_header_elements(eur_invoice: InvoiceDocument) -> None:
    root = parse(write_ubl(eur_invoice, seller_bank_account="DE89370400440532013000"))

    assert root.tag == INVOICE_ROOT
    assert texts(root, "cbc:CustomizationID") == ["urn:cen.eu:en16931:2017"]
    assert texts(root, "cbc:ProfileID") == []
    assert texts(root, "cbc:InvoiceTypeCode") == ["380"]
    assert texts(root, "cbc:DueDate") == ["2024-05-02"]
    assert texts(root, "cac:OrderReference/cbc:ID") == ["PO-4711"]
    assert texts(root, "cac:ContractDocumentReference/cbc:ID") == ["C-2023-19"]
    assert texts(root, "cac:PaymentMeans/cbc:PaymentMeansCode") == ["30"]
    assert texts(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == [
        "DE89370400440532013000"
    ]
    supplier = "cac:AccountingSupplierParty/cac:Party"
    assert texts(root, f"{supplier}/cac:PartyTaxScheme/cbc:CompanyID") == ["DE123456789"]
    assert texts(root, f"{supplier}/cac:PostalAddress/cac:Country/cbc:IdentificationCode") == ["DE"]


SELLER = "cac:AccountingSupplierParty/cac:Party"
BUYER = "cac:AccountingCustomerParty/cac:Party"


def tax_schemes(root: etree._Element, party: str) -> list[tuple[str, str]]:
    """Return (CompanyID, TaxScheme ID) of each PartyTaxScheme of ``party``."""
    return [
        (texts(scheme, "cbc:CompanyID")[0], texts(scheme, "cac:TaxScheme/cbc:ID")[0])
        for scheme in root.findall(f"{party}/cac:PartyTaxScheme", NAMESPACES)
    ]


def test_seller_ein_is_tax_registration(us_invoice: InvoiceDocument) -> None:
    root = parse(write_ubl(us_invoice))

    assert tax_schemes(root, SELLER) == [("46-4210951", "TAX")]
    assert texts(root, f"{SELLER}/cac:PartyLegalEntity/cbc:CompanyID") == [
        "Delaware file number 7741025"
    ]


def test_buyer_ein_is_legal_registration(us_invoice: InvoiceDocument) -> None:
    root = parse(write_ubl(us_invoice))

    assert tax_schemes(root, BUYER) == []
    assert texts(root, f"{BUYER}/cac:PartyLegalEntity/cbc:CompanyID") == ["12-0374943"]


def test_buyer_ein_beside_registration_id(us_invoice: InvoiceDocument) -> None:
    us_invoice.buyer.registration_id = "NY DOS ID 4711"

    root = parse(write_ubl(us_invoice))

    assert tax_schemes(root, BUYER) == [("12-0374943", "TAX")]
    assert texts(root, f"{BUYER}/cac:PartyLegalEntity/cbc:CompanyID") == ["NY DOS ID 4711"]


@pytest.mark.parametrize(
    ("tax_id", "scheme"),
    [
        ("DE123456789", "VAT"),
        ("  FR12345678901 ", "VAT"),
        ("NL8200.98.395.B.01", "VAT"),
        ("EL 094259216", "VAT"),
        ("464210951", "TAX"),
        ("de123456789", "TAX"),
        ("ABN 51 824 753 556", "TAX"),
    ],
)
def test_seller_tax_id_scheme(eur_invoice: InvoiceDocument, tax_id: str, scheme: str) -> None:
    eur_invoice.seller.tax_id = tax_id

    root = parse(write_ubl(eur_invoice))

    assert tax_schemes(root, SELLER) == [(tax_id.strip(), scheme)]


def test_us_parties_read_back(us_invoice: InvoiceDocument) -> None:
    again = read_ubl(write_ubl(us_invoice), source="us.xml")

    assert again.seller == us_invoice.seller
    # EN 16931 has no buyer tax ID without a country prefix, so the EIN comes back as the
    # buyer's legal registration identifier (BT-47).
    assert again.buyer == dataclasses.replace(
        us_invoice.buyer, tax_id="", registration_id="12-0374943"
    )


def test_us_buyer_ein_beside_registration_id_reads_back(us_invoice: InvoiceDocument) -> None:
    us_invoice.buyer.registration_id = "NY DOS ID 4711"

    again = read_ubl(write_ubl(us_invoice), source="us.xml")

    assert again.buyer == us_invoice.buyer


def test_profile_id_written_when_given(eur_invoice: InvoiceDocument) -> None:
    root = parse(write_ubl(eur_invoice, profile_id="urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"))

    assert texts(root, "cbc:ProfileID") == ["urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"]


def test_no_payment_means_without_account(eur_invoice: InvoiceDocument) -> None:
    root = parse(write_ubl(eur_invoice))

    assert root.find("cac:PaymentMeans", NAMESPACES) is None


def test_lines_and_vat_breakdown(eur_invoice: InvoiceDocument) -> None:
    root = parse(write_ubl(eur_invoice))

    first, second, third = root.findall("cac:InvoiceLine", NAMESPACES)
    assert texts(first, "cbc:AccountingCost") == ["4000"]
    assert texts(first, "cac:InvoicePeriod/cbc:StartDate") == ["2024-03-01"]
    assert texts(first, "cac:Item/cac:SellersItemIdentification/cbc:ID") == ["SUP-1"]
    assert texts(second, "cac:Price/cbc:PriceAmount") == ["15.50"]
    assert texts(second, "cac:Price/cac:AllowanceCharge/cbc:Amount") == ["1.50"]
    assert texts(second, "cac:Price/cac:AllowanceCharge/cbc:BaseAmount") == ["17.00"]
    assert texts(third, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID") == ["E"]

    subtotals = root.findall("cac:TaxTotal/cac:TaxSubtotal", NAMESPACES)
    assert [texts(s, "cac:TaxCategory/cbc:ID")[0] for s in subtotals] == ["S", "E"]
    # 1246.50 at 19 % is 236.835, rounded HALF_UP.
    assert texts(subtotals[0], "cbc:TaxAmount") == ["236.84"]
    assert texts(subtotals[1], "cac:TaxCategory/cbc:TaxExemptionReason") == [
        "Exempt under Article 132(1)(i) of Directive 2006/112/EC"
    ]
    assert texts(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == ["1983.34"]


def test_invoice_reads_back_unchanged(eur_invoice: InvoiceDocument) -> None:
    written = read_ubl(write_ubl(eur_invoice), source="written.xml")

    expected = copy.deepcopy(eur_invoice)
    expected.source = "written.xml"
    # EN 16931 has no exemption reason on a line; the writer puts it in the VAT breakdown.
    for line in expected.lines:
        line.exemption_reason = ""
    assert written == expected


def test_credit_note_structure(credit_note: InvoiceDocument) -> None:
    root = parse(write_ubl(credit_note))

    assert root.tag == CREDIT_NOTE_ROOT
    assert texts(root, "cbc:CreditNoteTypeCode") == ["381"]
    assert root.find("cbc:DueDate", NAMESPACES) is None
    # A CreditNote has no DueDate; BT-9 goes to PaymentMeans, with code 1 when no account.
    assert texts(root, "cac:PaymentMeans/cbc:PaymentMeansCode") == ["1"]
    assert texts(root, "cac:PaymentMeans/cbc:PaymentDueDate") == ["2024-05-02"]
    assert texts(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == [
        "INV-2024-0042"
    ]
    assert texts(root, "cac:CreditNoteLine/cbc:CreditedQuantity") == ["1"]


def test_credit_note_reads_back(credit_note: InvoiceDocument) -> None:
    written = read_ubl(write_ubl(credit_note), source="cn.xml")

    assert written.document_type is DocumentType.CREDIT_NOTE
    assert written.due_date == credit_note.due_date
    assert written.preceding_invoice == "INV-2024-0042"
    assert written.totals == credit_note.totals


def test_jpy_amounts_have_no_decimals(jpy_invoice: InvoiceDocument) -> None:
    root = parse(write_ubl(jpy_invoice))

    assert texts(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == ["39600"]
    assert texts(root, "cac:TaxTotal/cbc:TaxAmount") == ["3600"]


def test_trailing_zeros_trimmed_to_two(
    document_factory: DocumentFactory, line_factory: LineFactory
) -> None:
    doc = document_factory([line_factory("1", "1", "10", "10.000")])

    root = parse(write_ubl(doc))

    assert texts(root, "cac:InvoiceLine/cbc:LineExtensionAmount") == ["10.00"]


def test_default_exemption_for_reverse_charge(
    document_factory: DocumentFactory, line_factory: LineFactory
) -> None:
    doc = document_factory([line_factory("1", "1", "500.00", "500.00", category="AE", rate="0")])

    root = parse(write_ubl(doc))

    category = "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory"
    assert texts(root, f"{category}/cbc:TaxExemptionReasonCode") == ["vatex-eu-ae"]
    assert texts(root, f"{category}/cbc:TaxExemptionReason") == ["Reverse charge"]
    assert has_fatal(validate_ubl(write_ubl(doc))) is False


def test_not_subject_to_vat_has_no_rate(
    document_factory: DocumentFactory, line_factory: LineFactory
) -> None:
    doc = document_factory([line_factory("1", "1", "80.00", "80.00", category="O", rate=None)])
    doc.seller.tax_id = ""
    doc.buyer.tax_id = ""

    xml = write_ubl(doc)
    root = parse(xml)

    assert root.findall(".//cbc:Percent", NAMESPACES) == []
    assert [m for m in validate_ubl(xml) if m.is_fatal] == []


@pytest.mark.parametrize("currency", ["BHD", "KWD", "CLF"])
def test_three_decimal_currency_rejected(
    document_factory: DocumentFactory, line_factory: LineFactory, currency: str
) -> None:
    doc = document_factory([line_factory("1", "1", "10", "10")], currency=currency)

    with pytest.raises(UblNotSupported) as caught:
        write_ubl(doc)

    assert caught.value.code == "UBL_NOT_SUPPORTED"
    assert "at most two decimals" in caught.value.message
    assert "PDF or JSON" in (caught.value.fix or "")


def test_other_tax_currency_rejected(eur_invoice: InvoiceDocument) -> None:
    eur_invoice.tax_currency = "SEK"

    with pytest.raises(UblNotSupported) as caught:
        write_ubl(eur_invoice)

    assert "BT-111" in caught.value.message


def test_same_tax_currency_accepted(eur_invoice: InvoiceDocument) -> None:
    eur_invoice.tax_currency = "EUR"

    assert texts(parse(write_ubl(eur_invoice)), "cbc:TaxCurrencyCode") == ["EUR"]


def test_missing_buyer_country_rejected(eur_invoice: InvoiceDocument) -> None:
    eur_invoice.buyer.address.country = ""

    with pytest.raises(InvalidInput) as caught:
        write_ubl(eur_invoice)

    assert caught.value.place == "buyer.address.country"


def test_amount_with_three_decimals_rejected(
    document_factory: DocumentFactory, line_factory: LineFactory
) -> None:
    doc = document_factory([line_factory("1", "1", "10.00", "10.00")])
    doc.lines[0].net_amount = Decimal("10.005")

    with pytest.raises(InvalidInput) as caught:
        write_ubl(doc)

    assert caught.value.place == "lines[1].net_amount"
    assert "more than two decimals" in caught.value.message


@pytest.mark.parametrize(
    ("field", "value", "place"),
    [("number", "", "number"), ("issue_date", None, "issue_date"), ("lines", [], "lines")],
)
def test_draft_values_rejected(
    eur_invoice: InvoiceDocument, field: str, value: object, place: str
) -> None:
    doc = dataclasses.replace(eur_invoice, **{field: value})

    with pytest.raises(InvalidInput) as caught:
        write_ubl(doc)

    assert caught.value.place == place


def test_official_examples_round_trip(einvoice_examples: Path) -> None:
    # Every official example that Billguard can express (all but those with a second VAT
    # currency) is written back without breaking an EN 16931 rule.
    written = 0
    for path in sorted((einvoice_examples / "en16931-examples").glob("*")):
        doc = read_ubl(path, source=path.name)
        if doc.tax_currency and doc.tax_currency != doc.currency:
            continue
        fatal = [m for m in validate_ubl(write_ubl(doc)) if m.is_fatal]
        assert fatal == [], path.name
        written += 1
    assert written == 17


def test_official_amounts_survive(einvoice_examples: Path) -> None:
    path = einvoice_examples / "en16931-examples" / "ubl-tc434-example2.xml"
    original = read_ubl(path, source=path.name)

    again = read_ubl(write_ubl(original), source=path.name)

    assert again.totals == original.totals
    assert again.tax_subtotals == original.tax_subtotals
    assert again.allowances_charges == original.allowances_charges
    assert [line.net_amount for line in again.lines] == [line.net_amount for line in original.lines]
    assert again.totals.payable == Decimal("801.78")
