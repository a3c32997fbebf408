"""Payments, allocations, disputes and the ageing through the REST API."""

from __future__ import annotations

import pytest

from billguard.receivables.models import Dispute, Payment
from tests.api.conftest import ApiBook, error_codes

pytestmark = pytest.mark.django_db


def record(api_book: ApiBook, **fields: object):  # type: ignore[no-untyped-def]
    body = {
        "customer": "CUST-1",
        "currency": "EUR",
        "amount": "1190.00",
        "received_on": "2026-11-20",
        "reference": f"Invoice {api_book.issued.number}",
        **fields,
    }
    return api_book.client("fran.finance").post("/api/payments/", body, format="json")


def test_record_payment_matches_reference(api_book: ApiBook):
    response = record(api_book)

    assert response.status_code == 201
    body = response.json()
    assert body["rule"] == "reference"
    assert body["payment"]["allocations"][0]["invoice"] == api_book.issued.number
    assert body["payment"]["allocations"][0]["amount"] == "1190.00"
    assert body["payment"]["unapplied"] == "0.00"


def test_record_unknown_customer_is_404(api_book: ApiBook):
    response = record(api_book, customer="NOPE")

    assert response.status_code == 404
    assert error_codes(response) == ["NOT_FOUND"]
    assert response.json()["errors"][0]["field"] == "customer"


def test_record_too_many_decimals_names_field(api_book: ApiBook):
    response = record(api_book, amount="10.005")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "amount"
    assert not Payment.objects.exists()


def test_record_needs_payment_action(api_book: ApiBook):
    body = {"customer": "CUST-1", "currency": "EUR", "amount": "1.00"}

    response = api_book.client("sam.sales").post("/api/payments/", body, format="json")

    assert response.status_code == 403


def test_idempotency_key_records_once(api_book: ApiBook):
    client = api_book.client("fran.finance")
    body = {"customer": "CUST-1", "currency": "EUR", "amount": "5.00", "received_on": "2026-11-20"}

    first = client.post("/api/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    second = client.post("/api/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")

    assert first.status_code == 201
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1


def test_allocate_and_list(api_book: ApiBook):
    payment_id = record(api_book, reference="no number", amount="100.00").json()["payment"]["id"]
    client = api_book.client("fran.finance")

    response = client.post(
        f"/api/payments/{payment_id}/allocations/",
        {"invoice": api_book.issued.number, "amount": "60.00"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["unapplied"] == "40.00"
    listed = client.get("/api/payments/?unapplied=true").json()
    assert [row["id"] for row in listed["results"]] == [payment_id]
    allocations = client.get(f"/api/payments/{payment_id}/allocations/").json()
    assert allocations["results"][0]["amount"] == "60.00"


def test_allocate_beyond_payment_is_409(api_book: ApiBook):
    payment_id = record(api_book, reference="no number", amount="100.00").json()["payment"]["id"]

    response = api_book.client("fran.finance").post(
        f"/api/payments/{payment_id}/allocations/",
        {"invoice": api_book.issued.number, "amount": "150.00"},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "amount"


def test_dispute_open_resolve_with_reissue(api_book: ApiBook):
    client = api_book.client("fran.finance")
    opened = client.post(
        "/api/disputes/",
        {
            "invoice": api_book.issued.number,
            "reason": "wrong_price",
            "amount": "100.00",
            "check_code": "PRICE_MISMATCH",
            "opened_on": "2026-11-05",
        },
        format="json",
    )
    assert opened.status_code == 201
    dispute_id = opened.json()["id"]

    response = client.post(
        f"/api/disputes/{dispute_id}/resolve/",
        {"note": "Corrected", "reissue": True, "issue_date": "2026-11-10"},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["blocking_codes"] == []
    assert body["dispute"]["status"] == "resolved"
    assert body["dispute"]["credit_note"] is not None
    assert body["dispute"]["reissued_invoice"] is not None
    listed = client.get("/api/disputes/?status=resolved").json()
    assert [row["id"] for row in listed["results"]] == [dispute_id]


def test_dispute_unknown_check_names_field(api_book: ApiBook):
    response = api_book.client("fran.finance").post(
        "/api/disputes/",
        {"invoice": api_book.issued.number, "reason": "tax", "amount": "1", "check_code": "X"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "check_code"


def test_dispute_reject_twice_is_409(api_book: ApiBook):
    client = api_book.client("fran.finance")
    dispute_id = client.post(
        "/api/disputes/",
        {"invoice": api_book.issued.number, "reason": "tax", "amount": "1"},
        format="json",
    ).json()["id"]

    first = client.post(f"/api/disputes/{dispute_id}/reject/", {"note": "ok"}, format="json")
    second = client.post(f"/api/disputes/{dispute_id}/reject/", {"note": "ok"}, format="json")

    assert first.status_code == 200
    assert Dispute.objects.get().status == "rejected"
    assert second.status_code == 409


def test_ageing(api_book: ApiBook):
    response = api_book.client("fran.finance").get("/api/receivables/ageing/?as_of=2026-12-15")

    assert response.status_code == 200
    body = response.json()
    # The invoice of 2026-11-01 is due 2026-12-01, 14 days before the as-of date.
    assert body["customers"][0]["customer"] == "CUST-1"
    assert body["customers"][0]["buckets"]["1-30"] == "1190.00"
    assert body["totals"][0]["total"] == "1190.00"
