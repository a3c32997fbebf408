"""The Idempotency-Key header on POST: replay, reuse with another request, in progress."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from billguard.api.models import IdempotencyKey
from billguard.controls.models import ChangeRequest
from billguard.registry.models import Party
from tests.api.conftest import ApiBook, error_codes

pytestmark = pytest.mark.django_db

PARTY = {"kind": "customer", "code": "CUST-9", "name": "Fabrikam SE", "country": "FR"}


def test_replay_returns_stored_response(api_book: ApiBook) -> None:
    client = api_book.client("ada.admin")

    first = client.post("/api/parties/", PARTY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post("/api/parties/", PARTY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == 201
    assert second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Party.objects.filter(code="CUST-9").count() == 1


def test_replay_of_an_error_response(api_book: ApiBook) -> None:
    client = api_book.client("ada.admin")
    body = {**PARTY, "country": "XX"}

    first = client.post("/api/parties/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-err")
    second = client.post("/api/parties/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-err")

    assert first.status_code == 400
    assert second.status_code == 400
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()


def test_same_key_other_body_is_422(api_book: ApiBook) -> None:
    client = api_book.client("ada.admin")
    client.post("/api/parties/", PARTY, format="json", HTTP_IDEMPOTENCY_KEY="k-2")

    other = {**PARTY, "code": "CUST-10"}
    response = client.post("/api/parties/", other, format="json", HTTP_IDEMPOTENCY_KEY="k-2")

    assert response.status_code == 422
    assert error_codes(response) == ["IDEMPOTENCY_KEY_REUSED"]
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not Party.objects.filter(code="CUST-10").exists()


def test_same_key_other_path_is_422(api_book: ApiBook) -> None:
    client = api_book.client("ada.admin")
    client.post("/api/parties/", PARTY, format="json", HTTP_IDEMPOTENCY_KEY="k-3")

    response = client.post(
        f"/api/exceptions/{api_book.held.pk}/override/",
        {"reason": "customer confirmed the VAT number by phone"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-3",
    )

    assert response.status_code == 422
    assert error_codes(response) == ["IDEMPOTENCY_KEY_REUSED"]


def test_keys_are_per_user(api_book: ApiBook) -> None:
    body = {"reason": "customer confirmed the VAT number by phone"}
    path = f"/api/exceptions/{api_book.held.pk}/override/"

    fran = api_book.client("fran.finance").post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    ada = api_book.client("ada.admin").post(
        "/api/parties/", PARTY, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert fran.status_code == 201
    assert ada.status_code == 201
    assert "Idempotent-Replayed" not in ada
    assert IdempotencyKey.objects.filter(key="k").count() == 2


def test_other_user_same_key_does_not_replay(api_book: ApiBook) -> None:
    body = {"reason": "customer confirmed the VAT number by phone"}
    path = f"/api/exceptions/{api_book.held.pk}/override/"
    api_book.client("fran.finance").post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k-4")

    response = api_book.client("sam.sales").post(
        path, body, format="json", HTTP_IDEMPOTENCY_KEY="k-4"
    )

    assert "Idempotent-Replayed" not in response
    assert response.status_code == 403
    assert ChangeRequest.objects.filter(target="invoice_override").count() == 1


def test_request_in_progress_is_409(api_book: ApiBook) -> None:
    client = api_book.client("ada.admin")
    client.post("/api/parties/", PARTY, format="json", HTTP_IDEMPOTENCY_KEY="k-5")
    IdempotencyKey.objects.filter(key="k-5").update(response_status=None, response_body=None)

    response = client.post("/api/parties/", PARTY, format="json", HTTP_IDEMPOTENCY_KEY="k-5")

    assert response.status_code == 409
    assert error_codes(response) == ["IDEMPOTENCY_REQUEST_IN_PROGRESS"]


def test_abandoned_request_runs_again(api_book: ApiBook) -> None:
    client = api_book.client("ada.admin")
    IdempotencyKey.objects.create(
        user=api_book.users["ada.admin"],
        key="k-6",
        method="POST",
        path="/api/parties/",
        request_hash="0" * 64,
        created_at=timezone.now() - dt.timedelta(hours=2),
    )

    response = client.post("/api/parties/", PARTY, format="json", HTTP_IDEMPOTENCY_KEY="k-6")

    assert response.status_code == 201
    assert Party.objects.filter(code="CUST-9").exists()


def test_invalid_key_is_400(api_book: ApiBook) -> None:
    client = api_book.client("ada.admin")

    for key in ("has space", "x" * 256):
        response = client.post("/api/parties/", PARTY, format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code == 400, key
        assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not Party.objects.filter(code="CUST-9").exists()


def test_without_token_nothing_is_stored(api_book: ApiBook) -> None:
    from rest_framework.test import APIClient

    response = APIClient().post("/api/parties/", PARTY, format="json", HTTP_IDEMPOTENCY_KEY="k-7")

    assert response.status_code == 401
    assert not IdempotencyKey.objects.filter(key="k-7").exists()


def test_multipart_replay_with_new_boundary(api_book: ApiBook) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories import text_pdf

    client = api_book.client("sam.sales")
    content = text_pdf("Rate card 2027")

    responses = []
    for boundary in ("BoundaryOne", "BoundaryTwo"):
        upload = SimpleUploadedFile("rates.pdf", content, content_type="application/pdf")
        fields = {"file": upload, "kind": "rate_card", "family": "RC-1", "title": "Rates"}
        from django.test.client import encode_multipart

        responses.append(
            client.post(
                "/api/documents/",
                data=encode_multipart(boundary, fields),
                content_type=f"multipart/form-data; boundary={boundary}",
                HTTP_IDEMPOTENCY_KEY="k-upload",
            )
        )

    assert responses[0].status_code == 201, responses[0].content
    assert responses[1].status_code == 201
    assert responses[1]["Idempotent-Replayed"] == "true"
    assert responses[1].json()["id"] == responses[0].json()["id"]
