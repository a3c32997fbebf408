"""Procurement rows for the scorecard tests, written with the ORM and explicit values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth.models import User

from billguard.controls.models import ChangeRequest
from billguard.procurement.models import (
    ProcurementFinding,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    VendorInvoice,
    VendorInvoiceLine,
)
from billguard.registry.models import Party
from tests.factories import make_seller

D = Decimal
NOVEMBER = "2026-11"


def make_vendor(code: str = "VEND-1", *, name: str = "Contoso Freight Ltd") -> Party:
    return Party.objects.create(code=code, kind=Party.Kind.VENDOR, name=name, country="GB")


def make_order(
    vendor: Party,
    number: str,
    *,
    ordered_on: dt.date = dt.date(2026, 10, 1),
    currency: str = "EUR",
    lines: list[tuple[str, dt.date | None]] | None = None,
) -> PurchaseOrder:
    """An order with one line per (unit price, expected date), quantity 10 each."""
    order = PurchaseOrder.objects.create(
        number=number,
        vendor=vendor,
        seller_entity=make_seller(),
        currency=currency,
        ordered_on=ordered_on,
        status=PurchaseOrder.Status.SENT,
    )
    for line_number, (unit_price, expected_on) in enumerate(lines or [("100.00", None)], 1):
        PurchaseOrderLine.objects.create(
            purchase_order=order,
            line_number=line_number,
            description=f"Freight lane {line_number}",
            quantity=D("10"),
            unit_price=D(unit_price),
            expected_on=expected_on,
        )
    return order


def order_line(order: PurchaseOrder, line_number: int = 1) -> PurchaseOrderLine:
    return order.lines.get(line_number=line_number)


def make_receipt(line: PurchaseOrderLine, received_on: dt.date, quantity: str = "1") -> Receipt:
    return Receipt.objects.create(line=line, quantity=D(quantity), received_on=received_on)


def make_invoice(
    vendor: Party,
    number: str,
    *,
    issue_date: dt.date = dt.date(2026, 11, 15),
    currency: str = "EUR",
    lines: list[tuple[PurchaseOrderLine | None, str]] | None = None,
    findings: tuple[str, ...] = (),
) -> VendorInvoice:
    """A vendor invoice with one line per (order line, unit price), quantity 1 each."""
    invoice = VendorInvoice.objects.create(
        vendor=vendor,
        seller_entity=make_seller(),
        number=number,
        normalized_number=number.replace("-", "").upper(),
        issue_date=issue_date,
        currency=currency,
        net_amount=D("0"),
        gross_amount=D("0"),
    )
    for line_number, (po_line, unit_price) in enumerate(lines or [], 1):
        VendorInvoiceLine.objects.create(
            invoice=invoice,
            line_number=line_number,
            po_line=po_line,
            quantity=D("1"),
            unit_price=D(unit_price),
            net_amount=D(unit_price),
        )
    for code in findings:
        make_finding(code, invoice=invoice)
    return invoice


def make_finding(
    code: str, *, invoice: VendorInvoice | None = None, order: PurchaseOrder | None = None
) -> ProcurementFinding:
    return ProcurementFinding.objects.create(
        vendor_invoice=invoice,
        purchase_order=order,
        code=code,
        severity=ProcurementFinding.Severity.BLOCK,
        subject="invoice" if invoice else "order",
        message=f"{code} in a scorecard test",
    )


def make_change_request(
    target: str,
    target_id: int,
    requested_at: dt.datetime,
    *,
    status: str = ChangeRequest.Status.PENDING,
) -> ChangeRequest:
    requester = User.objects.filter(username="requester").first() or User.objects.create_user(
        username="requester"
    )
    return ChangeRequest.objects.create(
        target=target,
        target_id=str(target_id),
        requested_by=requester,
        requested_at=requested_at,
        status=status,
    )


def utc(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)
