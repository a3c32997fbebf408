"""The stored scores read back: a vendor's trend and the data of a scorecard view."""

import datetime as dt
import json
from decimal import Decimal

import pytest

from billguard.controls.models import PolicySetting
from billguard.controls.policy import VENDOR_ONBOARDING_KEY
from billguard.domain.errors import InvalidInput, NotFound
from billguard.procurement.scorecard_selectors import (
    months_until,
    scorecards_overview,
    vendor_by_code,
    vendor_score_trend,
)
from billguard.procurement.scorecards import vendor_scores_compute
from billguard.registry.models import Party
from tests.procurement.scorecard_records import make_order, make_receipt, make_vendor, order_line

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def legal_review_only_required(db):
    """The checklist of these tests requires the legal review alone, the item their vendors
    record; the required items are tested with the document compliance measure."""
    PolicySetting.objects.update_or_create(
        key=VENDOR_ONBOARDING_KEY, defaults={"value": ["legal_review"]}
    )


D = Decimal


def receipts(vendor: Party, month: int, *, on_time: int, late: int) -> None:
    """Receipts in 2026-``month`` against a line expected on the 15th, ordered in January."""
    order = make_order(
        vendor,
        f"PO-{vendor.code}-{month}",
        ordered_on=dt.date(2026, 1, 5),
        lines=[("10.00", dt.date(2026, month, 15))],
    )
    for _ in range(on_time):
        make_receipt(order_line(order), dt.date(2026, month, 14))
    for _ in range(late):
        make_receipt(order_line(order), dt.date(2026, month, 16))


def scored_history() -> Party:
    """VEND-1 scores 100 in August, 50 in October and 0 in November, none in September."""
    vendor = make_vendor("VEND-1")
    receipts(vendor, 8, on_time=1, late=0)
    receipts(vendor, 10, on_time=1, late=1)
    receipts(vendor, 11, on_time=0, late=1)
    for period in ("2026-08", "2026-10", "2026-11"):
        vendor_scores_compute(period=period)
    return vendor


def test_months_until_crosses_year():
    assert months_until("2027-02", 4) == ["2026-11", "2026-12", "2027-01", "2027-02"]


def test_trend_lists_each_month_oldest_first():
    vendor = scored_history()

    trend = vendor_score_trend(vendor, periods=4)

    assert [(point.period, point.score) for point in trend] == [
        ("2026-08", D("100.00")),
        ("2026-09", None),
        ("2026-10", D("50.00")),
        ("2026-11", D("0.00")),
    ]


def test_trend_until_earlier_month():
    vendor = scored_history()

    trend = vendor_score_trend(vendor, periods=2, until="2026-10")

    assert [(point.period, point.score) for point in trend] == [
        ("2026-09", None),
        ("2026-10", D("50.00")),
    ]


def test_overview_gives_scores_components_and_change():
    scored_history()

    overview = scorecards_overview(periods=4)

    assert overview["periods"] == ["2026-08", "2026-09", "2026-10", "2026-11"]
    assert overview["threshold"] == 70
    assert overview["weights"]["on_time_receipts"] == 25
    (vendor,) = overview["vendors"]
    assert vendor["vendor"] == "VEND-1"
    assert [item["score"] for item in vendor["scores"]] == ["100.00", None, "50.00", "0.00"]
    assert vendor["latest"]["period"] == "2026-11"
    assert vendor["latest"]["below_threshold"] is True
    assert vendor["latest"]["alerted"] is True
    assert vendor["latest"]["components"]["on_time_receipts"]["points"] == "0.00"
    assert vendor["latest"]["components"]["price_variance"]["status"] == "no_data"
    assert vendor["trend"] == {"change": "-50.00", "direction": "down", "since": "2026-10"}


def test_overview_is_json_ready():
    scored_history()

    overview = scorecards_overview(periods=3)

    assert json.loads(json.dumps(overview)) == overview


def test_overview_lists_only_vendors_with_scores():
    scored_history()
    make_vendor("VEND-2")

    overview = scorecards_overview(periods=12)

    assert [vendor["vendor"] for vendor in overview["vendors"]] == ["VEND-1"]


def test_overview_of_one_vendor_without_scores():
    scored_history()
    quiet = make_vendor("VEND-2")

    overview = scorecards_overview(vendor=quiet, periods=2, until="2026-11")

    (vendor,) = overview["vendors"]
    assert vendor["vendor"] == "VEND-2"
    assert vendor["latest"] is None
    assert vendor["scores"] == [
        {"period": "2026-10", "score": None, "alerted": False},
        {"period": "2026-11", "score": None, "alerted": False},
    ]
    assert vendor["trend"]["direction"] is None


def test_overview_rejects_zero_periods():
    with pytest.raises(InvalidInput):
        scorecards_overview(periods=0)


def test_vendor_by_code_names_unknown_code():
    make_vendor("VEND-1")

    with pytest.raises(NotFound) as raised:
        vendor_by_code("VEND-404", place="--vendor")

    assert raised.value.place == "--vendor"
    assert "VEND-404" in str(raised.value)
    assert "VEND-1" in str(raised.value)


def test_vendor_by_code_rejects_customer():
    Party.objects.create(code="CUST-1", kind="customer", name="Northwind", country="DE")

    with pytest.raises(InvalidInput) as raised:
        vendor_by_code("CUST-1")

    assert "not a vendor" in str(raised.value)
