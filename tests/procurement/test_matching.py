"""The three-way match checks and the duplicate order check, through run_subject_checks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billguard.checks.engine import PURCHASE_ORDER, VENDOR_INVOICE, run_subject_checks
from billguard.checks.finding import Severity
from billguard.domain.money import Money
from billguard.procurement.context import (
    Tolerance,
    VendorInvoiceContext,
    purchase_order_context,
)
from billguard.procurement.models import (
    MatchTolerance,
    PurchaseOrder,
    PurchaseOrderLine,
    VendorInvoice,
    VendorInvoiceLine,
)
from billguard.procurement.onboarding import onboarding_status
from billguard.procurement.purchase_orders import purchase_order_approve
from billguard.procurement.tolerances import tolerance_for
from tests.procurement.ordering import (
    ORDERED_ON,
    hosting_line,
    make_order,
    make_us_seller,
    make_vendor,
)

pytestmark = pytest.mark.django_db

D = Decimal
MATCH_CODES = ("MATCH_QUANTITY_EXCEEDS_RECEIPT", "MATCH_PRICE_VARIANCE")


def order_line() -> PurchaseOrderLine:
    """Line 1 of PO-0001: 10 units of hosting at 120.00 EUR."""
    order = make_order()
    return order.lines.select_related("purchase_order").get()


def invoice_of(
    po_line: PurchaseOrderLine, *lines: tuple[str, str], number: str = "INV-1"
) -> tuple[VendorInvoice, list[VendorInvoiceLine]]:
    """A vendor invoice with one line per (quantity, unit price), all on ``po_line``."""
    order = po_line.purchase_order
    net = sum((D(quantity) * D(price) for quantity, price in lines), D(0))
    invoice = VendorInvoice.objects.create(
        vendor=order.vendor,
        seller_entity=order.seller_entity,
        purchase_order=order,
        number=number,
        normalized_number=number.replace("-", ""),
        issue_date=dt.date(2026, 11, 2),
        currency=order.currency,
        net_amount=net,
        gross_amount=net,
    )
    invoice_lines = [
        VendorInvoiceLine.objects.create(
            invoice=invoice,
            line_number=position,
            po_line=po_line,
            description=po_line.description,
            quantity=D(quantity),
            unit_price=D(price),
            net_amount=D(quantity) * D(price),
        )
        for position, (quantity, price) in enumerate(lines, 1)
    ]
    return invoice, invoice_lines


def match(
    po_line: PurchaseOrderLine,
    *lines: tuple[str, str],
    received: str = "10",
    invoiced_before: str = "0",
):  # type: ignore[no-untyped-def]
    invoice, invoice_lines = invoice_of(po_line, *lines)
    context = VendorInvoiceContext(
        invoice=invoice,
        lines=invoice_lines,
        onboarding=onboarding_status(invoice.vendor, on=invoice.issue_date),
        po_lines={po_line.pk: po_line},
        received={po_line.pk: D(received)},
        invoiced_before={po_line.pk: D(invoiced_before)},
        tolerances={po_line.pk: tolerance_for(po_line)},
    )
    return run_subject_checks(VENDOR_INVOICE, invoice, context, only=MATCH_CODES)


# MATCH_QUANTITY_EXCEEDS_RECEIPT --------------------------------------------------------------


def test_quantity_beyond_receipt_fires():
    po_line = order_line()

    findings = match(po_line, ("4", "120.00"), received="8", invoiced_before="6")

    assert [f.code for f in findings] == ["MATCH_QUANTITY_EXCEEDS_RECEIPT"]
    finding = findings[0]
    assert finding.severity is Severity.BLOCK
    assert finding.subject == "line 1"
    assert finding.actual == "10 billed"
    assert finding.expected == "at most 8 billed (no tolerance set)"
    assert finding.amount_at_stake == Money(D("240.00"), "EUR")
    assert finding.evidence["purchase_order"] == "PO-0001"
    assert finding.evidence["invoiced_before"] == "6"


def test_two_lines_on_one_order_line_count_together():
    po_line = order_line()

    findings = match(po_line, ("5", "120.00"), ("5", "120.00"), received="8")

    assert [(f.code, f.subject) for f in findings] == [("MATCH_QUANTITY_EXCEEDS_RECEIPT", "line 2")]
    assert findings[0].amount_at_stake == Money(D("240.00"), "EUR")


def test_quantity_within_receipt_and_tolerance_is_quiet():
    po_line = order_line()
    MatchTolerance.objects.create(quantity_percent=D(5))

    within_receipt = match(po_line, ("4", "120.00"), received="10", invoiced_before="6")
    within_tolerance = match(po_line, ("10.5", "120.00"), received="10")

    assert within_receipt == []
    assert within_tolerance == []


def test_nothing_received_fires_on_the_whole_line():
    po_line = order_line()

    findings = match(po_line, ("2", "120.00"), received="0")

    assert [f.code for f in findings] == ["MATCH_QUANTITY_EXCEEDS_RECEIPT"]
    assert findings[0].amount_at_stake == Money(D("240.00"), "EUR")


# MATCH_PRICE_VARIANCE ------------------------------------------------------------------------


def test_price_above_order_fires():
    po_line = order_line()

    findings = match(po_line, ("10", "123.50"))

    assert [f.code for f in findings] == ["MATCH_PRICE_VARIANCE"]
    finding = findings[0]
    assert finding.expected == "120.00 EUR (no tolerance set)"
    assert finding.actual == "123.50 EUR"
    assert finding.amount_at_stake == Money(D("35.00"), "EUR")
    assert "35.00 EUR on 10 units" in finding.message


def test_price_within_percent_or_amount_tolerance_is_quiet():
    po_line = order_line()
    vendor = po_line.purchase_order.vendor
    MatchTolerance.objects.create(vendor=vendor, unit_price_percent=D(2), amount=D("10.00"))

    within_percent = match(po_line, ("10", "122.40"))  # 2 % of 120.00 is 2.40
    within_amount = match(po_line, ("1", "130.00"))  # 10.00 on the line

    assert within_percent == []
    assert within_amount == []


def test_price_beyond_both_tolerances_fires():
    po_line = order_line()
    MatchTolerance.objects.create(category="hosting", unit_price_percent=D(2), amount=D("10.00"))

    findings = match(po_line, ("10", "122.41"))

    assert [f.code for f in findings] == ["MATCH_PRICE_VARIANCE"]
    assert findings[0].evidence["tolerance"] == "category tolerance"
    assert findings[0].amount_at_stake == Money(D("24.10"), "EUR")


def test_lower_price_fires_too():
    po_line = order_line()

    findings = match(po_line, ("10", "100.00"))

    assert [f.code for f in findings] == ["MATCH_PRICE_VARIANCE"]
    assert findings[0].amount_at_stake == Money(D("200.00"), "EUR")


def test_invoice_line_without_order_line_is_reported():
    po_line = order_line()
    invoice, lines = invoice_of(po_line, ("99", "1.00"))
    lines[0].po_line = None
    context = VendorInvoiceContext(
        invoice=invoice,
        lines=lines,
        onboarding=onboarding_status(invoice.vendor, on=invoice.issue_date),
        tolerances={po_line.pk: Tolerance()},
    )

    findings = run_subject_checks(VENDOR_INVOICE, invoice, context, only=MATCH_CODES)

    assert [f.code for f in findings] == ["MATCH_QUANTITY_EXCEEDS_RECEIPT"]
    assert "names no line of the order" in findings[0].message
    assert findings[0].amount_at_stake is not None
    assert findings[0].amount_at_stake.amount == lines[0].net_amount


# PO_DUPLICATE_SUSPECTED ----------------------------------------------------------------------


def duplicate_findings(order: PurchaseOrder) -> list[str]:
    findings = run_subject_checks(
        PURCHASE_ORDER, order, purchase_order_context(order), only=["PO_DUPLICATE_SUSPECTED"]
    )
    return [finding.actual for finding in findings]


def test_same_lines_from_another_seller_entity_fire():
    vendor = make_vendor()
    first = make_order("PO-0001", vendor=vendor, lines=[hosting_line(), hosting_line(quantity="2")])
    purchase_order_approve(order=first)
    order = make_order(
        "PO-0002",
        vendor=vendor,
        seller=make_us_seller(),
        lines=[
            hosting_line(quantity="2.000", description="  hosting CAPACITY - october "),
            hosting_line(unit_price="120"),
        ],
        ordered_on=ORDERED_ON + dt.timedelta(days=90),
    )

    assert duplicate_findings(order) == ["PO-0001"]


@pytest.mark.parametrize(
    ("vendor_code", "lines", "days_later"),
    [
        ("V-1", [hosting_line(quantity="11")], 10),  # another quantity
        ("V-1", [hosting_line(unit_price="120.01")], 10),  # another price
        ("V-1", [hosting_line(description="Managed Kubernetes")], 10),  # another description
        ("V-1", [hosting_line(), hosting_line()], 10),  # another line count and total
        ("V-1", [hosting_line()], 91),  # outside the window
        ("V-2", [hosting_line()], 10),  # another vendor
    ],
)
def test_orders_that_differ_are_quiet(vendor_code, lines, days_later):
    make_vendor("V-1")
    make_vendor("V-2")
    purchase_order_approve(order=make_order("PO-0001", vendor=make_vendor_lookup("V-1")))
    order = make_order(
        "PO-0002",
        vendor=make_vendor_lookup(vendor_code),
        lines=lines,
        ordered_on=ORDERED_ON + dt.timedelta(days=days_later),
    )

    assert duplicate_findings(order) == []


def make_vendor_lookup(code: str):  # type: ignore[no-untyped-def]
    from billguard.registry.models import Party

    return Party.objects.get(code=code)


def test_price_variance_message_uses_currency_decimals():
    po_line = order_line()

    findings = match(po_line, ("10", "125"))

    assert "50.00 EUR on 10 units" in findings[0].message
