import datetime as dt
import socket

import pytest
from django.db import transaction
from django.utils import timezone

from billguard.billing.models import Invoice
from billguard.billing.run import billing_run_execute
from billguard.controls.alerts import (
    BACKOFF_MINUTES,
    MAX_ATTEMPTS,
    alert_emit,
    alert_subscribe,
    alerts_deliver,
    alerts_sweep,
    webhook_signature,
)
from billguard.controls.models import AlertDelivery, AlertSubscription, ChangeRequest
from billguard.domain.errors import InvalidInput, NotAllowed
from billguard.domain.periods import parse_period
from tests.acting_users import make_user
from tests.controls.alert_servers import smtp_server, webhook_server
from tests.factories import make_contract

SECRET = "shared-webhook-key"


@pytest.fixture
def smtp(settings):
    """A local SMTP server that Django's SMTP backend sends to."""
    with smtp_server() as inbox:
        # pytest-django switches tests to the in-memory backend; alerts use the real one.
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = inbox.host
        settings.EMAIL_PORT = inbox.port
        yield inbox


def webhook_subscribe(url: str, event: str = "invoice.held") -> AlertSubscription:
    return alert_subscribe(event=event, channel="webhook", address=url, secret=SECRET)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Subscriptions


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("event", "channel", "address", "secret", "place"),
    [
        ("invoice.lost", "email", "ap@example.com", "", "event"),
        ("invoice.held", "email", "not-an-address", "", "email"),
        ("invoice.held", "webhook", "ftp://example.com/hook", SECRET, "webhook"),
        ("invoice.held", "webhook", "https:///no-host", SECRET, "webhook"),
        ("invoice.held", "webhook", "https://hooks.example.com/x", "", "secret"),
        ("invoice.held", "pager", "555-0100", "", "channel"),
    ],
)
def test_subscribe_rejects_bad_input(event, channel, address, secret, place):
    with pytest.raises(InvalidInput) as error:
        alert_subscribe(event=event, channel=channel, address=address, secret=secret)

    assert error.value.place == place
    assert error.value.fix
    assert AlertSubscription.objects.count() == 0


@pytest.mark.django_db
def test_subscribe_records_user():
    finance = make_user("fiona", "finance")

    subscription = alert_subscribe(
        by=finance, event="invoice.held", channel="email", address=" ap@example.com "
    )

    assert subscription.created_by == finance
    assert subscription.address == "ap@example.com"


@pytest.mark.django_db
def test_subscribe_checks_permission():
    auditor = make_user("audrey", "auditor")

    with pytest.raises(NotAllowed):
        alert_subscribe(by=auditor, event="invoice.held", channel="email", address="a@b.example")


# Emitting


@pytest.mark.django_db
def test_emit_without_subscription_takes_one_query(django_assert_num_queries):
    with transaction.atomic(), django_assert_num_queries(1):
        count = alert_emit(event="invoice.held", subject="held", payload={})

    assert count == 0


@pytest.mark.django_db
def test_emit_unknown_event_raises():
    with pytest.raises(ValueError, match=r"invoice\.lost"):
        alert_emit(event="invoice.lost", subject="x", payload={})


