"""Vendors, orders and linked contracts for the pass-through tests, with fixed values.

A customer line of 1000.00 per month is priced from a vendor order line: at cost (cost
1000.00), or cost plus 25 % (cost 800.00). ``reprice`` does what the order amendment service
does: it writes the new price and the change row, raises the revision and sends the signal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction

from billguard.procurement.models import (
    CostLink,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderLineChange,
    VendorInvoice,
    VendorInvoiceLine,
)
from billguard.procurement.passthrough import cost_link_create
from billguard.procurement.signals import purchase_order_line_repriced, vendor_invoice_recorded
from billguard.registry.models import Contract, Party
from billguard.registry.services.parties import party_create
from billguard.registry.terms import LineTerms
from tests.factories import make_contract, make_seller

D = Decimal
PRICE = D("1000.00")
PLUS_COST = D("800.00")
MARGIN = D("25")


@dataclass
class Linked:
    contract: Contract
    vendor: Party
    po_line: PurchaseOrderLine
    link: CostLink


def make_vendor(code: str = "VEND-1") -> Party:
    existing = Party.objects.filter(code=code).first()
    if existing is not None:
        return existing
    return party_create(code=code, kind=Party.Kind.VENDOR, name=f"Vendor {code}", country="DE")


def make_order_line(
    vendor: Party,
    unit_price: Decimal,
    *,
    number: str = "PO-1",
    kind: str = PurchaseOrderLine.Kind.SERVICE,
    currency: str = "EUR",
) -> PurchaseOrderLine:
    order = PurchaseOrder.objects.create(
        number=number,
        vendor=vendor,
        seller_entity=make_seller(),
        currency=currency,
        ordered_on=dt.date(2026, 1, 5),
        status=PurchaseOrder.Status.SENT,
    )
    return PurchaseOrderLine.objects.create(
        purchase_order=order,
        line_number=1,
        description="Subcontracted operations, monthly",
        kind=kind,
        quantity=D("12"),
        unit_price=unit_price,
    )


def monthly_line(price: Decimal = PRICE, code: str = "L1") -> LineTerms:
    return LineTerms(
        line_code=code,
        kind="recurring_fixed",
        description="Operations passed through, monthly",
        unit_price=price,
        quantity=D("1"),
        gl_account="4000",
    )


def linked_at_cost(number: str = "C-1", *, by: User | None = None) -> Linked:
    contract = make_contract(number, lines=[monthly_line()]).contract
    vendor = make_vendor()
    po_line = make_order_line(vendor, PRICE, number=f"PO-{number}")
    link = cost_link_create(
        contract=contract, line_code="L1", basis="at_cost", vendor=vendor, po_line=po_line, by=by
    )
    return Linked(contract, vendor, po_line, link)


def linked_cost_plus(number: str = "C-2", *, by: User | None = None) -> Linked:
    contract = make_contract(number, lines=[monthly_line()]).contract
    vendor = make_vendor()
    po_line = make_order_line(vendor, PLUS_COST, number=f"PO-{number}")
    link = cost_link_create(
        contract=contract,
        line_code="L1",
        basis="cost_plus",
        vendor=vendor,
        po_line=po_line,
        margin_percent=MARGIN,
        by=by,
    )
    return Linked(contract, vendor, po_line, link)


@transaction.atomic
def reprice(line: PurchaseOrderLine, new_price: Decimal, *, by: User | None = None) -> None:
    """Amend the order line's unit price as the order amendment service does."""
    order = line.purchase_order
    old_price = line.unit_price
    order.revision += 1
    order.save(update_fields=["revision"])
    line.unit_price = new_price
    line.save(update_fields=["unit_price"])
    PurchaseOrderLineChange.objects.create(
        line=line,
        revision=order.revision,
        field="unit_price",
        old_value=old_price,
        new_value=new_price,
        reason="vendor price increase",
    )
    purchase_order_line_repriced.send(
        sender=PurchaseOrderLine,
        line=line,
        old_price=old_price,
        new_price=new_price,
        reference=f"{order.number} rev {order.revision}",
        by=by,
    )


@transaction.atomic
def record_vendor_invoice(
    line: PurchaseOrderLine, unit_price: Decimal, *, number: str = "INV-77", by: User | None = None
) -> VendorInvoice:
    """Record a vendor invoice of one line against ``line`` and send the signal."""
    order = line.purchase_order
    invoice = VendorInvoice.objects.create(
        vendor=order.vendor,
        seller_entity=order.seller_entity,
        purchase_order=order,
        number=number,
        normalized_number=number.replace("-", ""),
        issue_date=dt.date(2026, 11, 3),
        currency=order.currency,
        net_amount=unit_price,
        gross_amount=unit_price,
    )
    VendorInvoiceLine.objects.create(
        invoice=invoice,
        line_number=1,
        po_line=line,
        quantity=D("1"),
        unit_price=unit_price,
        net_amount=unit_price,
    )
    vendor_invoice_recorded.send(sender=VendorInvoice, invoice=invoice, by=by)
    return invoice
