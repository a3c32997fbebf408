"""The demo's "Procurement" section: only findings of held vendor invoices count as at stake."""

from __future__ import annotations

import pytest

from billguard.procurement.models import VendorInvoice
from billguard.procurement.overview import format_procurement, procurement_overview
from billguard.procurement.vendor_invoices import (
    vendor_invoice_approve,
    vendor_invoice_record,
    vendor_invoice_reject,
)
from tests.acting_users import make_user
from tests.procurement.invoicing import OTHER_IBAN, invoice_input, make_order, make_vendor

pytestmark = pytest.mark.django_db

BANK = "VENDOR_BANK_ACCOUNT_MISMATCH"


@pytest.fixture
def decided_and_held() -> None:
    recorder = make_user("pat.procurement", "procurement")
    approver = make_user("alex.approver", "finance_approver")
    vendor = make_vendor()
    invoices = []
    for index in (1, 2, 3):
        make_order(vendor, f"PO-{index}")
        entry = invoice_input(order=f"PO-{index}", number=f"INV-{index}", payee_iban=OTHER_IBAN)
        invoices.append(vendor_invoice_record(entry, by=recorder))
    assert all(invoice.status == VendorInvoice.Status.HELD for invoice in invoices)
    vendor_invoice_approve(invoice_id=invoices[0].pk, reason="Confirmed by phone", by=approver)
    vendor_invoice_reject(invoice_id=invoices[1].pk, reason="Bank not confirmed", by=approver)


def test_findings_count_only_held_invoices(decided_and_held):
    overview = procurement_overview()

    counts = {finding.code: finding.invoices for finding in overview.findings}
    assert counts[BANK] == 1


def test_section_keeps_decided_counts_apart(decided_and_held):
    text = format_procurement(procurement_overview())

    assert f"vendor invoices held{'':<16}{1:>5}" in text
    assert f"vendor invoices approved{'':<12}{1:>5}" in text
    assert f"vendor invoices rejected{'':<12}{1:>5}" in text
    assert "findings on held invoices, by code" in text
    bank_line = next(line for line in text.splitlines() if BANK in line)
    assert bank_line.split()[1] == "1"
