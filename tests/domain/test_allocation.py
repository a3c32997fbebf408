"""Allocation of a total over weights, with the remainder on one fixed line."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billguard.domain.allocation import LARGEST_WEIGHT, allocate, allocate_over_periods
from billguard.domain.currencies import minor_units
from billguard.domain.errors import InvalidInput
from billguard.domain.money import Money, money_sum
from billguard.domain.periods import BillingPeriod, Cadence, period_containing, split_period
from billguard.domain.proration import prorate_money
from billguard.domain.rounding import RoundingMode

# derandomize=True makes Hypothesis generate the same examples on every run.
DETERMINISTIC = settings(derandomize=True, deadline=None, max_examples=300)

currencies = st.sampled_from(["EUR", "JPY", "BHD", "CLF"])
weights = st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False)


def money(amount: str, currency: str = "EUR") -> Money:
    return Money.of(amount, currency)


@st.composite
def totals(draw: st.DrawFn) -> Money:
    currency = draw(currencies)
    units = draw(st.integers(min_value=-(10**12), max_value=10**12))
    return Money(Decimal(units).scaleb(-minor_units(currency)), currency)


def test_allocate_remainder_to_largest_weight() -> None:
    shares = allocate(money("100.00"), [Decimal(1), Decimal(2), Decimal(1)])

    assert shares == [money("25.00"), money("50.00"), money("25.00")]


def test_allocate_thirds() -> None:
    shares = allocate(money("100.00"), [Decimal(1), Decimal(1), Decimal(1)])

    assert shares == [money("33.34"), money("33.33"), money("33.33")]


def test_allocate_tie_goes_to_first_largest() -> None:
    shares = allocate(money("0.05"), [Decimal(1), Decimal(3), Decimal(3)])

    # 0.05 * 1/7 = 0.007 -> 0.00; 0.05 * 3/7 = 0.021 -> 0.02 twice; remainder 0.01.
    assert shares == [money("0.00"), money("0.03"), money("0.02")]


def test_allocate_explicit_remainder_index() -> None:
    shares = allocate(money("100.00"), [Decimal(1)] * 3, remainder_index=2)

    assert shares == [money("33.33"), money("33.33"), money("33.34")]


def test_allocate_negative_total_rounds_toward_zero() -> None:
    shares = allocate(money("-100.00"), [Decimal(1)] * 3)

    assert shares == [money("-33.34"), money("-33.33"), money("-33.33")]


def test_allocate_zero_weight_gets_zero() -> None:
    shares = allocate(money("10.00"), [Decimal(0), Decimal(3), Decimal(0), Decimal(1)])

    assert shares == [money("0.00"), money("7.50"), money("0.00"), money("2.50")]


def test_allocate_jpy_whole_yen() -> None:
    shares = allocate(money("1000", "JPY"), [Decimal(1)] * 3)

    assert shares == [money("334", "JPY"), money("333", "JPY"), money("333", "JPY")]
    assert all(share.amount.as_tuple().exponent == 0 for share in shares)


def test_allocate_bhd_three_decimals() -> None:
    shares = allocate(money("1.000", "BHD"), [Decimal(1)] * 3)

    assert shares == [money("0.334", "BHD"), money("0.333", "BHD"), money("0.333", "BHD")]
    assert all(share.amount.as_tuple().exponent == -3 for share in shares)


def test_allocate_zero_total_over_zero_weights() -> None:
    shares = allocate(money("0.00"), [Decimal(0), Decimal(0)])

    assert shares == [money("0.00"), money("0.00")]


def test_allocate_rejects_all_zero_weights() -> None:
    with pytest.raises(InvalidInput):
        allocate(money("1.00"), [Decimal(0), Decimal(0)])


def test_allocate_rejects_no_weights() -> None:
    with pytest.raises(InvalidInput):
        allocate(money("1.00"), [])


def test_allocate_rejects_negative_weight() -> None:
    with pytest.raises(InvalidInput) as error:
        allocate(money("1.00"), [Decimal(1), Decimal(-1)])

    assert error.value.place == "weights[1]"


def test_allocate_rejects_float_weight() -> None:
    with pytest.raises(InvalidInput):
        allocate(money("1.00"), [0.5, 0.5])  # type: ignore[list-item]


def test_allocate_rejects_total_below_minor_unit() -> None:
    with pytest.raises(InvalidInput):
        allocate(money("1.005"), [Decimal(1)])


@pytest.mark.parametrize("index", [3, -2, True])
def test_allocate_rejects_remainder_index(index: int) -> None:
    with pytest.raises(InvalidInput):
        allocate(money("1.00"), [Decimal(1)] * 3, remainder_index=index)


def test_allocate_rejects_remainder_on_zero_weight() -> None:
    with pytest.raises(InvalidInput):
        allocate(money("1.00"), [Decimal(1), Decimal(0)], remainder_index=1)


def test_allocate_over_periods_by_days() -> None:
    january = BillingPeriod(dt.date(2026, 1, 1), dt.date(2026, 2, 1))
    february = BillingPeriod(dt.date(2026, 2, 1), dt.date(2026, 3, 1))

    shares = allocate_over_periods(money("590.00"), [january, february])

    assert shares == [money("310.00"), money("280.00")]


def test_allocate_over_periods_rejects_non_period() -> None:
    with pytest.raises(InvalidInput):
        allocate_over_periods(money("1.00"), [(dt.date(2026, 1, 1), dt.date(2026, 2, 1))])  # type: ignore[list-item]


@DETERMINISTIC
@given(total=totals(), line_weights=st.lists(weights, min_size=1, max_size=12))
def test_allocate_sums_to_total(total: Money, line_weights: list[Decimal]) -> None:
    if all(weight == 0 for weight in line_weights):
        line_weights = [*line_weights, Decimal(1)]

    shares = allocate(total, line_weights)

    assert money_sum(shares, total.currency) == total
    assert len(shares) == len(line_weights)
    unit = Decimal(1).scaleb(-minor_units(total.currency))
    weight_sum = sum(line_weights)
    for share, weight in zip(shares, line_weights, strict=True):
        assert share.currency == total.currency
        assert share.amount.as_tuple().exponent == -minor_units(total.currency)
        if weight == 0:
            assert share.amount == 0
        else:
            ideal = total.amount * weight / weight_sum
            assert abs(share.amount - ideal) < unit * len(line_weights)
            assert share.amount * total.amount >= 0


@DETERMINISTIC
@given(
    total=totals(),
    line_weights=st.lists(weights.filter(lambda weight: weight > 0), min_size=1, max_size=8),
    data=st.data(),
)
def test_allocate_remainder_stays_on_chosen_line(
    total: Money, line_weights: list[Decimal], data: st.DataObject
) -> None:
    chosen = data.draw(st.integers(min_value=0, max_value=len(line_weights) - 1))
    unit = Decimal(1).scaleb(-minor_units(total.currency))

    shares = allocate(total, line_weights, remainder_index=chosen)

    weight_sum = sum(line_weights)
    for index, (share, weight) in enumerate(zip(shares, line_weights, strict=True)):
        ideal = total.amount * weight / weight_sum
        if index == chosen:
            continue
        # Every other line is rounded toward zero, by less than one minor unit.
        assert abs(share.amount) <= abs(ideal)
        assert abs(ideal) - abs(share.amount) < unit
    assert money_sum(shares, total.currency) == total


@DETERMINISTIC
@given(
    cents=st.integers(min_value=-(10**10), max_value=10**10),
    day=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)),
    cadence=st.sampled_from(list(Cadence)),
    billing_day=st.integers(min_value=1, max_value=31),
    data=st.data(),
)
def test_split_period_allocation_gives_full_amount(
    cents: int,
    day: dt.date,
    cadence: Cadence,
    billing_day: int,
    data: st.DataObject,
) -> None:
    period = period_containing(day, cadence, billing_day)
    first_days = data.draw(st.integers(min_value=1, max_value=period.days - 1))
    first, second = split_period(period, period.start + dt.timedelta(days=first_days))
    fee = Money(Decimal(cents).scaleb(-2), "EUR")

    shares = allocate_over_periods(fee, [first, second])

    assert shares[0] + shares[1] == fee
    # The remainder goes to the longer part, or to the first on a tie. The other part gets
    # its prorated amount rounded toward zero.
    pieces = (first, second)
    receiver = 0 if first.days >= second.days else 1
    other = 1 - receiver
    assert shares[other] == prorate_money(fee, pieces[other].days, period.days, RoundingMode.DOWN)


def test_largest_weight_is_default() -> None:
    line_weights = [Decimal(1), Decimal(5), Decimal(5)]

    shares = allocate(money("0.07"), line_weights)

    assert shares == allocate(money("0.07"), line_weights, remainder_index=LARGEST_WEIGHT)
    assert shares == [money("0.00"), money("0.04"), money("0.03")]
