"""The vendor document sweep: one vendor.document_expiring alert per document and expiry date."""

from __future__ import annotations

import datetime as dt

import pytest

from billguard.controls.alerts import alert_subscribe
from billguard.controls.models import AlertDelivery, PolicySetting
from billguard.procurement.certifications import vendor_certification_record
from billguard.procurement.expiry import vendor_documents_sweep
from billguard.procurement.models import OnboardingItem, VendorCertification, VendorProfile
from billguard.procurement.onboarding import vendor_item_record
from tests.acting_users import make_user
from tests.procurement.vendor_setup import INSURANCE_EXPIRES, make_vendor, onboard_fully, pdf

pytestmark = pytest.mark.django_db

EVENT = "vendor.document_expiring"
# 30 days before the insurance certificate expires: the default warning window starts.
WINDOW_START = INSURANCE_EXPIRES - dt.timedelta(days=30)


@pytest.fixture
def buyer():
    return make_user("pat", "procurement")


@pytest.fixture
def subscribed():
    return alert_subscribe(event=EVENT, channel="email", address="procurement@example.com")


def deliveries() -> list[AlertDelivery]:
    return list(AlertDelivery.objects.filter(event=EVENT).order_by("pk"))


def test_nothing_alerted_before_window(buyer, subscribed):
    onboard_fully(make_vendor(), buyer)

    counts = vendor_documents_sweep(today=WINDOW_START - dt.timedelta(days=1))

    assert (counts.documents, counts.certifications, counts.deliveries) == (0, 0, 0)
    assert deliveries() == []


def test_expiring_certificate_alerted_once(buyer, subscribed):
    vendor = make_vendor()
    onboard_fully(vendor, buyer)

    first = vendor_documents_sweep(today=WINDOW_START)
    second = vendor_documents_sweep(today=WINDOW_START + dt.timedelta(days=1))

    assert (first.documents, first.deliveries) == (1, 1)
    assert (second.documents, second.deliveries) == (0, 0)
    [delivery] = deliveries()
    data = delivery.payload["data"]
    assert data["vendor"] == "VEND-1"
    assert data["document"] == "insurance_certificate"
    assert data["expires_on"] == INSURANCE_EXPIRES.isoformat()
    assert data["days_left"] == 30
    assert "VEND-1" in delivery.payload["subject"]
    item = OnboardingItem.objects.get(vendor=vendor, requirement="insurance_certificate")
    assert item.expiry_alerted_on == INSURANCE_EXPIRES


def test_renewed_certificate_alerted_again(buyer, subscribed):
    vendor = make_vendor()
    onboard_fully(vendor, buyer)
    vendor_documents_sweep(today=WINDOW_START)
    renewed = INSURANCE_EXPIRES + dt.timedelta(days=365)
    vendor_item_record(
        vendor=vendor,
        requirement="insurance_certificate",
        by=buyer,
        content=pdf("Renewed certificate"),
        expires_on=renewed,
    )

    quiet = vendor_documents_sweep(today=WINDOW_START + dt.timedelta(days=2))
    again = vendor_documents_sweep(today=renewed - dt.timedelta(days=10))

    assert quiet.documents == 0
    assert again.documents == 1
    assert [d.payload["data"]["expires_on"] for d in deliveries()] == [
        INSURANCE_EXPIRES.isoformat(),
        renewed.isoformat(),
    ]


def test_already_expired_document_alerted(buyer, subscribed):
    onboard_fully(make_vendor(), buyer)

    counts = vendor_documents_sweep(today=INSURANCE_EXPIRES + dt.timedelta(days=40))

    assert counts.documents == 1
    assert "expired on" in deliveries()[0].payload["subject"]


def test_certification_alerted(buyer, subscribed):
    vendor = make_vendor()
    vendor_certification_record(
        vendor=vendor,
        kind="sustainability",
        name="ISO 14001",
        by=buyer,
        expires_on=dt.date(2026, 12, 1),
    )

    counts = vendor_documents_sweep(today=dt.date(2026, 11, 20))

    assert (counts.documents, counts.certifications) == (0, 1)
    assert deliveries()[0].payload["data"]["name"] == "ISO 14001"
    certification = VendorCertification.objects.get()
    assert certification.expiry_alerted_on == dt.date(2026, 12, 1)


def test_window_follows_policy(buyer, subscribed):
    onboard_fully(make_vendor(), buyer)
    PolicySetting.objects.create(key="vendor_document_warning_days", value=60)

    counts = vendor_documents_sweep(today=INSURANCE_EXPIRES - dt.timedelta(days=45))

    assert counts.documents == 1


def test_sweep_clears_onboarded_at_after_expiry(buyer):
    vendor = make_vendor()
    onboard_fully(vendor, buyer)
    assert VendorProfile.objects.get(vendor=vendor).onboarded_at is not None

    vendor_documents_sweep(today=INSURANCE_EXPIRES + dt.timedelta(days=1))

    assert VendorProfile.objects.get(vendor=vendor).onboarded_at is None


def test_merged_vendor_not_alerted(buyer, subscribed):
    vendor = make_vendor()
    onboard_fully(vendor, buyer)
    survivor = make_vendor("VEND-2")
    vendor.merged_into = survivor
    vendor.save(update_fields=["merged_into"])

    assert vendor_documents_sweep(today=WINDOW_START).documents == 0
