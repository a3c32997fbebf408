"""Sending the delivery outbox: the invoice email with its PDF and UBL file attached.

``deliveries_send_due`` takes the pending deliveries whose next attempt is due, renders each
PDF at that moment and sends it through the SMTP server of ``BILLGUARD_SMTP_HOST`` and
``BILLGUARD_SMTP_PORT``. A failure is retried after the waits of BACKOFF_MINUTES; the
MAX_ATTEMPTS-th failure marks the delivery failed for a person to see and retry.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billguard.billing.models import Invoice
from billguard.billing.outputs import invoices_for_outputs
from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.delivery.models import InvoiceDelivery
from billguard.delivery.outbox import draft_keys_of, recipients_of, template_for
from billguard.delivery.pdf import format_amount
from billguard.delivery.rendering import invoice_pdf, invoice_ubl
from billguard.delivery.templates import template_catalog_load
from billguard.domain.errors import BillguardError, NotFound

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# The wait after failed attempt n is BACKOFF_MINUTES[n - 1].
BACKOFF_MINUTES = (5, 15, 60, 240)
# Seconds for which a claimed delivery is reserved for its sender before another may try it.
CLAIM_SECONDS = 300
# Deliveries that one deliveries_send_due call tries at most.
SEND_BATCH = 200
DELIVERY_HEADER = "X-Billguard-Invoice-Delivery"


@dataclass
class SendCounts:
    """Counts of one sending pass: sent, failed for now (retried later), failed for good."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class SendError(Exception):
    """Sending one delivery failed; the message goes to the delivery's last_error.

    ``server_down`` marks a failure to reach the SMTP server, after which the pass stops.
    """

    def __init__(self, message: str, *, server_down: bool = False) -> None:
        super().__init__(message)
        self.server_down = server_down


