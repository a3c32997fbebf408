"""The sample company's vendor invoices: each seeded fault sits on its invoice, and only there."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from billguard.checks.engine import VENDOR_INVOICE, registered_checks
from billguard.procurement.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    VendorInvoice,
    VendorInvoiceLine,
    VendorScore,
)
from billguard.procurement.overview import format_procurement, procurement_overview
from billguard.sample.company import generate_sample_company
from billguard.sample.scorecards import sample_scorecards_compute, scorecard_period
from billguard.sample.vendor_invoices import (
    BANK_ACCOUNT,
    DUPLICATE,
    FOREIGN_IBAN,
    QUANTITY,
    SEEDED_CODES,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(tmp_path: Path) -> None:
    generate_sample_company(customers=40, contracts=90, external_drafts_dir=tmp_path / "drafts")


def codes_by_number() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for invoice in VendorInvoice.objects.prefetch_related("findings"):
        found[invoice.number] = {finding.code for finding in invoice.findings.all()}
    return found


def registered_vendor_invoice_codes() -> set[str]:
    return {check.code for check in registered_checks() if VENDOR_INVOICE in check.subjects}


def test_each_seeded_fault_is_in_the_data(company):
    duplicate = VendorInvoice.objects.get(number="inv 2026 101")
    original = VendorInvoice.objects.get(number="INV-2026-00101")
    bank = VendorInvoice.objects.get(payee_iban=FOREIGN_IBAN)
    overpriced = {
        line.invoice_id
        for line in VendorInvoiceLine.objects.select_related("po_line")
        if line.po_line is not None and line.unit_price > line.po_line.unit_price
    }

    assert original.vendor == duplicate.vendor
    assert original.normalized_number == duplicate.normalized_number
    assert original.gross_amount == duplicate.gross_amount
    assert bank.vendor.bank_accounts.exists()
    assert not bank.vendor.bank_accounts.filter(iban=FOREIGN_IBAN).exists()
    assert len(overpriced) == 1


def test_quantity_fault_bills_more_than_received(company):
    over = [
        line
        for line in PurchaseOrderLine.objects.prefetch_related("receipts", "invoice_lines")
        if sum((receipt.quantity for receipt in line.receipts.all()), Decimal(0))
        < sum((billed.quantity for billed in line.invoice_lines.all()), Decimal(0))
    ]

    assert len(over) == 1


def test_seeded_codes_found_only_on_their_invoice(company):
    registered = registered_vendor_invoice_codes()
    found = codes_by_number()

    for code in SEEDED_CODES:
        carriers = sorted(number for number, codes in found.items() if code in codes)
        if code in registered:
            assert len(carriers) == 1, f"{code} on {carriers}"
        else:
            assert carriers == []
    assert {DUPLICATE, BANK_ACCOUNT} <= registered


def test_clean_invoices_are_matched(company):
    seeded = set(SEEDED_CODES)
    clean = [
        invoice
        for invoice in VendorInvoice.objects.prefetch_related("findings")
        if not {finding.code for finding in invoice.findings.all()} & seeded
    ]

    assert len(clean) >= 4
    assert all(
        invoice.status == VendorInvoice.Status.MATCHED
        for invoice in clean
        if not invoice.findings.exists()
    )
    assert all(invoice.recorded_by == "pat.procurement" for invoice in clean)


def test_procurement_section_counts_held_and_findings(company):
    text = format_procurement(procurement_overview())

    held = VendorInvoice.objects.filter(status=VendorInvoice.Status.HELD).count()
    matched = VendorInvoice.objects.filter(status=VendorInvoice.Status.MATCHED).count()
    assert text.startswith("Procurement\n")
    assert f"vendor invoices held{'':<16}{held:>5}" in text
    assert f"vendor invoices matched{'':<13}{matched:>5}" in text
    assert DUPLICATE in text
    assert BANK_ACCOUNT in text
    assert QUANTITY in text or QUANTITY not in registered_vendor_invoice_codes()
    held_orders = PurchaseOrder.objects.filter(status=PurchaseOrder.Status.HELD)
    assert held_orders.exists()
    assert f"purchase orders held{'':<16}{held_orders.count():>5}" in text
    for order in held_orders:
        assert order.number in text
    assert "PO_DUPLICATE_SUSPECTED" in text


def test_demo_scorecards_have_receipts_and_invoices_to_score(company):
    run = sample_scorecards_compute()

    scores = VendorScore.objects.filter(period=scorecard_period())
    assert scores.count() == len(run.scorecards) > 0
    measured = {
        name
        for score in scores
        for name, component in score.components.items()
        if component.get("points") is not None
    }
    assert {"on_time_receipts", "document_compliance"} <= measured
