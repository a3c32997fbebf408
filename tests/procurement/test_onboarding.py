"""Vendor onboarding: the profile, the checklist items and the status on a date."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User

from billguard.controls.models import AuditEntry, ChangeRequest
from billguard.controls.policy_yaml import policy_default, policy_replace
from billguard.controls.requests import change_request_approve, change_request_create
from billguard.domain.errors import InvalidInput, NotAllowed, NotFound
from billguard.procurement.models import OnboardingItem, VendorProfile
from billguard.procurement.onboarding import (
    onboarding_checklist,
    onboarding_status,
    vendor_by_code,
    vendor_item_record,
    vendor_profile_set,
)
from billguard.registry.models import Document, Party
from tests.acting_users import make_user
from tests.procurement.vendor_setup import (
    INSURANCE_EXPIRES,
    TODAY,
    make_vendor,
    onboard_fully,
    pdf,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer() -> User:
    return make_user("pat", "procurement")


def states(vendor: Party, on: dt.date = TODAY) -> dict[str, str]:
    return {item.requirement: item.state for item in onboarding_checklist(vendor, on)}


def test_new_vendor_misses_every_item():
    vendor = make_vendor()

    status = onboarding_status(vendor, TODAY)

    assert not status.complete
    assert status.missing == (
        "legal review",
        "tax classification form",
        "insurance certificate",
        "bank details",
        "payment terms",
    )
    assert status.expired == ()


def test_fully_onboarded_vendor_is_complete(buyer):
    vendor = make_vendor()

    onboard_fully(vendor, buyer)

    status = onboarding_status(vendor, TODAY)
    assert status.complete
    assert status.missing == ()
    assert set(states(vendor).values()) == {"done"}


def test_onboarded_at_set_when_complete(buyer):
    vendor = make_vendor()
    onboard_fully(vendor, buyer)
    profile = VendorProfile.objects.get(vendor=vendor)
    assert profile.onboarded_at is not None

    vendor_item_record(
        vendor=vendor, requirement="legal_review", by=buyer, status="rejected", note="Sanctioned"
    )

    profile.refresh_from_db()
    assert profile.onboarded_at is None
    assert onboarding_status(vendor, TODAY).missing == ("legal review",)


def test_onboarded_at_waits_for_bank_account(buyer):
    vendor = make_vendor()
    onboard_fully(vendor, buyer)
    vendor.bank_accounts.all().delete()
    vendor_profile_set(vendor=vendor, by=buyer, category="cloud", today=TODAY)
    assert VendorProfile.objects.get(vendor=vendor).onboarded_at is None

    vendor.bank_accounts.create(iban="DE89370400440532013000", is_primary=True)

    assert VendorProfile.objects.get(vendor=vendor).onboarded_at is not None


def test_insurance_certificate_expires_after_its_date(buyer):
    vendor = make_vendor()
    onboard_fully(vendor, buyer)

    on_expiry = onboarding_status(vendor, INSURANCE_EXPIRES)
    after = onboarding_status(vendor, INSURANCE_EXPIRES + dt.timedelta(days=1))

    assert on_expiry.complete
    assert not after.complete
    assert after.missing == ()
    assert after.expired == (("insurance certificate", INSURANCE_EXPIRES),)


def test_insurance_certificate_stored_as_document(buyer):
    vendor = make_vendor()
    onboard_fully(vendor, buyer)

    item = OnboardingItem.objects.get(vendor=vendor, requirement="insurance_certificate")

    assert item.document.kind == Document.Kind.INSURANCE_CERTIFICATE
    assert item.document.expires_on == INSURANCE_EXPIRES
    assert item.document.family == "VEND-1-insurance_certificate"
    assert item.completed_by == "pat"


def test_insurance_certificate_needs_expiry(buyer):
    vendor = make_vendor()

    with pytest.raises(InvalidInput) as raised:
        vendor_item_record(
            vendor=vendor,
            requirement="insurance_certificate",
            by=buyer,
            content=pdf("certificate"),
        )

    assert raised.value.place == "--expires-on"
    assert not OnboardingItem.objects.exists()
    assert not Document.objects.exists()


def test_document_item_needs_file(buyer):
    vendor = make_vendor()
    vendor_profile_set(vendor=vendor, by=buyer, tax_classification="w9")

    with pytest.raises(InvalidInput) as raised:
        vendor_item_record(vendor=vendor, requirement="tax_form", by=buyer)

    assert raised.value.place == "--file"


def test_tax_form_needs_classification(buyer):
    vendor = make_vendor()

    with pytest.raises(InvalidInput) as raised:
        vendor_item_record(vendor=vendor, requirement="tax_form", by=buyer, content=pdf("Form W-9"))

    assert raised.value.place == "--tax-form"
    assert "vendors profile" in raised.value.fix


def test_w8ben_expires_end_of_third_year(buyer):
    vendor = make_vendor(country="GB")
    vendor_profile_set(vendor=vendor, by=buyer, tax_classification="w8ben")

    item = vendor_item_record(
        vendor=vendor,
        requirement="tax_form",
        by=buyer,
        content=pdf("Form W-8BEN"),
        signed_on=dt.date(2026, 3, 15),
    )

    assert item.expires_on == dt.date(2029, 12, 31)
    assert item.document.kind == Document.Kind.TAX_FORM


def test_w8ben_without_dates_rejected(buyer):
    vendor = make_vendor(country="GB")
    vendor_profile_set(vendor=vendor, by=buyer, tax_classification="w8bene")

    with pytest.raises(InvalidInput) as raised:
        vendor_item_record(
            vendor=vendor, requirement="tax_form", by=buyer, content=pdf("Form W-8BEN-E")
        )

    assert raised.value.place == "--signed-on"
    assert "an IRS Form W-8BEN-E expires" in raised.value.message
    assert "Form IRS" not in raised.value.message


def test_expired_tax_form_reported(buyer):
    vendor = make_vendor(country="GB")
    onboard_fully(vendor, buyer)
    vendor_profile_set(vendor=vendor, by=buyer, tax_classification="w8ben")
    vendor_item_record(
        vendor=vendor,
        requirement="tax_form",
        by=buyer,
        content=pdf("Form W-8BEN 2022"),
        signed_on=dt.date(2022, 5, 2),
        today=dt.date(2022, 5, 2),
    )

    status = onboarding_status(vendor, TODAY)

    assert status.expired == (("tax classification form", dt.date(2025, 12, 31)),)


def test_classification_change_reopens_tax_form(buyer):
    vendor = make_vendor()
    onboard_fully(vendor, buyer)

    vendor_profile_set(vendor=vendor, by=buyer, tax_classification="w8bene")

    item = OnboardingItem.objects.get(vendor=vendor, requirement="tax_form")
    assert item.status == OnboardingItem.Status.PENDING
    assert "W-9" in item.note
    assert onboarding_status(vendor, TODAY).missing == ("tax classification form",)


def test_valid_eu_vat_number_completes_tax_form(buyer):
    vendor = make_vendor(country="DE")

    profile = vendor_profile_set(
        vendor=vendor, by=buyer, tax_classification="eu_vat", vat_number="DE 136 695 976"
    )

    assert profile.vat_number == "DE136695976"
    assert profile.vat_number_valid is True
    assert states(vendor)["tax_form"] == "done"


def test_invalid_eu_vat_number_stored_with_error(buyer):
    vendor = make_vendor(country="DE")

    profile = vendor_profile_set(
        vendor=vendor, by=buyer, tax_classification="eu_vat", vat_number="DE136695977"
    )

    assert profile.vat_number_valid is False
    assert profile.vat_number_error
    assert states(vendor)["tax_form"] == "pending"


def test_eu_vat_needs_number(buyer):
    vendor = make_vendor(country="DE")

    with pytest.raises(InvalidInput) as raised:
        vendor_profile_set(vendor=vendor, by=buyer, tax_classification="eu_vat")

    assert raised.value.place == "--vat-number"
    assert not VendorProfile.objects.exists()


def test_vat_number_on_w9_vendor_rejected(buyer):
    vendor = make_vendor()
    vendor_profile_set(vendor=vendor, by=buyer, tax_classification="w9")

    with pytest.raises(InvalidInput) as raised:
        vendor_profile_set(vendor=vendor, by=buyer, vat_number="DE136695976")

    assert raised.value.place == "--vat-number"
    assert VendorProfile.objects.get().vat_number == ""


def test_vat_number_without_eu_vat_rejected(buyer):
    vendor = make_vendor(country="DE")

    with pytest.raises(InvalidInput) as raised:
        vendor_profile_set(
            vendor=vendor, by=buyer, tax_classification="w9", vat_number="DE136695976"
        )

    assert raised.value.place == "--vat-number"


@pytest.mark.parametrize(
    ("changes", "place"),
    [
        ({"payment_terms_days": -1}, "--payment-terms"),
        ({"payment_terms_days": 400}, "--payment-terms"),
        ({"tax_classification": "w4"}, "--tax-form"),
        ({"category": "x" * 61}, "--category"),
    ],
)
def test_invalid_profile_rejected(buyer, changes, place):
    vendor = make_vendor()

    with pytest.raises(InvalidInput) as raised:
        vendor_profile_set(vendor=vendor, by=buyer, **changes)

    assert raised.value.place == place
    assert not VendorProfile.objects.exists()


def test_profile_change_audited(buyer):
    vendor = make_vendor()

    vendor_profile_set(vendor=vendor, by=buyer, payment_terms_days=45)
    vendor_profile_set(vendor=vendor, by=buyer, payment_terms_days=60)

    entry = AuditEntry.objects.filter(action="vendor_profile.set").order_by("sequence").last()
    assert entry.actor == "pat"
    assert entry.before["payment_terms_days"] == 45
    assert entry.after["payment_terms_days"] == 60


def test_customer_party_rejected(buyer):
    customer = Party.objects.create(code="CUST-1", kind="customer", name="Northwind", country="DE")

    with pytest.raises(InvalidInput) as raised:
        vendor_profile_set(vendor=customer, by=buyer, payment_terms_days=30)

    assert "not a vendor" in str(raised.value)
    assert not VendorProfile.objects.exists()


def test_vendor_by_code_errors():
    Party.objects.create(code="CUST-1", kind="customer", name="Northwind", country="DE")

    with pytest.raises(NotFound):
        vendor_by_code("VEND-404")
    with pytest.raises(InvalidInput):
        vendor_by_code("CUST-1")


@pytest.mark.parametrize("requirement", ["bank_details", "payment_terms"])
def test_derived_items_not_recorded(buyer, requirement):
    vendor = make_vendor()

    with pytest.raises(InvalidInput) as raised:
        vendor_item_record(vendor=vendor, requirement=requirement, by=buyer)

    assert "not recorded by hand" in str(raised.value)
    assert not OnboardingItem.objects.exists()


def test_rejected_item_needs_note(buyer):
    vendor = make_vendor()

    with pytest.raises(InvalidInput) as raised:
        vendor_item_record(vendor=vendor, requirement="legal_review", by=buyer, status="rejected")

    assert raised.value.place == "--note"


@pytest.mark.parametrize(
    ("requirement", "status"),
    [("insurance_certificate", "rejected"), ("legal_review", "done")],
)
def test_file_not_stored_unless_document_done(buyer, requirement, status):
    with pytest.raises(InvalidInput) as raised:
        vendor_item_record(
            vendor=make_vendor(),
            requirement=requirement,
            by=buyer,
            status=status,
            note="Cover below the required amount",
            content=pdf("certificate"),
            expires_on=INSURANCE_EXPIRES,
        )

    assert raised.value.place == "--file"
    assert not Document.objects.exists()
    assert not OnboardingItem.objects.exists()


def test_unknown_requirement_rejected(buyer):
    with pytest.raises(InvalidInput):
        vendor_item_record(vendor=make_vendor(), requirement="credit_check", by=buyer)


def test_role_without_vendor_onboard_refused():
    sales = make_user("sam", "sales")
    vendor = make_vendor()

    with pytest.raises(NotAllowed):
        vendor_profile_set(vendor=vendor, by=sales, payment_terms_days=30)
    with pytest.raises(NotAllowed):
        vendor_item_record(vendor=vendor, requirement="legal_review", by=sales)

    assert not VendorProfile.objects.exists()
    assert not OnboardingItem.objects.exists()


def test_policy_decides_required_items(buyer):
    vendor = make_vendor()
    vendor_profile_set(vendor=vendor, by=buyer, payment_terms_days=30)
    vendor_item_record(vendor=vendor, requirement="legal_review", by=buyer)
    document = policy_default()
    policy_replace(
        document=type(document)(
            **{**document.__dict__, "vendor_onboarding": ("legal_review", "payment_terms")}
        )
    )

    status = onboarding_status(vendor, TODAY)
    checklist = {item.requirement: item for item in onboarding_checklist(vendor, TODAY)}

    assert status.complete
    assert not checklist["insurance_certificate"].required
    assert checklist["insurance_certificate"].state == "pending"


def test_bank_details_done_through_change_request(buyer):
    vendor = make_vendor()
    policy_replace(document=policy_default())
    first = make_user("alex", "finance_approver")
    second = make_user("blake", "finance_approver")
    request = change_request_create(
        by=buyer,
        target="vendor",
        target_id=vendor.pk,
        changes={"iban": "DE89370400440532013000", "account_name": vendor.name},
        reason="Bank details from the vendor's signed letter",
    )
    assert states(vendor)["bank_details"] == "pending"
    detail = {i.requirement: i.detail for i in onboarding_checklist(vendor, TODAY)}
    assert f"change request {request.pk}" in detail["bank_details"]

    change_request_approve(request_id=request.pk, by=first)
    assert states(vendor)["bank_details"] == "pending"
    change_request_approve(request_id=request.pk, by=second)

    assert ChangeRequest.objects.get(pk=request.pk).status == "applied"
    assert states(vendor)["bank_details"] == "done"
