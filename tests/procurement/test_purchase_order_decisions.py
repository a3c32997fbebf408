"""A finance approver's decision on a held purchase order: approve despite findings, reject."""

from __future__ import annotations

import pytest

from billguard.controls.models import AuditEntry
from billguard.domain.errors import InvalidInput, NotAllowed, RuleViolation
from billguard.procurement.models import PurchaseOrder
from billguard.procurement.order_decisions import (
    purchase_order_approve_held,
    purchase_order_reject,
)
from billguard.procurement.purchase_orders import purchase_order_approve
from tests.acting_users import make_user
from tests.procurement.ordering import make_order

pytestmark = pytest.mark.django_db

Status = PurchaseOrder.Status


def held_duplicate() -> PurchaseOrder:
    """A second order for the same lines as an approved one: held as a suspected duplicate."""
    purchase_order_approve(order=make_order())
    duplicate = make_order("PO-0002")
    purchase_order_approve(order=duplicate)
    duplicate.refresh_from_db()
    assert duplicate.status == Status.HELD
    return duplicate


def test_approve_held_records_reason():
    approver = make_user("alex.approver", "finance_approver")
    order = held_duplicate()

    purchase_order_approve_held(order=order, reason="Second cluster, confirmed", by=approver)

    order.refresh_from_db()
    assert order.status == Status.APPROVED
    assert order.decided_by == "alex.approver"
    assert order.decision_note == "Second cluster, confirmed"
    entry = AuditEntry.objects.get(action="purchase_order.approve_held")
    assert entry.reason == "Second cluster, confirmed"
    assert entry.actor == "alex.approver"


def test_reject_held_closes_order():
    approver = make_user("alex.approver", "finance_approver")
    order = held_duplicate()

    purchase_order_reject(order=order, reason="Duplicate of PO-0001", by=approver)

    order.refresh_from_db()
    assert order.status == Status.CLOSED
    assert order.decision_note == "Duplicate of PO-0001"
    assert AuditEntry.objects.filter(action="purchase_order.reject").count() == 1


def test_creator_may_not_decide_own_order():
    approver = make_user("alex.approver", "finance_approver")
    order = held_duplicate()
    PurchaseOrder.objects.filter(pk=order.pk).update(created_by="alex.approver")

    with pytest.raises(NotAllowed, match="created purchase order PO-0002"):
        purchase_order_approve_held(order=order, reason="Looks fine", by=approver)

    order.refresh_from_db()
    assert order.status == Status.HELD


def test_procurement_user_may_not_decide():
    buyer = make_user("pat", "procurement")
    order = held_duplicate()

    with pytest.raises(NotAllowed):
        purchase_order_approve_held(order=order, reason="Looks fine", by=buyer)

    order.refresh_from_db()
    assert order.status == Status.HELD


def test_decision_on_approved_order_rejected():
    approver = make_user("alex.approver", "finance_approver")
    purchase_order_approve(order=make_order())
    order = PurchaseOrder.objects.get(number="PO-0001")

    with pytest.raises(RuleViolation, match="only a held order is approved"):
        purchase_order_approve_held(order=order, reason="Fine", by=approver)
    with pytest.raises(RuleViolation, match="only a held order is rejected"):
        purchase_order_reject(order=order, reason="Fine", by=approver)

    order.refresh_from_db()
    assert order.status == Status.APPROVED


def test_decision_without_reason_rejected():
    approver = make_user("alex.approver", "finance_approver")
    order = held_duplicate()

    with pytest.raises(InvalidInput, match="needs a reason"):
        purchase_order_reject(order=order, reason="  ", by=approver)

    order.refresh_from_db()
    assert order.status == Status.HELD
