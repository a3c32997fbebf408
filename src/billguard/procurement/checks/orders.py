"""Checks of a purchase order before it is approved."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from decimal import Decimal

from billguard.checks.engine import PURCHASE_ORDER, check
from billguard.checks.finding import Observation, Severity
from billguard.domain.money import Money
from billguard.procurement.context import PurchaseOrderContext
from billguard.procurement.models import PurchaseOrder, PurchaseOrderLine

LineKey = tuple[str, Decimal, Decimal]

FAMILY = "procurement"
BLOCK = Severity.BLOCK


@check("PO_DUPLICATE_SUSPECTED", family=FAMILY, severity=BLOCK, subject=PURCHASE_ORDER)
def duplicate_order(order: PurchaseOrder, context: PurchaseOrderContext) -> Iterator[Observation]:
    """Another order to the same vendor, from any seller entity, within the window has the
    same lines (description, quantity and unit price) and the same total.

    Descriptions are compared normalised (case, accents, punctuation and spacing ignored), so
    that an order typed again by hand is still recognised.
    """
    if not context.lines:
        return
    lines = line_signature(context.lines)
    total = order_total(context.lines)
    at_stake = Money(total, order.currency).rounded()
    for other, other_lines in context.nearby_orders:
        if other.pk == order.pk or other.vendor_id != order.vendor_id:
            continue
        if abs((other.ordered_on - order.ordered_on).days) > context.window_days:
            continue
        if other.currency != order.currency or order_total(other_lines) != total:
            continue
        if line_signature(other_lines) != lines:
            continue
        yield Observation(
            subject="order",
            message=(
                f"order {other.number} of {other.ordered_on.isoformat()} to the same vendor "
                f"has the same {len(context.lines)} line(s) and total {at_stake.amount} "
                f"{order.currency}."
            ),
            expected="no other order with these lines",
            actual=other.number,
            amount_at_stake=at_stake,
            evidence={
                "duplicate_of": other.number,
                "duplicate_ordered_on": other.ordered_on.isoformat(),
                "duplicate_seller_entity": str(other.seller_entity_id),
                "duplicate_status": other.status,
                "window_days": str(context.window_days),
            },
        )


def normalized_description(text: str) -> str:
    """Lower case, accents folded, punctuation dropped and spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    words = re.sub(r"[^\w]+", " ", plain.casefold())
    return " ".join(words.split())


def line_signature(lines: Sequence[PurchaseOrderLine]) -> Counter[LineKey]:
    """Count the lines by (description, quantity, unit price), so that line order does not
    matter. Decimals are normalised, so that 10 and 10.0000 are the same quantity."""
    return Counter(
        (
            normalized_description(line.description),
            Decimal(line.quantity).normalize(),
            Decimal(line.unit_price).normalize(),
        )
        for line in lines
    )


def order_total(lines: Sequence[PurchaseOrderLine]) -> Decimal:
    return sum((Decimal(line.quantity) * Decimal(line.unit_price) for line in lines), Decimal(0))
