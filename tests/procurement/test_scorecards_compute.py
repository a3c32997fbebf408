"""Computing, storing and alerting supplier scores, with the weights of the policy."""

import datetime as dt
from decimal import Decimal

import pytest

from billguard.controls.models import AlertDelivery, AlertSubscription, AuditEntry, PolicySetting
from billguard.controls.models.alerts import AlertEvent
from billguard.controls.policy import VENDOR_ONBOARDING_KEY
from billguard.controls.policy_yaml import policy_default, policy_load_yaml, policy_replace
from billguard.domain.errors import InvalidInput, NotAllowed
from billguard.procurement.models import OnboardingItem, VendorProfile, VendorScore
from billguard.procurement.scorecards import vendor_scores_compute
from billguard.registry.models import Party, VendorBankAccount
from tests.acting_users import make_user
from tests.procurement.scorecard_records import (
    make_invoice,
    make_order,
    make_receipt,
    make_vendor,
    order_line,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def legal_review_only_required(db):
    """The checklist of these tests requires the legal review alone, the item their vendors
    record; the required items are tested with the document compliance measure."""
    PolicySetting.objects.update_or_create(
        key=VENDOR_ONBOARDING_KEY, defaults={"value": ["legal_review"]}
    )


D = Decimal


def half_on_time(vendor: Party, *, month: int = 11, number: str = "PO-1") -> None:
    """Two receipts in the month, one on time and one late: 50 points of on-time receipts."""
    order = make_order(
        vendor,
        number,
        ordered_on=dt.date(2026, 1, 5),
        lines=[("100.00", dt.date(2026, month, 10)), ("50.00", dt.date(2026, month, 10))],
    )
    make_receipt(order_line(order, 1), dt.date(2026, month, 9))
    make_receipt(order_line(order, 2), dt.date(2026, month, 12))


def documents_in_order(vendor: Party) -> None:
    """Every checklist item done and valid: 100 points of document compliance, whichever
    items the policy requires."""
    OnboardingItem.objects.bulk_create(
        OnboardingItem(vendor=vendor, requirement=requirement, status=OnboardingItem.Status.DONE)
        for requirement in OnboardingItem.Requirement.values
    )
    VendorProfile.objects.create(
        vendor=vendor, payment_terms_days=30, tax_classification=VendorProfile.TaxForm.W9
    )
    VendorBankAccount.objects.create(party=vendor, iban="DE89370400440532013000")


def subscribe_to_score_alerts() -> AlertSubscription:
    return AlertSubscription.objects.create(
        event=AlertEvent.VENDOR_SCORE_DROPPED, channel="email", address="buyer@acme.example"
    )


def score_alerts() -> list[AlertDelivery]:
    return list(AlertDelivery.objects.filter(event=AlertEvent.VENDOR_SCORE_DROPPED))


def set_weights(**weights: int) -> None:
    lines = "\n".join(f"    {name}: {value}" for name, value in weights.items())
    document = policy_load_yaml(f"scorecard:\n  weights:\n{lines}\n", "weights.yaml")
    policy_replace(document=document)


ZERO_WEIGHTS = {
    "on_time_receipts": 0,
    "price_variance": 0,
    "match_exceptions": 0,
    "duplicate_attempts": 0,
    "change_requests": 0,
    "document_compliance": 0,
}


# Rescaling and weights --------------------------------------------------------------------


def test_missing_components_are_rescaled_out():
    vendor = make_vendor()
    half_on_time(vendor)
    documents_in_order(vendor)

    run = vendor_scores_compute(period="2026-11")

    card = run.scorecards[0]
    # Default weights 25 and 15 over the two components with data: (50*25 + 100*15) / 40.
    assert card.score == D("68.75")
    assert card.no_data == [
        "price_variance",
        "match_exceptions",
        "duplicate_attempts",
        "change_requests",
    ]
    shares = {c.name: c.share for c in card.components}
    assert shares["on_time_receipts"] == D("62.50")
    assert shares["document_compliance"] == D("37.50")
    assert shares["price_variance"] is None


def test_weights_come_from_policy():
    vendor = make_vendor()
    half_on_time(vendor)
    documents_in_order(vendor)
    set_weights(**{**ZERO_WEIGHTS, "on_time_receipts": 1, "document_compliance": 3})

    card = vendor_scores_compute(period="2026-11").scorecards[0]

    # (50*1 + 100*3) / 4
    assert card.score == D("87.50")


def test_zero_weight_component_not_counted():
    vendor = make_vendor()
    half_on_time(vendor)
    documents_in_order(vendor)
    set_weights(**{**ZERO_WEIGHTS, "document_compliance": 5})

    card = vendor_scores_compute(period="2026-11").scorecards[0]

    assert card.score == D("100.00")
    on_time = next(c for c in card.components if c.name == "on_time_receipts")
    assert on_time.status == "not_weighted"
    assert on_time.points == D("50.00")
    assert on_time.share is None


def test_policy_without_scorecard_section_uses_default_weights():
    vendor = make_vendor()
    half_on_time(vendor)
    documents_in_order(vendor)
    policy_replace(document=policy_load_yaml("settings:\n  request_expiry_days: 7\n", "p.yaml"))

    card = vendor_scores_compute(period="2026-11").scorecards[0]

    assert not PolicySetting.objects.filter(key="scorecard").exists()
    assert card.score == D("68.75")


def test_scales_come_from_policy():
    vendor = make_vendor()
    order = make_order(vendor, "PO-1", lines=[("100.00", None)])
    make_invoice(vendor, "INV-1", lines=[(order_line(order), "105.00")])
    weights = {**ZERO_WEIGHTS, "price_variance": 1}
    text = (
        "scorecard:\n  weights:\n"
        + "".join(f"    {name}: {value}\n" for name, value in weights.items())
        + "  zero_points_at:\n    price_variance_percent: 20\n"
    )
    policy_replace(document=policy_load_yaml(text, "p.yaml"))

    card = vendor_scores_compute(period="2026-11").scorecards[0]

    # 5 % of a 20 % scale is a quarter of the points.
    assert card.score == D("75.00")


def test_vendor_without_data_gets_no_score():
    with_data, without = make_vendor("VEND-1"), make_vendor("VEND-2")
    documents_in_order(with_data)

    run = vendor_scores_compute(period="2026-11")

    cards = {card.vendor_code: card for card in run.scorecards}
    assert cards["VEND-1"].score == D("100.00")
    assert cards["VEND-2"].score is None
    assert list(VendorScore.objects.values_list("vendor__code", flat=True)) == ["VEND-1"]
    assert without.pk not in VendorScore.objects.values_list("vendor_id", flat=True)


# Storing ----------------------------------------------------------------------------------


def test_score_is_stored_with_components():
    vendor = make_vendor()
    half_on_time(vendor)

    run = vendor_scores_compute(period="2026-11")

    row = VendorScore.objects.get(vendor=vendor, period="2026-11")
    assert run.created == 1
    assert row.score == D("50.00")
    assert row.components["on_time_receipts"]["points"] == "50.00"
    assert row.components["on_time_receipts"]["measure"] == "0.5000"
    assert row.components["on_time_receipts"]["detail"] == "1 of 2 receipts on time"
    assert row.components["price_variance"]["status"] == "no_data"


def test_compute_again_updates_same_row():
    vendor = make_vendor()
    half_on_time(vendor)
    vendor_scores_compute(period="2026-11")
    order = make_order(vendor, "PO-2", lines=[("10.00", dt.date(2026, 11, 1))])
    make_receipt(order_line(order), dt.date(2026, 11, 2))

    run = vendor_scores_compute(period="2026-11")

    assert VendorScore.objects.count() == 1
    assert VendorScore.objects.get().score == D("33.33")
    assert (run.created, run.changed, run.unchanged) == (0, 1, 0)


def test_compute_again_without_change_is_unchanged():
    vendor = make_vendor()
    documents_in_order(vendor)
    vendor_scores_compute(period="2026-11")
    entries = AuditEntry.objects.count()

    run = vendor_scores_compute(period="2026-11")

    assert (run.created, run.changed, run.unchanged) == (0, 0, 1)
    assert AuditEntry.objects.count() == entries


def test_score_without_data_any_more_is_removed():
    vendor = make_vendor()
    documents_in_order(vendor)
    vendor_scores_compute(period="2026-11")
    OnboardingItem.objects.all().delete()

    run = vendor_scores_compute(period="2026-11")

    assert run.removed == 1
    assert not VendorScore.objects.exists()
    assert AuditEntry.objects.filter(action="vendor_score.remove").count() == 1


def test_compute_records_audit_entry_with_actor():
    vendor = make_vendor()
    documents_in_order(vendor)
    buyer = make_user("pat", "procurement")

    vendor_scores_compute(period="2026-11", by=buyer)

    entry = AuditEntry.objects.get(action="vendor_score.compute")
    assert entry.actor == "pat"
    assert entry.record_id == str(VendorScore.objects.get().pk)
    assert entry.after["score"] == "100.00"


def test_one_vendor_leaves_others_alone():
    first, second = make_vendor("VEND-1"), make_vendor("VEND-2")
    documents_in_order(first)
    documents_in_order(second)

    run = vendor_scores_compute(period="2026-11", vendor=second)

    assert [card.vendor_code for card in run.scorecards] == ["VEND-2"]
    assert list(VendorScore.objects.values_list("vendor__code", flat=True)) == ["VEND-2"]


def test_merged_vendor_is_skipped():
    survivor = make_vendor("VEND-1")
    merged = make_vendor("VEND-9")
    merged.merged_into = survivor
    merged.save()
    documents_in_order(survivor)
    documents_in_order(merged)

    run = vendor_scores_compute(period="2026-11")

    assert [card.vendor_code for card in run.scorecards] == ["VEND-1"]


# Alerts -----------------------------------------------------------------------------------


def test_low_score_alerts_once_per_vendor_and_period():
    vendor = make_vendor()
    half_on_time(vendor)
    documents_in_order(vendor)
    subscribe_to_score_alerts()

    first = vendor_scores_compute(period="2026-11")
    second = vendor_scores_compute(period="2026-11")

    assert first.alerts == ["VEND-1"]
    assert second.alerts == []
    assert len(score_alerts()) == 1
    assert VendorScore.objects.get().alerted is True


def test_alert_names_components_that_pulled_score_down():
    vendor = make_vendor()
    half_on_time(vendor)
    documents_in_order(vendor)
    subscribe_to_score_alerts()

    vendor_scores_compute(period="2026-11")

    payload = score_alerts()[0].payload
    data = payload["data"]
    assert data["vendor"] == "VEND-1"
    assert data["period"] == "2026-11"
    assert data["score"] == "68.75"
    assert data["threshold"] == "70"
    assert [item["component"] for item in data["pulled_down"]] == ["on_time_receipts"]
    assert data["pulled_down"][0]["points_lost"] == "31.25"
    assert "on-time receipts" in payload["subject"]
    assert "price_variance" in data["no_data"]


def test_score_at_threshold_does_not_alert():
    vendor = make_vendor()
    half_on_time(vendor)
    documents_in_order(vendor)
    # (50*3 + 100*2) / 5 = 70, the default threshold.
    set_weights(**{**ZERO_WEIGHTS, "on_time_receipts": 3, "document_compliance": 2})
    subscribe_to_score_alerts()

    run = vendor_scores_compute(period="2026-11")

    assert run.scorecards[0].score == D("70.00")
    assert run.alerts == []
    assert score_alerts() == []
    assert VendorScore.objects.get().alerted is False


def test_alert_again_in_next_period():
    vendor = make_vendor()
    half_on_time(vendor, month=10, number="PO-10")
    half_on_time(vendor, month=11, number="PO-11")
    subscribe_to_score_alerts()

    vendor_scores_compute(period="2026-10")
    vendor_scores_compute(period="2026-11")

    assert sorted(alert.payload["data"]["period"] for alert in score_alerts()) == [
        "2026-10",
        "2026-11",
    ]


def test_alert_is_marked_without_subscription():
    vendor = make_vendor()
    half_on_time(vendor)
    vendor_scores_compute(period="2026-11")
    subscribe_to_score_alerts()

    run = vendor_scores_compute(period="2026-11")

    assert VendorScore.objects.get().alerted is True
    assert run.alerts == []
    assert score_alerts() == []


# Bad input and permissions ----------------------------------------------------------------


@pytest.mark.parametrize("period", ["2026-13", "2026-Q4", "2026", "11/2026", "", "2026-1"])
def test_period_must_be_month(period):
    with pytest.raises(InvalidInput) as raised:
        vendor_scores_compute(period=period)

    assert raised.value.place == "period"
    assert "YYYY-MM" in str(raised.value)


def test_future_period_is_rejected():
    with pytest.raises(InvalidInput) as raised:
        vendor_scores_compute(period="2999-01")

    assert "has not started" in str(raised.value)


def test_customer_is_not_scored():
    customer = Party.objects.create(code="CUST-1", kind="customer", name="Northwind", country="DE")

    with pytest.raises(InvalidInput) as raised:
        vendor_scores_compute(period="2026-11", vendor=customer)

    assert "not a vendor" in str(raised.value)


def test_merged_vendor_names_survivor():
    survivor = make_vendor("VEND-1")
    merged = make_vendor("VEND-9")
    merged.merged_into = survivor
    merged.save()

    with pytest.raises(InvalidInput) as raised:
        vendor_scores_compute(period="2026-11", vendor=merged)

    assert "VEND-1" in str(raised.value)


def test_sales_user_may_not_compute():
    vendor = make_vendor()
    documents_in_order(vendor)
    sales = make_user("sam", "sales")

    with pytest.raises(NotAllowed):
        vendor_scores_compute(period="2026-11", by=sales)

    assert not VendorScore.objects.exists()


def test_default_policy_weights_match_seeded_ones():
    assert dict(policy_default().scorecard.weights) == {
        "on_time_receipts": 25,
        "price_variance": 20,
        "match_exceptions": 20,
        "duplicate_attempts": 10,
        "change_requests": 10,
        "document_compliance": 15,
    }
