"""A vendor's onboarding status on a date: is its checklist done, and is nothing expired?"""

from __future__ import annotations

import datetime as dt

from billguard.procurement.context import OnboardingStatus
from billguard.procurement.models import OnboardingItem
from billguard.registry.models import Party

Requirement = OnboardingItem.Requirement

# Every vendor completes these before it receives orders or is paid.
CHECKLIST: tuple[str, ...] = (
    Requirement.LEGAL_REVIEW,
    Requirement.TAX_FORM,
    Requirement.INSURANCE_CERTIFICATE,
    Requirement.BANK_DETAILS,
    Requirement.PAYMENT_TERMS,
)


def onboarding_status(vendor: Party, on: dt.date) -> OnboardingStatus:
    """Return whether every checklist item of ``vendor`` is done and none expired before ``on``.

    A document stays valid through its ``expires_on`` day.
    """
    items = {item.requirement: item for item in OnboardingItem.objects.filter(vendor=vendor)}
    missing = tuple(
        Requirement(requirement).label
        for requirement in CHECKLIST
        if requirement not in items or items[requirement].status != OnboardingItem.Status.DONE
    )
    expired = tuple(
        (Requirement(item.requirement).label, item.expires_on)
        for item in items.values()
        if item.status == OnboardingItem.Status.DONE
        and item.expires_on is not None
        and item.expires_on < on
    )
    return OnboardingStatus(complete=not missing and not expired, missing=missing, expired=expired)
