"""Allocation: a total split into shares that add up to it exactly, in minor units.

Each share is total * weight / sum of weights, rounded toward zero to the currency's minor
unit (ISO 4217: JPY 0, EUR 2, BHD 3 decimals). The minor units left over all go to one
remainder line, so the shares always add up to the total. Because every share is rounded
toward zero, the remainder has the sign of the total and is smaller, in minor units, than the
number of lines with a positive weight.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from billguard.domain.currencies import minor_units
from billguard.domain.errors import InvalidInput
from billguard.domain.money import Money, to_decimal
from billguard.domain.periods import BillingPeriod

# The default remainder_index: the remainder goes to the line with the largest weight, and to
# the first of those lines when several share the largest weight.
LARGEST_WEIGHT = -1


def allocate(
    total: Money,
    weights: Sequence[Decimal],
    *,
    remainder_index: int = LARGEST_WEIGHT,
) -> list[Money]:
    """Split ``total`` over ``weights`` in proportion, one share per weight.

    The remainder goes to the line ``remainder_index``, which must have a positive weight. The
    default, LARGEST_WEIGHT, picks the line with the largest weight (the first one on a tie).
    Lines with a zero weight get zero. A negative total, such as a credit, gives shares that
    are zero or negative.

    Raises InvalidInput when the total is not a whole number of minor units, when a weight is
    negative or a float, when there are no weights, when all weights are zero but the total
    is not, and when ``remainder_index`` is not a valid index.
    """
    decimals = minor_units(total.currency)
    total_units = _to_minor_units(total, decimals)
    exact_weights = [_to_weight(weight, index) for index, weight in enumerate(weights)]
    if not exact_weights:
        raise InvalidInput(
            "there are no weights to allocate over.",
            place="weights",
            value=list(weights),
            fix="Pass one weight per line.",
        )

    weight_sum = sum(exact_weights, Fraction(0))
    if weight_sum == 0:
        if total_units != 0:
            raise InvalidInput(
                f"cannot allocate {total} because all weights are zero.",
                place="weights",
                value=list(weights),
                fix="Give at least one line a positive weight.",
            )
        return [Money(Decimal(0).scaleb(-decimals), total.currency) for _ in exact_weights]

    # int() truncates a Fraction toward zero, which is the rounding rule of every share.
    shares = [int(total_units * weight / weight_sum) for weight in exact_weights]
    receiver = _remainder_line(exact_weights, remainder_index)
    shares[receiver] += total_units - sum(shares)

    return [Money(Decimal(share).scaleb(-decimals), total.currency) for share in shares]


def allocate_over_periods(
    total: Money,
    periods: Sequence[BillingPeriod],
    *,
    remainder_index: int = LARGEST_WEIGHT,
) -> list[Money]:
    """Split ``total`` over ``periods`` in proportion to their actual days.

    By default the remainder goes to the longest period, the first one on a tie.
    """
    for index, period in enumerate(periods):
        if not isinstance(period, BillingPeriod):
            raise InvalidInput(
                f"{period!r} is not a billing period.",
                place=f"periods[{index}]",
                value=period,
                fix="Pass BillingPeriod values, for example from periods_between().",
            )
    weights = [Decimal(period.days) for period in periods]
    return allocate(total, weights, remainder_index=remainder_index)


def _to_minor_units(total: Money, decimals: int) -> int:
    scaled = total.amount.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise InvalidInput(
            f"total {total} has more decimals than the {decimals} of {total.currency}.",
            place="total",
            value=total.amount,
            fix="Round the total to the currency's minor unit first, with Money.rounded().",
        )
    return int(scaled)


def _to_weight(weight: object, index: int) -> Fraction:
    value = to_decimal(weight, place=f"weights[{index}]")
    if value < 0:
        raise InvalidInput(
            f"weight {value} is negative.",
            place=f"weights[{index}]",
            value=weight,
            fix="Use weights of zero or more; allocate a credit as a negative total instead.",
        )
    return Fraction(value)


def _remainder_line(weights: list[Fraction], remainder_index: int) -> int:
    if remainder_index == LARGEST_WEIGHT:
        # list.index returns the first of several equal maximum weights.
        return weights.index(max(weights))

    if (
        isinstance(remainder_index, bool)
        or not isinstance(remainder_index, int)
        or not 0 <= remainder_index < len(weights)
    ):
        raise InvalidInput(
            f"remainder index {remainder_index!r} is not a line index.",
            place="remainder_index",
            value=remainder_index,
            fix=f"Use an index from 0 to {len(weights) - 1}, or LARGEST_WEIGHT.",
        )
    if weights[remainder_index] == 0:
        raise InvalidInput(
            f"remainder line {remainder_index} has a zero weight.",
            place="remainder_index",
            value=remainder_index,
            fix="Put the remainder on a line with a positive weight.",
        )
    return remainder_index
