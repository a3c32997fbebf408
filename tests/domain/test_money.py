"""Money and ISO 4217 minor units."""

from decimal import Decimal

import pytest

from billguard.domain.currencies import is_currency, minor_units
from billguard.domain.errors import CurrencyMismatch, InvalidInput
from billguard.domain.money import Money, money_sum, money_text, to_decimal
from billguard.domain.rounding import RoundingMode


def test_money_rejects_float() -> None:
    with pytest.raises(InvalidInput) as error:
        Money(0.1, "EUR")  # type: ignore[arg-type]

    assert "float" in str(error.value)
    assert error.value.value == 0.1


def test_money_of_rejects_float() -> None:
    with pytest.raises(InvalidInput):
        Money.of(19.99, "EUR")


def test_money_multiplication_rejects_float_factor() -> None:
    with pytest.raises(InvalidInput):
        Money.of("10.00", "EUR") * 1.5


def test_to_decimal_accepts_string_and_int() -> None:
    assert to_decimal("12.50") == Decimal("12.50")
    assert to_decimal(7) == Decimal(7)


@pytest.mark.parametrize("value", ["", "abc", "NaN", "Infinity", True, None])
def test_to_decimal_rejects_non_numbers(value: object) -> None:
    with pytest.raises(InvalidInput):
        to_decimal(value)


def test_money_mixing_currencies_raises() -> None:
    euros = Money.of("10.00", "EUR")
    dollars = Money.of("10.00", "USD")

    with pytest.raises(CurrencyMismatch):
        euros + dollars
    with pytest.raises(CurrencyMismatch):
        euros - dollars
    with pytest.raises(CurrencyMismatch):
        euros < dollars  # noqa: B015


def test_money_sum_mixing_currencies_raises() -> None:
    with pytest.raises(CurrencyMismatch):
        money_sum([Money.of("1.00", "EUR"), Money.of("1.00", "GBP")], "EUR")


def test_money_rejects_unknown_currency() -> None:
    with pytest.raises(InvalidInput):
        Money.of("1.00", "EURO")


def test_jpy_rounds_to_zero_decimals() -> None:
    rounded = Money.of("1234.5", "JPY").rounded(RoundingMode.HALF_UP)

    assert rounded.amount == Decimal("1235")
    assert rounded.amount.as_tuple().exponent == 0


def test_bhd_rounds_to_three_decimals() -> None:
    rounded = Money.of("1.2345", "BHD").rounded(RoundingMode.HALF_UP)

    assert rounded.amount == Decimal("1.235")
    assert rounded.amount.as_tuple().exponent == -3


def test_rounding_modes_on_tie() -> None:
    amount = Money.of("2.345", "EUR")

    assert amount.rounded(RoundingMode.HALF_UP).amount == Decimal("2.35")
    assert amount.rounded(RoundingMode.HALF_EVEN).amount == Decimal("2.34")
    assert amount.rounded(RoundingMode.DOWN).amount == Decimal("2.34")
    assert amount.rounded(RoundingMode.UP).amount == Decimal("2.35")


def test_negative_half_up_rounds_away_from_zero() -> None:
    assert Money.of("-2.345", "EUR").rounded().amount == Decimal("-2.35")


@pytest.mark.parametrize(
    ("code", "decimals"),
    [("EUR", 2), ("USD", 2), ("JPY", 0), ("KRW", 0), ("BHD", 3), ("KWD", 3), ("CLF", 4)],
)
def test_minor_units_per_iso_4217(code: str, decimals: int) -> None:
    assert minor_units(code) == decimals


def test_currencies_include_recent_and_withdrawn_codes() -> None:
    assert is_currency("XAD")
    assert is_currency("XCG")
    assert is_currency("ANG")
    assert is_currency("BGN")


def test_currencies_exclude_units_without_minor_unit() -> None:
    assert not is_currency("XAU")
    assert not is_currency("XXX")


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("253.5", "USD", "253.50 USD"),
        ("1800", "USD", "1800.00 USD"),
        ("253.5000", "USD", "253.50 USD"),
        ("1800", "JPY", "1800 JPY"),
        ("1.5", "BHD", "1.500 BHD"),
        ("0.0125", "USD", "0.0125 USD"),
        ("-2.1", "EUR", "-2.10 EUR"),
    ],
)
def test_money_text_uses_minor_unit(amount, currency, text):
    assert money_text(Decimal(amount), currency) == text
