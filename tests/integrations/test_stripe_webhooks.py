"""Stripe's invoice.created webhook: signatures, the invoice mapping, and the recorded checks."""

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
import stripe
from tests.factories import make_contract

from billguard.checks.models import ExternalDraftCheck
from billguard.controls.alerts import alert_subscribe
from billguard.controls.models import AlertDelivery
from billguard.controls.models.alerts import AlertEvent
from billguard.domain.errors import InvalidInput
from billguard.integrations.stripe_invoices import stripe_invoice_draft
from billguard.integrations.stripe_webhooks import (
    SignatureInvalid,
    WebhookNotConfigured,
    stripe_event_receive,
    stripe_signature,
    stripe_signature_header,
    stripe_signature_verify,
)

FIXTURES = Path(__file__).parent / "stripe"
SECRET = "whsec_test_billguard_endpoint"
OLD_SECRET = "whsec_test_billguard_rolled"
NOW = dt.datetime(2026, 11, 1, 0, 5, tzinfo=dt.UTC)


def event_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def event_object(name: str) -> dict:
    return json.loads(event_bytes(name))


def signed(payload: bytes, *secrets: str, at: dt.datetime = NOW) -> str:
    return stripe_signature_header(payload, *(secrets or (SECRET,)), timestamp=int(at.timestamp()))


def receive(payload: bytes, header: str | None = None):
    return stripe_event_receive(
        payload, header if header is not None else signed(payload), secret=SECRET, now=NOW
    )


# Signatures, cross-checked with Stripe's own Python library.


def test_signature_accepted_by_stripe_library():
    payload = event_bytes("invoice_created.json")
    timestamp = int(dt.datetime.now(dt.UTC).timestamp())
    header = stripe_signature_header(payload, SECRET, timestamp=timestamp)

    accepted = stripe.WebhookSignature.verify_header(payload.decode(), header, SECRET, 300)

    assert accepted is True
    assert stripe_signature_verify(payload, header, SECRET, now=timestamp) == timestamp


def test_signature_matches_stripe_library_computation():
    payload = b'{"id": "evt_1", "type": "invoice.created"}'
    timestamp = 1793491200

    ours = stripe_signature(SECRET, payload, timestamp)
    theirs = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload.decode()}", SECRET)

    assert ours == theirs


def test_tampered_body_rejected_by_both():
    payload = event_bytes("invoice_created.json")
    timestamp = int(dt.datetime.now(dt.UTC).timestamp())
    header = stripe_signature_header(payload, SECRET, timestamp=timestamp)
    tampered = payload.replace(b'"unit_amount_decimal": "100000"', b'"unit_amount_decimal": "1"')

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(tampered.decode(), header, SECRET, 300)
    with pytest.raises(SignatureInvalid):
        stripe_signature_verify(tampered, header, SECRET, now=timestamp)


def test_wrong_secret_rejected():
    payload = event_bytes("invoice_created.json")
    header = signed(payload, "whsec_someone_else")

    with pytest.raises(SignatureInvalid) as raised:
        stripe_signature_verify(payload, header, SECRET, now=int(NOW.timestamp()))

    assert raised.value.place == "Stripe-Signature"


def test_stale_timestamp_rejected_by_both():
    payload = event_bytes("invoice_created.json")
    now = int(dt.datetime.now(dt.UTC).timestamp())
    header = stripe_signature_header(payload, SECRET, timestamp=now - 301)

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(payload.decode(), header, SECRET, 300)
    with pytest.raises(SignatureInvalid) as raised:
        stripe_signature_verify(payload, header, SECRET, now=now)

    assert "301 s" in raised.value.message


def test_timestamp_within_tolerance_accepted():
    payload = b"{}"
    header = stripe_signature_header(payload, SECRET, timestamp=1_000_000)

    assert stripe_signature_verify(payload, header, SECRET, now=1_000_300) == 1_000_000


def test_future_timestamp_rejected():
    payload = b"{}"
    header = stripe_signature_header(payload, SECRET, timestamp=1_000_301)

    with pytest.raises(SignatureInvalid):
        stripe_signature_verify(payload, header, SECRET, now=1_000_000)


def test_several_v1_values_during_secret_roll():
    payload = event_bytes("invoice_created.json")
    timestamp = int(dt.datetime.now(dt.UTC).timestamp())
    header = stripe_signature_header(payload, OLD_SECRET, SECRET, timestamp=timestamp)

    assert header.count("v1=") == 2
    assert stripe.WebhookSignature.verify_header(payload.decode(), header, SECRET, 300)
    assert stripe_signature_verify(payload, header, SECRET, now=timestamp) == timestamp
    assert stripe_signature_verify(payload, header, OLD_SECRET, now=timestamp) == timestamp


