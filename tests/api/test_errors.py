"""The error body and the status of every kind of error."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import ApiBook, error_codes

pytestmark = pytest.mark.django_db


def test_missing_token_is_401(api_book: ApiBook) -> None:
    response = APIClient().get("/api/parties/")

    assert response.status_code == 401
    assert error_codes(response) == ["NOT_AUTHENTICATED"]
    assert response["WWW-Authenticate"] == "Token"


def test_unknown_token_is_401(api_book: ApiBook) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")

    response = client.get("/api/parties/")

    assert response.status_code == 401
    assert error_codes(response) == ["NOT_AUTHENTICATED"]


def test_unknown_record_is_404_naming_field(api_book: ApiBook) -> None:
    response = api_book.client("fran.finance").get("/api/contracts/C-404/")

    assert response.status_code == 404
    assert error_codes(response) == ["NOT_FOUND"]
    entry = response.json()["errors"][0]
    assert entry["field"] == "number"
    assert "C-404" in entry["message"]
    assert "GET /api/contracts/" in entry["message"]


def test_unknown_api_path_is_json_404(api_book: ApiBook) -> None:
    response = api_book.client("fran.finance").get("/api/no-such-thing/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert error_codes(response) == ["NOT_FOUND"]


def test_oversized_record_id_is_404(api_book: ApiBook) -> None:
    response = api_book.client("fran.finance").get("/api/invoices/99999999999999999999999/")

    assert response.status_code == 404
    assert error_codes(response) == ["NOT_FOUND"]


def test_wrong_method_is_405(api_book: ApiBook) -> None:
    response = api_book.client("fran.finance").delete("/api/parties/")

    assert response.status_code == 405
    assert error_codes(response) == ["METHOD_NOT_ALLOWED"]


def test_unacceptable_media_type_is_406(api_book: ApiBook) -> None:
    response = api_book.client("fran.finance").get("/api/parties/", HTTP_ACCEPT="text/csv")

    assert response.status_code == 406
    assert error_codes(response) == ["NOT_ACCEPTABLE"]


def test_unsupported_body_type_is_415(api_book: ApiBook) -> None:
    response = api_book.client("ada.admin").post(
        "/api/parties/", data="kind=customer", content_type="text/plain"
    )

    assert response.status_code == 415
    assert error_codes(response) == ["UNSUPPORTED_MEDIA_TYPE"]


def test_malformed_json_is_parse_error(api_book: ApiBook) -> None:
    response = api_book.client("ada.admin").post(
        "/api/parties/", data='{"kind": ', content_type="application/json"
    )

    assert response.status_code == 400
    assert error_codes(response) == ["PARSE_ERROR"]


def test_validation_error_per_field(api_book: ApiBook) -> None:
    response = api_book.client("ada.admin").post(
        "/api/parties/", {"kind": "supplier", "name": "X"}, format="json"
    )

    assert response.status_code == 400
    entries = response.json()["errors"]
    assert {e["field"] for e in entries} == {"kind", "code", "country"}
    assert {e["code"] for e in entries} == {"INVALID_INPUT"}


def test_service_error_keeps_code_and_fix(api_book: ApiBook) -> None:
    response = api_book.client("fran.finance").post(
        "/api/billing-runs/", {"period": "2026-13"}, format="json"
    )

    assert response.status_code == 400
    entry = response.json()["errors"][0]
    assert entry["code"] != "INVALID_INPUT" or "2026-13" in entry["message"]
    assert entry["field"] == "period"
    assert "2026-13" in entry["message"]


def test_invalid_limit_is_400(api_book: ApiBook) -> None:
    client = api_book.client("fran.finance")

    for value in ("0", "-1", "abc", "501"):
        response = client.get("/api/invoices/", {"limit": value})
        assert response.status_code == 400, value
        assert response.json()["errors"][0]["field"] == "limit"


def test_role_refusal_is_403(api_book: ApiBook) -> None:
    response = api_book.client("sam.sales").post(
        "/api/billing-runs/", {"period": "2026-11"}, format="json"
    )

    assert response.status_code == 403
    assert error_codes(response) == ["PERMISSION_DENIED"]


def test_options_is_405_without_allow(api_book: ApiBook) -> None:
    response = api_book.client("fran.finance").options("/api/parties/")

    assert response.status_code == 405
    assert error_codes(response) == ["METHOD_NOT_ALLOWED"]
    assert "OPTIONS" not in response["Allow"]


def test_server_error_is_json_under_api() -> None:
    from django.test import RequestFactory

    from billguard.api.errors import server_error

    api = server_error(RequestFactory().get("/api/invoices/"))
    page = server_error(RequestFactory().get("/admin/"))

    assert api.status_code == 500
    assert api["Content-Type"] == "application/json"
    assert error_codes(api) == ["SERVER_ERROR"]
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")
