"""The price a contract fixes for a line on a given day, worked out from records in memory.

The base price is the line's own unit price, else the price list item valid on that day.
Every scheduled price change effective on or before the day then applies, in date order. The
approved discount is reported separately, so that a draft's discount is compared on its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from billguard.domain.rounding import RoundingMode, round_decimal
from billguard.registry.models import (
    ContractLine,
    ContractVersion,
    Discount,
    PriceListItem,
    ScheduledPriceChange,
)

# Unit prices keep 4 decimals after an uplift; the line amount rounds to the currency later.
PRICE_DECIMALS = 4


@dataclass(frozen=True)
class PriceQuote:
    unit_price: Decimal | None
    source: str
    applied_changes: tuple[ScheduledPriceChange, ...] = field(default=())
    pending_index: tuple[ScheduledPriceChange, ...] = field(default=())


def version_in_force(versions: list[ContractVersion], day: dt.date) -> ContractVersion | None:
    """The version with the latest ``effective_from`` on or before ``day``."""
    current = None
    for version in sorted(versions, key=lambda v: v.effective_from):
        if version.effective_from <= day:
            current = version
    return current


def contract_line(version: ContractVersion, line_code: str) -> ContractLine | None:
    """The line of ``version`` with ``line_code``, from an index kept on the version object.

    A version is immutable once written, so its lines are indexed once per loaded object; the
    checks look up every draft line this way.
    """
    index: dict[str, ContractLine] | None = getattr(version, "_lines_by_code", None)
    if index is None:
        index = {line.line_code: line for line in version.lines.all()}
        version._lines_by_code = index  # type: ignore[attr-defined]
    return index.get(line_code)


def price_changes_in_order(version: ContractVersion) -> list[ScheduledPriceChange]:
    """Return the scheduled price changes of ``version`` by effective date, sorted once."""
    ordered: list[ScheduledPriceChange] | None = getattr(version, "_price_changes_in_order", None)
    if ordered is None:
        ordered = sorted(version.price_changes.all(), key=lambda c: c.effective_on)
        version._price_changes_in_order = ordered  # type: ignore[attr-defined]
    return ordered


def price_on(
    version: ContractVersion,
    line: ContractLine,
    day: dt.date,
    price_list_items: list[PriceListItem],
) -> PriceQuote:
    """Return the contract's unit price of ``line`` on ``day``, with the changes applied."""
    base: Decimal | None = line.unit_price
    source = f"contract {version.contract_id} version {version.version_number}"
    if base is None:
        item = price_list_item_on(price_list_items, version.price_list_id, line.product_code, day)
        if item is None:
            return PriceQuote(None, "no price in the contract or its price list")
        base = item.unit_price
        source = f"price list {version.price_list_id} from {item.valid_from}"

    applied = []
    pending = []
    price = base
    for change in price_changes_in_order(version):
        if change.line_code != line.line_code or change.effective_on > day:
            continue
        factor = price_change_factor(change)
        if factor is None:
            pending.append(change)
            continue
        price = round_decimal(price * factor, PRICE_DECIMALS, RoundingMode.HALF_UP)
        applied.append(change)
    return PriceQuote(price, source, tuple(applied), tuple(pending))


def price_change_factor(change: ScheduledPriceChange) -> Decimal | None:
    """Return the multiplier of a price change, or None for an unrecorded index value."""
    if change.kind == ScheduledPriceChange.Kind.FIXED_UPLIFT:
        return Decimal(1) + (change.uplift_percent or Decimal(0)) / Decimal(100)
    if change.index_value is None or not change.index_base_value:
        return None
    return change.index_value / change.index_base_value


def price_list_item_on(
    items: list[PriceListItem], price_list_id: int | None, product_code: str, day: dt.date
) -> PriceListItem | None:
    found = None
    for item in items:
        if item.price_list_id != price_list_id or item.product_code != product_code:
            continue
        in_force = item.valid_from <= day and (item.valid_to is None or day < item.valid_to)
        if in_force and (found is None or item.valid_from > found.valid_from):
            found = item
    return found


def approved_discount(version: ContractVersion, line_code: str, day: dt.date) -> Discount | None:
    """The discount the version approves for the line on ``day`` (a line's own first)."""
    general = None
    for discount in version.discounts.all():
        if discount.expires_on is not None and day > discount.expires_on:
            continue
        if discount.line_code == line_code:
            return discount
        if not discount.line_code:
            general = discount
    return general
