"""The exception queue and a held draft's page, on drafts held by a real billing run."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billguard.billing.assignments import exception_assign
from billguard.billing.models import ExceptionAssignment, Invoice
from billguard.controls.models import AuditEntry, ChangeRequest
from billguard.registry.models import BillingScheduleLine
from tests.web.exception_data import held_drafts

pytestmark = pytest.mark.django_db


def queue_rows(body: str) -> list[str]:
    """The held drafts listed in a queue page, as their link texts."""
    return [part.split("<", 1)[0] for part in body.split("Held draft ")[1:]]


def test_queue_lists_held_drafts_with_blocking_codes(signed_in) -> None:
    held = held_drafts()

    response = signed_in("fran.finance").get("/exceptions/")

    body = response.content.decode()
    assert response.status_code == 200
    assert sorted(queue_rows(body)) == sorted(str(i.pk) for i in held.values())
    assert "SOW_MISSING" in body
    assert "PRICE_MISMATCH" in body
    assert "C-3" not in body


def test_queue_filters_by_finding_code(signed_in) -> None:
    held = held_drafts()

    body = signed_in("fran.finance").get("/exceptions/?code=PRICE_MISMATCH").content.decode()

    assert queue_rows(body) == [str(held["C-2"].pk)]


def test_queue_filters_by_customer_code(signed_in) -> None:
    held = held_drafts()

    body = signed_in("fran.finance").get("/exceptions/?customer=contoso").content.decode()

    assert queue_rows(body) == [str(held["C-2"].pk)]


def test_queue_filters_by_amount_range(signed_in) -> None:
    held = held_drafts()
    # C-1 drafts 1000.00 + 19 % VAT = 1190.00; C-2 drafts 900.00 + 19 % VAT = 1071.00.
    client = signed_in("fran.finance")

    low = client.get("/exceptions/?min_amount=1100").content.decode()
    high = client.get("/exceptions/?max_amount=1100").content.decode()

    assert queue_rows(low) == [str(held["C-1"].pk)]
    assert queue_rows(high) == [str(held["C-2"].pk)]


def test_queue_inverted_amount_range_error(signed_in) -> None:
    held_drafts()

    body = (
        signed_in("fran.finance").get("/exceptions/?min_amount=2000&max_amount=10").content.decode()
    )

    assert "The amount up to (10) is below the amount from (2000)" in body
    assert 'id="id_max_amount_error"' in body


def test_queue_filters_by_days_held(signed_in) -> None:
    held = held_drafts()
    Invoice.objects.filter(pk=held["C-1"].pk).update(
        held_since=held["C-1"].held_since.replace(year=2026, month=1)
    )

    body = signed_in("fran.finance").get("/exceptions/?min_days=30").content.decode()

    assert queue_rows(body) == [str(held["C-1"].pk)]


def test_queue_sorts_by_amount_both_ways(signed_in) -> None:
    held = held_drafts()
    client = signed_in("fran.finance")

    largest = client.get("/exceptions/?sort=amount_desc").content.decode()
    smallest = client.get("/exceptions/?sort=amount_asc").content.decode()

    assert queue_rows(largest) == [str(held["C-1"].pk), str(held["C-2"].pk)]
    assert queue_rows(smallest) == [str(held["C-2"].pk), str(held["C-1"].pk)]
    assert 'aria-sort="ascending"><a href="?sort=amount_desc">Amount' in smallest


def test_queue_htmx_request_gets_the_table_alone(signed_in) -> None:
    held_drafts()

    response = signed_in("fran.finance").get(
        "/exceptions/?code=SOW_MISSING", headers={"HX-Request": "true"}
    )

    body = response.content.decode()
    assert "<table>" in body
    assert "<html" not in body
    assert "PRICE_MISMATCH" not in body


def test_queue_form_updates_the_table_through_htmx(signed_in) -> None:
    held_drafts()

    body = signed_in("fran.finance").get("/exceptions/").content.decode()

    assert 'method="get" action="/exceptions/"' in body
    assert 'hx-get="/exceptions/"' in body
    assert 'hx-target="#exception-table"' in body
    assert 'hx-push-url="true"' in body


def test_queue_pages_keep_the_filters(signed_in, monkeypatch) -> None:
    held_drafts()
    from billguard.web import paging

    monkeypatch.setattr(paging.paginate, "__defaults__", (1,))

    body = signed_in("fran.finance").get("/exceptions/?sort=amount_asc").content.decode()

    assert len(queue_rows(body)) == 1
    assert 'href="?sort=amount_asc&amp;page=2" rel="next"' in body


def test_queue_query_count_does_not_grow_with_rows(
    signed_in, django_assert_max_num_queries
) -> None:
    held_drafts()
    client = signed_in("fran.finance")
    with CaptureQueriesContext(connection) as two_rows:
        client.get("/exceptions/")
    for number in ("C-4", "C-5", "C-6"):
        _held_contract(number)

    with django_assert_max_num_queries(len(two_rows.captured_queries)):
        response = client.get("/exceptions/?sort=newest")

    assert len(queue_rows(response.content.decode())) == 5


def _held_contract(number: str) -> None:
    from billguard.billing.run import billing_run_execute
    from billguard.domain.periods import parse_period
    from tests.factories import make_contract

    make_contract(number, customer_code=f"CUST-{number}", sow_document_id=None)
    billing_run_execute(period=parse_period("2026-11"), contract_number=number)


def test_assign_records_the_assignee_and_the_audit_entry(signed_in) -> None:
    held = held_drafts()["C-2"]
    client = signed_in("fran.finance")

    response = client.post(
        f"/exceptions/{held.pk}/assign/", {"assignee": "alex.approver", "note": "price check"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/exceptions/{held.pk}/"
    assignment = ExceptionAssignment.objects.get(draft_key=held.draft_key)
    assert assignment.assignee.get_username() == "alex.approver"
    assert assignment.assigned_by == "fran.finance"
    entry = AuditEntry.objects.get(action="exception.assign")
    assert entry.actor == "fran.finance"
    assert entry.record_id == str(held.pk)
    assert entry.after == {"assignee": "alex.approver"}
    page = client.get(response["Location"]).content.decode()
    assert "The exception is assigned to alex.approver." in page


def test_assigned_to_me_shows_only_mine(signed_in, sample_users) -> None:
    held = held_drafts()
    exception_assign(
        invoice_id=held["C-1"].pk,
        assignee=sample_users["fran.finance"],
        by=sample_users["alex.approver"],
    )

    body = signed_in("fran.finance").get("/exceptions/?mine=on").content.decode()
    others = signed_in("alex.approver").get("/exceptions/?mine=on").content.decode()

    assert queue_rows(body) == [str(held["C-1"].pk)]
    assert queue_rows(others) == []


def test_assign_to_sales_is_rejected(signed_in) -> None:
    held = held_drafts()["C-1"]

    response = signed_in("fran.finance").post(
        f"/exceptions/{held.pk}/assign/", {"assignee": "sam.sales"}
    )

    assert response.status_code == 400
    assert "Assign to: &#x27;sam.sales&#x27; is not one of the choices." in (
        response.content.decode()
    )
    assert not ExceptionAssignment.objects.exists()


def test_assign_by_sales_is_forbidden_with_the_sentence(signed_in) -> None:
    held = held_drafts()["C-1"]

    response = signed_in("sam.sales").post(
        f"/exceptions/{held.pk}/assign/", {"assignee": "fran.finance"}
    )

    assert response.status_code == 403
    assert "sam.sales (sales) may not resolve a held invoice at its source" in (
        response.content.decode()
    )


def test_detail_shows_expected_and_actual_side_by_side(signed_in) -> None:
    held = held_drafts()["C-2"]

    response = signed_in("fran.finance").get(f"/exceptions/{held.pk}/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "PRICE_MISMATCH" in body
    assert '<td class="expected">1000' in body
    assert '<td class="actual">900' in body
    assert 'href="/contracts/C-2/#version-1"' in body
    assert 'href="/exceptions/?customer=CONTOSO"' in body
    assert "#document-" in body
    assert "Managed service, monthly fee" in body
    assert "Fix and re-check" in body
    assert "Request an override" in body


def test_detail_hides_actions_from_auditor(signed_in) -> None:
    held = held_drafts()["C-2"]

    body = signed_in("audrey.auditor").get(f"/exceptions/{held.pk}/").content.decode()

    assert "PRICE_MISMATCH" in body
    assert "Fix and re-check</button>" not in body
    assert "Request an override</button>" not in body
    assert "Assign</button>" not in body


def test_resolve_after_fixing_the_schedule_issues_the_invoice(signed_in) -> None:
    held = held_drafts()["C-2"]
    BillingScheduleLine.objects.filter(schedule__contract=held.contract).update(
        unit_price="1000.00"
    )
    client = signed_in("fran.finance")

    response = client.post(
        f"/exceptions/{held.pk}/resolve/", {"note": "Schedule price set to the signed 1000.00"}
    )

    issued = Invoice.objects.get(draft_key=held.draft_key)
    assert issued.status == Invoice.Status.ISSUED
    assert response.status_code == 302
    assert response["Location"] == f"/invoices/{issued.pk}/"
    trace = client.get(response["Location"]).content.decode()
    assert f"The fix is in: invoice {issued.number} was issued." in trace
    assert "Schedule price set to the signed 1000.00" in trace


def test_resolve_without_fix_stays_held(signed_in) -> None:
    held = held_drafts()["C-1"]
    client = signed_in("fran.finance")

    response = client.post(f"/exceptions/{held.pk}/resolve/", {"note": "Tried again"})

    again = Invoice.objects.get(draft_key=held.draft_key)
    assert again.status == Invoice.Status.HELD
    assert response["Location"] == f"/exceptions/{again.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "still held by SOW_MISSING" in page


def test_resolve_keeps_assignment_when_held(signed_in, sample_users) -> None:
    held = held_drafts()["C-1"]
    exception_assign(
        invoice_id=held.pk, assignee=sample_users["fran.finance"], by=sample_users["fran.finance"]
    )

    signed_in("fran.finance").post(f"/exceptions/{held.pk}/resolve/", {"note": "Tried again"})

    body = signed_in("fran.finance").get("/exceptions/?mine=on").content.decode()
    again = Invoice.objects.get(draft_key=held.draft_key)
    assert queue_rows(body) == [str(again.pk)]


def test_resolve_without_note_error_at_field(signed_in) -> None:
    held = held_drafts()["C-1"]

    response = signed_in("fran.finance").post(f"/exceptions/{held.pk}/resolve/", {"note": " "})

    body = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_note_error"' in body
    assert "Say what was fixed at the source" in body
    assert Invoice.objects.get(pk=held.pk).status == Invoice.Status.HELD


def test_resolve_by_sales_is_forbidden_with_the_sentence(signed_in) -> None:
    held = held_drafts()["C-1"]

    response = signed_in("sam.sales").post(f"/exceptions/{held.pk}/resolve/", {"note": "x"})

    assert response.status_code == 403
    assert "sam.sales (sales) may not resolve a held invoice at its source" in (
        response.content.decode()
    )


def test_override_request_waits_for_a_second_person(signed_in) -> None:
    held = held_drafts()["C-1"]
    client = signed_in("fran.finance")

    response = client.post(
        f"/exceptions/{held.pk}/override/", {"reason": "Signed SOW arrives by courier"}
    )

    change = ChangeRequest.objects.get(target="invoice_override")
    assert response.status_code == 302
    assert change.status == ChangeRequest.Status.PENDING
    assert change.requested_by.get_username() == "fran.finance"
    assert Invoice.objects.get(pk=held.pk).status == Invoice.Status.HELD
    page = client.get(response["Location"]).content.decode()
    assert f"Change request {change.pk} asks to override this held invoice" in page
    assert "An override is already waiting for approval" in page


def test_override_without_a_reason_is_refused_next_to_the_field(signed_in) -> None:
    held = held_drafts()["C-1"]

    response = signed_in("fran.finance").post(f"/exceptions/{held.pk}/override/", {"reason": ""})

    body = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_reason_error"' in body
    assert "Say why the invoice may go out despite its blocking findings." in body
    assert not ChangeRequest.objects.exists()


def test_override_by_the_auditor_is_forbidden_with_the_sentence(signed_in) -> None:
    held = held_drafts()["C-1"]

    response = signed_in("audrey.auditor").post(
        f"/exceptions/{held.pk}/override/", {"reason": "because"}
    )

    assert response.status_code == 403
    assert "audrey.auditor (auditor) may not request an override of a held invoice" in (
        response.content.decode()
    )


def test_detail_of_an_issued_invoice_goes_to_its_trace(signed_in) -> None:
    held_drafts()
    issued = Invoice.objects.get(status=Invoice.Status.ISSUED)

    response = signed_in("fran.finance").get(f"/exceptions/{issued.pk}/")

    assert response.status_code == 302
    assert response["Location"] == f"/invoices/{issued.pk}/"


def test_detail_of_an_unknown_draft_is_not_found(signed_in) -> None:
    assert signed_in("fran.finance").get("/exceptions/987654/").status_code == 404


def test_queue_needs_sign_in() -> None:
    from django.test import Client

    response = Client().get("/exceptions/")

    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/")


def test_user_names_of_the_sample_roles(sample_users: dict[str, User]) -> None:
    assert {"fran.finance", "alex.approver", "sam.sales", "audrey.auditor"} <= set(sample_users)


def test_queue_htmx_filter_error_shows_in_table(signed_in) -> None:
    held_drafts()

    body = (
        signed_in("fran.finance")
        .get("/exceptions/?min_amount=20&max_amount=10", headers={"HX-Request": "true"})
        .content.decode()
    )

    assert 'role="alert"' in body
    assert "Amount up to: The amount up to (10) is below the amount from (20)." in body


def test_queue_history_restore_gets_the_whole_page(signed_in) -> None:
    held_drafts()

    response = signed_in("fran.finance").get(
        "/exceptions/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )

    assert "<html" in response.content.decode()
