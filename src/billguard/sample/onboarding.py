"""Onboarding of the sample company's vendors, with two vendors that show the vendor checks.

Every vendor gets a profile, a legal review, its tax classification (an IRS Form W-9 for US
vendors, the EU VAT number for the others), an insurance certificate and its bank details.
The bank details go through a change request that two finance approvers approve. Two vendors are not
onboarded: the second vendor's insurance certificate expired before the as-of date
(VENDOR_DOCUMENT_EXPIRED), and the first US vendor never sent its W-9 (VENDOR_NOT_ONBOARDED).
A few vendors hold certifications, one of which expires within the warning window, so that
``billguard vendors sweep`` has an alert to raise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import User
from stdnum import iban as stdnum_iban

from billguard.controls.models.policy import Target
from billguard.controls.requests import change_request_approve, change_request_create
from billguard.procurement.certifications import vendor_certification_record
from billguard.procurement.onboarding import (
    vendor_item_record,
    vendor_onboarding_refresh,
    vendor_profile_set,
)
from billguard.registry.models import Party
from billguard.sample import reference_data as ref
from billguard.sample.calendar import AS_OF
from billguard.sample.pdf import text_pdf
from billguard.sample.plans import Book

# Index in the sample's vendor list of the vendor whose insurance certificate has expired.
EXPIRED_INSURANCE_VENDOR = 1
EXPIRED_INSURANCE_ON = dt.date(2026, 9, 30)
INSURANCE_EXPIRES = dt.date(2027, 3, 31)
LEGAL_REVIEWED_ON = dt.date(2026, 1, 12)
CATEGORIES = {"5000": "subcontractors", "5100": "hosting", "6000": "software"}
# Payment terms in days where a vendor differs from the usual 30: freelancers are paid
# faster, a software reseller later.
PAYMENT_TERMS = {2: 14, 5: 45}
STANDARD_PAYMENT_TERMS = 30
# Country code and bank part of the IBAN per vendor country. The account number follows.
# NOTE: the bank account record stores IBANs only, so US vendors are paid to euro accounts
# in Ireland. A US account (ABA routing number) cannot be recorded yet.
BANKS = {"DE": ("DE", "37040044"), "NL": ("NL", "ABNA"), "FR": ("FR", "2004101005")}
US_BANK = ("IE", "AIBK931152")
ACCOUNT_DIGITS = {"DE": 10, "NL": 10, "FR": 11, "IE": 8}
FR_RIB_KEY = "06"


@dataclass(frozen=True)
class SampleCertification:
    vendor_index: int
    kind: str
    name: str
    issued_on: dt.date
    expires_on: dt.date


CERTIFICATIONS = (
    SampleCertification(
        0, "sustainability", "ISO 14001", dt.date(2025, 6, 1), dt.date(2028, 5, 31)
    ),
    # Expires 19 days after the as-of date, inside the default 30-day warning window.
    SampleCertification(
        0, "security", "ISO/IEC 27001", dt.date(2023, 11, 21), dt.date(2026, 11, 20)
    ),
    SampleCertification(
        2,
        "diversity",
        "Women-owned business (WEConnect International)",
        dt.date(2026, 2, 1),
        dt.date(2027, 1, 31),
    ),
)


def onboard_sample_vendors(book: Book) -> None:
    """Onboard the vendors of ``book`` as pat.procurement, as of the sample's as-of date."""
    buyer = User.objects.get(username="pat.procurement")
    approvers = [User.objects.get(username=name) for name in ("alex.approver", "blake.approver")]
    vendors = [Party.objects.get(code=plan.code) for plan in book.vendors]
    first_us = next(index for index, vendor in enumerate(vendors) if vendor.country == "US")

    for index, vendor in enumerate(vendors):
        _profile(vendor, index, buyer)
        vendor_item_record(
            vendor=vendor,
            requirement="legal_review",
            by=buyer,
            note=f"Master agreement reviewed on {LEGAL_REVIEWED_ON}",
            today=AS_OF,
        )
        if vendor.country == "US" and index != first_us:
            _w9(vendor, buyer)
        _insurance(vendor, index, buyer)
        _bank_details(vendor, index, buyer, approvers)
        # Saving the bank account refreshed onboarded_at as of the real date: redo it as of
        # the sample's date, so that the sample is the same on any day.
        vendor_onboarding_refresh(vendor, today=AS_OF)

    for certification in CERTIFICATIONS:
        if certification.vendor_index >= len(vendors):
            continue
        vendor = vendors[certification.vendor_index]
        vendor_certification_record(
            vendor=vendor,
            kind=certification.kind,
            name=certification.name,
            by=buyer,
            content=text_pdf(f"{certification.name} certificate of {vendor.name}"),
            file_name=f"{certification.kind}-{vendor.code}.pdf",
            issued_on=certification.issued_on,
            expires_on=certification.expires_on,
        )


