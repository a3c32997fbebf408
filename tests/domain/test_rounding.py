"""Rounding helpers: one rounding of an exact quotient, exact sums."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billguard.domain.rounding import RoundingMode, exact_sum, round_decimal, scale_by_ratio

# derandomize=True makes Hypothesis generate the same examples on every run.
DETERMINISTIC = settings(derandomize=True, deadline=None, max_examples=500)

amounts = st.decimals(min_value=-(10**12), max_value=10**12, places=4, allow_nan=False)
factors = st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False)
divisors = st.one_of(
    st.integers(min_value=1, max_value=100_000).map(Decimal),
    st.decimals(min_value=Decimal("0.001"), max_value=10**6, places=3, allow_nan=False),
)


def round_exactly(value: Fraction, decimals: int, mode: RoundingMode) -> Decimal:
    """Reference rounding of a rational number, written independently of decimal contexts."""
    scaled = abs(value) * 10**decimals
    whole = int(scaled)  # truncates toward zero
    rest = scaled - whole
    half = Fraction(1, 2)
    away_from_zero = {
        RoundingMode.HALF_UP: rest >= half,
        RoundingMode.HALF_EVEN: rest > half or (rest == half and whole % 2 == 1),
        RoundingMode.UP: rest > 0,
        RoundingMode.DOWN: False,
    }[mode]
    if away_from_zero:
        whole += 1
    signed = -whole if value < 0 else whole
    return Decimal(signed).scaleb(-decimals)


@DETERMINISTIC
@given(
    value=amounts,
    numerator=factors,
    denominator=divisors,
    decimals=st.sampled_from([0, 2, 3, 4]),
    mode=st.sampled_from(list(RoundingMode)),
)
def test_scale_by_ratio_rounds_like_exact_quotient(
    value: Decimal, numerator: Decimal, denominator: Decimal, decimals: int, mode: RoundingMode
) -> None:
    exact = Fraction(value) * Fraction(numerator) / Fraction(denominator)

    result = round_decimal(scale_by_ratio(value, numerator, denominator), decimals, mode)

    assert result == round_exactly(exact, decimals, mode)


def test_scale_by_ratio_keeps_terminating_quotient_exact() -> None:
    assert scale_by_ratio(Decimal("100.00"), Decimal("8.875"), 100) == Decimal("8.875")
    assert scale_by_ratio(Decimal("1"), 1, 256) == Decimal("0.00390625")


def test_scale_by_ratio_near_tie() -> None:
    # 0.015 / 3 is the tie 0.005 exactly, so HALF_EVEN gives 0.00. A dividend 1E-36 larger
    # gives no tie and rounds up, although 28 significant digits cannot tell the two apart.
    assert round_decimal(
        scale_by_ratio(Decimal("0.015"), 1, 3), 2, RoundingMode.HALF_EVEN
    ) == Decimal("0.00")
    assert round_decimal(
        scale_by_ratio(Decimal("0.015000000000000000000000000000000001"), 1, 3),
        2,
        RoundingMode.HALF_EVEN,
    ) == Decimal("0.01")


def test_scale_by_ratio_rejects_float() -> None:
    with pytest.raises(TypeError):
        scale_by_ratio(Decimal(1), 0.5, 1)  # type: ignore[arg-type]


def test_exact_sum_beyond_default_precision() -> None:
    terms = [Decimal("1E+30"), Decimal("0.01"), Decimal("-1E+30")]

    assert exact_sum(terms) == Decimal("0.01")
    assert exact_sum([]) == 0
