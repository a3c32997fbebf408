"""Amending a purchase order line: a new revision, the change kept, the price change signalled."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billguard.controls.models import AuditEntry
from billguard.domain.errors import InvalidInput, NotAllowed, NotFound, RuleViolation
from billguard.procurement.models import PurchaseOrder, PurchaseOrderLineChange
from billguard.procurement.purchase_orders import (
    purchase_order_amend,
    purchase_order_approve,
    purchase_order_close,
)
from billguard.procurement.receipts import receipt_record
from billguard.procurement.signals import purchase_order_line_repriced
from tests.acting_users import make_user
from tests.procurement.ordering import make_order

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def repriced():
    """The keyword arguments of every purchase_order_line_repriced signal sent."""
    sent: list[dict[str, object]] = []

    def receive(sender, **kwargs):  # type: ignore[no-untyped-def]
        sent.append(kwargs)

    purchase_order_line_repriced.connect(receive, dispatch_uid="test-repriced")
    yield sent
    purchase_order_line_repriced.disconnect(dispatch_uid="test-repriced")


def approved_order() -> PurchaseOrder:
    order = make_order()
    purchase_order_approve(order=order)
    order.refresh_from_db()
    return order


def test_amend_price_keeps_old_value(repriced):
    buyer = make_user("pat.procurement", "procurement")
    order = approved_order()

    purchase_order_amend(
        order=order, line_number=1, unit_price=D("125.00"), reason="Vendor list price", by=buyer
    )

    order.refresh_from_db()
    line = order.lines.get()
    assert order.revision == 2
    assert line.unit_price == D("125.00")
    change = PurchaseOrderLineChange.objects.get()
    assert (change.field, change.old_value, change.new_value, change.revision) == (
        "unit_price",
        D("120.00"),
        D("125.00"),
        2,
    )
    assert change.changed_by == "pat.procurement"
    entry = AuditEntry.objects.get(action="purchase_order.amend")
    assert entry.reason == "Vendor list price"
    assert len(repriced) == 1
    assert repriced[0]["reference"] == "PO-0001 rev 2"
    assert repriced[0]["old_price"] == D("120.00")
    assert repriced[0]["new_price"] == D("125.00")
    assert repriced[0]["by"] == buyer
    assert repriced[0]["line"].pk == line.pk  # type: ignore[attr-defined]


def test_amend_quantity_only_sends_no_price_signal(repriced):
    order = approved_order()

    purchase_order_amend(order=order, line_number=1, quantity=D(12), reason="Two more servers")
    purchase_order_amend(order=order, line_number=1, unit_price=D(130), reason="New rate")

    order.refresh_from_db()
    assert order.revision == 3
    assert [c.field for c in PurchaseOrderLineChange.objects.order_by("revision")] == [
        "quantity",
        "unit_price",
    ]
    assert [signal["reference"] for signal in repriced] == ["PO-0001 rev 3"]


def test_amend_refuses_quantity_below_received():
    order = approved_order()
    receipt_record(order=order, line_number=1, quantity=D(6), received_on=dt.date(2026, 10, 5))

    with pytest.raises(RuleViolation, match="at least 6"):
        purchase_order_amend(order=order, line_number=1, quantity=D(5), reason="Fewer needed")

    order.refresh_from_db()
    assert order.revision == 1
    assert not PurchaseOrderLineChange.objects.exists()


def test_raising_quantity_of_a_received_order_reopens_it():
    order = approved_order()
    receipt_record(order=order, line_number=1, quantity=D(10), received_on=dt.date(2026, 10, 5))
    order.refresh_from_db()
    assert order.status == PurchaseOrder.Status.RECEIVED

    purchase_order_amend(order=order, line_number=1, quantity=D(15), reason="Extension")

    order.refresh_from_db()
    assert order.status == PurchaseOrder.Status.APPROVED


@pytest.mark.parametrize(
    ("arguments", "error", "text"),
    [
        ({"line_number": 1, "reason": "x"}, InvalidInput, "changes nothing"),
        ({"line_number": 1, "reason": " ", "unit_price": D(1)}, InvalidInput, "reason"),
        ({"line_number": 1, "reason": "x", "unit_price": D(0)}, InvalidInput, "more than zero"),
        ({"line_number": 4, "reason": "x", "unit_price": D(1)}, NotFound, "no line 4"),
        ({"line_number": 1, "reason": "x", "unit_price": D(120)}, RuleViolation, "already"),
    ],
)
def test_amend_refuses_bad_requests(arguments, error, text):
    order = approved_order()

    with pytest.raises(error, match=text):
        purchase_order_amend(order=order, **arguments)

    order.refresh_from_db()
    assert order.revision == 1


def test_amend_refuses_a_closed_order():
    order = approved_order()
    purchase_order_close(order=order)

    with pytest.raises(RuleViolation, match="closed"):
        purchase_order_amend(order=order, line_number=1, unit_price=D(99), reason="Late")


def test_amend_needs_purchase_order_manage():
    order = approved_order()
    finance = make_user("fran.finance", "finance")

    with pytest.raises(NotAllowed):
        purchase_order_amend(order=order, line_number=1, unit_price=D(99), reason="x", by=finance)
