"""Resolving a cost change: the customer terms amended, or the difference approved."""

import datetime as dt
from decimal import Decimal

import pytest

from billguard.billing.exceptions import exception_resolve, exceptions_open
from billguard.billing.models import Invoice
from billguard.billing.run import billing_run_execute
from billguard.checks.engine import run_checks
from billguard.controls.models import AuditEntry, ChangeRequest
from billguard.controls.policy_yaml import policy_seed
from billguard.controls.requests import change_request_approve, change_request_create
from billguard.domain.errors import NotAllowed, NotFound, RuleViolation
from billguard.domain.periods import parse_period
from billguard.procurement.cost_resolution import cost_change_approve_difference
from billguard.procurement.models import CostChange, PurchaseOrderLine
from billguard.procurement.passthrough import cost_link_create
from billguard.registry.services.contracts import contract_version_create
from billguard.registry.terms import LineTerms, terms_from_version
from tests.acting_users import make_user
from tests.factories import checked_draft, make_contract
from tests.procurement.passthrough_setup import (
    linked_at_cost,
    linked_cost_plus,
    make_order_line,
    make_vendor,
    reprice,
)

D = Decimal
CODE = "PASS_THROUGH_COST_CHANGED"


def findings_of(contract):
    draft, context = checked_draft(contract, "2026-11")
    return run_checks(draft, context, only=[CODE])


def new_version_with_price(contract, price: Decimal) -> None:
    """Write contract version 2 from November at ``price``, as an approved amendment does."""
    terms = terms_from_version(contract.versions.get())
    terms.effective_from = dt.date(2026, 11, 1)
    terms.lines[0].unit_price = price
    contract_version_create(contract=contract, terms=terms)


@pytest.mark.django_db
def test_contract_change_at_implied_price_amends_on_apply():
    sam = make_user("sam", "sales")
    alex = make_user("alex", "finance_approver")
    linked = linked_cost_plus()
    reprice(linked.po_line, D("840.00"))
    request = change_request_create(
        by=sam,
        target="contract",
        target_id=linked.contract.pk,
        changes={"lines": {"L1": {"unit_price": "1050.00"}}},
        reason="Vendor raised the operations price",
        effective_from=dt.date(2026, 11, 1),
    )

    change_request_approve(request_id=request.pk, by=alex)

    change = CostChange.objects.get()
    assert change.status == "amended"
    assert change.resolved_by == "alex"
    assert AuditEntry.objects.filter(action="cost_change.amended").count() == 1


@pytest.mark.django_db
def test_contract_change_at_other_price_leaves_change_open():
    sam = make_user("sam", "sales")
    alex = make_user("alex", "finance_approver")
    linked = linked_cost_plus()
    reprice(linked.po_line, D("840.00"))
    request = change_request_create(
        by=sam,
        target="contract",
        target_id=linked.contract.pk,
        changes={"lines": {"L1": {"unit_price": "1040.00"}}},
        reason="Partial increase",
        effective_from=dt.date(2026, 11, 1),
    )

    change_request_approve(request_id=request.pk, by=alex)

    assert CostChange.objects.get().status == "open"


@pytest.mark.django_db
def test_check_run_notices_terms_amended_elsewhere():
    linked = linked_at_cost()
    reprice(linked.po_line, D("1080.00"))
    new_version_with_price(linked.contract, D("1080.00"))

    findings = findings_of(linked.contract)

    assert findings == []
    change = CostChange.objects.get()
    assert change.status == "amended"
    assert change.resolved_at is not None


@pytest.mark.django_db
def test_milestone_amended_when_price_moves_by_cost_difference():
    milestone = LineTerms(
        line_code="M1",
        kind="milestone",
        description="Go-live",
        unit_price=D("5000.00"),
        quantity=D("1"),
        gl_account="4000",
    )
    contract = make_contract(lines=[milestone]).contract
    vendor = make_vendor()
    po_line = make_order_line(
        vendor, D("3000.00"), number="PO-M", kind=PurchaseOrderLine.Kind.MILESTONE
    )
    cost_link_create(
        contract=contract, line_code="M1", basis="milestone", vendor=vendor, po_line=po_line
    )
    reprice(po_line, D("3200.00"))

    new_version_with_price(contract, D("5200.00"))
    from billguard.procurement.cost_resolution import cost_changes_settle_contract

    amended = cost_changes_settle_contract(contract.pk, actor="fran", reason="test")

    assert amended == 1
    assert CostChange.objects.get().status == "amended"


