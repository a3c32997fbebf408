"""Vendors in a known onboarding state, for the onboarding tests."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User

from billguard.procurement.onboarding import vendor_item_record, vendor_profile_set
from billguard.registry.models import Party, VendorBankAccount
from billguard.sample.pdf import text_pdf

TODAY = dt.date(2026, 11, 1)
INSURANCE_EXPIRES = dt.date(2027, 6, 30)


def make_vendor(code: str = "VEND-1", *, country: str = "US", name: str = "") -> Party:
    return Party.objects.create(
        code=code, kind=Party.Kind.VENDOR, name=name or f"Vendor {code}", country=country
    )


def pdf(text: str) -> bytes:
    return text_pdf(text)


def onboard_fully(
    vendor: Party,
    by: User,
    *,
    insurance_expires: dt.date = INSURANCE_EXPIRES,
    payment_terms_days: int = 30,
) -> None:
    """Complete every checklist item of ``vendor``, writing the bank account directly."""
    vendor_profile_set(
        vendor=vendor,
        by=by,
        category="hosting",
        payment_terms_days=payment_terms_days,
        tax_classification="w9",
        today=TODAY,
    )
    vendor_item_record(vendor=vendor, requirement="legal_review", by=by, today=TODAY)
    vendor_item_record(
        vendor=vendor,
        requirement="tax_form",
        by=by,
        content=pdf(f"Form W-9 {vendor.code}"),
        file_name="w9.pdf",
        signed_on=dt.date(2026, 1, 10),
        today=TODAY,
    )
    vendor_item_record(
        vendor=vendor,
        requirement="insurance_certificate",
        by=by,
        content=pdf(f"Certificate of liability insurance {vendor.code}"),
        file_name="coi.pdf",
        expires_on=insurance_expires,
        today=TODAY,
    )
    VendorBankAccount.objects.create(party=vendor, iban="DE89370400440532013000", is_primary=True)
