"""Named rounding modes, so that every rounding in Billguard states which rule it applies."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from decimal import (
    ROUND_05UP,
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    localcontext,
)


class RoundingMode(enum.Enum):
    """How a value is brought to a number of decimals.

    HALF_UP is the commercial rule that EN 16931 examples and most tax authorities use;
    HALF_EVEN (banker's rounding) avoids bias over many roundings.
    """

    HALF_UP = ROUND_HALF_UP
    HALF_EVEN = ROUND_HALF_EVEN
    DOWN = ROUND_DOWN
    UP = ROUND_UP


def round_decimal(value: Decimal, decimals: int, mode: RoundingMode) -> Decimal:
    """Round ``value`` to ``decimals`` places with ``mode``."""
    exponent = Decimal(1).scaleb(-decimals)
    return value.quantize(exponent, rounding=mode.value)


# Decimal places that scale_by_ratio keeps when a quotient does not terminate.
GUARD_DIGITS = 30


def scale_by_ratio(value: Decimal, numerator: Decimal | int, denominator: Decimal | int) -> Decimal:
    """Compute ``value * numerator / denominator`` for exactly one later rounding.

    The product is exact, and the quotient is exact when it terminates within the working
    precision. Otherwise the quotient keeps at least GUARD_DIGITS decimals and its last digit
    is rounded with ROUND_05UP, so it never ends in 0 or 5 and never looks like a tie or a
    whole number. Rounding the result with round_decimal to at most GUARD_DIGITS - 1 decimals
    therefore gives the same amount as rounding the exact quotient, in every RoundingMode.
    """
    if isinstance(numerator, float) or isinstance(denominator, float):
        raise TypeError("scale_by_ratio takes Decimal or int operands, not float")
    numerator = Decimal(numerator)
    denominator = Decimal(denominator)
    product_digits = len(value.as_tuple().digits) + len(numerator.as_tuple().digits)
    quotient_integer_digits = value.adjusted() + numerator.adjusted() + 2 - denominator.adjusted()
    precision = max(product_digits, quotient_integer_digits, 1) + GUARD_DIGITS

    with localcontext(prec=precision, rounding=ROUND_05UP):
        return value * numerator / denominator


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """Add Decimals without rounding, whatever their number of digits."""
    terms = list(values)
    if not terms:
        return Decimal(0)
    largest_exponent = max(term.adjusted() for term in terms)
    smallest_exponent = min(_exponent(term) for term in terms)
    # Every term and partial sum fits in this many digits, with room for carries.
    precision = largest_exponent - smallest_exponent + len(str(len(terms))) + 2
    with localcontext(prec=max(precision, 1)):
        return sum(terms, Decimal(0))


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"{value} is not a finite number")
    return exponent
