"""Proration: the share of a period's amount that falls on the days actually covered.

The amount is multiplied by the covered days before the division by the period's days, so no
daily rate is ever rounded, and no value passes through a float. Days are actual calendar
days, so February weighs less than March.
"""

from __future__ import annotations

from decimal import Decimal

from billguard.domain.errors import InvalidInput
from billguard.domain.money import Money, to_decimal
from billguard.domain.periods import BillingPeriod
from billguard.domain.rounding import RoundingMode, scale_by_ratio


def prorate(amount: Decimal, covered_days: int, period_days: int) -> Decimal:
    """Compute ``amount * covered_days / period_days`` without rounding to a minor unit.

    The result is exact when the quotient terminates. Otherwise it keeps enough digits that
    one later rounding gives the same result as rounding the exact quotient (scale_by_ratio).
    Raises InvalidInput for a float amount, a period of less than one day, or covered days
    outside 0 to ``period_days``.
    """
    value = to_decimal(amount, place="amount")
    _validate_days(covered_days, period_days)
    return scale_by_ratio(value, covered_days, period_days)


def prorate_money(
    amount: Money,
    covered_days: int,
    period_days: int,
    mode: RoundingMode = RoundingMode.HALF_UP,
) -> Money:
    """Prorate ``amount`` and round the result once, to the currency's minor unit."""
    exact = prorate(amount.amount, covered_days, period_days)
    return Money(exact, amount.currency).rounded(mode)


def prorate_for_period(
    amount: Money,
    *,
    covered: BillingPeriod,
    period: BillingPeriod,
    mode: RoundingMode = RoundingMode.HALF_UP,
) -> Money:
    """Prorate the amount of the full ``period`` to the days of ``covered``, rounded once.

    Raises InvalidInput unless ``covered`` lies inside ``period``.
    """
    if covered.start < period.start or covered.end > period.end:
        raise InvalidInput(
            f"covered period {covered.label} is not inside billing period {period.label}.",
            place="covered period",
            value=covered,
            fix=f"Prorate only days from {period.start} to {period.last_day}.",
        )
    return prorate_money(amount, covered.days, period.days, mode)


def _validate_days(covered_days: object, period_days: object) -> None:
    if isinstance(period_days, bool) or not isinstance(period_days, int) or period_days < 1:
        raise InvalidInput(
            f"period length {period_days!r} is invalid.",
            place="period days",
            value=period_days,
            fix="Pass the number of days in the billing period, 1 or more.",
        )
    if (
        isinstance(covered_days, bool)
        or not isinstance(covered_days, int)
        or not 0 <= covered_days <= period_days
    ):
        raise InvalidInput(
            f"covered days {covered_days!r} are outside the period of {period_days} days.",
            place="covered days",
            value=covered_days,
            fix=f"Pass a whole number of days from 0 to {period_days}.",
        )
