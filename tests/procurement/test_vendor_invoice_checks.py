"""The vendor-invoice checks: suspected duplicates and payee bank accounts, and their modes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billguard.controls.models.policy import CheckMode, Mode, PolicySetting
from billguard.procurement.context import vendor_invoice_context
from billguard.procurement.models import ProcurementFinding, VendorInvoice
from billguard.procurement.vendor_invoices import vendor_invoice_check, vendor_invoice_record
from billguard.registry.models import Party, VendorBankAccount
from tests.factories import make_seller
from tests.procurement.invoicing import (
    OTHER_IBAN,
    invoice_input,
    make_order,
    make_vendor,
    one_line_input,
    receive,
)

pytestmark = pytest.mark.django_db

D = Decimal
HELD = VendorInvoice.Status.HELD
MATCHED = VendorInvoice.Status.MATCHED


def codes(invoice: VendorInvoice) -> list[str]:
    return sorted(invoice.findings.values_list("code", flat=True))


def test_same_normalised_number_is_duplicate():
    make_order(make_vendor(), lines=(("20", "120.00"), ("10", "80.00")))
    first = vendor_invoice_record(invoice_input(number="INV-000123"), by=None)

    second = vendor_invoice_record(
        invoice_input(number="Inv.0123", issue_date=dt.date(2026, 6, 1), due_date=None), by=None
    )

    assert first.status == MATCHED
    assert second.status == HELD
    finding = ProcurementFinding.objects.get(vendor_invoice=second)
    assert finding.code == "VENDOR_INVOICE_DUPLICATE_SUSPECTED"
    assert finding.evidence["earlier_invoice_id"] == str(first.pk)
    assert finding.evidence["earlier_number"] == "INV-000123"
    assert "INV123" in finding.message
    assert finding.amount_at_stake == D("1904.00")


def test_duplicate_across_seller_entities_and_years():
    vendor = make_vendor()
    make_order(vendor)
    second_order = make_order(vendor, "PO-1002")
    second_order.seller_entity = make_seller("acme-us")
    second_order.save()
    first = vendor_invoice_record(
        invoice_input(number="INV 123", issue_date=dt.date(2025, 12, 30), due_date=None),
        by=None,
    )

    second = vendor_invoice_record(
        one_line_input(quantity="1", unit_price="120.00", number="INV-0123", order="PO-1002"),
        by=None,
    )

    assert codes(second) == ["VENDOR_INVOICE_DUPLICATE_SUSPECTED"]
    finding = second.findings.get()
    assert finding.evidence["earlier_invoice_id"] == str(first.pk)
    assert finding.evidence["earlier_seller_entity"] == "acme-de"


def test_same_amount_within_window_is_duplicate():
    make_order(make_vendor(), lines=(("20", "120.00"), ("10", "80.00")))
    first = vendor_invoice_record(invoice_input(number="A-1"), by=None)

    second = vendor_invoice_record(
        invoice_input(number="B-2", issue_date=dt.date(2026, 10, 20), due_date=None), by=None
    )

    finding = second.findings.get()
    assert finding.code == "VENDOR_INVOICE_DUPLICATE_SUSPECTED"
    assert finding.evidence["earlier_invoice_id"] == str(first.pk)
    assert "issued 19 days apart (window 90 days)" in finding.message


def test_same_amount_on_another_order_is_a_recurring_charge():
    vendor = make_vendor()
    make_order(vendor)
    make_order(vendor, "PO-1002")
    vendor_invoice_record(invoice_input(number="A-1"), by=None)

    second = vendor_invoice_record(
        invoice_input(order="PO-1002", number="B-2", issue_date=dt.date(2026, 10, 20)), by=None
    )

    assert second.status == MATCHED
    assert not second.findings.exists()


def test_same_amount_outside_window_is_not_duplicate():
    make_order(make_vendor(), lines=(("20", "120.00"), ("10", "80.00")))
    vendor_invoice_record(invoice_input(number="A-1", issue_date=dt.date(2026, 6, 1)), by=None)

    second = vendor_invoice_record(
        invoice_input(number="B-2", issue_date=dt.date(2026, 10, 1)), by=None
    )

    assert second.status == MATCHED


def test_window_follows_policy_setting():
    make_order(make_vendor(), lines=(("20", "120.00"), ("10", "80.00")))
    PolicySetting.objects.create(key="procurement_duplicate_window_days", value=10)
    vendor_invoice_record(invoice_input(number="A-1"), by=None)

    second = vendor_invoice_record(
        invoice_input(number="B-2", issue_date=dt.date(2026, 10, 20), due_date=None), by=None
    )

    assert second.status == MATCHED


def test_other_vendor_same_number_is_not_duplicate():
    make_order(make_vendor())
    make_order(make_vendor("V-OTHER", tax_id="DE136695976"), "PO-2002")
    vendor_invoice_record(invoice_input(), by=None)

    other = vendor_invoice_record(
        one_line_input(
            quantity="1", unit_price="120.00", number="INV-000123", vendor="V-OTHER",
            order="PO-2002", payee_iban="",
        ),
        by=None,
    )  # fmt: skip

    assert other.status == MATCHED


def test_invoice_of_merged_party_counts_for_survivor():
    survivor = make_vendor()
    make_order(survivor)
    old = make_vendor("V-OLD", tax_id="DE136695976")
    make_order(old, "PO-OLD")
    earlier = vendor_invoice_record(invoice_input(vendor="V-OLD", order="PO-OLD"), by=None)
    Party.objects.filter(pk=old.pk).update(merged_into=survivor)

    later = vendor_invoice_record(
        one_line_input(quantity="1", unit_price="120.00", number="INV-123"), by=None
    )

    assert later.findings.get().evidence["earlier_invoice_id"] == str(earlier.pk)


def test_rejected_earlier_invoice_is_not_duplicate():
    make_order(make_vendor(), lines=(("20", "120.00"), ("10", "80.00")))
    first = vendor_invoice_record(invoice_input(), by=None)
    VendorInvoice.objects.filter(pk=first.pk).update(status=VendorInvoice.Status.REJECTED)

    second = vendor_invoice_record(invoice_input(issue_date=dt.date(2026, 10, 2)), by=None)

    assert second.status == MATCHED


def test_checking_earlier_invoice_again_stays_clean():
    make_order(make_vendor(), lines=(("20", "120.00"), ("10", "80.00")))
    first = vendor_invoice_record(invoice_input(), by=None)
    vendor_invoice_record(invoice_input(issue_date=dt.date(2026, 10, 2)), by=None)

    result = vendor_invoice_check(first)

    assert result.invoice.status == MATCHED
    assert result.findings == []


def test_payee_iban_not_approved_holds():
    make_order(make_vendor())

    invoice = vendor_invoice_record(invoice_input(payee_iban=OTHER_IBAN), by=None)

    assert invoice.status == HELD
    finding = invoice.findings.get()
    assert finding.code == "VENDOR_BANK_ACCOUNT_MISMATCH"
    assert finding.actual == OTHER_IBAN
    assert finding.expected == "DE44500105175407324931"
    assert finding.amount_at_stake == D("1904.00")


def test_payee_iban_compared_in_compact_form():
    vendor = make_vendor(iban=None)
    VendorBankAccount.objects.create(party=vendor, iban="de44 5001 0517 5407 3249 31")
    make_order(vendor)

    invoice = vendor_invoice_record(invoice_input(payee_iban="DE44500105175407324931"), by=None)

    assert invoice.status == MATCHED


def test_second_approved_account_matches():
    vendor = make_vendor()
    VendorBankAccount.objects.create(party=vendor, iban=OTHER_IBAN, is_primary=False)
    make_order(vendor)

    invoice = vendor_invoice_record(invoice_input(payee_iban=OTHER_IBAN), by=None)

    assert invoice.status == MATCHED


def test_invoice_without_iban_is_not_flagged():
    make_order(make_vendor(iban=None))

    invoice = vendor_invoice_record(invoice_input(payee_iban=""), by=None)

    assert invoice.status == MATCHED


def test_vendor_without_accounts_is_flagged():
    make_order(make_vendor(iban=None))

    invoice = vendor_invoice_record(invoice_input(), by=None)

    finding = invoice.findings.get()
    assert finding.code == "VENDOR_BANK_ACCOUNT_MISMATCH"
    assert finding.expected == "none on record"


def test_observe_mode_records_without_holding():
    make_order(make_vendor())
    CheckMode.objects.create(check_code="VENDOR_BANK_ACCOUNT_MISMATCH", mode=Mode.OBSERVE)

    invoice = vendor_invoice_record(invoice_input(payee_iban=OTHER_IBAN), by=None)

    assert invoice.status == MATCHED
    finding = invoice.findings.get()
    assert finding.observed is True


def test_check_replaces_findings():
    vendor = make_vendor()
    make_order(vendor)
    invoice = vendor_invoice_record(invoice_input(payee_iban=OTHER_IBAN), by=None)
    VendorBankAccount.objects.create(party=vendor, iban=OTHER_IBAN, is_primary=False)

    result = vendor_invoice_check(invoice)

    assert result.invoice.status == MATCHED
    assert codes(invoice) == []


def test_context_sums_receipts_and_earlier_invoices():
    vendor = make_vendor()
    order = make_order(vendor, lines=(("20", "120.00"),), received=False)
    line = order.lines.get()
    receive(line, "6")
    receive(line, "4")
    first = vendor_invoice_record(
        one_line_input(quantity="3", unit_price="120.00", number="A-1"), by=None
    )
    rejected = vendor_invoice_record(
        one_line_input(quantity="2", unit_price="120.00", number="A-2"), by=None
    )
    VendorInvoice.objects.filter(pk=rejected.pk).update(status=VendorInvoice.Status.REJECTED)
    latest = vendor_invoice_record(
        one_line_input(quantity="4", unit_price="120.00", number="A-3"), by=None
    )

    context = vendor_invoice_context(latest)
    first_context = vendor_invoice_context(first)

    assert context.received == {line.pk: D("10")}
    assert context.invoiced_before == {line.pk: D("3")}
    assert first_context.invoiced_before == {}
    assert context.po_lines[line.pk].purchase_order == order
    assert context.tolerances[line.pk].source == "no tolerance set"
    assert context.onboarding.complete is True
    assert context.approved_ibans == ("DE44500105175407324931",)
