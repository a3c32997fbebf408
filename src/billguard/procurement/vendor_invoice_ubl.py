"""Read a vendor invoice from a UBL 2.1 Invoice (EN 16931), with the project's UBL reader.

The vendor is the party whose tax ID or code equals the seller's VAT identifier (BT-31), tax
registration identifier (BT-32), party identifier (BT-29) or legal registration identifier
(BT-30), compared without spaces, dots or hyphens. The purchase order is the order reference
(BT-13, cac:OrderReference/cbc:ID), each line's order line is its
cac:OrderLineReference/cbc:LineID (BT-132) where present, and the payee account is the first
cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID (BT-84). The seller entity is the one that
placed the order.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.db.models import Q
from lxml import etree

from billguard.domain.errors import BillguardError, InvalidInput, NotFound
from billguard.domain.invoice import DocumentType, InvoiceDocument, InvoiceLine, PartyInfo
from billguard.einvoice.ubl_names import NAMESPACES
from billguard.einvoice.ubl_reader import read_ubl
from billguard.einvoice.xml_input import element_path, parse_xml
from billguard.procurement.vendor_invoice_input import (
    VendorInvoiceInput,
    VendorInvoiceInvalid,
    VendorInvoiceLineInput,
)
from billguard.registry.models import Party

# The element path of each invoice field, for error messages.
INVOICE_PATHS = {
    "vendor": "cac:AccountingSupplierParty (BT-29, BT-31)",
    "purchase_order": "cac:OrderReference/cbc:ID (BT-13)",
    "number": "cbc:ID (BT-1)",
    "issue_date": "cbc:IssueDate (BT-2)",
    "due_date": "cbc:DueDate (BT-9)",
    "currency": "cbc:DocumentCurrencyCode (BT-5)",
    "payee_iban": "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID (BT-84)",
    "net_amount": "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount (BT-109)",
    "tax_amount": "cac:TaxTotal/cbc:TaxAmount (BT-110)",
    "gross_amount": "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount (BT-112)",
    "lines": "cac:InvoiceLine",
}
LINE_PATHS = {
    "line_number": "cbc:ID (BT-126)",
    "order_line": "cac:OrderLineReference/cbc:LineID (BT-132)",
    "quantity": "cbc:InvoicedQuantity (BT-129)",
    "unit_price": "cac:Price/cbc:PriceAmount (BT-146)",
    "price_base_quantity": "cac:Price/cbc:BaseQuantity (BT-149)",
    "net_amount": "cbc:LineExtensionAmount (BT-131)",
}
_IDENTIFIER_NOISE = re.compile(r"[\s.\-/]+")


def read_vendor_invoice_ubl(content: bytes, *, source: str, sha256: str = "") -> VendorInvoiceInput:
    """Read a UBL 2.1 invoice from a vendor into a VendorInvoiceInput.

    Raises UnreadableDocument or InvalidInput as ``read_ubl`` does, and VendorInvoiceInvalid
    when the seller is no known vendor, the document is a credit note, or an order line
    reference is not a line number.
    """
    document = read_ubl(content, source=source)
    root = parse_xml(content, source=source)
    if document.document_type is DocumentType.CREDIT_NOTE:
        problem = InvalidInput(
            f"document {document.number} is a credit note, not an invoice.",
            place=f"{source}, {element_path(root)}",
            value=document.number,
            fix="Record only vendor invoices; settle a vendor credit note with the vendor.",
        )
        raise VendorInvoiceInvalid(source, [problem])
    problems: list[BillguardError] = []
    vendor = _vendor(document.seller, source, problems)
    lines = [
        _line(document, line, element, position, problems)
        for position, (line, element) in enumerate(
            zip(document.lines, root.findall("cac:InvoiceLine", NAMESPACES), strict=True),
            start=1,
        )
    ]
    if problems or vendor is None or document.issue_date is None:
        raise VendorInvoiceInvalid(source, problems)

    totals = document.totals
    return VendorInvoiceInput(
        vendor=vendor.code,
        purchase_order=document.order_reference,
        number=document.number,
        issue_date=document.issue_date,
        due_date=document.due_date,
        currency=document.currency,
        lines=lines,
        net_amount=totals.tax_exclusive,
        tax_amount=totals.tax_total,
        gross_amount=totals.tax_inclusive,
        allowance_total=totals.allowance_total,
        charge_total=totals.charge_total,
        payee_iban=_payee_account(root),
        source="ubl",
        source_file=source,
        source_sha256=sha256,
        columns=INVOICE_PATHS,
    )


def vendor_for_seller(seller: PartyInfo) -> list[Party]:
    """Return the vendors whose tax ID or code equals one of the seller's identifiers."""
    identifiers = [
        value
        for value in (seller.tax_id, seller.identifier, seller.registration_id)
        if value.strip()
    ]
    compact = {_compact(value) for value in identifiers}
    if not compact:
        return []
    vendors = Party.objects.filter(kind=Party.Kind.VENDOR).filter(
        Q(tax_id__in=identifiers) | Q(code__in=identifiers) | Q(tax_id__in=compact)
    )
    found = list(vendors.order_by("code"))
    if found:
        return found
    # Stored tax IDs may be written with spaces or dots; compare the compact forms.
    return [
        party
        for party in Party.objects.filter(kind=Party.Kind.VENDOR)
        .exclude(tax_id="")
        .order_by("code")
        if _compact(party.tax_id) in compact
    ]


