"""The PDF and UBL files of one issued invoice, read from the database."""

from __future__ import annotations

import logging

from billguard.billing.documents import document_from_invoice
from billguard.billing.drafting import DEFAULT_PAYMENT_TERMS_DAYS
from billguard.billing.models import Invoice
from billguard.billing.outputs import invoices_for_outputs
from billguard.delivery.models import InvoiceTemplate
from billguard.delivery.outbox import draft_keys_of, template_for
from billguard.delivery.pdf import BankDetails, Layout, render_pdf
from billguard.delivery.templates import template_catalog_load
from billguard.domain.errors import NotFound, RuleViolation
from billguard.einvoice.errors import UblNotSupported
from billguard.einvoice.ubl_writer import write_ubl
from billguard.registry.models import BankAccount

logger = logging.getLogger(__name__)


def invoice_load(number: str) -> Invoice:
    """Return the issued invoice or credit note numbered ``number``, with what rendering reads."""
    invoices = invoices_for_outputs(
        Invoice.objects.filter(number=number.strip(), status=Invoice.Status.ISSUED)
    )
    if not invoices:
        raise NotFound(
            f"issued invoice {number!r} not found.",
            place="number",
            value=number,
            fix="Give the number of an issued invoice or credit note, such as BLD-000123.",
        )
    if len(invoices) > 1:
        raise RuleViolation(
            f"{len(invoices)} seller entities issued an invoice numbered {number!r}.",
            place="number",
            value=number,
            fix="Give the number with its seller's prefix.",
        )
    return invoices[0]


def invoice_template(invoice: Invoice) -> InvoiceTemplate:
    """Return the template the rules choose for ``invoice`` now, or raise RuleViolation."""
    key = draft_keys_of([invoice])[invoice.pk]
    template, error = template_for(template_catalog_load(), key)
    if template is None:
        raise RuleViolation(
            f"invoice {invoice.number}: {error}",
            code="TEMPLATE_NOT_FOUND",
            place="template",
            fix="Then render it again.",
        )
    return template


def invoice_pdf(invoice: Invoice, template: InvoiceTemplate | None = None) -> bytes:
    """Render ``invoice`` (loaded by ``invoice_load``) in ``template``, or the rules' choice."""
    template = template or invoice_template(invoice)
    document = document_from_invoice(invoice)
    version = invoice.contract_version
    days = (version.payment_terms_days if version else None) or DEFAULT_PAYMENT_TERMS_DAYS
    return render_pdf(document, layout_of(template), bank_of(invoice.seller_entity_id), days)


def invoice_ubl(invoice: Invoice) -> bytes | None:
    """Return the UBL 2.1 file of ``invoice``, or None where EN 16931 allows no UBL for it."""
    try:
        return write_ubl(
            document_from_invoice(invoice),
            seller_bank_account=bank_of(invoice.seller_entity_id).iban,
        )
    except UblNotSupported as error:
        logger.warning("no UBL attachment for invoice %s: %s", invoice.number, error)
        return None


def layout_of(template: InvoiceTemplate) -> Layout:
    return Layout(
        language=template.language,
        title=template.title,
        credit_note_title=template.credit_note_title,
        header_text=template.header_text,
        footer_text=template.footer_text,
        payment_instructions=template.payment_instructions,
        accent_color=template.accent_color,
    )


def bank_of(seller_entity_id: int) -> BankDetails:
    """Return the seller entity's primary bank account, the first by id; empty without one."""
    account = (
        BankAccount.objects.filter(seller_entity_id=seller_entity_id, is_primary=True)
        .order_by("pk")
        .first()
    )
    if account is None:
        return BankDetails()
    return BankDetails(iban=account.iban, bic=account.bic)