@pytest.mark.django_db(transaction=True)
def test_email_arrives_after_commit(smtp):
    alert_subscribe(event="invoice.held", channel="email", address="ap@example.com")

    with transaction.atomic():
        count = alert_emit(
            event="invoice.held",
            subject="Invoice of contract C-1 held: SOW_MISSING",
            payload={"contract": "C-1", "payable": "1190.00"},
        )
        sent_before_commit = len(smtp.messages)

    assert count == 1
    assert sent_before_commit == 0
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["Subject"] == "[Billguard] Invoice of contract C-1 held: SOW_MISSING"
    assert message["To"] == "ap@example.com"
    assert message["X-Billguard-Event"] == "invoice.held"
    body = message.get_content()
    assert "Invoice of contract C-1 held: SOW_MISSING" in body
    assert '"payable": "1190.00"' in body
    assert smtp.envelopes[0][1] == ["ap@example.com"]
    delivery = AlertDelivery.objects.get()
    assert delivery.status == AlertDelivery.Status.SENT
    assert delivery.attempts == 1
    assert delivery.sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_sends_nothing(smtp):
    alert_subscribe(event="invoice.held", channel="email", address="ap@example.com")

    with pytest.raises(RuntimeError), transaction.atomic():
        alert_emit(event="invoice.held", subject="held", payload={})
        raise RuntimeError("the write failed")

    assert smtp.messages == []
    assert AlertDelivery.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_webhook_is_signed_json():
    with webhook_server(SECRET) as receiver:
        subscription = webhook_subscribe(receiver.url)

        with transaction.atomic():
            alert_emit(event="invoice.held", subject="held", payload={"contract": "C-1"})

    assert receiver.bad_signatures == 0
    assert len(receiver.accepted) == 1
    request = receiver.accepted[0]
    assert request["event"] == "invoice.held"
    assert request["json"]["subject"] == "held"
    assert request["json"]["data"] == {"contract": "C-1"}
    delivery = AlertDelivery.objects.get(subscription=subscription)
    assert request["json"]["delivery"] == delivery.pk
    assert delivery.status == AlertDelivery.Status.SENT