def deliveries_send_due(*, now: dt.datetime | None = None) -> SendCounts:
    """Send the pending deliveries that are due at ``now``, oldest first.

    When the SMTP server cannot be reached, the pass stops after that delivery's failure, so
    a server that is down costs one attempt of one delivery, not one of each.
    """
    now = now or timezone.now()
    due = list(
        InvoiceDelivery.objects.filter(status=InvoiceDelivery.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("next_attempt_at", "pk")[:SEND_BATCH]
    )
    counts = SendCounts()
    for delivery in due:
        if not _claim(delivery, now):
            continue
        if not _attempt(delivery, now, counts):
            break
    return counts


@transaction.atomic
def delivery_retry(*, by: User, delivery_id: int) -> InvoiceDelivery:
    """Make a delivery pending again with fresh recipients and template, and send it now.

    The attempts start from zero. A sent delivery is sent again, to the current contacts.
    """
    authorize(by, "billing_run")
    delivery = InvoiceDelivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound(
            f"delivery {delivery_id} not found.",
            place="ID",
            value=delivery_id,
            fix="See `billguard deliveries list` for the ids.",
        )
    before = {"status": delivery.status, "attempts": delivery.attempts}
    invoice = delivery.invoice
    recipients = recipients_of({invoice.bill_to_id} if invoice.bill_to_id else set())
    delivery.recipients = recipients.get(invoice.bill_to_id or 0, [])
    delivery.template, _ = template_for(
        template_catalog_load(), draft_keys_of([invoice])[invoice.pk]
    )
    delivery.status = InvoiceDelivery.Status.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.save()
    audit_record(
        actor=by.get_username(),
        action="invoice_delivery.retry",
        record=delivery,
        before=before,
        after={"status": delivery.status, "recipients": delivery.recipients},
    )
    logger.info("delivery %s of invoice %s retried by %s", delivery.pk, invoice.number, by)
    transaction.on_commit(lambda: _send_one(delivery.pk), robust=True)
    return delivery


# Sending


def _send_one(delivery_id: int) -> None:
    delivery = InvoiceDelivery.objects.get(pk=delivery_id)
    now = timezone.now()
    if _claim(delivery, now):
        _attempt(delivery, now, SendCounts())


def _claim(delivery: InvoiceDelivery, now: dt.datetime) -> bool:
    """Take ``delivery`` for this sender, unless another sender took or finished it first."""
    lease = now + dt.timedelta(seconds=CLAIM_SECONDS)
    claimed = InvoiceDelivery.objects.filter(
        pk=delivery.pk,
        status=InvoiceDelivery.Status.PENDING,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
    ).update(next_attempt_at=lease)
    if claimed:
        delivery.next_attempt_at = lease
    return bool(claimed)


def _attempt(delivery: InvoiceDelivery, now: dt.datetime, counts: SendCounts) -> bool:
    """Send ``delivery`` once and record the outcome; return False when the server is down."""
    try:
        _send(delivery)
    except SendError as error:
        _failure_record(delivery, str(error), now, counts)
        return not error.server_down
    delivery.status = InvoiceDelivery.Status.SENT
    delivery.attempts += 1
    delivery.sent_at = timezone.now()
    delivery.next_attempt_at = None
    delivery.last_error = ""
    delivery.save(update_fields=["status", "attempts", "sent_at", "next_attempt_at", "last_error"])
    counts.sent += 1
    logger.info(
        "delivery %s of invoice %s sent to %s on attempt %d",
        delivery.pk,
        delivery.invoice_id,
        ", ".join(delivery.recipients),
        delivery.attempts,
    )
    return True


def _send(delivery: InvoiceDelivery) -> None:
    if not delivery.recipients:
        raise SendError("no recipient: the bill-to entity has no invoicing contact or email")
    invoice = invoices_for_outputs(Invoice.objects.filter(pk=delivery.invoice_id))[0]
    try:
        pdf = invoice_pdf(invoice, delivery.template)
    except BillguardError as error:
        raise SendError(f"the PDF could not be rendered: {error}") from error
    ubl = invoice_ubl(invoice)
    kind = "Credit note" if invoice.document_type == "credit_note" else "Invoice"
    seller = (invoice.parties or {}).get("seller", {}).get("name", "")
    message = EmailMessage(
        subject=f"{kind} {invoice.number} from {seller}".strip(),
        body=(
            f"Please find attached {kind.lower()} {invoice.number} of {invoice.issue_date} "
            f"for {format_amount(invoice.payable, invoice.currency)}, as PDF and as UBL 2.1 "
            "XML.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(delivery.recipients),
        headers={DELIVERY_HEADER: str(delivery.pk)},
    )
    message.attach(f"{invoice.number}.pdf", pdf, "application/pdf")
    if ubl is not None:
        message.attach(f"{invoice.number}.xml", ubl, "application/xml")
    server = f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    try:
        message.send(fail_silently=False)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as e:
        raise SendError(f"the SMTP server {server} rejected the email: {e}") from e
    except (smtplib.SMTPException, OSError) as error:
        raise SendError(
            f"the SMTP server {server} could not be reached: {error}", server_down=True
        ) from error


def _failure_record(
    delivery: InvoiceDelivery, error: str, now: dt.datetime, counts: SendCounts
) -> None:
    delivery.attempts += 1
    delivery.last_error = error[:2000]
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = InvoiceDelivery.Status.FAILED
        delivery.next_attempt_at = None
        counts.failed += 1
        logger.error(
            "delivery %s of invoice %s failed for good after %d attempts: %s",
            delivery.pk,
            delivery.invoice_id,
            delivery.attempts,
            error,
        )
    else:
        wait = BACKOFF_MINUTES[min(delivery.attempts, len(BACKOFF_MINUTES)) - 1]
        delivery.next_attempt_at = now + dt.timedelta(minutes=wait)
        counts.retrying += 1
        logger.warning(
            "delivery %s of invoice %s failed on attempt %d, retry at %s: %s",
            delivery.pk,
            delivery.invoice_id,
            delivery.attempts,
            delivery.next_attempt_at.isoformat(),
            error,
        )
    counts.errors.append(f"delivery {delivery.pk}: {error}")
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "last_error"])
