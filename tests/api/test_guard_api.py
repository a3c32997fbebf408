"""The guard endpoints over HTTP: POST /api/guard/, the stored checks and Stripe's webhook."""

import datetime as dt
import json
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from billguard.api.tokens import token_issue
from billguard.checks.models import ExternalDraftCheck
from billguard.einvoice.ubl_writer import write_ubl
from billguard.integrations.stripe_webhooks import stripe_signature_header
from tests.conftest import SHARED_DATA
from tests.factories import draft_for, make_contract

pytestmark = pytest.mark.django_db

STRIPE_FIXTURES = Path(__file__).resolve().parents[1] / "integrations" / "stripe"
SECRET = "whsec_test_billguard_endpoint"
UBL_EXAMPLE = SHARED_DATA / "einvoice" / "en16931-examples" / "ubl-tc434-example1.xml"


def draft_json(price: str = "1000.00", number: str = "INV-7") -> dict:
    return {
        "invoice_ref": number,
        "currency": "EUR",
        "seller_name": "Acme Services GmbH",
        "buyer_name": "Northwind Traders GmbH",
        "buyer_tax_id": "DE123456788",
        "buyer_country": "DE",
        "contract_ref": "C-1",
        "lines": [
            {
                "item_id": "L1",
                "description": "Managed service, monthly fee",
                "quantity": 1,
                "unit_price": price,
                "tax_category": "S",
                "tax_rate": 19,
                "gl_account": "4000",
                "period_start": "2026-11-01",
                "period_end": "2026-11-30",
            }
        ],
    }


def client_for(username: str) -> APIClient:
    token, _ = token_issue(username)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def post_json(client: APIClient, body: object, query: str = "?as_of=2026-11-01"):
    return client.post(f"/api/guard/{query}", json.dumps(body), content_type="application/json")


@pytest.fixture
def contract(sample_users):
    return make_contract().contract


def test_guard_json_clean_stores_nothing(contract):
    response = post_json(client_for("sam.sales"), draft_json())

    body = response.json()
    assert response.status_code == 200
    assert body["blocked"] is False
    [document] = body["documents"]
    assert document["number"] == "INV-7"
    assert document["contract"] == "C-1"
    assert document["findings"] == []
    assert document["check_id"] is None
    assert ExternalDraftCheck.objects.count() == 0


def test_guard_json_wrong_price(contract):
    response = post_json(client_for("fran.finance"), draft_json(price="1200.00"))

    body = response.json()
    [document] = body["documents"]
    [finding] = document["findings"]
    assert response.status_code == 200
    assert body["blocked"] is True
    assert finding["code"] == "PRICE_MISMATCH"
    assert finding["severity"] == "block"
    assert finding["expected"] == "1000.00"
    assert finding["actual"] == "1200.00"
    assert finding["currency"] == "EUR"
    assert finding["amount_at_stake"] is not None


def test_guard_store_returns_check_id(contract):
    client = client_for("fran.finance")

    response = post_json(client, [draft_json(), draft_json("1200.00", "INV-8")], "?store=true")

    ids = [d["check_id"] for d in response.json()["documents"]]
    stored = ExternalDraftCheck.objects.order_by("pk")
    assert response.status_code == 200
    assert ids == [c.pk for c in stored]
    assert [c.blocked for c in stored] == [False, True]
    assert {c.source for c in stored} == {"api"}


def test_guard_store_refused_to_sales(contract):
    response = post_json(client_for("sam.sales"), draft_json(), "?store=true")

    [error] = response.json()["errors"]
    assert response.status_code == 403
    assert error["code"] == "PERMISSION_DENIED"
    assert ExternalDraftCheck.objects.count() == 0


def test_guard_needs_token(contract):
    response = APIClient().post(
        "/api/guard/", json.dumps(draft_json()), content_type="application/json"
    )

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "NOT_AUTHENTICATED"


def test_guard_bad_json_names_field(contract):
    body = draft_json()
    body["lines"][0]["unit_price"] = "12,50"

    response = post_json(client_for("fran.finance"), body)

    [error] = response.json()["errors"]
    assert response.status_code == 400
    assert error["code"] == "INVALID_INPUT"
    assert "line 1, field unit_price" in error["message"]


