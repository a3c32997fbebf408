"""Pricing checks: the unit prices, discounts and quantities of a draft's lines.

A price difference is reported once, under its most specific cause: an approved amendment
whose terms the draft still lacks (AMENDMENT_NOT_APPLIED in ``checks.amendments``), then a
due scheduled price change (ESCALATION_NOT_APPLIED), and otherwise PRICE_MISMATCH.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from billguard.checks.context import CheckContext, Draft
from billguard.checks.engine import check
from billguard.checks.finding import Observation, Severity
from billguard.checks.line_terms import (
    FAMILY,
    FIXED,
    TIME_AND_MATERIALS,
    USAGE,
    PricedLine,
    at_stake,
    contracted_quantity,
    is_true_up,
    kind_of,
    line_end,
    line_subject,
    missed_amendment,
    price_change_evidence,
    price_steps,
    price_text,
    priced_line,
    priced_lines,
    quantity_text,
    recorded_quantity,
    share_from,
    unit_price_of,
)
from billguard.domain.invoice import InvoiceLine
from billguard.registry.models import ScheduledPriceChange
from billguard.registry.pricing import (
    approved_discount,
    contract_line,
    price_change_factor,
    price_changes_in_order,
)

# UNCL 5189 allowance reason code 95 is "Discount". Drafting also uses it for the proration
# allowance, which it marks with a reason starting with this prefix.
DISCOUNT_REASON_CODE = "95"
PRORATION_REASON_PREFIX = "Proration"


def missed_escalation(priced: PricedLine) -> ScheduledPriceChange | None:
    """Return the first due price change when the draft bills a price from before it."""
    if not priced.price_differs or priced.actual_price not in priced.steps[:-1]:
        return None
    return priced.quote.applied_changes[priced.steps.index(priced.actual_price)]


def mid_line_escalation(
    draft: Draft, context: CheckContext, priced: PricedLine
) -> tuple[ScheduledPriceChange, Decimal] | None:
    """Find a price change due inside the line's service period and return it with its price.

    Drafting splits a line at such a date when the schedule has the new price. A single line
    across the date bills the old price for the days after it.
    """
    end = line_end(draft, priced.line)
    if end is None:
        return None
    for change in price_changes_in_order(priced.version):
        if change.line_code != priced.line.item_id or price_change_factor(change) is None:
            continue
        if not priced.day < change.effective_on <= end:
            continue
        due = price_steps(priced.version, priced.contract_line, change.effective_on, context)
        if due is not None and due[1][-1] != priced.actual_price:
            return change, due[1][-1]
    return None


# ---------------------------------------------------------------------------------------------
# Checks


@check("PRICE_MISMATCH", family=FAMILY, severity=Severity.BLOCK)
def price_mismatch(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    for priced in priced_lines(draft, context):
        if not priced.price_differs:
            continue
        missed = missed_amendment(priced, context)
        if (missed is not None and missed.price) or missed_escalation(priced) is not None:
            continue  # AMENDMENT_NOT_APPLIED or ESCALATION_NOT_APPLIED reports it
        line = priced.line
        expected, actual = priced.expected_price, priced.actual_price
        yield Observation(
            subject=line_subject(line),
            message=(
                f"{line.item_id} is billed at {price_text(actual)} per unit, but the price in "
                f"force on {priced.day} is {price_text(expected)}"
            ),
            expected=price_text(expected),
            actual=price_text(actual),
            amount_at_stake=at_stake(draft, (expected - actual) * line.quantity),
            evidence={
                **context.contract_evidence(priced.version),
                "price_source": priced.quote.source,
                "service_date": priced.day.isoformat(),
            },
        )


@check("ESCALATION_NOT_APPLIED", family=FAMILY, severity=Severity.BLOCK)
def escalation_not_applied(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    for priced in priced_lines(draft, context):
        line = priced.line
        missed = missed_amendment(priced, context)
        if missed is not None and missed.price:
            continue
        change = missed_escalation(priced)
        if change is not None:
            expected, actual = priced.expected_price, priced.actual_price
            yield Observation(
                subject=line_subject(line),
                message=(
                    f"{line.item_id} is billed at {price_text(actual)}, the price before the "
                    f"{change.get_kind_display()} of {change.effective_on}; from then the "
                    f"price is {price_text(expected)}"
                ),
                expected=price_text(expected),
                actual=price_text(actual),
                amount_at_stake=at_stake(draft, (expected - actual) * line.quantity),
                evidence={
                    **context.contract_evidence(priced.version),
                    **price_change_evidence(change),
                },
            )
            continue
        if priced.price_differs:
            continue  # PRICE_MISMATCH reports the line
        inside = mid_line_escalation(draft, context, priced)
        if inside is None:
            continue
        change, new_price = inside
        share = share_from(draft, context, line, priced.kind, change.effective_on)
        yield Observation(
            subject=line_subject(line),
            message=(
                f"the {change.get_kind_display()} of {change.effective_on} falls inside the "
                f"service period of {line.item_id}, but the whole line is billed at "
                f"{price_text(priced.actual_price)}; it must be split at that date"
            ),
            expected=f"{price_text(new_price)} from {change.effective_on}",
            actual=f"{price_text(priced.actual_price)} for the whole line",
            amount_at_stake=at_stake(
                draft, (new_price - priced.actual_price) * line.quantity * share
            ),
            evidence={**context.contract_evidence(priced.version), **price_change_evidence(change)},
        )


@dataclass(frozen=True)
class LineDiscount:
    percent: Decimal
    amount: Decimal
    base: Decimal  # the gross amount the discount is taken from


def discount_of(line: InvoiceLine) -> LineDiscount | None:
    """Read the line's discount from its discount allowances or ``discount_percent``."""
    allowances = [
        a
        for a in line.allowances_charges
        if not a.is_charge
        and a.reason_code == DISCOUNT_REASON_CODE
        and not a.reason.startswith(PRORATION_REASON_PREFIX)
    ]
    gross = line.quantity * unit_price_of(line)
    base = next((a.base_amount for a in allowances if a.base_amount is not None), gross)
    amount = sum((a.amount for a in allowances), Decimal(0))
    percent = line.discount_percent or next((a.percent for a in allowances if a.percent), None)
    if percent is None and amount and base:
        percent = amount / base * 100
    if not percent and not amount:
        return None
    percent = percent or Decimal(0)
    if not amount:
        amount = base * percent / 100
    return LineDiscount(percent, amount, base)


