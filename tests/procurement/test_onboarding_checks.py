"""VENDOR_NOT_ONBOARDED and VENDOR_DOCUMENT_EXPIRED on purchase orders and vendor invoices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billguard.checks.engine import PURCHASE_ORDER, VENDOR_INVOICE, run_subject_checks
from billguard.checks.finding import Severity
from billguard.procurement.context import PurchaseOrderContext, VendorInvoiceContext
from billguard.procurement.models import PurchaseOrder, VendorInvoice
from billguard.procurement.onboarding import onboarding_status, vendor_item_record
from billguard.registry.models import Party
from tests.acting_users import make_user
from tests.factories import make_seller
from tests.procurement.vendor_setup import INSURANCE_EXPIRES, make_vendor, onboard_fully

pytestmark = pytest.mark.django_db

CODES = ["VENDOR_NOT_ONBOARDED", "VENDOR_DOCUMENT_EXPIRED"]
AFTER_EXPIRY = INSURANCE_EXPIRES + dt.timedelta(days=1)


def order_for(vendor: Party, ordered_on: dt.date) -> PurchaseOrder:
    return PurchaseOrder.objects.create(
        number=f"PO-{vendor.code}-{ordered_on}",
        vendor=vendor,
        seller_entity=make_seller(),
        currency="USD",
        ordered_on=ordered_on,
    )


def invoice_for(vendor: Party, issue_date: dt.date) -> VendorInvoice:
    return VendorInvoice.objects.create(
        vendor=vendor,
        seller_entity=make_seller(),
        number="INV-7",
        normalized_number="INV7",
        issue_date=issue_date,
        currency="USD",
        net_amount=Decimal("100.00"),
        gross_amount=Decimal("100.00"),
    )


def order_findings(vendor: Party, ordered_on: dt.date) -> list:
    order = order_for(vendor, ordered_on)
    context = PurchaseOrderContext(
        order=order, lines=[], onboarding=onboarding_status(vendor, order.ordered_on)
    )
    return run_subject_checks(PURCHASE_ORDER, order, context, only=CODES)


def invoice_findings(vendor: Party, issue_date: dt.date) -> list:
    invoice = invoice_for(vendor, issue_date)
    context = VendorInvoiceContext(
        invoice=invoice, lines=[], onboarding=onboarding_status(vendor, invoice.issue_date)
    )
    return run_subject_checks(VENDOR_INVOICE, invoice, context, only=CODES)


@pytest.fixture
def onboarded() -> Party:
    vendor = make_vendor()
    onboard_fully(vendor, make_user("pat", "procurement"))
    return vendor


def test_clean_vendor_order_has_no_findings(onboarded):
    assert order_findings(onboarded, dt.date(2026, 11, 2)) == []


def test_clean_vendor_invoice_has_no_findings(onboarded):
    assert invoice_findings(onboarded, dt.date(2026, 11, 2)) == []


def test_order_to_new_vendor_not_onboarded():
    vendor = make_vendor()

    [finding] = order_findings(vendor, dt.date(2026, 11, 2))

    assert finding.code == "VENDOR_NOT_ONBOARDED"
    assert finding.severity is Severity.BLOCK
    assert "legal review" in finding.message
    assert "bank details" in finding.actual
    assert finding.evidence["vendor"] == "VEND-1"


def test_invoice_names_missing_item(onboarded):
    vendor_item_record(
        vendor=onboarded,
        requirement="legal_review",
        by=make_user("kim", "procurement"),
        status="rejected",
        note="Sanctions screening hit",
    )

    [finding] = invoice_findings(onboarded, dt.date(2026, 11, 2))

    assert finding.code == "VENDOR_NOT_ONBOARDED"
    assert finding.actual == "missing: legal review"
    assert finding.evidence["checked_on"] == "2026-11-02"


def test_order_after_insurance_expiry(onboarded):
    [finding] = order_findings(onboarded, AFTER_EXPIRY)

    assert finding.code == "VENDOR_DOCUMENT_EXPIRED"
    assert finding.evidence["expired_on"] == INSURANCE_EXPIRES.isoformat()
    assert "insurance certificate" in finding.message
    assert "order date" in finding.message


def test_invoice_after_insurance_expiry(onboarded):
    [finding] = invoice_findings(onboarded, AFTER_EXPIRY)

    assert finding.code == "VENDOR_DOCUMENT_EXPIRED"
    assert "invoice date" in finding.message


def test_order_on_expiry_date_is_clean(onboarded):
    assert order_findings(onboarded, INSURANCE_EXPIRES) == []
