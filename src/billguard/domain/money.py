"""Money: a Decimal amount with its ISO 4217 currency.

Floats are rejected at construction because binary floating point cannot represent most
decimal fractions (0.1 + 0.2 != 0.3); amounts in different currencies never combine.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billguard.domain.currencies import minor_units, validate_currency
from billguard.domain.errors import CurrencyMismatch, InvalidInput
from billguard.domain.rounding import RoundingMode, round_decimal


def to_decimal(value: object, *, place: str = "amount") -> Decimal:
    """Convert an int, a Decimal or a numeric string to Decimal; reject floats and anything else."""
    if isinstance(value, bool):
        raise InvalidInput(f"{value!r} is not an amount.", place=place, value=value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidInput(f"{value} is not a finite amount.", place=place, value=value)
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        raise InvalidInput(
            f"float {value!r} cannot be used as money.",
            place=place,
            value=value,
            fix="Pass a Decimal or a string such as '12.50'.",
        )
    if isinstance(value, str):
        text = value.strip()
        try:
            result = Decimal(text)
        except ArithmeticError:
            result = None
        if result is None or not result.is_finite() or not text:
            raise InvalidInput(
                f"{value!r} is not a number.",
                place=place,
                value=value,
                fix="Write it with digits and a decimal point, such as 1250.00.",
            )
        return result
    raise InvalidInput(f"{value!r} is not an amount.", place=place, value=value)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in one currency; arithmetic keeps full precision until ``rounded``."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount))
        object.__setattr__(self, "currency", validate_currency(self.currency))

    @classmethod
    def of(cls, amount: object, currency: str) -> Money:
        return cls(to_decimal(amount), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def rounded(self, mode: RoundingMode = RoundingMode.HALF_UP) -> Money:
        """Round to the currency's minor unit (ISO 4217: JPY 0, EUR 2, BHD 3 decimals)."""
        return Money(round_decimal(self.amount, minor_units(self.currency), mode), self.currency)

    def is_zero(self) -> bool:
        return self.amount == 0

    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"cannot combine {self.currency} and {other.currency} amounts.",
                fix="Convert one of them with a stated exchange rate and date first.",
            )
        return other

    def __add__(self, other: object) -> Money:
        return Money(self.amount + self._same_currency(other).amount, self.currency)

    def __sub__(self, other: object) -> Money:
        return Money(self.amount - self._same_currency(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, Money):
            raise TypeError("cannot multiply two amounts of money")
        return Money(self.amount * to_decimal(factor, place="factor"), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: object) -> bool:
        return self.amount < self._same_currency(other).amount

    def __le__(self, other: object) -> bool:
        return self.amount <= self._same_currency(other).amount

    def __gt__(self, other: object) -> bool:
        return self.amount > self._same_currency(other).amount

    def __ge__(self, other: object) -> bool:
        return self.amount >= self._same_currency(other).amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def money_sum(amounts: list[Money] | tuple[Money, ...], currency: str) -> Money:
    """Sum amounts of one currency; an empty list sums to zero in ``currency``."""
    total = Money.zero(currency)
    for amount in amounts:
        total = total + amount
    return total


def money_text(amount: object, currency: str) -> str:
    """Format ``amount`` with the currency's minor-unit decimals: "1800.00 USD", "253.50 USD".

    Trailing zeros beyond the minor unit are dropped, but significant extra decimals are kept,
    so that a unit price of 0.0125 USD is not shown rounded.
    """
    value = to_decimal(amount).normalize()
    decimals = minor_units(currency)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent < decimals:
        value = value.quantize(Decimal(1).scaleb(-decimals))
    return f"{value:f} {currency}"
