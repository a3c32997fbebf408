"""The delivery outbox: one row per issued invoice, written in the issuing transaction.

``invoices_delivery_queue`` runs inside the transaction that issues the invoices, so a
rolled-back issue leaves no row and a committed one always has its row. It only reads the
template rules and contacts (a few queries per call) and renders nothing: the PDF is rendered
when ``billguard deliveries send-due`` sends the email. It also emits ``invoice.issued`` to
the alert subscriptions, which are sent after the commit like every alert.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billguard.billing.bulk import instances_insert
from billguard.billing.models import Invoice
from billguard.controls.alerts import Alert, alerts_emit
from billguard.controls.models.alerts import AlertEvent
from billguard.delivery.models import InvoiceDelivery, InvoiceTemplate, InvoicingContact
from billguard.delivery.templates import (
    DraftKey,
    TemplateCatalog,
    TemplateTie,
    invoice_languages,
    template_catalog_load,
)
from billguard.domain.currencies import minor_units
from billguard.registry.models import BillToEntity, Contract

logger = logging.getLogger(__name__)


def invoices_delivery_queue(invoices: Sequence[Invoice]) -> list[InvoiceDelivery]:
    """Write one pending delivery per issued invoice and emit ``invoice.issued`` for each.

    Call it inside the issuing transaction. A delivery without a recipient is stored as
    failed at once, with the fix in ``last_error``, so that it shows in `deliveries list`.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("invoices_delivery_queue must run inside the issuing transaction")
    issued = [invoice for invoice in invoices if invoice.status == Invoice.Status.ISSUED]
    if not issued:
        return []
    bill_to_ids = {invoice.bill_to_id for invoice in issued if invoice.bill_to_id}
    recipients = recipients_of(bill_to_ids)
    keys = draft_keys_of(issued)
    catalog = template_catalog_load()
    now = timezone.now()

    deliveries = []
    for invoice in issued:
        to = recipients.get(invoice.bill_to_id or 0, [])
        template, error = template_for(catalog, keys[invoice.pk])
        if not to:
            error = (
                f"bill-to entity {invoice.bill_to_id} has no invoicing contact and no contact "
                "email. Add one with `billguard deliveries contact-add`, then "
                "`billguard deliveries retry ID`."
            )
        deliveries.append(
            InvoiceDelivery(
                invoice=invoice,
                template=template,
                recipients=to,
                status=InvoiceDelivery.Status.FAILED if not to else InvoiceDelivery.Status.PENDING,
                last_error=error if not to else "",
                next_attempt_at=now if to else None,
            )
        )
    instances_insert(InvoiceDelivery, deliveries)
    for delivery in deliveries:
        if delivery.status == InvoiceDelivery.Status.FAILED:
            logger.error(
                "invoice %s cannot be delivered: %s", delivery.invoice.number, delivery.last_error
            )
    alerts_emit(event=AlertEvent.INVOICE_ISSUED, alerts=[_issued_alert(i) for i in issued])
    return deliveries


def recipients_of(bill_to_ids: set[int]) -> dict[int, list[str]]:
    """Return the email addresses of each bill-to entity's invoicing contacts, in order.

    A bill-to entity without invoicing contacts falls back to its ``contact_email``.
    """
    found: dict[int, list[str]] = {}
    contacts = InvoicingContact.objects.filter(bill_to_id__in=bill_to_ids).order_by(
        "bill_to_id", "position", "pk"
    )
    for bill_to_id, email in contacts.values_list("bill_to_id", "email"):
        found.setdefault(bill_to_id, []).append(email)
    missing = bill_to_ids - set(found)
    for bill_to_id, email in BillToEntity.objects.filter(pk__in=missing).values_list(
        "pk", "contact_email"
    ):
        if email:
            found[bill_to_id] = [email]
    return found


def draft_keys_of(invoices: Sequence[Invoice]) -> dict[int, DraftKey]:
    """Return what the template rules match on for each invoice, by invoice id."""
    bill_tos = {
        b.pk: b
        for b in BillToEntity.objects.filter(
            pk__in={i.bill_to_id for i in invoices if i.bill_to_id}
        ).select_related("party")
    }
    contracts = {
        c.pk: c
        for c in Contract.objects.filter(
            pk__in={i.contract_id for i in invoices if i.contract_id}
        ).select_related("party")
    }
    languages = invoice_languages(bill_tos)
    keys = {}
    for invoice in invoices:
        bill_to = bill_tos.get(invoice.bill_to_id or 0)
        contract = contracts.get(invoice.contract_id or 0)
        party = None
        if bill_to is not None:
            party = bill_to.party
        elif contract is not None:
            party = contract.party
        keys[invoice.pk] = DraftKey(
            party_id=party.pk if party else None,
            party_code=party.code if party else "",
            contract_type=contract.contract_type if contract else "",
            language=languages.get(invoice.bill_to_id or 0, ""),
        )
    return keys


def template_for(catalog: TemplateCatalog, key: DraftKey) -> tuple[InvoiceTemplate | None, str]:
    """Return the template the rules choose for ``key``, or None and the reason."""
    try:
        template = catalog.choose(key)
    except TemplateTie as tie:
        return None, str(tie)
    if template is None:
        return None, (
            f"no invoice template rule matches {key.describe()}. Add one with "
            "`billguard invoice-templates rule-add`."
        )
    return template, ""


def _issued_alert(invoice: Invoice) -> Alert:
    kind = "Credit note" if invoice.document_type == Invoice.DocumentType.CREDIT_NOTE else "Invoice"
    return Alert(
        subject=f"{kind} {invoice.number} issued",
        payload={
            "invoice_id": invoice.pk,
            "number": invoice.number,
            "document_type": invoice.document_type,
            "billing_run_id": invoice.billing_run_id,
            "contract_id": invoice.contract_id,
            "bill_to_id": invoice.bill_to_id,
            "issue_date": invoice.issue_date,
            "due_date": invoice.due_date,
            "currency": invoice.currency,
            # In the currency's ISO 4217 minor units: stored amounts have 3 decimals.
            "payable": Decimal(invoice.payable).quantize(
                Decimal(1).scaleb(-minor_units(invoice.currency))
            ),
        },
    )