def test_guard_empty_body(contract):
    response = client_for("fran.finance").post("/api/guard/", b"", content_type="application/json")

    assert response.status_code == 400
    assert "empty" in response.json()["errors"][0]["message"]


def test_guard_unsupported_media_type(contract):
    response = client_for("fran.finance").post("/api/guard/", b"a,b", content_type="text/csv")

    assert response.status_code == 415
    assert response.json()["errors"][0]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_guard_ubl_of_own_draft_is_clean(contract):
    document = draft_for(contract, "2026-11").document
    document.number = "EXT-UBL-1"

    response = client_for("fran.finance").post(
        "/api/guard/?as_of=2026-11-01", write_ubl(document), content_type="application/xml"
    )

    [checked] = response.json()["documents"]
    assert response.status_code == 200
    assert checked["number"] == "EXT-UBL-1"
    assert checked["blocked"] is False
    assert checked["findings"] == []


def test_guard_en16931_example_without_contract(sample_users):
    response = client_for("fran.finance").post(
        "/api/guard/?store=true", UBL_EXAMPLE.read_bytes(), content_type="application/xml"
    )

    [checked] = response.json()["documents"]
    codes = [f["code"] for f in checked["findings"]]
    stored = ExternalDraftCheck.objects.get()
    assert response.status_code == 200
    assert checked["number"] == "12115118"
    assert checked["blocked"] is True
    assert "CONTRACT_NOT_FOUND" in codes
    assert stored.document["number"] == "12115118"
    assert stored.document_number == "12115118"


