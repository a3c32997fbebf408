"""Parties, bill-to entities, contracts, amendments and documents over the API."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billguard.registry.models import Amendment, BillToEntity, Document, Party
from tests.api.conftest import ApiBook, error_codes
from tests.factories import text_pdf

pytestmark = pytest.mark.django_db


def test_parties_list_paginated_and_filtered(api_book: ApiBook) -> None:
    client = api_book.client("fran.finance")

    page = client.get("/api/parties/", {"limit": 1}).json()
    filtered = client.get("/api/parties/", {"search": "contoso"}).json()

    assert page["count"] == 2
    assert len(page["results"]) == 1
    assert "offset=1" in page["next"]
    assert page["previous"] is None
    assert [p["code"] for p in filtered["results"]] == ["CUST-2"]


def test_parties_list_rejects_unknown_kind(api_book: ApiBook) -> None:
    response = api_book.client("fran.finance").get("/api/parties/", {"kind": "supplier"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "kind"


def test_party_create_and_show(api_book: ApiBook) -> None:
    client = api_book.client("ada.admin")
    body = {"kind": "customer", "code": "CUST-3", "name": "Tailspin BV", "country": "nl"}

    created = client.post("/api/parties/", body, format="json")
    shown = client.get("/api/parties/CUST-3/")

    assert created.status_code == 201, created.content
    assert created.json()["country"] == "NL"
    assert shown.json()["name"] == "Tailspin BV"
    assert Party.objects.filter(code="CUST-3").exists()


def test_party_create_bad_tax_id_names_field(api_book: ApiBook) -> None:
    body = {
        "kind": "customer",
        "code": "CUST-4",
        "name": "Tailspin BV",
        "country": "DE",
        "tax_id": "DE123456789",
    }

    response = api_book.client("ada.admin").post("/api/parties/", body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "tax_id"
    assert "DE123456789" in response.json()["errors"][0]["message"]


def test_bill_to_create_for_unknown_party(api_book: ApiBook) -> None:
    body = {"party": "CUST-404", "code": "BT-1", "name": "X", "country": "DE"}

    response = api_book.client("ada.admin").post("/api/bill-tos/", body, format="json")

    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "party"


def test_bill_to_create_and_list(api_book: ApiBook) -> None:
    client = api_book.client("ada.admin")
    body = {"party": "CUST-1", "code": "CUST-1-BT2", "name": "Northwind AP", "country": "DE"}

    created = client.post("/api/bill-tos/", body, format="json")
    listed = client.get("/api/bill-tos/", {"party": "CUST-1"}).json()

    assert created.status_code == 201, created.content
    assert [b["code"] for b in listed["results"]] == ["CUST-1-BT", "CUST-1-BT2"]
    assert BillToEntity.objects.get(code="CUST-1-BT2").party.code == "CUST-1"


def test_contracts_list_and_detail(api_book: ApiBook) -> None:
    client = api_book.client("sam.sales")

    listed = client.get("/api/contracts/", {"party": "CUST-2"}).json()
    detail = client.get("/api/contracts/C-1/").json()
    versions = client.get("/api/contracts/C-1/versions/").json()

    assert [c["number"] for c in listed["results"]] == ["C-2"]
    assert detail["status"] == "active"
    assert detail["versions"][0]["currency"] == "EUR"
    assert versions["count"] == 1
    assert versions["results"][0]["payment_terms_days"] == 30


def test_contract_activate_already_active(api_book: ApiBook) -> None:
    response = api_book.client("fran.finance").post("/api/contracts/C-1/activate/")

    assert response.status_code in (403, 409)
    assert error_codes(response)


def test_amendment_draft_sign_and_request(api_book: ApiBook) -> None:
    client = api_book.client("sam.sales")
    draft = client.post(
        "/api/contracts/C-1/amendments/",
        {"number": "A-1", "effective_from": "2026-12-01", "changes": {"payment_terms_days": 45}},
        format="json",
    )
    upload = SimpleUploadedFile("a1.pdf", text_pdf("Amendment A-1"), content_type="application/pdf")
    document = client.post(
        "/api/documents/",
        {
            "file": upload,
            "kind": "amendment",
            "family": "AMD-C-1-A-1",
            "title": "Amendment A-1",
            "signed_on": "2026-11-20",
            "signer": "Jane Buyer",
        },
        format="multipart",
    )
    assert draft.status_code == 201, draft.content
    assert document.status_code == 201, document.content

    signed = client.post(
        "/api/contracts/C-1/amendments/A-1/sign/",
        {"document": document.json()["id"], "signed_on": "2026-11-20"},
        format="json",
    )
    requested = client.post(
        "/api/contracts/C-1/amendments/A-1/request-approval/",
        {"reason": "customer asked for longer terms"},
        format="json",
    )

    assert signed.status_code == 200, signed.content
    assert signed.json()["status"] == "signed"
    assert requested.status_code == 201, requested.content
    assert requested.json()["status"] == "pending"
    assert Amendment.objects.get(number="A-1").status == "signed"


def test_amendment_unknown_field_is_400(api_book: ApiBook) -> None:
    response = api_book.client("sam.sales").post(
        "/api/contracts/C-1/amendments/",
        {"number": "A-2", "effective_from": "2026-12-01", "changes": {"colour": "blue"}},
        format="json",
    )

    assert response.status_code == 400
    assert "colour" in response.json()["errors"][0]["message"]


def test_document_upload_and_download(api_book: ApiBook) -> None:
    client = api_book.client("sam.sales")
    content = text_pdf("Rate card 2027")
    upload = SimpleUploadedFile("rates.pdf", content, content_type="application/pdf")

    created = client.post(
        "/api/documents/",
        {"file": upload, "kind": "rate_card", "family": "RC-1", "title": "Rates"},
        format="multipart",
    )
    document_id = created.json()["id"]
    downloaded = client.get(f"/api/documents/{document_id}/content/")

    assert created.status_code == 201
    assert downloaded.status_code == 200
    assert downloaded["Content-Type"] == "application/pdf"
    assert (
        b"".join(downloaded.streaming_content if downloaded.streaming else [downloaded.content])
        == content
    )
    assert Document.objects.get(pk=document_id).family == "RC-1"


def test_document_upload_rejects_wrong_type(api_book: ApiBook) -> None:
    upload = SimpleUploadedFile("rates.exe", b"MZ\x90\x00binary", content_type="application/pdf")

    response = api_book.client("sam.sales").post(
        "/api/documents/",
        {"file": upload, "kind": "sow", "family": "SOW-X", "title": "SOW"},
        format="multipart",
    )

    assert response.status_code == 400
    assert error_codes(response)
    assert not Document.objects.filter(family="SOW-X").exists()
