"""Which match tolerance applies to an order line: the most specific row wins."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billguard.procurement.models import MatchTolerance, PurchaseOrder, PurchaseOrderLine
from billguard.procurement.tolerances import tolerance_for
from billguard.registry.models import Party
from tests.factories import make_seller

pytestmark = pytest.mark.django_db

D = Decimal


def _line(vendor: Party, category: str) -> PurchaseOrderLine:
    order = PurchaseOrder.objects.create(
        number=f"PO-{vendor.code}-{category or 'none'}",
        vendor=vendor,
        seller_entity=make_seller(),
        currency="EUR",
        ordered_on=dt.date(2026, 10, 1),
    )
    return PurchaseOrderLine.objects.create(
        purchase_order=order,
        line_number=1,
        description="Cloud hosting",
        category=category,
        quantity=D(10),
        unit_price=D(100),
    )


def _vendor(code: str) -> Party:
    return Party.objects.create(code=code, kind=Party.Kind.VENDOR, name=code, country="DE")


def test_without_rows_nothing_is_tolerated():
    tolerance = tolerance_for(_line(_vendor("V1"), "hosting"))
    assert (tolerance.quantity_percent, tolerance.unit_price_percent, tolerance.amount) == (0, 0, 0)
    assert tolerance.source == "no tolerance set"


def test_most_specific_row_wins():
    vendor = _vendor("V1")
    other = _vendor("V2")
    MatchTolerance.objects.create(unit_price_percent=D(1))
    MatchTolerance.objects.create(category="hosting", unit_price_percent=D(2))
    MatchTolerance.objects.create(vendor=vendor, unit_price_percent=D(3))
    MatchTolerance.objects.create(vendor=vendor, category="hosting", unit_price_percent=D(4))

    assert tolerance_for(_line(vendor, "hosting")).unit_price_percent == D(4)
    assert tolerance_for(_line(vendor, "licences")).unit_price_percent == D(3)
    assert tolerance_for(_line(other, "hosting")).unit_price_percent == D(2)
    default = tolerance_for(_line(other, ""))
    assert default.source == "default tolerance"
    assert default.unit_price_percent == D(1)
