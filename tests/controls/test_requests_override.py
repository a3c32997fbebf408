"""Overrides of held invoices as change requests: a reason and a second person."""

import pytest

from billguard.billing.exceptions import exceptions_open
from billguard.billing.models import ExceptionResolution, Invoice
from billguard.billing.run import billing_run_execute
from billguard.controls.models import ApprovalRule, AuditEntry, ChangeRequest
from billguard.controls.override import exception_override_request
from billguard.controls.requests import change_request_approve
from billguard.domain.errors import InvalidInput, NotAllowed, RuleViolation
from billguard.domain.periods import parse_period
from tests.acting_users import make_user
from tests.factories import make_contract

pytestmark = pytest.mark.django_db(transaction=True)


def held_invoice() -> Invoice:
    make_contract(sow_document_id=None)
    billing_run_execute(period=parse_period("2026-11"))
    return exceptions_open().get()


def test_override_issues_after_approval():
    held = held_invoice()
    request = exception_override_request(
        invoice_id=held.pk, by=make_user("fay", "finance"), reason="SOW signed, upload pending"
    )
    assert request.status == ChangeRequest.Status.PENDING
    assert Invoice.objects.get(pk=held.pk).status == Invoice.Status.HELD

    applied = change_request_approve(request_id=request.pk, by=make_user("bob", "finance_approver"))

    invoice = Invoice.objects.get(pk=held.pk)
    assert applied.status == ChangeRequest.Status.APPLIED
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.number == "ADE-000001"
    assert invoice.override_reason == "SOW signed, upload pending"
    assert applied.result["blocking"] == ["SOW_MISSING"]
    assert ExceptionResolution.objects.get(invoice=invoice).outcome == "overridden"
    entry = AuditEntry.objects.get(action="exception.override")
    assert entry.actor == "bob"


def test_override_requester_cannot_approve():
    held = held_invoice()
    approver = make_user("bob", "finance_approver")
    request = exception_override_request(invoice_id=held.pk, by=approver, reason="known issue")

    with pytest.raises(NotAllowed):
        change_request_approve(request_id=request.pk, by=approver)

    assert Invoice.objects.get(pk=held.pk).status == Invoice.Status.HELD


def test_override_needs_reason():
    held = held_invoice()

    with pytest.raises(InvalidInput) as raised:
        exception_override_request(invoice_id=held.pk, by=make_user("fay", "finance"), reason="  ")

    assert raised.value.place == "reason"


def test_override_needs_permission():
    held = held_invoice()

    with pytest.raises(NotAllowed):
        exception_override_request(invoice_id=held.pk, by=make_user("sam", "sales"), reason="x")


def test_override_of_issued_invoice_rejected():
    make_contract()
    billing_run_execute(period=parse_period("2026-11"))
    issued = Invoice.objects.get(status=Invoice.Status.ISSUED)

    with pytest.raises(RuleViolation):
        exception_override_request(invoice_id=issued.pk, by=make_user("fay", "finance"), reason="x")


def test_override_stale_when_invoice_changed():
    held = held_invoice()
    request = exception_override_request(
        invoice_id=held.pk, by=make_user("fay", "finance"), reason="known issue"
    )
    Invoice.objects.filter(pk=held.pk).update(override_reason="set elsewhere")

    result = change_request_approve(request_id=request.pk, by=make_user("bob", "finance_approver"))

    assert result.status == ChangeRequest.Status.STALE
    assert Invoice.objects.get(pk=held.pk).status == Invoice.Status.HELD


def test_override_uses_override_rule():
    ApprovalRule.objects.create(name="overrides", subject="override", role="administrator")
    held = held_invoice()

    request = exception_override_request(
        invoice_id=held.pk, by=make_user("fay", "finance"), reason="known issue"
    )

    assert [r["rule"] for r in request.required] == ["overrides"]
    with pytest.raises(NotAllowed):
        change_request_approve(request_id=request.pk, by=make_user("bob", "finance_approver"))
