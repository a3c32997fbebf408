"""Whether a vendor's onboarding checklist is complete on a date."""

from __future__ import annotations

import datetime as dt

from billguard.procurement.context import OnboardingStatus
from billguard.procurement.models import OnboardingItem
from billguard.registry.models import Party

# The checklist every vendor completes before it receives orders or is paid.
REQUIRED_ITEMS: tuple[str, ...] = (
    OnboardingItem.Requirement.LEGAL_REVIEW,
    OnboardingItem.Requirement.TAX_FORM,
    OnboardingItem.Requirement.INSURANCE_CERTIFICATE,
    OnboardingItem.Requirement.BANK_DETAILS,
    OnboardingItem.Requirement.PAYMENT_TERMS,
)


def onboarding_status(vendor: Party, *, on: dt.date) -> OnboardingStatus:
    """Return whether every required item of ``vendor`` is done and none has expired on ``on``.

    A document expires at the end of its ``expires_on`` day, so it is still valid on that day.
    """
    items = {item.requirement: item for item in OnboardingItem.objects.filter(vendor=vendor)}
    missing = tuple(
        OnboardingItem.Requirement(requirement).label
        for requirement in REQUIRED_ITEMS
        if requirement not in items or items[requirement].status != OnboardingItem.Status.DONE
    )
    expired = tuple(
        (OnboardingItem.Requirement(item.requirement).label, item.expires_on)
        for item in items.values()
        if item.status == OnboardingItem.Status.DONE
        and item.expires_on is not None
        and item.expires_on < on
    )
    return OnboardingStatus(complete=not missing and not expired, missing=missing, expired=expired)