def test_guard_unreadable_xml(sample_users):
    response = client_for("fran.finance").post(
        "/api/guard/", b"<not-ubl/>", content_type="application/xml"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "UNREADABLE_DOCUMENT"


def test_guard_idempotency_key_replays(contract):
    client = client_for("fran.finance")
    body = json.dumps(draft_json())

    first = client.post(
        "/api/guard/?store=true", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    second = client.post(
        "/api/guard/?store=true", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert second.status_code == 200
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert ExternalDraftCheck.objects.count() == 1


def test_checks_list_filters_and_pages(contract):
    post_json(
        client_for("fran.finance"),
        [draft_json(), draft_json("1200.00", "INV-8"), draft_json(number="INV-9")],
        "?store=true&as_of=2026-11-01",
    )
    auditor = client_for("audrey.auditor")
    today = timezone.now().date().isoformat()

    everything = auditor.get("/api/guard/checks/?limit=2").json()
    blocked = auditor.get("/api/guard/checks/?blocked=true").json()
    clean = auditor.get("/api/guard/checks/?blocked=false").json()
    stripe = auditor.get("/api/guard/checks/?source=stripe").json()
    today_only = auditor.get(f"/api/guard/checks/?created_from={today}&created_to={today}").json()

    assert everything["count"] == 3
    assert len(everything["results"]) == 2
    assert everything["next"] is not None
    assert [c["external_id"] for c in blocked["results"]] == ["INV-8"]
    assert clean["count"] == 2
    assert stripe["count"] == 0
    assert today_only["count"] == 3


def test_checks_list_bad_filter(contract):
    response = client_for("fran.finance").get("/api/guard/checks/?source=paypal")

    [error] = response.json()["errors"]
    assert response.status_code == 400
    assert error["field"] == "source"


def test_checks_list_refused_to_sales(contract):
    response = client_for("sam.sales").get("/api/guard/checks/")

    assert response.status_code == 403


def test_check_detail_and_not_found(contract):
    post_json(client_for("fran.finance"), draft_json(), "?store=true")
    check = ExternalDraftCheck.objects.get()
    client = client_for("audrey.auditor")

    found = client.get(f"/api/guard/checks/{check.pk}/")
    missing = client.get(f"/api/guard/checks/{check.pk + 100}/")

    assert found.status_code == 200
    assert found.json()["document"]["number"] == "INV-7"
    assert found.json()["sent_by"] == "fran.finance"
    assert found.json()["payable"] == "1190.00"
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "NOT_FOUND"


# Stripe's webhook.


def stripe_post(payload: bytes, header: str):
    return APIClient().post(
        "/api/webhooks/stripe/",
        payload,
        content_type="application/json; charset=utf-8",
        HTTP_STRIPE_SIGNATURE=header,
    )


def signed_now(payload: bytes, *secrets: str, age: int = 0) -> str:
    timestamp = int(dt.datetime.now(dt.UTC).timestamp()) - age
    return stripe_signature_header(payload, *(secrets or (SECRET,)), timestamp=timestamp)


@pytest.fixture
def stripe_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    return SECRET


def test_webhook_clean_invoice(contract, stripe_secret):
    payload = (STRIPE_FIXTURES / "invoice_created.json").read_bytes()

    response = stripe_post(payload, signed_now(payload))

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "checked"
    assert body["blocked"] is False
    assert body["invoice"] == "in_1QbgNorthwindNov"
    assert body["check_id"] == ExternalDraftCheck.objects.get(source="stripe").pk


def test_webhook_wrong_price_and_redelivery(contract, stripe_secret):
    payload = (STRIPE_FIXTURES / "invoice_created_wrong_price.json").read_bytes()

    first = stripe_post(payload, signed_now(payload, age=60))
    again = stripe_post(payload, signed_now(payload))

    assert first.status_code == 200
    assert first.json()["blocked"] is True
    assert first.json()["findings"] == ["PRICE_MISMATCH"]
    assert again.json() == first.json()
    assert ExternalDraftCheck.objects.count() == 1


def test_webhook_several_signatures(contract, stripe_secret):
    payload = (STRIPE_FIXTURES / "invoice_created.json").read_bytes()

    response = stripe_post(payload, signed_now(payload, "whsec_rolled_old", SECRET))

    assert response.status_code == 200


def test_webhook_bad_signature(contract, stripe_secret):
    payload = (STRIPE_FIXTURES / "invoice_created.json").read_bytes()

    response = stripe_post(payload, signed_now(payload, "whsec_wrong"))

    [error] = response.json()["errors"]
    assert response.status_code == 400
    assert error["code"] == "SIGNATURE_INVALID"
    assert error["field"] == "Stripe-Signature"
    assert ExternalDraftCheck.objects.count() == 0


def test_webhook_stale_signature(contract, stripe_secret):
    payload = (STRIPE_FIXTURES / "invoice_created.json").read_bytes()

    response = stripe_post(payload, signed_now(payload, age=301))

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "SIGNATURE_INVALID"


def test_webhook_without_secret(contract, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    payload = (STRIPE_FIXTURES / "invoice_created.json").read_bytes()

    response = stripe_post(payload, signed_now(payload))

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "WEBHOOK_NOT_CONFIGURED"


def test_webhook_other_event_ignored(stripe_secret):
    payload = (STRIPE_FIXTURES / "customer_updated.json").read_bytes()

    response = stripe_post(payload, signed_now(payload))

    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert ExternalDraftCheck.objects.count() == 0


def test_webhook_ignores_token_and_idempotency_key(contract, stripe_secret):
    payload = (STRIPE_FIXTURES / "invoice_created.json").read_bytes()
    client = client_for("fran.finance")

    response = client.post(
        "/api/webhooks/stripe/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signed_now(payload),
        HTTP_IDEMPOTENCY_KEY="stripe-1",
    )

    assert response.status_code == 200
    assert ExternalDraftCheck.objects.get().sent_by == "stripe webhook"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", "1e400"),
        ("quantity", "1E-400"),
        ("unit_price", "99999999999999999999999999999999999"),
        ("tax_rate", "1e30"),
    ],
)
def test_guard_out_of_range_number(contract, field, value):
    body = draft_json()
    del body["lines"][0][field]
    text = json.dumps(body)[:-3] + f', "{field}": {value}' + "}]}"

    response = client_for("fran.finance").post("/api/guard/", text, content_type="application/json")

    [error] = response.json()["errors"]
    assert response.status_code == 400
    assert f"line 1, field {field}" in error["message"]


def test_webhook_idempotency_key_without_token(contract, stripe_secret):
    payload = (STRIPE_FIXTURES / "invoice_created.json").read_bytes()

    response = APIClient().post(
        "/api/webhooks/stripe/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signed_now(payload),
        HTTP_IDEMPOTENCY_KEY="proxy-retry-1",
    )

    assert response.status_code == 200
    assert response.json()["status"] == "checked"


def test_webhook_body_too_large(stripe_secret, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    payload = (STRIPE_FIXTURES / "invoice_created.json").read_bytes()

    response = stripe_post(payload, signed_now(payload))

    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "REQUEST_TOO_LARGE"
