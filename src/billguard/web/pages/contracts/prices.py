"""The prices the contract page shows next to the contract's unit prices.

A line's unit price in the contract is the base that its scheduled price changes (fixed
uplifts and index changes) multiply. The billing schedule bills the price that
``registry.pricing.price_on`` gives for each day. The page takes the price in force and the
price after the next change from that same function, and works out no price itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from billguard.registry.models import (
    BillingScheduleLine,
    ContractLine,
    ContractVersion,
    PriceListItem,
    ScheduledPriceChange,
)
from billguard.registry.pricing import price_change_factor, price_changes_in_order, price_on


@dataclass(frozen=True)
class ScheduledChange:
    """One scheduled price change of a line, described for the page."""

    effective_on: dt.date
    text: str
    # The unit price from that day on; None while an index change's value is not recorded.
    price_after: Decimal | None


@dataclass
class LinePrice:
    """A line's price on the page's day, by the same pricing as the billing schedule."""

    line_code: str
    in_force: Decimal | None
    changes: list[ScheduledChange] = field(default_factory=list)
    applied: list[ScheduledChange] = field(default_factory=list)
    next_changes: list[ScheduledChange] = field(default_factory=list)
    # Index changes dated on or before the day whose index value is not recorded yet: the
    # price stays as it was until someone records it.
    waiting: list[ScheduledChange] = field(default_factory=list)
    # The unit price of the billing schedule's line in force on the day, when it differs.
    schedule_differs: Decimal | None = None


def line_prices(version: ContractVersion, day: dt.date) -> dict[str, LinePrice]:
    """Return the price on ``day`` of each line of ``version`` that has scheduled changes.

    ``version`` has its lines and price changes prefetched. The price list is read only when
    such a line takes its base price from it. A billing schedule kept without following the
    changes bills another price, which the pricing checks block; that price is noted too.
    """
    changes_by_line: dict[str, list[ScheduledPriceChange]] = {}
    for change in price_changes_in_order(version):
        changes_by_line.setdefault(change.line_code, []).append(change)
    lines = [line for line in version.lines.all() if line.line_code in changes_by_line]
    if not lines:
        return {}
    items: list[PriceListItem] = []
    if version.price_list_id and any(line.unit_price is None for line in lines):
        items = list(PriceListItem.objects.filter(price_list_id=version.price_list_id))

    scheduled = _schedule_prices(version.contract_id, day)
    prices = {}
    for line in sorted(lines, key=lambda line: line.line_code):
        price = _line_price(version, line, day, changes_by_line[line.line_code], items)
        billed = scheduled.get(line.line_code)
        if billed is not None and price.in_force is not None and billed != price.in_force:
            price.schedule_differs = billed
        prices[line.line_code] = price
    return prices


def change_text(change: ScheduledPriceChange) -> str:
    """Describe what a scheduled change does to the price, such as ``uplift of 3 %``."""
    if change.kind == ScheduledPriceChange.Kind.FIXED_UPLIFT:
        return f"uplift of {_number(change.uplift_percent or Decimal(0))} %"
    name = change.index_name or "an index"
    base = _number(change.index_base_value) if change.index_base_value is not None else "none"
    if price_change_factor(change) is None:
        return f"index change linked to {name} (base value {base}, value not recorded yet)"
    assert change.index_value is not None  # a factor needs the recorded value
    return f"index change of {name} from {base} to {_number(change.index_value)}"


def _line_price(
    version: ContractVersion,
    line: ContractLine,
    day: dt.date,
    changes: list[ScheduledPriceChange],
    items: list[PriceListItem],
) -> LinePrice:
    quote = price_on(version, line, day, items)
    described = [
        ScheduledChange(
            effective_on=change.effective_on,
            text=change_text(change),
            price_after=_price_after(version, line, change, items),
        )
        for change in changes
    ]
    applied = {id(change) for change in quote.applied_changes}
    waiting = {id(change) for change in quote.pending_index}
    later = [c for c, raw in zip(described, changes, strict=True) if raw.effective_on > day]
    next_day = later[0].effective_on if later else None
    return LinePrice(
        line_code=line.line_code,
        in_force=quote.unit_price,
        changes=described,
        applied=[c for c, raw in zip(described, changes, strict=True) if id(raw) in applied],
        next_changes=[c for c in later if c.effective_on == next_day],
        waiting=[c for c, raw in zip(described, changes, strict=True) if id(raw) in waiting],
    )


def _schedule_prices(contract_id: int, day: dt.date) -> dict[str, Decimal]:
    """Return the unit price of each billing schedule line in force on ``day``, by line code."""
    rows = BillingScheduleLine.objects.filter(
        Q(effective_to__isnull=True) | Q(effective_to__gt=day),
        schedule__contract_id=contract_id,
        effective_from__lte=day,
    ).values_list("line_code", "unit_price")
    return dict(rows)


def _price_after(
    version: ContractVersion,
    line: ContractLine,
    change: ScheduledPriceChange,
    items: list[PriceListItem],
) -> Decimal | None:
    if price_change_factor(change) is None:
        return None
    return price_on(version, line, change.effective_on, items).unit_price


def _number(value: Decimal) -> str:
    """Write a percentage or an index value without trailing zeros: 3, 2.5, 104.2."""
    return f"{value.normalize():f}"
