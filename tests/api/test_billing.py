"""Billing runs, exceptions, invoices, UBL files and credit notes over the API."""

from __future__ import annotations

import pytest
from lxml import etree

from billguard.billing.models import Invoice
from billguard.controls.models import ChangeRequest
from tests.api.conftest import ApiBook, error_codes

pytestmark = pytest.mark.django_db

UBL_INVOICE = "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"


def test_billing_run_status_and_report(api_book: ApiBook) -> None:
    client = api_book.client("fran.finance")

    listed = client.get("/api/billing-runs/").json()
    status = client.get(f"/api/billing-runs/{api_book.run.pk}/").json()
    report = client.get(f"/api/billing-runs/{api_book.run.pk}/report/").json()

    assert [r["id"] for r in listed["results"]] == [api_book.run.pk]
    assert status["status"] == "completed"
    assert status["chunks_done"] == status["chunks_total"]
    assert status["counts"]["issued"] == 1
    assert status["counts"]["held"] == 1
    assert report == client.get(f"/api/billing-runs/{api_book.run.pk}/report/").json()
    assert "TAX_ID_INVALID" in str(report)


def test_billing_run_again_issues_nothing_twice(api_book: ApiBook) -> None:
    response = api_book.client("fran.finance").post(
        "/api/billing-runs/", {"period": "2026-11"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["run"]["status"] == "completed"
    assert Invoice.objects.filter(contract__number="C-1", status="issued").count() == 1


def test_billing_run_dry_run_stores_nothing(api_book: ApiBook) -> None:
    response = api_book.client("fran.finance").post(
        "/api/billing-runs/", {"period": "2026-12", "dry_run": True}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["run"] is None
    assert not Invoice.objects.filter(period_start__month=12).exists()


def test_exceptions_list_with_findings(api_book: ApiBook) -> None:
    client = api_book.client("fran.finance")

    listed = client.get("/api/exceptions/").json()
    by_code = client.get("/api/exceptions/", {"code": "PRICE_MISMATCH"}).json()

    assert [e["id"] for e in listed["results"]] == [api_book.held.pk]
    assert listed["results"][0]["blocking_codes"] == ["TAX_ID_INVALID"]
    assert "TAX_ID_INVALID" in {f["code"] for f in listed["results"][0]["findings"]}
    assert by_code["count"] == 0


def test_exception_resolve_still_held(api_book: ApiBook) -> None:
    response = api_book.client("fran.finance").post(
        f"/api/exceptions/{api_book.held.pk}/resolve/", {"note": "checked"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["issued"] is False
    assert response.json()["blocking_codes"] == ["TAX_ID_INVALID"]


def test_exception_override_then_approve(api_book: ApiBook) -> None:
    requested = api_book.client("fran.finance").post(
        f"/api/exceptions/{api_book.held.pk}/override/",
        {"reason": "customer confirmed the VAT number by phone"},
        format="json",
    )
    request_id = requested.json()["id"]
    own = api_book.client("fran.finance").post(f"/api/change-requests/{request_id}/approve/")
    approved = api_book.client("alex.approver").post(f"/api/change-requests/{request_id}/approve/")

    assert requested.status_code == 201
    assert own.status_code == 403
    assert error_codes(own) == ["PERMISSION_DENIED"]
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "applied"
    assert Invoice.objects.get(pk=api_book.held.pk).status == "issued"


def test_invoices_list_filters(api_book: ApiBook) -> None:
    client = api_book.client("audrey.auditor")

    issued = client.get("/api/invoices/", {"status": "issued"}).json()
    by_contract = client.get("/api/invoices/", {"contract": "C-2"}).json()
    bad_date = client.get("/api/invoices/", {"issued_from": "yesterday"})

    assert [i["id"] for i in issued["results"]] == [api_book.issued.pk]
    assert [i["id"] for i in by_contract["results"]] == [api_book.held.pk]
    assert bad_date.status_code == 400
    assert bad_date.json()["errors"][0]["field"] == "issued_from"


def test_invoice_detail_and_ubl(api_book: ApiBook) -> None:
    client = api_book.client("fran.finance")

    detail = client.get(f"/api/invoices/{api_book.issued.pk}/").json()
    ubl = client.get(f"/api/invoices/{api_book.issued.pk}/ubl/")
    held_ubl = client.get(f"/api/invoices/{api_book.held.pk}/ubl/")

    assert detail["number"] == api_book.issued.number
    assert detail["lines"][0]["line_code"] == "L1"
    assert ubl.status_code == 200
    assert ubl["Content-Type"] == "application/xml"
    assert etree.fromstring(ubl.content).tag == UBL_INVOICE
    assert held_ubl.status_code == 409
    assert error_codes(held_ubl) == ["INVOICE_NOT_ISSUED"]


def test_ubl_with_xml_accept_header(api_book: ApiBook) -> None:
    response = api_book.client("fran.finance").get(
        f"/api/invoices/{api_book.issued.pk}/ubl/", HTTP_ACCEPT="application/xml"
    )

    assert response.status_code == 200
    assert response.content.startswith(b"<?xml")


def test_credit_note_partial_and_list(api_book: ApiBook) -> None:
    client = api_book.client("fran.finance")
    path = f"/api/invoices/{api_book.issued.pk}/credit-notes/"

    created = client.post(
        path,
        {"reason": "half a month of outage", "lines": [{"position": 1, "quantity": "0.5"}]},
        format="json",
    )
    listed = client.get(path).json()

    assert created.status_code == 201, created.content
    assert created.json()["document_type"] == "credit_note"
    assert created.json()["payable"] == "595.00"
    assert [n["id"] for n in listed["results"]] == [created.json()["id"]]


def test_credit_note_repeated_line_is_400(api_book: ApiBook) -> None:
    response = api_book.client("fran.finance").post(
        f"/api/invoices/{api_book.issued.pk}/credit-notes/",
        {
            "reason": "x",
            "lines": [{"position": 1, "quantity": "0.5"}, {"position": 1, "quantity": "0.1"}],
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "lines"


def test_sales_may_not_credit(api_book: ApiBook) -> None:
    response = api_book.client("sam.sales").post(
        f"/api/invoices/{api_book.issued.pk}/credit-notes/", {"reason": "x"}, format="json"
    )

    assert response.status_code == 403
    assert error_codes(response) == ["PERMISSION_DENIED"]
    assert not Invoice.objects.filter(document_type="credit_note").exists()


def test_change_request_lifecycle(api_book: ApiBook) -> None:
    sales = api_book.client("sam.sales")
    body = {
        "target": "contract",
        "id": "C-1",
        "changes": {"payment_terms_days": 45},
        "reason": "customer asked for longer terms",
    }

    created = sales.post("/api/change-requests/", body, format="json")
    request_id = created.json()["id"]
    sales_approves = sales.post(f"/api/change-requests/{request_id}/approve/")
    shown = api_book.client("fran.finance").get(f"/api/change-requests/{request_id}/").json()
    rejected = api_book.client("alex.approver").post(
        f"/api/change-requests/{request_id}/reject/", {"reason": "not agreed"}, format="json"
    )
    withdraw = sales.post(f"/api/change-requests/{request_id}/withdraw/")
    pending = (
        api_book.client("fran.finance").get("/api/change-requests/", {"status": "pending"}).json()
    )

    assert created.status_code == 201, created.content
    assert created.json()["channel"] == "api"
    assert sales_approves.status_code == 403
    assert shown["status"] == "pending"
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert withdraw.status_code == 409
    assert request_id not in {r["id"] for r in pending["results"]}
    assert {r["status"] for r in pending["results"]} == {"pending"}
    assert ChangeRequest.objects.get(pk=request_id).status == "rejected"


def test_change_request_withdraw_by_requester(api_book: ApiBook) -> None:
    sales = api_book.client("sam.sales")
    body = {
        "target": "contract",
        "id": "C-1",
        "changes": {"payment_terms_days": 45},
        "reason": "customer asked for longer terms",
    }
    request_id = sales.post("/api/change-requests/", body, format="json").json()["id"]

    other = api_book.client("fran.finance").post(f"/api/change-requests/{request_id}/withdraw/")
    own = sales.post(f"/api/change-requests/{request_id}/withdraw/")

    assert other.status_code == 403
    assert own.status_code == 200
    assert own.json()["status"] == "withdrawn"


def test_change_request_unknown_target_record(api_book: ApiBook) -> None:
    body = {"target": "contract", "id": "C-404", "changes": {"x": 1}, "reason": "r"}

    response = api_book.client("sam.sales").post("/api/change-requests/", body, format="json")

    assert response.status_code == 404
    assert error_codes(response) == ["NOT_FOUND"]