def _profile(vendor: Party, index: int, buyer: User) -> None:
    gl_account = ref.VENDORS[index][3]
    eu = vendor.country != "US"
    vat_number = (
        vendor.tax_id if vendor.tax_id[:2].isalpha() else f"{vendor.country}{vendor.tax_id}"
    )
    vendor_profile_set(
        vendor=vendor,
        by=buyer,
        category=CATEGORIES[gl_account],
        payment_terms_days=PAYMENT_TERMS.get(index, STANDARD_PAYMENT_TERMS),
        tax_classification="eu_vat" if eu else "w9",
        vat_number=vat_number if eu else None,
        today=AS_OF,
    )


def _w9(vendor: Party, buyer: User) -> None:
    vendor_item_record(
        vendor=vendor,
        requirement="tax_form",
        by=buyer,
        content=text_pdf(f"Form W-9, Request for Taxpayer Identification Number: {vendor.name}"),
        file_name=f"w9-{vendor.code}.pdf",
        signed_on=dt.date(2026, 1, 8),
        today=AS_OF,
    )


def _insurance(vendor: Party, index: int, buyer: User) -> None:
    expired = index == EXPIRED_INSURANCE_VENDOR
    expires_on = EXPIRED_INSURANCE_ON if expired else INSURANCE_EXPIRES
    signed_on = expires_on.replace(year=expires_on.year - 1) + dt.timedelta(days=1)
    # The expired certificate was recorded while it was valid: an expired one is refused.
    vendor_item_record(
        vendor=vendor,
        requirement="insurance_certificate",
        by=buyer,
        content=text_pdf(f"Certificate of liability insurance: {vendor.name}, to {expires_on}"),
        file_name=f"insurance-{vendor.code}.pdf",
        signed_on=signed_on,
        expires_on=expires_on,
        today=signed_on if expired else AS_OF,
    )


def _bank_details(vendor: Party, index: int, buyer: User, approvers: list[User]) -> None:
    request = change_request_create(
        by=buyer,
        target=Target.VENDOR,
        target_id=vendor.pk,
        changes={"iban": _iban(vendor.country, index), "account_name": vendor.name},
        reason="Bank details from the vendor's signed bank letter, confirmed by phone.",
    )
    for approver in approvers:
        change_request_approve(request_id=request.pk, by=approver, reason="Call-back done.")


def _iban(country: str, index: int) -> str:
    """Return a valid IBAN (ISO 13616 check digits) for the vendor's bank and account."""
    country_code, bank = BANKS.get(country, US_BANK)
    account = f"{4711 + index:0{ACCOUNT_DIGITS[country_code]}d}"
    if country_code == "FR":
        account += FR_RIB_KEY
    bban = f"{bank}{account}"
    check = stdnum_iban.calc_check_digits(f"{country_code}00{bban}")
    return str(stdnum_iban.validate(f"{country_code}{check}{bban}"))
