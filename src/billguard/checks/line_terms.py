"""Contract terms of draft lines, shared by the checks of the pricing family.

A draft line is matched to its contract line by ``item_id`` (the contract line code) and
priced on its service start date with ``registry.pricing.price_on``. Everything here reads
the CheckContext only, never the database.

Amounts at stake of the pricing family are signed where they are a difference: positive when
the draft bills less than the contract, negative when it bills more.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import itertools
from dataclasses import dataclass
from decimal import Decimal

from billguard.checks.context import CheckContext, Draft
from billguard.domain.invoice import InvoiceLine
from billguard.domain.money import Money
from billguard.domain.periods import Cadence, period_containing
from billguard.domain.rounding import RoundingMode, round_decimal
from billguard.registry.models import (
    Amendment,
    ContractLine,
    ContractVersion,
    ScheduledPriceChange,
)
from billguard.registry.models.contracts import LineKind
from billguard.registry.pricing import (
    PRICE_DECIMALS,
    PriceQuote,
    contract_line,
    price_change_factor,
    price_list_item_on,
    price_on,
)

FAMILY = "pricing"

FIXED = LineKind.RECURRING_FIXED.value
USAGE = LineKind.USAGE.value
TIME_AND_MATERIALS = LineKind.TIME_AND_MATERIALS.value
MILESTONE = LineKind.MILESTONE.value

# A line whose item_id or description contains one of these bills a minimum commitment
# shortfall. Its price is the shortfall, not a contract price.
TRUE_UP_MARKERS = ("TRUE-UP", "TRUEUP", "TRUE UP")


def is_true_up(line: InvoiceLine) -> bool:
    return _names_true_up(line.item_id, line.description)


# A run's drafts repeat the same few line codes and descriptions, and most checks test every
# line, so the results are cached.
@functools.lru_cache(maxsize=4096)
def _names_true_up(item_id: str, description: str) -> bool:
    text = f"{item_id} {description}".upper()
    return any(marker in text for marker in TRUE_UP_MARKERS)


def unit_price_of(line: InvoiceLine) -> Decimal:
    """Net price of one unit: the item net price (BT-146) over its base quantity (BT-149)."""
    if line.price_base_quantity and line.price_base_quantity != 1:
        return line.unit_price / line.price_base_quantity
    return line.unit_price


def kind_of(draft: Draft, line: InvoiceLine, contract_line_: ContractLine | None) -> str:
    """Return the line's kind as drafted, else the kind of its contract line."""
    kind = draft.line_kind(line)
    if not kind and contract_line_ is not None:
        kind = contract_line_.kind
    return kind


def contracted_quantity(line: ContractLine) -> Decimal:
    """Return the quantity per period of a fixed line, or 1 as drafting bills when it is empty."""
    return line.quantity if line.quantity is not None else Decimal(1)


def line_end(draft: Draft, line: InvoiceLine) -> dt.date | None:
    return line.service_end or draft.service_end or draft.line_start(line)


def line_subject(line: InvoiceLine) -> str:
    return f"line {line.line_id} ({line.item_id})" if line.item_id else f"line {line.line_id}"


def recorded_quantity(
    context: CheckContext, line_code: str, kind: str, start: dt.date, end: dt.date
) -> Decimal:
    """Usage units or timesheet hours recorded for ``line_code`` from ``start`` to ``end``."""
    total = Decimal(0)
    if kind == USAGE:
        for record in context.usage:
            if record.line_code == line_code and start <= record.service_date <= end:
                total += record.quantity
    elif kind == TIME_AND_MATERIALS:
        for sheet in context.timesheets:
            if sheet.line_code == line_code and start <= sheet.work_date <= end:
                total += sheet.hours
    return total


def share_from(
    draft: Draft, context: CheckContext, line: InvoiceLine, kind: str, day: dt.date
) -> Decimal:
    """Return the share, from 0 to 1, of the line's quantity that falls on or after ``day``.

    Usage and time-and-materials lines are split by their records. Other lines, and arrears
    lines without records, are split by calendar days.
    """
    start, end = draft.line_start(line), line_end(draft, line)
    if start is None or end is None or day <= start:
        return Decimal(1)
    if day > end:
        return Decimal(0)
    if kind in (USAGE, TIME_AND_MATERIALS):
        total = recorded_quantity(context, line.item_id, kind, start, end)
        if total:
            return recorded_quantity(context, line.item_id, kind, day, end) / total
    return Decimal((end - day).days + 1) / Decimal((end - start).days + 1)


def at_stake(draft: Draft, amount: Decimal) -> Money:
    return Money(amount, draft.document.currency).rounded()


def price_text(value: Decimal) -> str:
    """Format a price or amount with at least two decimals and no trailing zeros beyond them."""
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return f"{normalized:f}"
    return f"{value.quantize(Decimal('0.01')):f}"


def quantity_text(value: Decimal) -> str:
    return f"{value.normalize():f}"


