"""Proration by actual days, rounded once."""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billguard.domain.errors import InvalidInput
from billguard.domain.money import Money
from billguard.domain.periods import BillingPeriod, parse_period, split_period
from billguard.domain.proration import prorate, prorate_for_period, prorate_money
from billguard.domain.rounding import RoundingMode

# derandomize=True makes Hypothesis generate the same examples on every run.
DETERMINISTIC = settings(derandomize=True, deadline=None, max_examples=300)


def test_prorate_money_ten_of_thirty_days() -> None:
    fee = Money.of("1000.00", "EUR")

    prorated = prorate_money(fee, 10, 30, RoundingMode.HALF_UP)

    assert prorated == Money.of("333.33", "EUR")


def test_prorate_keeps_full_precision() -> None:
    exact = prorate(Decimal("1000.00"), 10, 30)

    assert exact != Decimal("333.33")
    assert exact.quantize(Decimal("0.0000000001")) == Decimal("333.3333333333")


def test_prorate_money_does_not_round_daily_rate() -> None:
    # The daily rate 100.00 / 31 = 3.2258... would round to 3.23, and 3.23 * 30 = 96.90.
    prorated = prorate_money(Money.of("100.00", "EUR"), 30, 31)

    assert prorated == Money.of("96.77", "EUR")


def test_prorate_money_jpy_and_bhd() -> None:
    assert prorate_money(Money.of("10000", "JPY"), 1, 3) == Money.of("3333", "JPY")
    assert prorate_money(Money.of("10.000", "BHD"), 2, 3) == Money.of("6.667", "BHD")


def test_prorate_money_tie_follows_mode() -> None:
    # 0.50 * 1 / 4 = 0.125 exactly.
    fee = Money.of("0.50", "EUR")

    assert prorate_money(fee, 1, 4, RoundingMode.HALF_UP).amount == Decimal("0.13")
    assert prorate_money(fee, 1, 4, RoundingMode.HALF_EVEN).amount == Decimal("0.12")


def test_prorate_full_and_zero_days() -> None:
    fee = Money.of("123.45", "EUR")

    assert prorate_money(fee, 31, 31) == fee
    assert prorate_money(fee, 0, 31) == Money.of("0.00", "EUR")


def test_prorate_negative_amount() -> None:
    assert prorate_money(Money.of("-1000.00", "EUR"), 10, 30) == Money.of("-333.33", "EUR")


@pytest.mark.parametrize(
    ("covered", "period_days"), [(-1, 30), (31, 30), (1, 0), (True, 30), (1, 30.0)]
)
def test_prorate_rejects_days(covered: object, period_days: object) -> None:
    with pytest.raises(InvalidInput):
        prorate(Decimal(100), covered, period_days)  # type: ignore[arg-type]


def test_prorate_rejects_float_amount() -> None:
    with pytest.raises(InvalidInput):
        prorate(100.0, 1, 2)  # type: ignore[arg-type]


def test_prorate_for_period_covered_days() -> None:
    november = parse_period("2026-11")
    covered = BillingPeriod(dt.date(2026, 11, 21), dt.date(2026, 12, 1))

    prorated = prorate_for_period(Money.of("1000.00", "EUR"), covered=covered, period=november)

    assert prorated == Money.of("333.33", "EUR")


def test_prorate_for_period_rejects_outside() -> None:
    november = parse_period("2026-11")
    covered = BillingPeriod(dt.date(2026, 11, 21), dt.date(2026, 12, 2))

    with pytest.raises(InvalidInput):
        prorate_for_period(Money.of("1000.00", "EUR"), covered=covered, period=november)


@DETERMINISTIC
@given(
    cents=st.integers(min_value=-(10**11), max_value=10**11),
    period_days=st.integers(min_value=1, max_value=366),
    data=st.data(),
)
def test_prorate_money_is_exact_quotient_rounded_once(
    cents: int, period_days: int, data: st.DataObject
) -> None:
    covered = data.draw(st.integers(min_value=0, max_value=period_days))
    amount = Money(Decimal(cents).scaleb(-2), "EUR")

    prorated = prorate_money(amount, covered, period_days, RoundingMode.HALF_UP)

    exact_cents = Fraction(cents * covered, period_days)
    expected = int(abs(exact_cents) + Fraction(1, 2))  # half up, away from zero
    if exact_cents < 0:
        expected = -expected
    assert prorated.amount == Decimal(expected).scaleb(-2)


@DETERMINISTIC
@given(cents=st.integers(min_value=0, max_value=10**9), first_days=st.integers(1, 29))
def test_prorated_halves_within_one_cent_of_whole(cents: int, first_days: int) -> None:
    november = parse_period("2026-11")
    first, second = split_period(november, november.start + dt.timedelta(days=first_days))
    fee = Money(Decimal(cents).scaleb(-2), "EUR")

    parts = [prorate_for_period(fee, covered=piece, period=november) for piece in (first, second)]

    difference = (parts[0] + parts[1] - fee).amount
    assert abs(difference) <= Decimal("0.01")