def test_v0_scheme_ignored():
    payload = b"{}"
    timestamp = 1_000_000
    header = f"t={timestamp},v0={stripe_signature(SECRET, payload, timestamp)}"

    with pytest.raises(SignatureInvalid):
        stripe_signature_verify(payload, header, SECRET, now=timestamp)


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=00", "v1=00", "t=1000000"])
def test_malformed_header_rejected(header):
    with pytest.raises(SignatureInvalid):
        stripe_signature_verify(b"{}", header, SECRET, now=1_000_000)


def test_missing_secret_rejects_everything():
    payload = b"{}"
    header = stripe_signature_header(payload, "", timestamp=1_000_000)

    with pytest.raises(WebhookNotConfigured) as raised:
        stripe_signature_verify(payload, header, "", now=1_000_000)

    assert "BILLGUARD_STRIPE_WEBHOOK_SECRET" in str(raised.value)


# Mapping Stripe's invoice object to a draft.


def test_mapping_reads_pricing_and_taxes():
    invoice = event_object("invoice_created.json")["data"]["object"]

    draft = stripe_invoice_draft(invoice, place="test")

    document = draft.document
    [line] = document.lines
    assert draft.external_id == "in_1QbgNorthwindNov"
    assert document.number == "in_1QbgNorthwindNov"
    assert document.currency == "EUR"
    assert document.contract_reference == "C-1"
    assert document.buyer.tax_id == "DE123456788"
    assert document.buyer.address.country == "DE"
    assert line.unit_price == Decimal("1000.00")
    assert line.net_amount == Decimal("1000.00")
    assert line.tax_category == "S"
    assert line.tax_rate == Decimal("19.0")
    assert line.item_id == "L1"
    assert line.gl_account == "4000"
    assert line.service_start == dt.date(2026, 11, 1)
    assert line.service_end == dt.date(2026, 11, 30)
    assert document.totals.payable == Decimal("1190.00")
    assert draft.details["due_date"] == "2026-12-01"
    assert draft.details["total"] == "1190.00"


def test_mapping_reads_legacy_price_and_tax_rates():
    invoice = event_object("invoice_created_wrong_price.json")["data"]["object"]

    draft = stripe_invoice_draft(invoice, place="test")

    [line] = draft.document.lines
    assert draft.document.contract_reference == ""
    assert draft.document.order_reference == "PO-7781"
    assert line.unit_price == Decimal("1200.00")
    assert line.tax_rate == Decimal("19.0")
    assert line.item_id == "L1"
    assert draft.details["tax"] == "228.00"


def test_mapping_zero_decimal_currency():
    invoice = event_object("invoice_created.json")["data"]["object"]
    invoice["currency"] = "jpy"
    [line] = invoice["lines"]["data"]
    line["currency"] = "jpy"
    line["amount"] = 120000
    line["pricing"]["unit_amount_decimal"] = "120000"
    line["taxes"] = [{"amount": 12000, "tax_behavior": "exclusive", "taxable_amount": 120000}]

    draft = stripe_invoice_draft(invoice, place="test")

    [mapped] = draft.document.lines
    assert mapped.unit_price == Decimal("120000")
    assert mapped.net_amount == Decimal("120000")
    assert mapped.tax_rate == Decimal("10.0")
    assert draft.document.totals.payable == Decimal("132000")


def test_mapping_isk_stated_in_hundredths():
    invoice = event_object("invoice_created.json")["data"]["object"]
    invoice["currency"] = "isk"
    [line] = invoice["lines"]["data"]
    line["amount"] = 5000000
    line["pricing"]["unit_amount_decimal"] = "5000000"
    line["taxes"] = []
    invoice["default_tax_rates"] = [{"id": "txr_is", "object": "tax_rate", "percentage": 24}]

    draft = stripe_invoice_draft(invoice, place="test")

    [mapped] = draft.document.lines
    assert mapped.net_amount == Decimal("50000")
    assert mapped.tax_rate == Decimal("24")


def test_mapping_isk_fraction_rejected():
    invoice = event_object("invoice_created.json")["data"]["object"]
    invoice["currency"] = "isk"
    invoice["lines"]["data"][0]["amount"] = 5000050

    with pytest.raises(InvalidInput) as raised:
        stripe_invoice_draft(invoice, place="event evt_1, data.object")

    assert raised.value.place == "event evt_1, data.object, lines.data[0], amount"


def test_mapping_discount_lowers_unit_price():
    invoice = event_object("invoice_created.json")["data"]["object"]
    line = invoice["lines"]["data"][0]
    line["quantity"] = 4
    line["amount"] = 400000
    line["discount_amounts"] = [{"amount": 40000, "discount": "di_1"}]

    [mapped] = stripe_invoice_draft(invoice, place="test").document.lines

    assert mapped.net_amount == Decimal("3600.00")
    assert mapped.unit_price == Decimal("900.000000")