def _vendor(seller: PartyInfo, source: str, problems: list[BillguardError]) -> Party | None:
    place = f"{source}, {INVOICE_PATHS['vendor']}"
    found = vendor_for_seller(seller)
    described = _seller_identifiers(seller)
    if not found:
        problems.append(
            NotFound(
                f"no vendor has the seller's {described}.",
                place=place,
                value=seller.tax_id or seller.identifier or seller.registration_id,
                fix="Set this tax ID on the vendor's party record, or create the vendor with "
                "it, then import the file again.",
            )
        )
        return None
    if len(found) > 1:
        # A vendor merged into another keeps its tax ID; the party it was merged into wins.
        surviving = [party for party in found if party.merged_into_id is None]
        if len(surviving) == 1:
            return surviving[0]
        codes = ", ".join(party.code for party in found)
        problems.append(
            InvalidInput(
                f"several vendors ({codes}) have the seller's {described}.",
                place=place,
                value=codes,
                fix="Merge the duplicate vendors, or correct the tax ID of the wrong one.",
            )
        )
        return None
    return found[0]


def _line(
    document: InvoiceDocument,
    line: InvoiceLine,
    element: etree._Element,
    position: int,
    problems: list[BillguardError],
) -> VendorInvoiceLineInput:
    prefix = f"cac:InvoiceLine[{position}]"
    order_line = None
    reference = element.find("cac:OrderLineReference/cbc:LineID", NAMESPACES)
    text = (reference.text or "").strip() if reference is not None else ""
    if reference is not None and text:
        if text.isascii() and text.isdigit() and int(text) >= 1:
            order_line = int(text)
        else:
            problems.append(
                InvalidInput(
                    f"the order line reference {text!r} is not a purchase order line number.",
                    place=f"{document.source}, {element_path(reference)}",
                    value=text,
                    fix="Ask the vendor to reference our order line number, such as 1 or 2, "
                    "or record the invoice with `billguard vendor-invoices record`.",
                )
            )
    allowances = sum(
        (item.amount for item in line.allowances_charges if not item.is_charge), Decimal(0)
    )
    charges = sum((item.amount for item in line.allowances_charges if item.is_charge), Decimal(0))
    return VendorInvoiceLineInput(
        line_number=position,
        order_line=order_line,
        quantity=line.quantity,
        unit_price=line.unit_price,
        price_base_quantity=line.price_base_quantity,
        net_amount=line.net_amount,
        allowances=allowances,
        charges=charges,
        description=line.description,
        unit_code=line.unit_code or "C62",
        columns={name: f"{prefix}/{path}" for name, path in LINE_PATHS.items()},
    )


def _payee_account(root: etree._Element) -> str:
    # NOTE: only the first payee account is kept and checked. An invoice that offers several
    # (Swedish invoices often list bankgiro and plusgiro accounts too) is paid to that one.
    for account in root.findall("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID", NAMESPACES):
        text = (account.text or "").strip()
        if text:
            return text
    return ""


def _seller_identifiers(seller: PartyInfo) -> str:
    parts = []
    if seller.tax_id:
        parts.append(f"tax ID {seller.tax_id!r} (BT-31)")
    if seller.identifier:
        parts.append(f"party identifier {seller.identifier!r} (BT-29)")
    if seller.registration_id:
        parts.append(f"registration ID {seller.registration_id!r} (BT-30)")
    return " or ".join(parts) or "identifiers, because the document names none"


def _compact(value: str) -> str:
    return _IDENTIFIER_NOISE.sub("", value).upper()
