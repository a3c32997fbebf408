"""Named rounding modes, so that every rounding in Billguard states which rule it applies."""

from __future__ import annotations

import enum
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal


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
