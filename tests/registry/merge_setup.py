"""Builders for the party merge tests: duplicate parties with records on every relation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User

from billguard.controls.merge_applier import party_merge_request
from billguard.controls.models import ChangeRequest
from billguard.controls.requests import change_request_approve
from billguard.procurement.models import (
    CostLink,
    MatchTolerance,
    OnboardingItem,
    PurchaseOrder,
    VendorCertification,
    VendorInvoice,
    VendorProfile,
    VendorScore,
)
from billguard.registry.models import (
    BillToEntity,
    Contract,
    DuplicateCandidate,
    Party,
    PartyMerge,
    VendorBankAccount,
)
from billguard.registry.services.parties import party_create
from billguard.registry.terms import LineTerms
from tests.acting_users import make_user
from tests.factories import make_contract, make_seller

D = Decimal


@dataclass
class Actors:
    maker: User
    checker: User


def actors() -> Actors:
    """A finance user who requests merges and a finance approver who approves them."""
    return Actors(
        maker=make_user("fran.finance", "finance"),
        checker=make_user("alex.approver", "finance_approver"),
    )


@dataclass
class Customers:
    survivor: Party
    merged: Party
    survivor_contract: Contract
    merged_contract: Contract
    merged_bill_to: BillToEntity


def duplicate_customers() -> Customers:
    """Two customer records of one company, each with an active contract billed monthly."""
    kept = make_contract("C-100", customer_code="CUST-100")
    # Another PO and price, so that the two contracts' invoices are no duplicates once
    # they belong to one party.
    other_service = LineTerms(
        line_code="L1",
        kind="recurring_fixed",
        description="Support desk, monthly fee",
        unit_price=D("1500.00"),
        quantity=D("1"),
        gl_account="4000",
    )
    duplicate = make_contract(
        "C-200", customer_code="CUST-200", customer_po="PO-9902", lines=[other_service]
    )
    return Customers(
        survivor=kept.party,
        merged=duplicate.party,
        survivor_contract=kept.contract,
        merged_contract=duplicate.contract,
        merged_bill_to=duplicate.bill_to,
    )


def candidate_for(first: Party, second: Party, reason: str = "same tax ID") -> DuplicateCandidate:
    low, high = sorted((first, second), key=lambda party: party.pk)
    return DuplicateCandidate.objects.create(
        party=low, other_party=high, match_probability=D("0.97"), reason=reason
    )


@dataclass
class Vendors:
    survivor: Party
    merged: Party


def vendor(code: str, *, country: str = "DE") -> Party:
    return party_create(code=code, kind="vendor", name=f"Contoso Supplies {code}", country=country)


def vendor_records(vendor_party: Party, *, contract: Contract, suffix: str) -> None:
    """One row of every procurement relation for ``vendor_party``."""
    seller = make_seller()
    PurchaseOrder.objects.create(
        number=f"PO-{suffix}",
        vendor=vendor_party,
        seller_entity=seller,
        currency="EUR",
        ordered_on=dt.date(2026, 10, 1),
    )
    VendorInvoice.objects.create(
        vendor=vendor_party,
        seller_entity=seller,
        number=f"INV-{suffix}",
        normalized_number=f"INV{suffix}",
        issue_date=dt.date(2026, 10, 15),
        currency="EUR",
        net_amount=D("100.00"),
        gross_amount=D("119.00"),
    )
    CostLink.objects.create(
        contract=contract,
        line_code=f"L-{suffix}",
        basis=CostLink.Basis.AT_COST,
        vendor=vendor_party,
        agreed_cost=D("80.00"),
    )
    VendorCertification.objects.create(vendor=vendor_party, kind="security", name="ISO 27001")
    OnboardingItem.objects.create(vendor=vendor_party, requirement="tax_form")
    MatchTolerance.objects.create(vendor=vendor_party, category="hardware")
    VendorProfile.objects.create(vendor=vendor_party, category="IT services")
    VendorScore.objects.create(
        vendor=vendor_party, period="2026-10", components={}, score=D("88.00")
    )
    VendorBankAccount.objects.create(
        party=vendor_party, iban="DE89370400440532013000", is_primary=True
    )


def merge_request(
    survivor: Party, merged: Party, people: Actors, *, across_countries: bool = False
) -> ChangeRequest:
    return party_merge_request(
        survivor=survivor,
        merged=merged,
        by=people.maker,
        reason="Same legal entity, entered twice",
        across_countries=across_countries,
    )


def merge_approved(survivor: Party, merged: Party, people: Actors) -> PartyMerge:
    """Request and approve the merge of ``merged`` into ``survivor``; return the merge."""
    request = merge_request(survivor, merged, people)
    approved = change_request_approve(request_id=request.pk, by=people.checker)
    assert approved.status == ChangeRequest.Status.APPLIED, approved.decision_reason
    return PartyMerge.objects.get(change_request_id=request.pk)
