"""``billguard scorecards compute`` and ``show``: tables, JSON and the errors of bad input."""

import datetime as dt
import json

import pytest

from billguard.cli.main import main
from billguard.controls.models import AlertDelivery, AlertSubscription, PolicySetting
from billguard.controls.models.alerts import AlertEvent
from billguard.controls.policy import VENDOR_ONBOARDING_KEY
from billguard.procurement.models import OnboardingItem, VendorScore
from billguard.registry.models import Party
from tests.acting_users import make_user
from tests.procurement.scorecard_records import make_order, make_receipt, make_vendor, order_line

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def legal_review_only_required(db):
    """The checklist of these tests requires the legal review alone, the item their vendors
    record; the required items are tested with the document compliance measure."""
    PolicySetting.objects.update_or_create(
        key=VENDOR_ONBOARDING_KEY, defaults={"value": ["legal_review"]}
    )


@pytest.fixture
def buyer(monkeypatch):
    monkeypatch.delenv("BILLGUARD_USER", raising=False)
    return make_user("pat", "procurement")


def late_vendor(code: str = "VEND-1", month: int = 11) -> Party:
    """A vendor with one of two receipts late in the month and its documents in order."""
    vendor = Party.objects.filter(code=code).first() or make_vendor(code)
    order = make_order(
        vendor,
        f"PO-{code}-{month}",
        ordered_on=dt.date(2026, 1, 5),
        lines=[("100.00", dt.date(2026, month, 10))],
    )
    make_receipt(order_line(order), dt.date(2026, month, 9))
    make_receipt(order_line(order), dt.date(2026, month, 11))
    OnboardingItem.objects.get_or_create(
        vendor=vendor,
        requirement=OnboardingItem.Requirement.LEGAL_REVIEW,
        defaults={"status": OnboardingItem.Status.DONE},
    )
    return vendor


def test_compute_prints_scores_and_stores_them(capsys, buyer):
    late_vendor()
    make_vendor("VEND-2")

    status = main(["scorecards", "compute", "--period", "2026-11", "--user", "pat"])

    out = capsys.readouterr().out
    assert status == 0
    assert VendorScore.objects.get().score == 68.75
    assert "scorecards of 2026-11: 2 vendors, 1 scored (1 new" in out
    assert "VEND-1" in out
    assert "68.75" in out
    assert "price variance against the order" in out  # listed as no data
    assert "no weighted component has data: VEND-2" in out


def test_compute_names_alert_and_components(capsys, buyer):
    late_vendor()
    AlertSubscription.objects.create(
        event=AlertEvent.VENDOR_SCORE_DROPPED, channel="email", address="buyer@acme.example"
    )

    status = main(["scorecards", "compute", "--period", "2026-11", "--user", "pat"])

    out = capsys.readouterr().out
    assert status == 0
    assert "alert vendor.score_dropped: VEND-1 scored 68.75, below 70" in out
    assert "pulled down by on-time receipts" in out
    assert AlertDelivery.objects.filter(event=AlertEvent.VENDOR_SCORE_DROPPED).count() == 1


def test_compute_one_vendor(capsys, buyer):
    late_vendor("VEND-1")
    late_vendor("VEND-2")

    status = main(
        ["scorecards", "compute", "--period", "2026-11", "--vendor", "VEND-2", "--user", "pat"]
    )

    assert status == 0
    assert list(VendorScore.objects.values_list("vendor__code", flat=True)) == ["VEND-2"]


@pytest.mark.parametrize("period", ["2026-13", "2026-Q4", "november"])
def test_compute_bad_period_exits_two(capsys, buyer, period):
    status = main(["scorecards", "compute", "--period", period, "--user", "pat"])

    err = capsys.readouterr().err
    assert status == 2
    assert "--period" in err
    assert repr(period) in err
    assert "YYYY-MM" in err


def test_compute_unknown_vendor_exits_two(capsys, buyer):
    make_vendor("VEND-1")

    status = main(
        ["scorecards", "compute", "--period", "2026-11", "--vendor", "VEND-404", "--user", "pat"]
    )

    err = capsys.readouterr().err
    assert status == 2
    assert "--vendor" in err
    assert "'VEND-404' was not found" in err
    assert not VendorScore.objects.exists()


def test_compute_without_user_exits_two(capsys, buyer):
    late_vendor()

    status = main(["scorecards", "compute", "--period", "2026-11"])

    assert status == 2
    assert "--user" in capsys.readouterr().err
    assert not VendorScore.objects.exists()


def test_compute_by_sales_user_exits_two(capsys, buyer):
    late_vendor()
    make_user("sam", "sales")

    status = main(["scorecards", "compute", "--period", "2026-11", "--user", "sam"])

    assert status == 2
    assert "may not compute supplier scorecards" in capsys.readouterr().err
    assert not VendorScore.objects.exists()


def test_show_prints_table_with_trend(capsys, buyer):
    late_vendor("VEND-1", month=10)
    late_vendor("VEND-1", month=11)
    OnboardingItem.objects.filter(vendor__code="VEND-1").update(expires_on=dt.date(2026, 11, 15))
    main(["scorecards", "compute", "--period", "2026-10", "--user", "pat"])
    main(["scorecards", "compute", "--period", "2026-11", "--user", "pat"])
    capsys.readouterr()

    status = main(["scorecards", "show", "--periods", "3"])

    out = capsys.readouterr().out
    assert status == 0
    assert "supplier scores from 2026-09 to 2026-11" in out
    header = next(line for line in out.splitlines() if line.startswith("vendor"))
    for column in ("score", "on-time", "price", "match", "dupes", "changes", "docs", "trend"):
        assert column in header
    row = next(line for line in out.splitlines() if line.startswith("VEND-1"))
    # October (50 and 100 points) scores 68.75; November (50 and 0) scores 31.25.
    assert "2026-11" in row
    assert "31.25" in row
    assert "- 69 31 (-37.50 since 2026-10)" in row
    assert "!" in row


def test_show_json_is_dashboard_data(capsys, buyer):
    late_vendor()
    main(["scorecards", "compute", "--period", "2026-11", "--user", "pat"])
    capsys.readouterr()

    status = main(["scorecards", "show", "--vendor", "VEND-1", "--periods", "2", "--json"])

    data = json.loads(capsys.readouterr().out)
    assert status == 0
    assert data["periods"] == ["2026-10", "2026-11"]
    assert data["vendors"][0]["vendor"] == "VEND-1"
    assert data["vendors"][0]["latest"]["score"] == "68.75"
    assert data["vendors"][0]["latest"]["components"]["document_compliance"]["points"] == ("100.00")


def test_show_without_scores(capsys, buyer):
    status = main(["scorecards", "show", "--until", "2026-11", "--periods", "2"])

    assert status == 0
    assert "no scores stored from 2026-10 to 2026-11" in capsys.readouterr().out


def test_show_unknown_vendor_exits_two(capsys, buyer):
    status = main(["scorecards", "show", "--vendor", "NOPE"])

    assert status == 2
    assert "'NOPE' was not found" in capsys.readouterr().err


def test_show_bad_until_exits_two(capsys, buyer):
    status = main(["scorecards", "show", "--until", "2026/11"])

    err = capsys.readouterr().err
    assert status == 2
    assert "--until" in err
    assert "'2026/11'" in err