def test_webhook_signature_is_hmac_sha256_hex():
    # RFC 4231 test case 2.
    signature = webhook_signature("Jefe", b"what do ya want for nothing?")

    assert signature == ("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


@pytest.mark.django_db(transaction=True)
def test_failed_webhook_is_retried_with_backoff():
    with webhook_server(SECRET, fail_first=2) as receiver:
        webhook_subscribe(receiver.url)
        with transaction.atomic():
            alert_emit(event="invoice.held", subject="held", payload={})
        delivery = AlertDelivery.objects.get()
        first_failure = delivery.next_attempt_at - dt.timedelta(minutes=BACKOFF_MINUTES[0])

        assert delivery.status == AlertDelivery.Status.PENDING
        assert delivery.attempts == 1
        assert "HTTP 500" in delivery.last_error

        early = alerts_deliver(now=first_failure + dt.timedelta(seconds=30))
        assert (early.sent, early.retrying) == (0, 0)
        assert len(receiver.requests) == 1

        second_at = first_failure + dt.timedelta(minutes=1)
        second = alerts_deliver(now=second_at)
        delivery.refresh_from_db()
        assert second.retrying == 1
        assert delivery.attempts == 2
        assert delivery.next_attempt_at == second_at + dt.timedelta(minutes=BACKOFF_MINUTES[1])

        third = alerts_deliver(now=delivery.next_attempt_at)
        delivery.refresh_from_db()

    assert third.sent == 1
    assert delivery.status == AlertDelivery.Status.SENT
    assert delivery.attempts == 3
    assert delivery.last_error == ""
    assert [r["status"] for r in receiver.requests] == [500, 500, 204]


@pytest.mark.django_db(transaction=True)
def test_webhook_fails_for_good_after_max_attempts():
    with webhook_server(SECRET, fail_first=100) as receiver:
        webhook_subscribe(receiver.url)
        with transaction.atomic():
            alert_emit(event="invoice.held", subject="held", payload={})
        delivery = AlertDelivery.objects.get()
        waits = []
        while delivery.status == AlertDelivery.Status.PENDING:
            due = delivery.next_attempt_at
            alerts_deliver(now=due)
            delivery.refresh_from_db()
            if delivery.next_attempt_at is not None:
                waits.append(delivery.next_attempt_at - due)

    assert delivery.status == AlertDelivery.Status.FAILED
    assert delivery.attempts == MAX_ATTEMPTS
    assert delivery.next_attempt_at is None
    assert "HTTP 500" in delivery.last_error
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert waits == [dt.timedelta(minutes=m) for m in BACKOFF_MINUTES[1 : MAX_ATTEMPTS - 1]]
    assert alerts_deliver(now=timezone.now() + dt.timedelta(days=1)).sent == 0


@pytest.mark.django_db(transaction=True)
def test_unreachable_smtp_server_schedules_retry(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    alert_subscribe(event="invoice.held", channel="email", address="ap@example.com")

    with transaction.atomic():
        alert_emit(event="invoice.held", subject="held", payload={})

    delivery = AlertDelivery.objects.get()
    assert delivery.status == AlertDelivery.Status.PENDING
    assert delivery.attempts == 1
    assert f"127.0.0.1:{settings.EMAIL_PORT}" in delivery.last_error


# The billing run


@pytest.mark.django_db(transaction=True)
def test_billing_run_emits_one_alert_per_held_invoice():
    make_contract("C-1", customer_code="CUST-1", sow_document_id=None)
    make_contract("C-2", customer_code="CUST-2", sow_document_id=None)
    make_contract("C-3", customer_code="CUST-3")

    with webhook_server(SECRET) as receiver:
        webhook_subscribe(receiver.url)
        billing_run_execute(period=parse_period("2026-11"))

    held = {i.contract.number: i.pk for i in Invoice.objects.filter(status=Invoice.Status.HELD)}
    assert sorted(held) == ["C-1", "C-2"]
    assert len(receiver.accepted) == 2
    data = {r["json"]["data"]["contract"]: r["json"]["data"] for r in receiver.accepted}
    assert sorted(data) == ["C-1", "C-2"]
    assert data["C-1"]["invoice_id"] == held["C-1"]
    assert data["C-1"]["blocking_findings"] == ["SOW_MISSING"]


@pytest.mark.django_db(transaction=True)
def test_failed_chunk_sends_no_held_alert(monkeypatch):
    make_contract(sow_document_id=None)

    def fail_before_commit(name: str, chunk_index: int) -> None:
        if name == "issuing":
            raise RuntimeError("chunk failed before commit")

    monkeypatch.setattr("billguard.billing.chunks.fault_point", fail_before_commit)
    with webhook_server(SECRET) as receiver:
        webhook_subscribe(receiver.url)
        with pytest.raises(RuntimeError, match="before commit"):
            billing_run_execute(period=parse_period("2026-11"))

    assert receiver.requests == []
    assert AlertDelivery.objects.count() == 0
    assert Invoice.objects.count() == 0


# The sweep


@pytest.mark.django_db
def test_sweep_alerts_overdue_exception_once():
    make_contract(sow_document_id=None)
    billing_run_execute(period=parse_period("2026-11"))
    invoice = Invoice.objects.get(status=Invoice.Status.HELD)
    alert_subscribe(event="exception.overdue", channel="email", address="ap@example.com")
    now = invoice.created_at + dt.timedelta(days=5, hours=1)

    early = alerts_sweep(now=invoice.created_at + dt.timedelta(days=4))
    first = alerts_sweep(now=now)
    second = alerts_sweep(now=now + dt.timedelta(days=1))

    assert early.overdue == 0
    assert first.overdue == 1
    assert second.overdue == 0
    delivery = AlertDelivery.objects.get(event="exception.overdue")
    assert delivery.payload["data"]["invoice_id"] == invoice.pk
    assert delivery.payload["data"]["days_open"] == 5


@pytest.mark.django_db
def test_sweep_alerts_expiring_approval_once():
    requester = make_user("sam", "sales")
    now = timezone.now()
    request = ChangeRequest.objects.create(
        target="contract",
        target_id="1",
        target_label="C-1 v1",
        changes={"unit_price": "110.00"},
        requested_by=requester,
        requested_at=now - dt.timedelta(days=13),
        expires_at=now + dt.timedelta(hours=20),
    )
    ChangeRequest.objects.create(
        target="contract",
        target_id="2",
        changes={},
        requested_by=requester,
        requested_at=now,
        expires_at=now + dt.timedelta(days=10),
    )
    alert_subscribe(event="approval.expiring", channel="email", address="cfo@example.com")

    first = alerts_sweep(now=now)
    second = alerts_sweep(now=now + dt.timedelta(hours=1))

    assert first.expiring == 1
    assert second.expiring == 0
    delivery = AlertDelivery.objects.get(event="approval.expiring")
    assert delivery.payload["data"]["change_request_id"] == request.pk
    assert delivery.payload["data"]["requested_by"] == "sam"
