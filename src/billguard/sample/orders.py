"""Details of the sample company's purchase orders beyond their lines: the lines' categories,
kinds and expected dates, the receipts, a default match tolerance, and one order typed twice.

Values come from ``random.Random`` seeded with each order's number, not from the book's
generator, so that adding them leaves the rest of the sample company unchanged.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import random
from decimal import ROUND_DOWN, Decimal

from django.contrib.auth.models import User

from billguard.procurement.models import PurchaseOrder, PurchaseOrderLine, Receipt
from billguard.procurement.purchase_orders import (
    OrderLineInput,
    purchase_order_approve,
    purchase_order_create,
)
from billguard.procurement.tolerances import match_tolerance_set
from billguard.registry.models import SellerEntity
from billguard.registry.validation import require_positive
from billguard.sample import reference_data as ref
from billguard.sample.calendar import AS_OF

logger = logging.getLogger(__name__)

PROCUREMENT_USER = "pat.procurement"

# Spend category and line kind by the cost account of the sample's vendors.
CATEGORY_BY_ACCOUNT = {
    "5000": ("subcontracting", PurchaseOrderLine.Kind.SERVICE),
    "5100": ("hosting", PurchaseOrderLine.Kind.SERVICE),
    "6000": ("software", PurchaseOrderLine.Kind.GOODS),
}

# The default tolerance: the quantity billed must not pass the quantity received, and a unit
# price may differ by up to 1 %, or by any amount that changes the line by 5.00 at most.
DEFAULT_QUANTITY_PERCENT = Decimal(0)
DEFAULT_UNIT_PRICE_PERCENT = Decimal(1)
DEFAULT_AMOUNT = Decimal("5.00")

# Of the lines after the first on an open order, about one in six has no receipt yet.
NOT_RECEIVED_SHARE = 1 / 6
# The seeded duplicate is typed again this many days after its original.
DUPLICATE_AFTER_DAYS = 21
FULLY_RECEIVED = (PurchaseOrder.Status.RECEIVED, PurchaseOrder.Status.CLOSED)


def write_order_details() -> PurchaseOrder | None:
    """Complete the sample orders already written, then seed the duplicate order.

    Returns the duplicate, held by PO_DUPLICATE_SUSPECTED, or None when the book has no
    approved or sent order to copy.
    """
    orders = list(PurchaseOrder.objects.prefetch_related("lines").order_by("number"))
    lines: list[PurchaseOrderLine] = []
    receipts: list[Receipt] = []
    for order in orders:
        rng = random.Random(f"order {order.number}")
        for line in order.lines.all():
            _describe(line, order)
            lines.append(line)
            receipts.extend(_receipts(rng, order, line))
    PurchaseOrderLine.objects.bulk_update(lines, ["category", "kind", "expected_on"])
    Receipt.objects.bulk_create(receipts, batch_size=2000)
    match_tolerance_set(
        quantity_percent=DEFAULT_QUANTITY_PERCENT,
        unit_price_percent=DEFAULT_UNIT_PRICE_PERCENT,
        amount=DEFAULT_AMOUNT,
    )
    duplicate = _seed_duplicate(orders)
    logger.info(
        "sample orders completed: %d lines, %d receipts, duplicate %s",
        len(lines),
        len(receipts),
        duplicate.number if duplicate else "none",
    )
    return duplicate


def _describe(line: PurchaseOrderLine, order: PurchaseOrder) -> None:
    """Set the category and kind from the cost account, and the expected date: the end of
    the month the line names, or 30 days after the order when that month is already past."""
    line.category, line.kind = CATEGORY_BY_ACCOUNT.get(
        line.gl_account, ("", PurchaseOrderLine.Kind.SERVICE)
    )
    month_name = line.description.rsplit(", ", 1)[-1]
    expected = order.ordered_on + dt.timedelta(days=30)
    if month_name in ref.MONTH_NAMES:
        month = ref.MONTH_NAMES.index(month_name) + 1
        month_end = dt.date(order.ordered_on.year, month, 1).replace(
            day=calendar.monthrange(order.ordered_on.year, month)[1]
        )
        if month_end >= order.ordered_on:
            expected = month_end
    line.expected_on = expected


def _receipts(rng: random.Random, order: PurchaseOrder, line: PurchaseOrderLine) -> list[Receipt]:
    """Plan the receipts of one line. A received or closed order has every line received in
    full. On an open order most lines are received, but line 1 only in part at most, so that
    the order stays open."""
    if order.status in FULLY_RECEIVED:
        quantity = line.quantity
    elif order.status not in (PurchaseOrder.Status.APPROVED, PurchaseOrder.Status.SENT):
        return []
    elif line.line_number == 1:
        # Received in part at most, which keeps the order open.
        share = Decimal(rng.randint(0, 9)) / 10
        quantity = (line.quantity * share).quantize(Decimal(1), rounding=ROUND_DOWN)
    elif rng.random() < NOT_RECEIVED_SHARE:
        return []
    else:
        quantity = line.quantity
    if quantity <= 0:
        return []
    require_positive(quantity, field="quantity")
    latest = min(AS_OF - dt.timedelta(days=1), line.expected_on or AS_OF)
    span = max((latest - order.ordered_on).days, 0)
    return [
        Receipt(
            line=line,
            quantity=quantity,
            received_on=order.ordered_on + dt.timedelta(days=rng.randint(0, span)),
            reference=f"DN-{order.number[-4:]}-{line.line_number}",
            recorded_by=PROCUREMENT_USER,
        )
    ]


def _seed_duplicate(orders: list[PurchaseOrder]) -> PurchaseOrder | None:
    """Type an open order again from the other seller entity, three weeks later, with its
    descriptions in capitals, and approve it, so that PO_DUPLICATE_SUSPECTED puts it on hold."""
    latest_start = AS_OF - dt.timedelta(days=DUPLICATE_AFTER_DAYS)
    candidates = [
        order
        for order in orders
        if order.status in (PurchaseOrder.Status.APPROVED, PurchaseOrder.Status.SENT)
        and order.ordered_on <= latest_start
    ]
    if not candidates:
        return None
    original = candidates[-1]
    other_seller = (
        SellerEntity.objects.exclude(pk=original.seller_entity_id).order_by("code").first()
        or original.seller_entity
    )
    by = User.objects.filter(username=PROCUREMENT_USER).first()

    ordered_on = original.ordered_on + dt.timedelta(days=DUPLICATE_AFTER_DAYS)
    duplicate = purchase_order_create(
        number=f"BPO-{ordered_on.year}-{len(orders) + 1:04d}",
        vendor=original.vendor,
        seller_entity=other_seller,
        currency=original.currency,
        ordered_on=ordered_on,
        lines=[
            OrderLineInput(
                description=line.description.upper(),
                quantity=line.quantity,
                unit_price=line.unit_price,
                gl_account=line.gl_account,
                kind=line.kind,
                category=line.category,
                expected_on=max(line.expected_on or ordered_on, ordered_on),
            )
            for line in original.lines.order_by("line_number")
        ],
        by=by,
    )
    purchase_order_approve(order=duplicate, by=by)
    duplicate.refresh_from_db()
    return duplicate
