"""Receipts: goods delivered or a service signed off, against a purchase order line.

A receipt never takes a line beyond its ordered quantity: more than was ordered is either a
wrong receipt or an order that needs amending first. An order whose every line is fully
received becomes received.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from billguard.controls.roles import authorize
from billguard.controls.services import DEFAULT_ACTOR, audit_record
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation
from billguard.procurement.models import PurchaseOrder, PurchaseOrderLine, Receipt
from billguard.procurement.purchase_orders import (
    MAX_QUANTITY,
    order_fully_received,
    plain,
    received_quantity,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

Status = PurchaseOrder.Status

# Receipts are taken on approved orders, whether sent to the vendor yet or not.
RECEIVING_STATUSES = (Status.APPROVED, Status.SENT)


def receipt_record(
    *,
    order: PurchaseOrder,
    line_number: int,
    quantity: Decimal,
    received_on: dt.date,
    reference: str = "",
    by: User | None = None,
    today: dt.date | None = None,
) -> Receipt:
    """Record ``quantity`` received on line ``line_number`` of ``order`` on ``received_on``.

    ``today`` is the local date that ``received_on`` may not pass. It defaults to the current
    date in the project's time zone.
    """
    if by is not None:
        authorize(by, "receipt_record")
    if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity <= 0:
        raise InvalidInput(
            f"the received quantity must be more than zero, not {quantity}.",
            place="quantity",
            value=quantity,
            fix="Give the quantity delivered or signed off, such as 10 or 2.5.",
        )
    if quantity > MAX_QUANTITY or quantity != quantity.quantize(Decimal("0.0001")):
        raise InvalidInput(
            f"the received quantity {quantity} has more than 4 decimals or is too large.",
            place="quantity",
            value=quantity,
            fix="Round it to 4 decimals.",
        )
    today = today or timezone.localdate()
    if received_on > today:
        raise InvalidInput(
            f"received date {received_on} is in the future: today is {today}.",
            place="received_on",
            value=received_on,
            fix="Record the receipt on or after the day the goods arrive or the service is "
            "signed off, with that date.",
        )
    reference = (reference or "").strip()
    if len(reference) > 60:
        raise InvalidInput(
            "the receipt reference is longer than 60 characters.",
            place="reference",
            value=reference,
            fix="Give the delivery note or sign-off number only.",
        )

    with transaction.atomic():
        # The order row lock makes two receipts on one order go in turn, so that together
        # they cannot pass the ordered quantity.
        order = PurchaseOrder.objects.select_for_update().get(pk=order.pk)
        if order.status not in RECEIVING_STATUSES:
            raise RuleViolation(
                f"purchase order {order.number} is {order.status}, but receipts are recorded "
                "on approved orders only.",
                place="number",
                value=order.number,
                fix=_not_receiving_fix(order),
            )
        if received_on < order.ordered_on:
            raise InvalidInput(
                f"received date {received_on} is before the order date {order.ordered_on}.",
                place="received_on",
                value=received_on,
                fix="Give the date the goods arrived or the service was signed off.",
            )
        line = PurchaseOrderLine.objects.filter(purchase_order=order, line_number=line_number)
        found = line.first()
        if found is None:
            raise NotFound(
                f"purchase order {order.number} has no line {line_number}.",
                place="line",
                value=line_number,
                fix=f"Give a line number from 1 to {order.lines.count()}.",
            )
        if reference:
            earlier = Receipt.objects.filter(line=found, reference=reference).order_by("pk").first()
            if earlier is not None:
                raise RuleViolation(
                    f"line {line_number} of {order.number} already has receipt {earlier.pk} "
                    f"with reference {reference}, for {plain(earlier.quantity)} received on "
                    f"{earlier.received_on}.",
                    place="reference",
                    value=reference,
                    fix="Check whether this delivery was already recorded; a further delivery "
                    "takes its own delivery note or sign-off number.",
                )
        received = received_quantity(found)
        open_quantity = found.quantity - received
        if quantity > open_quantity:
            raise RuleViolation(
                f"line {line_number} of {order.number} ordered {plain(found.quantity)} and has "
                f"{plain(received)} received, so {plain(quantity)} more would exceed the order "
                f"by {plain(quantity - open_quantity)}.",
                place="quantity",
                value=quantity,
                fix=f"Record at most {plain(open_quantity)}, or amend the order's quantity first.",
            )
        actor = by.get_username() if by is not None else DEFAULT_ACTOR
        receipt = Receipt.objects.create(
            line=found,
            quantity=quantity,
            received_on=received_on,
            reference=reference,
            recorded_by=actor if by is not None else "",
        )
        status_before = order.status
        if order_fully_received(order):
            order.status = Status.RECEIVED
            order.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="receipt.record",
            record=receipt,
            before=None,
            after={
                "purchase_order": order.number,
                "line": line_number,
                "quantity": str(quantity),
                "received_on": received_on.isoformat(),
                "reference": reference,
                "order_status": order.status,
            },
        )
    logger.info(
        "receipt %s on %s line %d: %s received on %s, order %s -> %s",
        receipt.pk,
        order.number,
        line_number,
        quantity,
        received_on,
        status_before,
        order.status,
    )
    return receipt


def _not_receiving_fix(order: PurchaseOrder) -> str:
    """Say what to do with an order whose status takes no receipts."""
    number = order.number
    if order.status == Status.DRAFT:
        return f"Approve the order first: `billguard purchase-orders approve {number}`."
    if order.status == Status.HELD:
        return (
            "The order is held by its findings: fix the cause and run `billguard "
            f"purchase-orders recheck {number}`, or have a finance approver decide it with "
            f"`billguard purchase-orders approve-held {number} --reason TEXT`."
        )
    if order.status == Status.RECEIVED:
        return "Every line is fully received; amend the order's quantity to receive more."
    return "A closed order takes no more receipts; create a new order for further deliveries."


def receipts_of(order: PurchaseOrder) -> list[Receipt]:
    """List the receipts of ``order``, by line and date."""
    return list(
        Receipt.objects.filter(line__purchase_order=order)
        .select_related("line")
        .order_by("line__line_number", "received_on", "pk")
    )
