"""Deterministic builders for vendor invoice tests: an onboarded vendor with an approved bank
account, a purchase order with its lines fully received, and a clean invoice of it.

A test changes only the value it is about; everything else passes every vendor-invoice check.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from billguard.controls.models import PolicySetting
from billguard.controls.policy import VENDOR_ONBOARDING_KEY
from billguard.procurement.models import (
    OnboardingItem,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    VendorProfile,
)
from billguard.procurement.vendor_invoice_input import VendorInvoiceInput, VendorInvoiceLineInput
from billguard.registry.models import Party, VendorBankAccount
from tests.factories import make_seller

D = Decimal

VENDOR_IBAN = "DE44500105175407324931"
OTHER_IBAN = "GB82WEST12345698765432"


def make_vendor(
    code: str = "V-HOST",
    *,
    tax_id: str = "DE811128135",
    country: str = "DE",
    iban: str | None = VENDOR_IBAN,
) -> Party:
    """Create a vendor whose onboarding checklist is complete, with one approved bank account.

    Without ``iban`` the vendor has no bank account on record, and the policy's checklist
    leaves bank details out, so that the vendor is still onboarded.
    """
    vendor = Party.objects.create(
        code=code, kind=Party.Kind.VENDOR, name=f"{code} GmbH", country=country, tax_id=tax_id
    )
    OnboardingItem.objects.bulk_create(
        OnboardingItem(vendor=vendor, requirement=requirement, status=OnboardingItem.Status.DONE)
        for requirement in OnboardingItem.Requirement.values
    )
    # Tax form and payment terms are judged from the profile.
    VendorProfile.objects.create(
        vendor=vendor, payment_terms_days=30, tax_classification=VendorProfile.TaxForm.W9
    )
    if not iban:
        required = [r for r in OnboardingItem.Requirement.values if r != "bank_details"]
        PolicySetting.objects.update_or_create(
            key=VENDOR_ONBOARDING_KEY, defaults={"value": required}
        )
    if iban:
        VendorBankAccount.objects.create(party=vendor, iban=iban, is_primary=True)
    return vendor


def make_order(
    vendor: Party,
    number: str = "PO-1001",
    *,
    lines: tuple[tuple[str, str], ...] = (("10", "120.00"), ("5", "80.00")),
    currency: str = "EUR",
    received: bool = True,
    ordered_on: dt.date = dt.date(2026, 9, 1),
) -> PurchaseOrder:
    """Create an approved order with one line per (quantity, unit price), and receive every
    line in full when ``received``."""
    order = PurchaseOrder.objects.create(
        number=number,
        vendor=vendor,
        seller_entity=make_seller(),
        currency=currency,
        ordered_on=ordered_on,
        status=PurchaseOrder.Status.APPROVED,
    )
    for line_number, (quantity, unit_price) in enumerate(lines, start=1):
        line = PurchaseOrderLine.objects.create(
            purchase_order=order,
            line_number=line_number,
            description=f"Hosting capacity, part {line_number}",
            quantity=D(quantity),
            unit_price=D(unit_price),
        )
        if received:
            receive(line, quantity)
    return order


def receive(line: PurchaseOrderLine, quantity: str) -> Receipt:
    return Receipt.objects.create(
        line=line, quantity=D(quantity), received_on=dt.date(2026, 9, 20), reference="DN-1"
    )


def invoice_input(
    vendor: str = "V-HOST",
    order: str = "PO-1001",
    number: str = "INV-000123",
    **changes: object,
) -> VendorInvoiceInput:
    """Return a clean invoice of the whole of ``make_order``'s default order: 1600.00 EUR net."""
    lines = [
        VendorInvoiceLineInput(
            line_number=1,
            order_line=1,
            quantity=D("10"),
            unit_price=D("120.00"),
            net_amount=D("1200.00"),
        ),
        VendorInvoiceLineInput(
            line_number=2,
            order_line=2,
            quantity=D("5"),
            unit_price=D("80.00"),
            net_amount=D("400.00"),
        ),
    ]
    entry = VendorInvoiceInput(
        vendor=vendor,
        purchase_order=order,
        number=number,
        issue_date=dt.date(2026, 10, 1),
        due_date=dt.date(2026, 10, 31),
        currency="EUR",
        lines=lines,
        net_amount=D("1600.00"),
        tax_amount=D("304.00"),
        gross_amount=D("1904.00"),
        payee_iban=VENDOR_IBAN,
    )
    return dataclasses.replace(entry, **changes)  # type: ignore[arg-type]


def one_line_input(
    *,
    quantity: str,
    unit_price: str,
    number: str = "INV-7",
    order_line: int = 1,
    vendor: str = "V-HOST",
    order: str = "PO-1001",
    tax_rate: str = "0.19",
    **changes: object,
) -> VendorInvoiceInput:
    """Return a one-line invoice whose totals add up, with 19 % tax by default."""
    net = (D(quantity) * D(unit_price)).quantize(D("0.01"))
    tax = (net * D(tax_rate)).quantize(D("0.01"))
    line = VendorInvoiceLineInput(
        line_number=1,
        order_line=order_line,
        quantity=D(quantity),
        unit_price=D(unit_price),
        net_amount=net,
    )
    return invoice_input(
        vendor=vendor,
        order=order,
        number=number,
        lines=[line],
        net_amount=net,
        tax_amount=tax,
        gross_amount=net + tax,
        **changes,
    )
