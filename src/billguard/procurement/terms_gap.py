"""Payment terms of vendors compared with the customer contracts that pass their cost through.

When a customer pays later than we pay the vendor whose cost the contract passes through
(a CostLink), we finance the difference: the report lists those contracts with the gap in days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from billguard.procurement.models import CostLink, VendorProfile
from billguard.registry.models import Contract, ContractVersion, Party


@dataclass(frozen=True)
class ContractGap:
    contract: str
    customer: str
    line_codes: tuple[str, ...]
    customer_terms_days: int
    vendor_terms_days: int

    @property
    def gap_days(self) -> int:
        return self.customer_terms_days - self.vendor_terms_days


@dataclass
class VendorTermsGap:
    """One vendor's payment terms and its linked contracts whose customer terms are longer.

    ``vendor_terms_days`` is None when the vendor's profile has no payment terms yet, and the
    contracts cannot be compared.
    """

    vendor: str
    name: str
    vendor_terms_days: int | None
    contracts: list[ContractGap] = field(default_factory=list)
    # Linked contracts without a version in force or without payment terms on it.
    not_compared: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "vendor": self.vendor,
            "name": self.name,
            "vendor_terms_days": self.vendor_terms_days,
            "contracts": [
                {
                    "contract": gap.contract,
                    "customer": gap.customer,
                    "line_codes": list(gap.line_codes),
                    "customer_terms_days": gap.customer_terms_days,
                    "vendor_terms_days": gap.vendor_terms_days,
                    "gap_days": gap.gap_days,
                }
                for gap in self.contracts
            ],
            "not_compared": list(self.not_compared),
        }


def terms_gap_report(on: dt.date) -> list[VendorTermsGap]:
    """Return, per vendor with cost links to active contracts, the contracts whose customer
    payment terms in force on ``on`` are longer than the vendor's payment terms.

    Vendors are listed whether or not they have a gap, so that a missing vendor term shows.
    """
    links = list(
        CostLink.objects.filter(contract__status=Contract.Status.ACTIVE)
        .select_related("vendor", "contract__party")
        .order_by("vendor__code", "contract__number", "line_code")
    )
    terms = dict(
        VendorProfile.objects.filter(vendor_id__in={link.vendor_id for link in links}).values_list(
            "vendor_id", "payment_terms_days"
        )
    )
    customer_terms = _terms_in_force({link.contract_id for link in links}, on)

    by_vendor: dict[int, VendorTermsGap] = {}
    lines: dict[tuple[int, int], list[str]] = {}
    contracts: dict[int, Contract] = {}
    for link in links:
        vendor: Party = link.vendor
        if vendor.pk not in by_vendor:
            by_vendor[vendor.pk] = VendorTermsGap(vendor.code, vendor.name, terms.get(vendor.pk))
        lines.setdefault((vendor.pk, link.contract_id), []).append(link.line_code)
        contracts[link.contract_id] = link.contract

    for (vendor_id, contract_id), codes in lines.items():
        row = by_vendor[vendor_id]
        contract = contracts[contract_id]
        days = customer_terms.get(contract_id)
        if days is None:
            row.not_compared.append(contract.number)
            continue
        if row.vendor_terms_days is not None and days > row.vendor_terms_days:
            row.contracts.append(
                ContractGap(
                    contract.number, contract.party.code, tuple(codes), days, row.vendor_terms_days
                )
            )
    for row in by_vendor.values():
        row.contracts.sort(key=lambda gap: (-gap.gap_days, gap.contract))
    return list(by_vendor.values())


def _terms_in_force(contract_ids: set[int], on: dt.date) -> dict[int, int | None]:
    """Return the payment terms of the version in force on ``on``, per contract id."""
    latest: dict[int, tuple[dt.date, int, int | None]] = {}
    versions = ContractVersion.objects.filter(
        contract_id__in=contract_ids, effective_from__lte=on
    ).values_list("contract_id", "effective_from", "version_number", "payment_terms_days")
    for contract_id, effective_from, number, days in versions:
        current = latest.get(contract_id)
        if current is None or (effective_from, number) > current[:2]:
            latest[contract_id] = (effective_from, number, days)
    return {contract_id: value[2] for contract_id, value in latest.items()}
