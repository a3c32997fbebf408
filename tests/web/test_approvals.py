"""The approvals inbox and the change request page: request, approve, reject, withdraw."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from billguard.controls.models import ApprovalRule, ChangeRequest
from billguard.controls.requests import delegation_create
from billguard.registry.models import ContractVersion
from billguard.registry.services.amendments import (
    amendment_draft,
    amendment_request_approval,
    amendment_sign,
)
from billguard.registry.services.documents import document_store
from billguard.sample.pdf import text_pdf
from tests.factories import make_contract

pytestmark = pytest.mark.django_db

PRICE_CHANGE = {
    "line": "L1",
    "unit_price": "1100.00",
    "discount_percent": "",
    "effective_from": "",
    "reason": "Rate card 2026 agreed with the customer",
}


def request_price_change(client: Client, number: str = "C-1", **fields: str) -> ChangeRequest:
    response = client.post(f"/contracts/{number}/request-change/", {**PRICE_CHANGE, **fields})
    assert response.status_code == 302, response.content.decode()[-2000:]
    match = re.fullmatch(r"/approvals/(\d+)/", response["Location"])
    assert match, response["Location"]
    return ChangeRequest.objects.get(pk=int(match.group(1)))


def latest_version(number: str = "C-1") -> ContractVersion:
    return ContractVersion.objects.filter(contract__number=number).latest("version_number")


def approve(client: Client, request_id: int, reason: str = "") -> str:
    response = client.post(
        f"/approvals/{request_id}/", {"decision": "approve", "approve-reason": reason}, follow=True
    )
    assert response.status_code == 200
    return response.content.decode()


def test_sales_request_then_approver_applies_price(signed_in) -> None:
    make_contract()
    sam = signed_in("sam.sales")

    change = request_price_change(sam)
    shown = sam.get(f"/approvals/{change.pk}/").content.decode()

    assert change.status == ChangeRequest.Status.PENDING
    assert change.channel == ChangeRequest.Channel.WEB
    assert change.changes == {"lines": {"L1": {"unit_price": "1100.00"}}}
    assert f"Change request {change.pk} is created" in shown
    assert "Line L1: unit price" in shown
    assert "<del>1000.00</del>" in shown
    assert "<ins>1100.00</ins>" in shown
    assert ">Approve</button>" not in shown

    alex = signed_in("alex.approver")
    inbox = alex.get("/approvals/").content.decode()
    assert "waits for you" in inbox
    assert "1</strong> change request waits for your approval" in inbox

    body = approve(alex, change.pk, "matches the signed rate card")

    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.APPLIED
    assert f"You approved change request {change.pk}. The change is applied." in body
    follow_up = change.result["schedule_request"]
    assert isinstance(follow_up, int)
    assert f"The billing schedule follows it through change request {follow_up}" in body
    version = latest_version()
    assert version.version_number == 2
    assert str(version.lines.get(line_code="L1").unit_price) == "1100.000000"
    assert "matches the signed rate card" in body


def test_one_approval_for_two_rules(signed_in) -> None:
    ApprovalRule.objects.create(name="any price", subject="price", role="finance_approver")
    ApprovalRule.objects.create(name="critical fields", subject="*", role="finance_approver")
    make_contract()
    change = request_price_change(signed_in("sam.sales"))
    approver = signed_in("alex.approver")

    detail = approver.get(f"/approvals/{change.pk}/").content.decode()
    inbox = approver.get("/approvals/").content.decode()
    approved = approve(approver, change.pk)

    needed = "1 approval from the finance approver role under rules any price and critical fields"
    assert f"Still needed: {needed}." in detail
    assert needed in inbox
    assert "finance_approver" not in inbox.split("<tbody>")[1]
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.APPLIED
    assert "You approved change request" in approved


def test_two_approvers_rule_needs_both(signed_in) -> None:
    ApprovalRule.objects.create(
        name="price needs two", subject="price", role="finance_approver", approvals=2
    )
    make_contract()
    change = request_price_change(signed_in("sam.sales"))

    first = approve(signed_in("alex.approver"), change.pk)
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.PENDING
    assert (
        "It still needs 1 approval from the finance approver role under rule price needs two "
        "before it applies." in first
    )
    assert latest_version().version_number == 1

    again = approve(signed_in("alex.approver"), change.pk)
    assert "has already approved change request" in again

    approve(signed_in("blake.approver"), change.pk)
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.APPLIED
    assert latest_version().version_number == 2


def test_reject_without_reason_marks_field(signed_in) -> None:
    make_contract()
    change = request_price_change(signed_in("sam.sales"))
    alex = signed_in("alex.approver")

    response = alex.post(f"/approvals/{change.pk}/", {"decision": "reject", "reject-reason": " "})

    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_reject-reason_error"' in body
    assert 'aria-invalid="true"' in body
    assert "A rejection needs a reason" in body
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.PENDING


def test_reject_with_reason_closes_request(signed_in) -> None:
    make_contract()
    change = request_price_change(signed_in("sam.sales"))
    alex = signed_in("alex.approver")

    response = alex.post(
        f"/approvals/{change.pk}/",
        {"decision": "reject", "reject-reason": "The customer signed 1050, not 1100."},
        follow=True,
    )

    body = response.content.decode()
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.REJECTED
    assert change.decision_reason == "The customer signed 1050, not 1100."
    assert f"You rejected change request {change.pk}." in body
    assert latest_version().version_number == 1

    late = approve(alex, change.pk)
    assert f"Change request {change.pk} is rejected, so it cannot be approved." in late


def test_requester_approving_own_request_is_refused(signed_in) -> None:
    make_contract()
    alex = signed_in("alex.approver")
    change = request_price_change(alex)

    response = alex.post(f"/approvals/{change.pk}/", {"decision": "approve"})

    body = response.content.decode()
    assert response.status_code == 200
    assert f"alex.approver made change request {change.pk}, so they cannot approve it." in body
    assert 'class="form-errors" role="alert"' in body
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.PENDING


def test_requester_withdraws_own_request(signed_in) -> None:
    make_contract()
    sam = signed_in("sam.sales")
    change = request_price_change(sam)

    response = sam.post(f"/approvals/{change.pk}/", {"decision": "withdraw"}, follow=True)

    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.WITHDRAWN
    assert f"You withdrew change request {change.pk}." in response.content.decode()


def test_other_user_cannot_withdraw(signed_in) -> None:
    make_contract()
    change = request_price_change(signed_in("sam.sales"))

    response = signed_in("fran.finance").post(f"/approvals/{change.pk}/", {"decision": "withdraw"})

    assert response.status_code == 200
    assert "Only sam.sales, who made change request" in response.content.decode()
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.PENDING


def test_sales_cannot_approve_or_reject(signed_in) -> None:
    make_contract()
    change = request_price_change(signed_in("alex.approver"))
    sam = signed_in("sam.sales")

    approved = sam.post(f"/approvals/{change.pk}/", {"decision": "approve"})
    rejected = sam.post(f"/approvals/{change.pk}/", {"decision": "reject", "reject-reason": "no"})

    assert approved.status_code == 403
    assert "sam.sales (sales) may not approve or reject a change request" in (
        approved.content.decode()
    )
    assert rejected.status_code == 403
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.PENDING


def test_inbox_lists_pending_by_default(signed_in) -> None:
    make_contract()
    make_contract("C-2")
    sam = signed_in("sam.sales")
    pending = request_price_change(sam)
    withdrawn = request_price_change(sam, "C-2")
    sam.post(f"/approvals/{withdrawn.pk}/", {"decision": "withdraw"})
    fran = signed_in("fran.finance")

    default = fran.get("/approvals/").content.decode()
    every = fran.get("/approvals/?status=all").content.decode()
    only_withdrawn = fran.get("/approvals/?status=withdrawn").content.decode()
    by_other = fran.get("/approvals/?status=all&requester=alex.approver").content.decode()

    assert f"Change request {pending.pk}<" in default
    assert f"Change request {withdrawn.pk}<" not in default
    assert f"Change request {withdrawn.pk}<" in every
    assert f"Change request {pending.pk}<" in every
    assert f"Change request {pending.pk}<" not in only_withdrawn
    assert "No change request matches these filters." in by_other
    assert "waits for your approval" not in default


def test_waiting_filter_leaves_out_own_requests(signed_in) -> None:
    make_contract()
    make_contract("C-2")
    mine = request_price_change(signed_in("alex.approver"))
    theirs = request_price_change(signed_in("sam.sales"), "C-2")
    alex = signed_in("alex.approver")

    waiting = alex.get("/approvals/?waiting=on").content.decode()

    assert f"Change request {theirs.pk}<" in waiting
    assert f"Change request {mine.pk}<" not in waiting


def test_inbox_queries_do_not_grow_per_row(signed_in, django_assert_max_num_queries) -> None:
    for index in range(1, 6):
        make_contract(f"C-{index}")
    sam = signed_in("sam.sales")
    for index in range(1, 6):
        request_price_change(sam, f"C-{index}")
    alex = signed_in("alex.approver")

    with django_assert_max_num_queries(14):
        response = alex.get("/approvals/?status=all")

    assert response.content.decode().count("waits for you</span>") == 5


def test_unknown_request_is_not_found(signed_in) -> None:
    assert signed_in("fran.finance").get("/approvals/999999/").status_code == 404


def test_delegate_approves_for_delegator(signed_in, sample_users) -> None:
    today = timezone.localdate()
    delegation_create(
        by=sample_users["blake.approver"],
        delegate=sample_users["fran.finance"],
        starts_on=today,
        ends_on=today + dt.timedelta(days=7),
        reason="holiday",
    )
    make_contract()
    make_contract("C-2")
    theirs = request_price_change(signed_in("sam.sales"))
    blakes = request_price_change(signed_in("blake.approver"), "C-2")
    fran = signed_in("fran.finance")

    inbox = fran.get("/approvals/").content.decode()
    refused = fran.post(f"/approvals/{blakes.pk}/", {"decision": "approve"}).content.decode()
    body = approve(fran, theirs.pk)

    assert f"Change request {theirs.pk}<" in inbox
    assert "1</strong> change request waits for your approval" in inbox
    assert "blake.approver made the request, so nobody approves it for them" in refused
    theirs.refresh_from_db()
    assert theirs.status == ChangeRequest.Status.APPLIED
    assert "fran.finance for blake.approver" in body
    assert ">Reject</button>" not in body


def test_waiting_list_matches_the_role_needed(signed_in) -> None:
    ApprovalRule.objects.create(
        name="price by an administrator", subject="price", role="administrator", approvals=1
    )
    make_contract()
    change = request_price_change(signed_in("sam.sales"))

    for_approver = signed_in("alex.approver").get("/approvals/").content.decode()
    for_admin = signed_in("ada.admin").get("/approvals/?waiting=on").content.decode()

    assert "Nothing waits for your approval." in for_approver
    assert "waits for you</span>" not in for_approver
    assert f"Change request {change.pk}<" in for_admin
    assert "1</strong> change request waits for your approval" in for_admin


def test_amendment_request_links_document(signed_in, sample_users) -> None:
    setup = make_contract()
    amendment = amendment_draft(
        contract=setup.contract,
        number="A-7",
        effective_from=dt.date(2026, 5, 1),
        changes={"payment_terms_days": 45},
        description="Longer payment terms",
    )
    document = document_store(
        content=text_pdf("Amendment A-7 of C-1, signed."),
        kind="amendment",
        family="AMD-C-1-A-7",
        title="Amendment A-7",
        file_name="a-7.pdf",
        signed_on=dt.date(2026, 4, 20),
        signer="Jane Buyer",
    )
    amendment_sign(amendment=amendment, document=document, signed_on=dt.date(2026, 4, 20))
    change = amendment_request_approval(
        amendment=amendment, by=sample_users["sam.sales"], reason="signed by the customer"
    )
    alex = signed_in("alex.approver")

    shown = alex.get(f"/approvals/{change.pk}/").content.decode()
    download = alex.get(f"/contracts/C-1/documents/{document.pk}/")
    approve(alex, change.pk)

    assert f'href="/contracts/C-1/#document-{document.pk}"' in shown
    assert document.sha256 in shown
    assert "<del>30</del>" in shown
    assert "<ins>45</ins>" in shown
    assert download.status_code == 200
    assert latest_version().payment_terms_days == 45
    assert latest_version().amendment_id == amendment.pk


def test_inbox_filter_by_htmx_returns_table(signed_in) -> None:
    make_contract()
    change = request_price_change(signed_in("sam.sales"))

    response = signed_in("fran.finance").get(
        "/approvals/?target=contract", headers={"HX-Request": "true"}
    )

    body = response.content.decode()
    assert body.lstrip().startswith("<table>")
    assert "<h1>" not in body
    assert f"Change request {change.pk}<" in body


def test_waiting_list_counts_delegated_approval(signed_in, sample_users) -> None:
    ApprovalRule.objects.create(
        name="price needs two", subject="price", role="finance_approver", approvals=2
    )
    today = timezone.localdate()
    delegation_create(
        by=sample_users["blake.approver"],
        delegate=sample_users["fran.finance"],
        starts_on=today,
        ends_on=today + dt.timedelta(days=7),
    )
    make_contract()
    change = request_price_change(signed_in("sam.sales"))

    approve(signed_in("fran.finance"), change.pk)
    for_blake = signed_in("blake.approver").get("/approvals/").content.decode()
    for_alex = signed_in("alex.approver").get("/approvals/").content.decode()

    assert "Nothing waits for your approval." in for_blake
    assert "1</strong> change request waits for your approval" in for_alex
