"""Vendors, onboarding and purchase orders for the procurement tests, with explicit values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from billguard.procurement.models import OnboardingItem, PurchaseOrder, VendorProfile
from billguard.procurement.purchase_orders import OrderLineInput, purchase_order_create
from billguard.registry.models import GLAccount, Party, SellerEntity, VendorBankAccount
from billguard.registry.services.entities import gl_account_create, seller_entity_create
from billguard.registry.services.parties import party_create
from tests.factories import make_seller

D = Decimal

ORDERED_ON = dt.date(2026, 10, 1)

# The checklist of a fully onboarded vendor; the insurance certificate runs to the end of 2027.
ONBOARDING_ITEMS = (
    ("legal_review", None),
    ("tax_form", None),
    ("insurance_certificate", dt.date(2027, 12, 31)),
    ("bank_details", None),
    ("payment_terms", None),
)


def make_vendor(code: str = "V-1", *, onboarded: bool = True, name: str = "") -> Party:
    vendor = party_create(code=code, kind="vendor", name=name or f"Vendor {code}", country="DE")
    if onboarded:
        OnboardingItem.objects.bulk_create(
            OnboardingItem(
                vendor=vendor,
                requirement=requirement,
                status=OnboardingItem.Status.DONE,
                expires_on=expires_on,
            )
            for requirement, expires_on in ONBOARDING_ITEMS
        )
        # Tax form and payment terms are judged from the profile, bank details from the
        # approved primary account.
        VendorProfile.objects.create(
            vendor=vendor, payment_terms_days=30, tax_classification=VendorProfile.TaxForm.W9
        )
        VendorBankAccount.objects.create(
            party=vendor, iban="DE89370400440532013000", is_primary=True
        )
    return vendor


def make_cost_accounts() -> None:
    for code, name in (("5000", "Subcontractor costs"), ("5100", "Hosting and cloud costs")):
        if not GLAccount.objects.filter(code=code).exists():
            gl_account_create(code=code, name=name, kind="other")


def hosting_line(
    *,
    quantity: str = "10",
    unit_price: str = "120.00",
    description: str = "Hosting capacity, October",
    category: str = "hosting",
    kind: str = "service",
    expected_on: dt.date | None = None,
) -> OrderLineInput:
    return OrderLineInput(
        description=description,
        quantity=D(quantity),
        unit_price=D(unit_price),
        gl_account="5100",
        kind=kind,
        category=category,
        expected_on=expected_on,
    )


def make_order(
    number: str = "PO-0001",
    *,
    vendor: Party | None = None,
    lines: list[OrderLineInput] | None = None,
    ordered_on: dt.date = ORDERED_ON,
    seller: SellerEntity | None = None,
    currency: str = "EUR",
) -> PurchaseOrder:
    make_cost_accounts()
    return purchase_order_create(
        number=number,
        vendor=vendor or Party.objects.filter(code="V-1").first() or make_vendor(),
        seller_entity=seller or make_seller(),
        currency=currency,
        ordered_on=ordered_on,
        lines=lines or [hosting_line(expected_on=ordered_on + dt.timedelta(days=30))],
    )


def make_us_seller() -> SellerEntity:
    """A second seller entity of ours, for orders placed by another entity."""
    existing = SellerEntity.objects.filter(code="acme-us").first()
    if existing is not None:
        return existing
    return seller_entity_create(
        code="acme-us",
        name="Acme Services Inc.",
        country="US",
        vat_id="46-4210951",
        invoice_prefix="AUS-",
        street="1 Main Street",
        city="Boston",
        postcode="02110",
    )