@pytest.mark.django_db
def test_approval_request_waits_for_price_approver():
    policy_seed()
    pat = make_user("pat", "procurement")
    linked = linked_at_cost()
    reprice(linked.po_line, D("1080.00"))
    change = CostChange.objects.get()

    request = cost_change_approve_difference(
        change_id=change.pk, reason="Customer agreed to absorb nothing; we absorb it", by=pat
    )

    assert request.status == "pending"
    assert request.target == "cost_change"
    assert request.categories == ["price"]
    assert "finance_approver" in {rule["role"] for rule in request.required}
    change.refresh_from_db()
    assert change.status == "open"
    assert change.change_request_id == request.pk


@pytest.mark.django_db
def test_approved_request_marks_change_approved_with_approver():
    pat = make_user("pat", "procurement")
    alex = make_user("alex", "finance_approver")
    linked = linked_at_cost()
    reprice(linked.po_line, D("1080.00"))
    change = CostChange.objects.get()
    request = cost_change_approve_difference(change_id=change.pk, reason="Absorbed", by=pat)

    decided = change_request_approve(request_id=request.pk, by=alex)

    assert decided.status == ChangeRequest.Status.APPLIED
    change.refresh_from_db()
    assert change.status == "approved"
    assert change.resolved_by == "alex"
    assert change.change_request_id == request.pk
    assert AuditEntry.objects.get(action="cost_change.approve").reason == "Absorbed"
    assert findings_of(linked.contract) == []


@pytest.mark.django_db
def test_requester_cannot_approve_own_difference():
    ada = make_user("ada", "administrator")
    linked = linked_at_cost()
    reprice(linked.po_line, D("1080.00"))
    change = CostChange.objects.get()
    request = cost_change_approve_difference(change_id=change.pk, reason="Absorbed", by=ada)

    with pytest.raises(NotAllowed):
        change_request_approve(request_id=request.pk, by=ada)

    change.refresh_from_db()
    assert change.status == "open"


@pytest.mark.django_db
def test_second_request_for_same_change_is_refused():
    pat = make_user("pat", "procurement")
    linked = linked_at_cost()
    reprice(linked.po_line, D("1080.00"))
    change = CostChange.objects.get()
    cost_change_approve_difference(change_id=change.pk, reason="Absorbed", by=pat)

    with pytest.raises(RuleViolation):
        cost_change_approve_difference(change_id=change.pk, reason="Again", by=pat)

    assert ChangeRequest.objects.count() == 1


@pytest.mark.django_db
def test_request_for_resolved_change_is_refused():
    pat = make_user("pat", "procurement")
    linked = linked_at_cost()
    reprice(linked.po_line, D("1080.00"))
    CostChange.objects.update(status=CostChange.Status.AMENDED)

    with pytest.raises(RuleViolation):
        cost_change_approve_difference(
            change_id=CostChange.objects.get().pk, reason="Absorbed", by=pat
        )


@pytest.mark.django_db
def test_request_for_unknown_change_is_refused():
    with pytest.raises(NotFound):
        cost_change_approve_difference(
            change_id=999, reason="Absorbed", by=make_user("pat", "procurement")
        )


@pytest.mark.django_db
def test_sales_may_not_request_approval_of_difference():
    linked = linked_at_cost()
    reprice(linked.po_line, D("1080.00"))

    with pytest.raises(NotAllowed):
        cost_change_approve_difference(
            change_id=CostChange.objects.get().pk, reason="Absorbed", by=make_user("sam", "sales")
        )

    assert not ChangeRequest.objects.exists()


@pytest.mark.django_db
def test_amendment_made_while_approval_waits_makes_request_stale():
    pat = make_user("pat", "procurement")
    alex = make_user("alex", "finance_approver")
    linked = linked_at_cost()
    reprice(linked.po_line, D("1080.00"))
    change = CostChange.objects.get()
    request = cost_change_approve_difference(change_id=change.pk, reason="Absorbed", by=pat)
    new_version_with_price(linked.contract, D("1080.00"))
    findings_of(linked.contract)

    decided = change_request_approve(request_id=request.pk, by=alex)

    assert decided.status == ChangeRequest.Status.STALE
    change.refresh_from_db()
    assert change.status == "amended"


@pytest.mark.django_db(transaction=True)
def test_held_draft_issued_after_difference_approved():
    pat = make_user("pat", "procurement")
    alex = make_user("alex", "finance_approver")
    fran = make_user("fran", "finance")
    linked = linked_cost_plus()
    reprice(linked.po_line, D("840.00"))
    billing_run_execute(period=parse_period("2026-11"), by=fran)
    held = exceptions_open().get()
    assert held.contract_id == linked.contract.pk
    request = cost_change_approve_difference(
        change_id=CostChange.objects.get().pk, reason="Margin absorbed this year", by=pat
    )
    change_request_approve(request_id=request.pk, by=alex)

    exception_resolve(invoice_id=held.pk, note="Vendor difference approved", by=fran)

    issued = Invoice.objects.get(contract=linked.contract, status=Invoice.Status.ISSUED)
    assert issued.number
    assert not exceptions_open().exists()
