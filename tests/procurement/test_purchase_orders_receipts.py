"""Receipts against purchase order lines, and the order becoming received."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billguard.controls.models import AuditEntry
from billguard.domain.errors import InvalidInput, NotAllowed, NotFound, RuleViolation
from billguard.procurement.models import PurchaseOrder, Receipt
from billguard.procurement.purchase_orders import purchase_order_approve
from billguard.procurement.receipts import receipt_record, receipts_of
from tests.acting_users import make_user
from tests.procurement.ordering import hosting_line, make_order

pytestmark = pytest.mark.django_db

D = Decimal
OCT_5 = dt.date(2026, 10, 5)


def approved_two_line_order() -> PurchaseOrder:
    order = make_order(
        lines=[hosting_line(), hosting_line(description="Backup storage", quantity="2")]
    )
    purchase_order_approve(order=order)
    order.refresh_from_db()
    return order


def test_receipts_add_up_and_the_order_becomes_received():
    clerk = make_user("fran.finance", "finance")
    order = approved_two_line_order()

    receipt_record(order=order, line_number=1, quantity=D(4), received_on=OCT_5, by=clerk)
    receipt_record(order=order, line_number=2, quantity=D(2), received_on=OCT_5)
    order.refresh_from_db()
    assert order.status == PurchaseOrder.Status.APPROVED

    receipt_record(
        order=order,
        line_number=1,
        quantity=D(6),
        received_on=dt.date(2026, 10, 20),
        reference="DN-7781",
    )

    order.refresh_from_db()
    assert order.status == PurchaseOrder.Status.RECEIVED
    listed = receipts_of(order)
    assert [(r.line.line_number, r.quantity, r.reference) for r in listed] == [
        (1, D(4), ""),
        (1, D(6), "DN-7781"),
        (2, D(2), ""),
    ]
    assert listed[0].recorded_by == "fran.finance"
    assert AuditEntry.objects.filter(action="receipt.record").count() == 3


def test_over_receipt_is_refused_with_the_open_quantity():
    order = approved_two_line_order()
    receipt_record(order=order, line_number=1, quantity=D(7), received_on=OCT_5)

    with pytest.raises(RuleViolation) as refused:
        receipt_record(order=order, line_number=1, quantity=D(4), received_on=OCT_5)

    assert "exceed the order by 1." in refused.value.message
    assert "at most 3," in (refused.value.fix or "")
    assert Receipt.objects.count() == 1


@pytest.mark.parametrize(
    ("quantity", "received_on", "line_number", "error"),
    [
        (D(0), OCT_5, 1, InvalidInput),
        (D("-1"), OCT_5, 1, InvalidInput),
        (D("0.00001"), OCT_5, 1, InvalidInput),
        (D(1), dt.date(2026, 9, 30), 1, InvalidInput),
        (D(1), OCT_5, 3, NotFound),
    ],
)
def test_bad_receipts_are_refused(quantity, received_on, line_number, error):
    order = approved_two_line_order()

    with pytest.raises(error):
        receipt_record(
            order=order, line_number=line_number, quantity=quantity, received_on=received_on
        )

    assert not Receipt.objects.exists()


def test_receipt_on_draft_rejected():
    order = make_order()

    with pytest.raises(RuleViolation, match="approved orders only"):
        receipt_record(order=order, line_number=1, quantity=D(1), received_on=OCT_5)


def test_receipt_needs_receipt_record():
    order = approved_two_line_order()
    sales = make_user("sam.sales", "sales")

    with pytest.raises(NotAllowed):
        receipt_record(order=order, line_number=1, quantity=D(1), received_on=OCT_5, by=sales)

    assert not Receipt.objects.exists()


def test_future_receipt_date_rejected():
    order = approved_two_line_order()

    with pytest.raises(InvalidInput) as refused:
        receipt_record(
            order=order,
            line_number=1,
            quantity=D(1),
            received_on=dt.date(2026, 10, 6),
            today=OCT_5,
        )

    assert "received date 2026-10-06 is in the future" in refused.value.message
    assert "today is 2026-10-05" in refused.value.message
    assert refused.value.place == "received_on"
    assert not Receipt.objects.exists()


def test_receipt_dated_today_accepted():
    order = approved_two_line_order()

    receipt = receipt_record(
        order=order, line_number=1, quantity=D(1), received_on=OCT_5, today=OCT_5
    )

    assert receipt.received_on == OCT_5


def test_repeated_reference_on_line_rejected():
    order = approved_two_line_order()
    first = receipt_record(
        order=order, line_number=1, quantity=D(2), received_on=OCT_5, reference="DN-7781"
    )

    with pytest.raises(RuleViolation) as refused:
        receipt_record(
            order=order, line_number=1, quantity=D(1), received_on=OCT_5, reference=" DN-7781 "
        )

    assert f"already has receipt {first.pk} with reference DN-7781" in refused.value.message
    assert refused.value.place == "reference"
    assert Receipt.objects.count() == 1


def test_same_reference_on_other_line_accepted():
    order = approved_two_line_order()
    receipt_record(
        order=order, line_number=1, quantity=D(2), received_on=OCT_5, reference="DN-7781"
    )

    receipt_record(
        order=order, line_number=2, quantity=D(1), received_on=OCT_5, reference="DN-7781"
    )
    receipt_record(order=order, line_number=1, quantity=D(1), received_on=OCT_5)
    receipt_record(order=order, line_number=1, quantity=D(1), received_on=OCT_5)

    assert Receipt.objects.count() == 4


def test_receipt_on_closed_order_says_closed():
    order = approved_two_line_order()
    order.status = PurchaseOrder.Status.CLOSED
    order.save(update_fields=["status"])

    with pytest.raises(RuleViolation) as refused:
        receipt_record(order=order, line_number=1, quantity=D(1), received_on=OCT_5)

    assert "Approve" not in (refused.value.fix or "")
    assert "closed order takes no more receipts" in (refused.value.fix or "")


def test_receipt_on_held_order_says_how_to_decide():
    order = approved_two_line_order()
    order.status = PurchaseOrder.Status.HELD
    order.save(update_fields=["status"])

    with pytest.raises(RuleViolation) as refused:
        receipt_record(order=order, line_number=1, quantity=D(1), received_on=OCT_5)

    assert f"purchase-orders recheck {order.number}" in (refused.value.fix or "")
    assert f"purchase-orders approve-held {order.number}" in (refused.value.fix or "")
