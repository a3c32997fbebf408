"""The money filter: amounts with the currency's minor units, rounded as billing rounds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billguard.web.templatetags.billguard_web import money


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("1234.5"), "EUR", "EUR 1,234.50"),
        # Half up, as billing rounds (half even would give 2.34 and 1,234).
        (Decimal("2.345"), "EUR", "EUR 2.35"),
        (Decimal("1234.5"), "JPY", "JPY 1,235"),
        (Decimal("10.0005"), "BHD", "BHD 10.001"),
        (Decimal("-0.125"), "USD", "USD -0.13"),
        ("99.995", "", "100.00"),
        (Decimal("7"), "XYZ", "XYZ 7.00"),
    ],
)
def test_money_uses_minor_units_and_half_up(amount: object, currency: str, shown: str) -> None:
    assert money(amount, currency) == shown


def test_money_without_a_number() -> None:
    assert money(None, "EUR") == "\u2013"
    assert money("", "EUR") == "\u2013"
    assert money("n/a", "EUR") == "n/a"
    assert money("NaN", "EUR") == "NaN"
