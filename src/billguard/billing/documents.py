"""Conversion between stored invoices and the InvoiceDocument that checks and outputs use."""

from __future__ import annotations

from decimal import Decimal

from billguard.billing.models import Invoice
from billguard.domain.currencies import minor_units
from billguard.domain.invoice import (
    Address,
    AllowanceCharge,
    DocumentType,
    InvoiceDocument,
    InvoiceLine,
    PartyInfo,
    SupportingDocument,
    TaxSubtotal,
    Totals,
)


def party_to_dict(party: PartyInfo) -> dict[str, str]:
    return {
        "name": party.name,
        "tax_id": party.tax_id,
        "registration_id": party.registration_id,
        "identifier": party.identifier,
        "street": party.address.street,
        "city": party.address.city,
        "postcode": party.address.postcode,
        "subdivision": party.address.subdivision,
        "country": party.address.country,
        "contact_email": party.contact_email,
    }


def party_from_dict(data: dict[str, str]) -> PartyInfo:
    return PartyInfo(
        name=data.get("name", ""),
        tax_id=data.get("tax_id", ""),
        registration_id=data.get("registration_id", ""),
        identifier=data.get("identifier", ""),
        address=Address(
            street=data.get("street", ""),
            city=data.get("city", ""),
            postcode=data.get("postcode", ""),
            subdivision=data.get("subdivision", ""),
            country=data.get("country", ""),
        ),
        contact_email=data.get("contact_email", ""),
    )


def document_from_invoice(invoice: Invoice) -> InvoiceDocument:
    """Rebuild the document of a stored invoice (lines and tax subtotals prefetched)."""
    parties = invoice.parties or {}
    decimals = minor_units(invoice.currency)

    def amount(value: Decimal) -> Decimal:
        # Stored with 3 decimals for every currency; documents show the currency's own.
        return value.quantize(Decimal(1).scaleb(-decimals))

    lines = []
    for line in invoice.lines.all():
        gross = amount(line.quantity * line.unit_price)
        allowances = []
        difference = gross - line.net_amount
        if difference:
            # Discounts and prorations are stored folded into the net amount; the
            # document shows them as one line allowance so that BR-LIN-04 holds.
            allowances.append(
                AllowanceCharge(
                    is_charge=difference < 0,
                    amount=abs(difference),
                    reason="Discount and proration" if difference > 0 else "Charge",
                    reason_code="95" if difference > 0 else "ZZZ",
                )
            )
        lines.append(
            InvoiceLine(
                line_id=str(line.position),
                description=line.description,
                quantity=line.quantity,
                unit_code=line.unit_code,
                unit_price=trim_price(line.unit_price),
                net_amount=amount(line.net_amount),
                tax_category=line.tax_category,
                tax_rate=line.tax_rate,
                exemption_reason=line.exemption_reason,
                item_id=line.line_code,
                gl_account=line.gl_account,
                service_start=line.service_start,
                service_end=line.service_end,
                allowances_charges=allowances,
                discount_percent=line.discount_percent,
            )
        )
    subtotals = [
        TaxSubtotal(
            category=s.category,
            rate=s.rate,
            taxable_amount=amount(s.taxable_amount),
            tax_amount=amount(s.tax_amount),
            exemption_reason=s.exemption_reason,
        )
        for s in invoice.tax_subtotals.all()
    ]
    zero = Decimal(0)
    return InvoiceDocument(
        document_type=DocumentType.CREDIT_NOTE
        if invoice.document_type == Invoice.DocumentType.CREDIT_NOTE
        else DocumentType.INVOICE,
        number=invoice.number or "",
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        currency=invoice.currency,
        seller=party_from_dict(parties.get("seller", {})),
        buyer=party_from_dict(parties.get("buyer", {})),
        lines=lines,
        tax_subtotals=subtotals,
        totals=Totals(
            line_extension=amount(invoice.line_extension),
            allowance_total=amount(zero),
            charge_total=amount(zero),
            tax_exclusive=amount(invoice.line_extension),
            tax_total=amount(invoice.tax_total),
            tax_inclusive=amount(invoice.line_extension + invoice.tax_total),
            prepaid=amount(zero),
            rounding=amount(zero),
            payable=amount(invoice.payable),
        ),
        order_reference=invoice.customer_po,
        contract_reference=invoice.contract.number if invoice.contract else "",
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        preceding_invoice=invoice.credited_invoice.number
        if invoice.credited_invoice and invoice.credited_invoice.number
        else "",
        notes=_notes(invoice),
        supporting_documents=_supporting_documents(invoice),
        source=f"invoice {invoice.pk}",
    )


def _notes(invoice: Invoice) -> list[str]:
    """Return the invoice notes (BT-22): on a credit note, the reason it was issued for.

    credit_note_issue stores that reason in override_reason.
    """
    reason = invoice.override_reason.strip()
    if invoice.document_type == Invoice.DocumentType.CREDIT_NOTE and reason:
        return [f"Reason for credit: {reason}"]
    return []


def _supporting_documents(invoice: Invoice) -> list[SupportingDocument]:
    """Return the document revision the invoice's terms came from, with its SHA-256."""
    document = invoice.terms_document
    if document is None:
        return []
    return [
        SupportingDocument(
            identifier=f"{document.family} rev {document.revision}",
            description=f"{document.title}, SHA-256 {document.sha256}",
        )
    ]


def trim_price(price: Decimal) -> Decimal:
    """Drop trailing zeros of a stored unit price past two decimals (120.500000 -> 120.50)."""
    trimmed = price.normalize()
    if trimmed.as_tuple().exponent > -2:  # type: ignore[operator]
        return price.quantize(Decimal("0.01"))
    return trimmed