def amendment_evidence(amendment: Amendment) -> dict[str, str]:
    evidence = {
        "amendment": amendment.number,
        "amendment_effective_from": amendment.effective_from.isoformat(),
        "amendment_status": amendment.status,
    }
    if amendment.approved_on is not None:
        evidence["amendment_approved_on"] = amendment.approved_on.isoformat()
    if amendment.document is not None:
        evidence["amendment_document"] = (
            f"{amendment.document.family} rev {amendment.document.revision}"
        )
        evidence["amendment_sha256"] = amendment.document.sha256
    return evidence


def price_change_evidence(change: ScheduledPriceChange) -> dict[str, str]:
    evidence = {
        "price_change_date": change.effective_on.isoformat(),
        "price_change_kind": change.kind,
    }
    if change.kind == ScheduledPriceChange.Kind.FIXED_UPLIFT:
        evidence["uplift_percent"] = quantity_text(change.uplift_percent or Decimal(0))
    else:
        evidence["index_name"] = change.index_name
        evidence["index_base_value"] = quantity_text(change.index_base_value or Decimal(0))
        evidence["index_value"] = quantity_text(change.index_value or Decimal(0))
    return evidence


# ---------------------------------------------------------------------------------------------
# Contract terms of a draft line


@dataclass(frozen=True)
class PricedLine:
    """A draft line with the contract terms in force on its service start date."""

    line: InvoiceLine
    kind: str
    day: dt.date
    version: ContractVersion
    contract_line: ContractLine
    quote: PriceQuote
    # The base price, then the price after each applied scheduled change. The last one is due.
    steps: tuple[Decimal, ...]

    @property
    def expected_price(self) -> Decimal:
        return self.steps[-1]

    @property
    def actual_price(self) -> Decimal:
        return unit_price_of(self.line)

    @property
    def expected_quantity(self) -> Decimal:
        """The contracted quantity of a fixed line; other lines take theirs from records."""
        if self.kind == FIXED:
            return contracted_quantity(self.contract_line)
        return self.line.quantity

    @property
    def price_differs(self) -> bool:
        return self.actual_price != self.expected_price

    @property
    def quantity_differs(self) -> bool:
        return self.line.quantity != self.expected_quantity


def price_steps(
    version: ContractVersion, line: ContractLine, day: dt.date, context: CheckContext
) -> tuple[PriceQuote, tuple[Decimal, ...]] | None:
    """Quote ``line`` on ``day`` and list its price before and after each applied change."""
    quote = price_on(version, line, day, context.price_list_items)
    if quote.unit_price is None:
        return None
    base = line.unit_price
    if base is None:
        item = price_list_item_on(
            context.price_list_items, version.price_list_id, line.product_code, day
        )
        assert item is not None  # price_on found it, or it returned no price
        base = item.unit_price
    return quote, price_after_changes(base, quote.applied_changes)


def price_after_changes(
    base: Decimal, changes: tuple[ScheduledPriceChange, ...]
) -> tuple[Decimal, ...]:
    """Return ``base`` and the price after each change, rounded as ``registry.pricing`` rounds."""
    steps = [base]
    for change in changes:
        factor = price_change_factor(change)
        assert factor is not None  # price_on applies only changes with a factor
        steps.append(round_decimal(steps[-1] * factor, PRICE_DECIMALS, RoundingMode.HALF_UP))
    return tuple(steps)


def priced_line(draft: Draft, context: CheckContext, line: InvoiceLine) -> PricedLine | None:
    """Return the terms of ``line`` on its service start, or None without a priced contract line.

    Worked out once per line while the draft's checks run: the price, amendment and quantity
    checks all read it.
    """
    return draft.cached_fact(("priced_line", id(line)), lambda: _priced_line(draft, context, line))


def _priced_line(draft: Draft, context: CheckContext, line: InvoiceLine) -> PricedLine | None:
    day = draft.line_start(line)
    if not line.item_id or is_true_up(line) or day is None:
        return None
    version = context.version_on(day)
    if version is None:
        return None
    terms = contract_line(version, line.item_id)
    if terms is None:
        return None
    priced = price_steps(version, terms, day, context)
    if priced is None:
        return None
    quote, steps = priced
    return PricedLine(line, kind_of(draft, line, terms), day, version, terms, quote, steps)


def priced_lines(draft: Draft, context: CheckContext) -> list[PricedLine]:
    found = []
    for line in draft.document.lines:
        priced = priced_line(draft, context, line)
        if priced is not None:
            found.append(priced)
    return found


def versions_until(context: CheckContext, day: dt.date) -> list[ContractVersion]:
    return sorted(
        (v for v in context.versions if v.effective_from <= day), key=lambda v: v.effective_from
    )


def amendment_of(context: CheckContext, version: ContractVersion) -> Amendment | None:
    if version.amendment_id is None:
        return None
    return next((a for a in context.amendments if a.pk == version.amendment_id), None)


# ---------------------------------------------------------------------------------------------
# Causes of a difference: a missing amendment or a missing scheduled price change