@check("DISCOUNT_NOT_APPROVED", family=FAMILY, severity=Severity.BLOCK)
def discount_not_approved(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    for line in draft.document.lines:
        discount = discount_of(line)
        day = draft.line_start(line)
        if discount is None or day is None or is_true_up(line):
            continue
        version = context.version_on(day)
        if version is None:
            continue
        approved = approved_discount(version, line.item_id, day)
        evidence = context.contract_evidence(version)
        billed_percent = f"{quantity_text(discount.percent)}%"
        if approved is None:
            lapsed = [
                d
                for d in version.discounts.all()
                if d.line_code in (line.item_id, "") and d.expires_on is not None
            ]
            if lapsed:
                last = max(lapsed, key=lambda d: d.expires_on or day)
                reason = f"the approved {quantity_text(last.percent)}% expired on {last.expires_on}"
                evidence["discount_expired_on"] = str(last.expires_on)
            else:
                reason = f"contract version {version.version_number} has no discount for it"
            expected, unapproved = "no discount", discount.amount
        elif not approved.approval_reference:
            reason = (
                f"the {quantity_text(approved.percent)}% in the contract has no approval reference"
            )
            expected, unapproved = "a discount with an approval reference", discount.amount
        elif discount.percent > approved.percent:
            reference = approved.approval_reference
            reason = f"only {quantity_text(approved.percent)}% is approved ({reference})"
            expected = f"at most {quantity_text(approved.percent)}%"
            unapproved = discount.base * (discount.percent - approved.percent) / 100
            evidence["approval_reference"] = approved.approval_reference
        else:
            continue
        yield Observation(
            subject=line_subject(line),
            message=f"{line.item_id} is billed with a {billed_percent} discount, but {reason}",
            expected=expected,
            actual=f"{billed_percent} ({price_text(discount.amount)})",
            amount_at_stake=at_stake(draft, unapproved),
            evidence={**evidence, "service_date": day.isoformat()},
        )


@check("QUANTITY_MISMATCH", family=FAMILY, severity=Severity.BLOCK)
def quantity_mismatch(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    """Billed quantity per line code and service period against the contract or the records.

    Lines of the same code and service period are added up, so a line drafted twice (from a
    duplicated schedule line) shows as twice the quantity.
    """
    groups: dict[tuple[str, dt.date, dt.date], list[InvoiceLine]] = defaultdict(list)
    for line in draft.document.lines:
        start, end = draft.line_start(line), line_end(draft, line)
        if line.item_id and not is_true_up(line) and start is not None and end is not None:
            groups[(line.item_id, start, end)].append(line)

    for (code, start, end), lines in groups.items():
        version = context.version_on(start)
        terms = contract_line(version, code) if version is not None else None
        kind = kind_of(draft, lines[0], terms)
        if kind == FIXED:
            if terms is None or _quantity_amended(draft, context, lines):
                continue
            expected = contracted_quantity(terms)
        elif kind in (USAGE, TIME_AND_MATERIALS):
            expected = recorded_quantity(context, code, kind, start, end)
        else:
            continue
        billed = sum((line.quantity for line in lines), Decimal(0))
        if billed == expected:
            continue
        if kind == FIXED:
            assert version is not None  # a contract line was found in it
            source = f"contract version {version.version_number} sets {quantity_text(expected)}"
        else:
            records = "usage records" if kind == USAGE else "timesheets"
            source = f"the {records} from {start} to {end} add up to {quantity_text(expected)}"
        subject = (
            line_subject(lines[0])
            if len(lines) == 1
            else f"lines {', '.join(line.line_id for line in lines)} ({code})"
        )
        yield Observation(
            subject=subject,
            message=f"{code} is billed for a quantity of {quantity_text(billed)}, but {source}",
            expected=quantity_text(expected),
            actual=quantity_text(billed),
            amount_at_stake=at_stake(draft, (expected - billed) * unit_price_of(lines[0])),
            evidence={
                **context.contract_evidence(version),
                "line_kind": kind,
                "service_period": f"{start} to {end}",
            },
        )


def _quantity_amended(draft: Draft, context: CheckContext, lines: list[InvoiceLine]) -> bool:
    """Return whether AMENDMENT_NOT_APPLIED reports the quantity of one of ``lines``."""
    for line in lines:
        priced = priced_line(draft, context, line)
        missed = missed_amendment(priced, context) if priced is not None else None
        if missed is not None and missed.quantity:
            return True
    return False
