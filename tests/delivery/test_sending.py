import datetime as dt
import socket

import pytest
from django.db import transaction
from django.utils import timezone

from billguard.billing.models import Invoice
from billguard.delivery.models import InvoiceDelivery
from billguard.delivery.sending import (
    BACKOFF_MINUTES,
    MAX_ATTEMPTS,
    deliveries_send_due,
    delivery_retry,
)
from billguard.domain.errors import NotAllowed, NotFound
from tests.acting_users import make_user
from tests.controls.alert_servers import smtp_server
from tests.delivery.helpers import admin, issued_invoice


@pytest.fixture
def smtp(settings):
    """A local SMTP server that Django's SMTP backend sends to."""
    with smtp_server() as inbox:
        # pytest-django switches tests to the in-memory backend; delivery uses the real one.
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = inbox.host
        settings.EMAIL_PORT = inbox.port
        yield inbox


@pytest.fixture
def refused(settings):
    """An SMTP setting that points at a port of 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    return port


@pytest.mark.django_db(transaction=True)
def test_issuing_writes_one_pending_delivery():
    invoice = issued_invoice("C-1")

    delivery = InvoiceDelivery.objects.get()
    assert delivery.invoice_id == invoice.pk
    assert delivery.status == InvoiceDelivery.Status.PENDING
    assert delivery.recipients == ["ap@northwind.example"]
    assert delivery.template.code == "STD-EN"
    assert delivery.attempts == 0


@pytest.mark.django_db(transaction=True)
def test_rolled_back_issue_leaves_no_delivery():
    from billguard.billing.invoices import invoices_issue

    invoice = issued_invoice("C-1")
    draft = Invoice.objects.create(
        seller_entity_id=invoice.seller_entity_id,
        bill_to_id=invoice.bill_to_id,
        contract_id=invoice.contract_id,
        currency="EUR",
    )

    with pytest.raises(RuntimeError), transaction.atomic():
        invoices_issue(invoices=[draft])
        raise RuntimeError("the issuing transaction fails after the outbox row")

    assert InvoiceDelivery.objects.filter(invoice=draft).count() == 0
    assert InvoiceDelivery.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_send_due_emails_pdf_and_ubl(smtp):
    invoice = issued_invoice("C-1")

    counts = deliveries_send_due()

    assert counts.sent == 1
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert smtp.envelopes[0][1] == ["ap@northwind.example"]
    assert invoice.number in message["Subject"]
    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    assert sorted(attachments) == [f"{invoice.number}.pdf", f"{invoice.number}.xml"]
    assert attachments[f"{invoice.number}.pdf"].get_content().startswith(b"%PDF")
    ubl = attachments[f"{invoice.number}.xml"].get_content()
    ubl_bytes = ubl if isinstance(ubl, bytes) else ubl.encode()
    assert f"<cbc:ID>{invoice.number}</cbc:ID>".encode() in ubl_bytes
    delivery = InvoiceDelivery.objects.get()
    assert delivery.status == InvoiceDelivery.Status.SENT
    assert delivery.attempts == 1
    assert delivery.sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_send_due_sends_nothing_twice(smtp):
    issued_invoice("C-1")

    deliveries_send_due()
    counts = deliveries_send_due()

    assert counts.sent == 0
    assert len(smtp.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_refused_connection_is_retried_with_backoff(refused, settings):
    issued_invoice("C-1")
    issued_invoice("C-2", customer_code="CUST-2", contact_email="ap@second.example")
    before = timezone.now()

    counts = deliveries_send_due(now=before)

    # The server is down: the pass stops after the first failure.
    assert counts.retrying == 1
    assert counts.sent == 0
    first, second = InvoiceDelivery.objects.order_by("pk")
    assert first.status == InvoiceDelivery.Status.PENDING
    assert first.attempts == 1
    assert f"127.0.0.1:{refused}" in first.last_error
    assert first.next_attempt_at == before + dt.timedelta(minutes=BACKOFF_MINUTES[0])
    assert second.attempts == 0

    with smtp_server() as inbox:
        settings.EMAIL_PORT = inbox.port
        early = deliveries_send_due(now=before + dt.timedelta(minutes=1))
        later = deliveries_send_due(now=before + dt.timedelta(minutes=BACKOFF_MINUTES[0]))

    assert early.sent == 1  # the second delivery, which was never tried
    assert later.sent == 1
    assert len(inbox.messages) == 2
    first.refresh_from_db()
    assert first.status == InvoiceDelivery.Status.SENT
    assert first.attempts == 2
    assert first.last_error == ""


@pytest.mark.django_db(transaction=True)
def test_delivery_fails_for_good_after_max_attempts(refused):
    issued_invoice("C-1")
    now = timezone.now()

    for _ in range(MAX_ATTEMPTS):
        deliveries_send_due(now=now)
        now += dt.timedelta(days=1)

    delivery = InvoiceDelivery.objects.get()
    assert delivery.status == InvoiceDelivery.Status.FAILED
    assert delivery.attempts == MAX_ATTEMPTS
    assert delivery.next_attempt_at is None
    assert deliveries_send_due(now=now + dt.timedelta(days=1)).retrying == 0


@pytest.mark.django_db(transaction=True)
def test_retry_sends_a_failed_delivery_again(refused, settings):
    issued_invoice("C-1")
    now = timezone.now()
    for _ in range(MAX_ATTEMPTS):
        deliveries_send_due(now=now)
        now += dt.timedelta(days=1)
    delivery = InvoiceDelivery.objects.get()

    with smtp_server() as inbox:
        settings.EMAIL_PORT = inbox.port
        delivery_retry(by=make_user("fran.finance", "finance"), delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == InvoiceDelivery.Status.SENT
    assert delivery.attempts == 1
    assert len(inbox.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_invoice_without_recipient_is_marked_failed():
    invoice = issued_invoice("C-1", contact_email="", bill_to_email="")

    delivery = InvoiceDelivery.objects.get(invoice=invoice)
    assert delivery.status == InvoiceDelivery.Status.FAILED
    assert delivery.recipients == []
    assert "contact-add" in delivery.last_error


@pytest.mark.django_db
def test_retry_checks_permission_and_id():
    with pytest.raises(NotAllowed):
        delivery_retry(by=make_user("sam.sales", "sales"), delivery_id=1)
    with pytest.raises(NotFound):
        delivery_retry(by=admin(), delivery_id=999)
