"""The customer unit price a vendor cost implies, by the basis of its cost link.

Pure arithmetic on Decimals, shared by the link services, the check and the resolution of a
cost change, so that all three round the same way.
"""

from __future__ import annotations

from decimal import Decimal

from billguard.domain.rounding import RoundingMode, round_decimal
from billguard.registry.pricing import PRICE_DECIMALS

AT_COST = "at_cost"
COST_PLUS = "cost_plus"
MILESTONE = "milestone"


def implied_price(
    basis: str,
    cost: Decimal,
    margin_percent: Decimal | None,
    *,
    linked_price: Decimal | None = None,
    agreed_cost: Decimal | None = None,
) -> Decimal:
    """Return the customer unit price that ``cost`` implies.

    At cost, the price is the cost. Cost plus, it is cost x (1 + margin / 100) with
    PRICE_DECIMALS decimals, rounded half up as scheduled price changes are. A milestone link
    passes the vendor's difference through: the price the link was made with (``linked_price``)
    plus the new cost minus the agreed cost.
    """
    if basis == AT_COST:
        return cost
    if basis == COST_PLUS:
        factor = Decimal(1) + (margin_percent or Decimal(0)) / Decimal(100)
        return round_decimal(cost * factor, PRICE_DECIMALS, RoundingMode.HALF_UP)
    if basis == MILESTONE:
        if linked_price is None or agreed_cost is None:
            raise ValueError("a milestone link's price needs the linked price and agreed cost")
        return linked_price + cost - agreed_cost
    raise ValueError(f"unknown cost link basis {basis!r}")


def price_text(value: Decimal) -> str:
    """Format a price with at least two decimals and no trailing zeros beyond them."""
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return f"{normalized:f}"
    return f"{value.quantize(Decimal('0.01')):f}"