@dataclass(frozen=True)
class MissedAmendment:
    """An approved amendment whose change to a line the draft does not bill."""

    amendment: Amendment
    priced: PricedLine
    price: bool  # the draft bills the unit price from before the amendment
    quantity: bool  # the draft bills the quantity from before the amendment

    @property
    def amount(self) -> Decimal:
        """Expected minus billed amount for the fields the amendment changed."""
        line = self.priced.line
        price = self.priced.expected_price if self.price else self.priced.actual_price
        quantity = self.priced.expected_quantity if self.quantity else line.quantity
        return quantity * price - line.quantity * self.priced.actual_price


def missed_amendment(priced: PricedLine, context: CheckContext) -> MissedAmendment | None:
    """Find the earliest approved amendment whose change to the line the draft still lacks.

    Each version an amendment created is compared with the version before it on the line's
    service date. When the amendment changed the line's price or quantity and the draft bills
    the earlier value, the amendment is the cause of that difference. The result covers the
    price and the quantity that any such amendment changed.
    """
    quantity_differs = priced.kind == FIXED and priced.quantity_differs
    if not priced.price_differs and not quantity_differs:
        return None
    code = priced.line.item_id
    versions = versions_until(context, priced.day)
    found = None
    for older, newer in itertools.pairwise(versions):
        amendment = amendment_of(context, newer)
        new_line, old_line = contract_line(newer, code), contract_line(older, code)
        if amendment is None or new_line is None or old_line is None:
            continue
        new_terms = price_steps(newer, new_line, priced.day, context)
        old_terms = price_steps(older, old_line, priced.day, context)
        if new_terms is None or old_terms is None:
            continue
        price_changed = new_terms[1][-1] != old_terms[1][-1]
        quantity_changed = contracted_quantity(new_line) != contracted_quantity(old_line)
        price_missed = (
            priced.price_differs and price_changed and priced.actual_price in old_terms[1]
        )
        quantity_missed = (
            quantity_differs
            and quantity_changed
            and priced.line.quantity == contracted_quantity(old_line)
        )
        if found is None and (price_missed or quantity_missed):
            found = MissedAmendment(amendment, priced, price_missed, quantity_missed)
        elif found is not None:
            # A later amendment can change the other field, but the earliest one stays named.
            found = MissedAmendment(
                found.amendment,
                priced,
                found.price or price_missed,
                found.quantity or quantity_missed,
            )
    return found


# ---------------------------------------------------------------------------------------------
# Contract term and minimum commitment


def add_months(day: dt.date, months: int) -> dt.date:
    """Move ``day`` by whole months, keeping it on the last day of a shorter month."""
    year, month_offset = divmod(day.year * 12 + day.month - 1 + months, 12)
    last_day = calendar.monthrange(year, month_offset + 1)[1]
    return dt.date(year, month_offset + 1, min(day.day, last_day))


def term_end(
    end_date: dt.date | None, renewal_terms: str, renewal_months: int | None, until: dt.date
) -> dt.date | None:
    """Return the last day of service, renewed as often as needed to reach ``until``.

    An auto-renewing contract with ``renewal_months`` renews for that many months at a time,
    counted from the day after its end date. None means the contract has no end date.
    """
    if end_date is None:
        return None
    if renewal_terms != ContractVersion.RenewalTerms.AUTO_RENEW or not renewal_months:
        return end_date
    renewal_start = end_date + dt.timedelta(days=1)
    end, renewals = end_date, 0
    while end < until:
        renewals += 1
        end = add_months(renewal_start, renewals * renewal_months) - dt.timedelta(days=1)
    return end


def version_term_end(version: ContractVersion, until: dt.date) -> dt.date | None:
    return term_end(version.end_date, version.renewal_terms, version.renewal_months, until)


@dataclass(frozen=True)
class CommittedAmounts:
    """Amounts of a draft that count towards a minimum commitment per billing period."""

    billed: Decimal  # net of fixed, usage and time-and-materials lines
    true_up: Decimal  # net of true-up lines
    periods: int  # billing periods of the usage and time-and-materials lines, at least 1

    def shortfall(self, minimum: Decimal | None) -> Decimal:
        """Return the amount still missing after the true-up lines, or 0 when the minimum is met."""
        if minimum is None:
            return Decimal(0)
        return max(Decimal(0), minimum * self.periods - self.billed - self.true_up)


def committed_amounts(
    draft: Draft, context: CheckContext, version: ContractVersion
) -> CommittedAmounts:
    """Add up the draft's lines that count towards ``version``'s minimum commitment.

    Milestone lines do not count. Each billing period of the version's cadence that the
    usage and time-and-materials lines cover owes the minimum once.
    """
    billed = true_up = Decimal(0)
    periods: set[dt.date] = set()
    cadence = Cadence(version.cadence or Cadence.MONTHLY.value)
    for line in draft.document.lines:
        if is_true_up(line):
            true_up += line.net_amount
            continue
        kind = kind_of(draft, line, contract_line(version, line.item_id))
        if kind in (USAGE, TIME_AND_MATERIALS, FIXED, ""):
            billed += line.net_amount
        start = draft.line_start(line)
        if kind in (USAGE, TIME_AND_MATERIALS) and start is not None:
            periods.add(period_containing(start, cadence, version.billing_day or 1).start)
    return CommittedAmounts(billed, true_up, max(1, len(periods)))
