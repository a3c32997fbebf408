import pytest

from billguard.billing.credit import credit_note_issue
from billguard.billing.models import Invoice
from billguard.billing.run import billing_run_execute
from billguard.controls.alerts import alert_subscribe
from billguard.controls.models import AlertDelivery
from billguard.domain.periods import parse_period
from tests.controls.alert_servers import webhook_server
from tests.delivery.helpers import issued_invoice
from tests.factories import make_contract

SECRET = "shared-webhook-key"


@pytest.mark.django_db(transaction=True)
def test_billing_run_emits_invoice_issued_and_held():
    make_contract("C-1", customer_code="CUST-1")
    make_contract("C-2", customer_code="CUST-2", sow_document_id=None)

    with webhook_server(SECRET) as receiver:
        for event in ("invoice.issued", "invoice.held"):
            alert_subscribe(event=event, channel="webhook", address=receiver.url, secret=SECRET)
        billing_run_execute(period=parse_period("2026-11"))

    issued = Invoice.objects.get(status=Invoice.Status.ISSUED)
    held = Invoice.objects.get(status=Invoice.Status.HELD)
    by_event = {r["event"]: r["json"] for r in receiver.accepted}
    assert sorted(by_event) == ["invoice.held", "invoice.issued"]
    assert receiver.bad_signatures == 0
    data = by_event["invoice.issued"]["data"]
    assert data["invoice_id"] == issued.pk
    assert data["number"] == issued.number
    assert data["document_type"] == "invoice"
    assert data["payable"] == "1190.00"
    assert data["currency"] == "EUR"
    assert by_event["invoice.held"]["data"]["invoice_id"] == held.pk


@pytest.mark.django_db(transaction=True)
def test_credit_note_emits_invoice_issued():
    import datetime as dt

    invoice = issued_invoice("C-1")

    with webhook_server(SECRET) as receiver:
        alert_subscribe(
            event="invoice.issued", channel="webhook", address=receiver.url, secret=SECRET
        )
        credit_note = credit_note_issue(
            invoice=invoice, reason="Outage", issue_date=dt.date(2026, 11, 20)
        )

    assert len(receiver.accepted) == 1
    data = receiver.accepted[0]["json"]["data"]
    assert data["number"] == credit_note.number
    assert data["document_type"] == "credit_note"


@pytest.mark.django_db(transaction=True)
def test_dry_run_emits_no_invoice_issued():
    make_contract("C-1", customer_code="CUST-1")
    alert_subscribe(
        event="invoice.issued",
        channel="webhook",
        address="http://127.0.0.1:9/hook",
        secret=SECRET,
    )

    billing_run_execute(period=parse_period("2026-11"), dry_run=True)

    assert AlertDelivery.objects.count() == 0
