"""Supporting documents (BG-24) in UBL output: the SOW revision behind an invoice's terms."""

from lxml import etree

from billguard.domain.invoice import InvoiceDocument, SupportingDocument
from billguard.einvoice.ubl_writer import write_ubl
from billguard.einvoice.validation import validate_ubl

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
SOW = SupportingDocument(identifier="SOW-C-1 rev 2", description="SOW C-1, SHA-256 ab12")


def test_invoice_with_supporting_document_passes(eur_invoice: InvoiceDocument) -> None:
    eur_invoice.supporting_documents = [SOW]

    xml = write_ubl(eur_invoice, seller_bank_account="DE89370400440532013000")

    reference = etree.fromstring(xml).find(f"{{{CAC}}}AdditionalDocumentReference")
    assert reference is not None
    assert reference.findtext(f"{{{CBC}}}ID") == "SOW-C-1 rev 2"
    assert reference.findtext(f"{{{CBC}}}DocumentDescription") == "SOW C-1, SHA-256 ab12"
    assert [m for m in validate_ubl(xml) if m.is_fatal] == []


def test_credit_note_with_supporting_document_passes(credit_note: InvoiceDocument) -> None:
    credit_note.supporting_documents = [SOW]

    xml = write_ubl(credit_note)

    assert b"AdditionalDocumentReference" in xml
    assert [m for m in validate_ubl(xml) if m.is_fatal] == []