def test_mapping_reverse_charge_without_tax():
    invoice = event_object("invoice_created.json")["data"]["object"]
    invoice["customer_tax_exempt"] = "reverse"
    invoice["lines"]["data"][0]["taxes"] = []

    [mapped] = stripe_invoice_draft(invoice, place="test").document.lines

    assert mapped.tax_category == "AE"
    assert mapped.tax_rate == 0


def test_mapping_contract_from_subscription_metadata():
    invoice = event_object("invoice_created.json")["data"]["object"]
    invoice["metadata"] = {}
    invoice["parent"]["subscription_details"]["metadata"] = {"contract_number": "C-77"}

    draft = stripe_invoice_draft(invoice, place="test")

    assert draft.document.contract_reference == "C-77"


def test_mapping_without_lines_rejected():
    invoice = event_object("invoice_created.json")["data"]["object"]
    invoice["lines"]["data"] = []

    with pytest.raises(InvalidInput) as raised:
        stripe_invoice_draft(invoice, place="event evt_1, data.object")

    assert raised.value.place == "event evt_1, data.object, lines.data"


def test_mapping_string_amount_rejected():
    invoice = event_object("invoice_created.json")["data"]["object"]
    invoice["lines"]["data"][0]["amount"] = "1000.00"

    with pytest.raises(InvalidInput) as raised:
        stripe_invoice_draft(invoice, place="x")

    assert raised.value.place == "x, lines.data[0], amount"


# Receiving events.


@pytest.mark.django_db
def test_clean_draft_recorded_clean():
    make_contract()

    receipt = receive(event_bytes("invoice_created.json"))

    check = ExternalDraftCheck.objects.get()
    assert receipt.status == "checked"
    assert receipt.blocked is False
    assert receipt.check_id == check.pk
    assert receipt.codes == []
    assert check.source == "stripe"
    assert check.external_id == "in_1QbgNorthwindNov"
    assert check.event_id == "evt_1QbgTestInvoiceCreated"
    assert check.contract_number == "C-1"
    assert check.sent_by == "stripe webhook"
    assert check.as_of == dt.date(2026, 11, 1)
    assert check.findings == []
    assert check.document["lines"][0]["unit_price"] == "1000.00"


@pytest.mark.django_db
def test_wrong_price_recorded_blocked_with_alert():
    make_contract()
    alert_subscribe(
        event=AlertEvent.INVOICE_HELD,
        channel="webhook",
        address="http://127.0.0.1:9/held",
        secret="alert-secret",
    )

    receipt = receive(event_bytes("invoice_created_wrong_price.json"))

    check = ExternalDraftCheck.objects.get()
    [finding] = check.findings
    assert receipt.blocked is True
    assert receipt.contract == "C-1"
    assert receipt.codes == ["PRICE_MISMATCH"]
    assert finding["expected"] == "1000.00"
    assert finding["actual"] == "1200.00"
    assert finding["amount_at_stake"] is not None
    [delivery] = AlertDelivery.objects.all()
    assert delivery.event == "invoice.held"
    assert delivery.payload["data"]["external_check_id"] == check.pk
    assert delivery.payload["data"]["blocking_findings"] == ["PRICE_MISMATCH"]


@pytest.mark.django_db
def test_redelivery_records_nothing_new():
    make_contract()
    payload = event_bytes("invoice_created_wrong_price.json")

    first = receive(payload)
    later = NOW + dt.timedelta(hours=1)
    second = stripe_event_receive(payload, signed(payload, at=later), secret=SECRET, now=later)

    assert second == first
    assert ExternalDraftCheck.objects.count() == 1


@pytest.mark.django_db
def test_other_event_type_ignored():
    receipt = receive(event_bytes("customer_updated.json"))

    assert receipt.status == "ignored"
    assert receipt.event_type == "customer.updated"
    assert receipt.check_id is None
    assert ExternalDraftCheck.objects.count() == 0


@pytest.mark.django_db
def test_unknown_contract_recorded_blocked():
    event = event_object("invoice_created.json")
    event["data"]["object"]["metadata"] = {"contract_number": "C-404"}
    payload = json.dumps(event).encode()

    receipt = receive(payload)

    assert receipt.blocked is True
    assert "CONTRACT_NOT_FOUND" in receipt.codes


@pytest.mark.django_db
def test_bad_signature_records_nothing():
    payload = event_bytes("invoice_created.json")

    with pytest.raises(SignatureInvalid):
        receive(payload, signed(payload, "whsec_wrong"))

    assert ExternalDraftCheck.objects.count() == 0


@pytest.mark.django_db
def test_event_without_object_rejected():
    event = copy.deepcopy(event_object("invoice_created.json"))
    del event["data"]
    payload = json.dumps(event).encode()

    with pytest.raises(InvalidInput) as raised:
        receive(payload)

    assert raised.value.place == "body, data.object"
