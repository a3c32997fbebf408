"""Credit notes: the only way to correct an issued invoice, in full or in part."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from billguard.billing.documents import document_from_invoice, party_to_dict
from billguard.billing.invoices import document_rows_insert
from billguard.billing.models import Invoice, InvoiceLine
from billguard.billing.numbering import numbers_take
from billguard.billing.outputs import invoice_write_outputs
from billguard.billing.selectors import invoice_for_output
from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.delivery.outbox import invoices_delivery_queue
from billguard.domain.credit import credit_note_for
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# The length of Invoice.override_reason, where the reason is stored.
MAX_REASON_LENGTH = 300


def invoice_by_number(number: str) -> Invoice:
    invoice = (
        Invoice.objects.filter(number=number, document_type=Invoice.DocumentType.INVOICE)
        .select_related("seller_entity", "contract", "credited_invoice")
        .first()
    )
    if invoice is None:
        raise NotFound(
            f"invoice {number!r} was not found among issued invoices.",
            place="invoice number",
            value=number,
            fix="Give the number as printed on the invoice, such as ADE-000123.",
        )
    return invoice


@transaction.atomic
def credit_note_issue(
    *,
    invoice: Invoice,
    reason: str,
    issue_date: dt.date,
    quantities: dict[str, Decimal] | None = None,
    actor: str = "system",
    by: User | None = None,
) -> Invoice:
    """Issue a credit note for ``invoice``: in full, or for ``quantities`` by line position.

    Quantities already credited by earlier credit notes are deducted first, so a line is
    never credited beyond what was invoiced. The audit entry names ``by`` when given, else
    ``actor``.
    """
    if by is not None:
        authorize(by, "invoice_credit")
        actor = by.get_username()
    if not reason.strip():
        raise InvalidInput(
            "a credit note needs a reason.", place="--reason", fix="Say why the invoice is wrong."
        )
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(
            f"the reason is {len(reason)} characters long, over the limit of {MAX_REASON_LENGTH}.",
            place="--reason",
            fix="Shorten it; the credit note carries it as a note.",
        )
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != Invoice.Status.ISSUED or invoice.document_type != "invoice":
        raise RuleViolation(
            f"{invoice} is not an issued invoice, so it cannot be credited.",
            fix="Only issued invoices are credited; a draft is drafted again instead.",
        )
    if invoice.issue_date is not None and issue_date < invoice.issue_date:
        raise InvalidInput(
            f"the credit note date {issue_date} is before invoice {invoice.number} of "
            f"{invoice.issue_date}.",
            place="--date",
            value=issue_date,
            fix="Date the credit note on or after the invoice it corrects.",
        )
    remaining = _remaining_quantities(invoice)
    if all(quantity <= 0 for quantity in remaining.values()):
        raise RuleViolation(
            f"invoice {invoice.number} is already credited in full.",
            fix="Nothing is left to credit; issue a new invoice if it must be billed again.",
        )
    if quantities is None:
        if any(remaining[p] != line.quantity for p, line in _lines(invoice).items()):
            raise RuleViolation(
                f"invoice {invoice.number} is already credited in part.",
                fix="Credit the remaining quantities line by line with --line POSITION=QTY.",
            )
        credit_lines = None
    else:
        for position, quantity in quantities.items():
            if position not in remaining:
                raise InvalidInput(
                    f"invoice {invoice.number} has no line {position}.",
                    place=f"--line {position}",
                    value=position,
                    fix=f"Use a line position from 1 to {len(remaining)}.",
                )
            if quantity > remaining[position]:
                raise InvalidInput(
                    f"line {position} has {remaining[position]} left to credit, not {quantity}.",
                    place=f"--line {position}",
                    value=quantity,
                )
        credit_lines = quantities

    document = credit_note_for(
        document_from_invoice(invoice), lines=credit_lines, issue_date=issue_date
    )
    number = numbers_take(seller_entity_id=invoice.seller_entity_id, count=1)[0]
    credit_note = Invoice.objects.create(
        document_type=Invoice.DocumentType.CREDIT_NOTE,
        status=Invoice.Status.ISSUED,
        number=number,
        seller_entity_id=invoice.seller_entity_id,
        contract_id=invoice.contract_id,
        contract_version_id=invoice.contract_version_id,
        bill_to_id=invoice.bill_to_id,
        currency=invoice.currency,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        issue_date=issue_date,
        customer_po=invoice.customer_po,
        line_extension=document.totals.line_extension,
        tax_total=document.totals.tax_total,
        payable=document.totals.payable,
        credited_invoice=invoice,
        parties={"seller": party_to_dict(document.seller), "buyer": party_to_dict(document.buyer)},
        override_reason=reason,
        issued_at=timezone.now(),
    )
    originals = _lines(invoice)
    document_rows_insert(
        credit_note.pk,
        document,
        {line_id: line.kind for line_id, line in originals.items()},
    )
    audit_record(
        actor=actor,
        action="credit_note.issue",
        record=credit_note,
        before=None,
        after={
            "number": number,
            "credited_invoice": invoice.number,
            "issue_date": issue_date,
            "currency": credit_note.currency,
            "payable": credit_note.payable,
            "lines": {line.line_id: line.quantity for line in document.lines},
        },
        reason=reason,
    )
    logger.info("issued credit note %s for invoice %s", number, invoice.number)
    invoices_delivery_queue([credit_note])
    transaction.on_commit(lambda: invoice_write_outputs(invoice_for_output(credit_note.pk)))
    return credit_note


def _lines(invoice: Invoice) -> dict[str, InvoiceLine]:
    return {str(line.position): line for line in invoice.lines.all()}


def _remaining_quantities(invoice: Invoice) -> dict[str, Decimal]:
    credited: dict[str, Decimal] = defaultdict(Decimal)
    for line in InvoiceLine.objects.filter(
        invoice__credited_invoice=invoice, invoice__status=Invoice.Status.ISSUED
    ):
        credited[str(line.position)] += line.quantity
    return {p: line.quantity - credited[p] for p, line in _lines(invoice).items()}
