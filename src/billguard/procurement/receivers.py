"""Receivers that keep the vendor onboarding state in step with records of other apps."""

from __future__ import annotations

from typing import Any

from billguard.registry.models import VendorBankAccount


def bank_account_saved(
    sender: type[VendorBankAccount], instance: VendorBankAccount, **_: Any
) -> None:
    """Refresh the vendor's onboarded_at once an approved change request saved its bank account."""
    from billguard.procurement.onboarding import vendor_onboarding_refresh

    vendor_onboarding_refresh(instance.party)
