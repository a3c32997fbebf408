"""Deciding held vendor invoices: approve, reject, check again; and the payable list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from billguard.controls.models import AuditEntry
from billguard.domain.errors import InvalidInput, NotAllowed, NotFound, RuleViolation
from billguard.procurement.models import VendorInvoice
from billguard.procurement.selectors import (
    purchase_orders_held,
    vendor_invoices_held,
    vendor_invoices_list,
    vendor_invoices_payable,
)
from billguard.procurement.vendor_invoices import (
    vendor_invoice_approve,
    vendor_invoice_recheck,
    vendor_invoice_record,
    vendor_invoice_reject,
    vendor_invoices_recheck_held,
)
from billguard.registry.models import VendorBankAccount
from tests.acting_users import make_user
from tests.procurement.invoicing import (
    OTHER_IBAN,
    invoice_input,
    make_order,
    make_vendor,
    one_line_input,
)

pytestmark = pytest.mark.django_db

Status = VendorInvoice.Status


@pytest.fixture
def people():  # type: ignore[no-untyped-def]
    return {
        "procurement": make_user("pat.procurement", "procurement"),
        "approver": make_user("alex.approver", "finance_approver"),
        "finance": make_user("fran.finance", "finance"),
    }


def held_invoice(by) -> VendorInvoice:  # type: ignore[no-untyped-def]
    make_order(make_vendor())
    invoice = vendor_invoice_record(invoice_input(payee_iban=OTHER_IBAN), by=by)
    assert invoice.status == Status.HELD
    return invoice


def test_approver_approves_held_invoice(people):
    invoice = held_invoice(people["procurement"])

    approved = vendor_invoice_approve(
        invoice_id=invoice.pk, reason="Vendor confirmed new bank by phone", by=people["approver"]
    )

    stored = VendorInvoice.objects.get(pk=invoice.pk)
    assert approved.status == Status.APPROVED
    assert stored.status == Status.APPROVED
    assert stored.decided_by == "alex.approver"
    assert stored.decision_note == "Vendor confirmed new bank by phone"
    entry = AuditEntry.objects.get(action="vendor_invoice.approve", record_id=str(invoice.pk))
    assert entry.actor == "alex.approver"
    assert entry.reason == "Vendor confirmed new bank by phone"
    assert entry.after["findings"] == ["VENDOR_BANK_ACCOUNT_MISMATCH"]


def test_recorder_may_not_approve_own_invoice(people):
    admin = make_user("ada.admin", "administrator")
    invoice = held_invoice(admin)

    with pytest.raises(NotAllowed) as refused:
        vendor_invoice_approve(invoice_id=invoice.pk, reason="Looks fine", by=admin)

    assert "ada.admin recorded vendor invoice" in str(refused.value)
    assert VendorInvoice.objects.get(pk=invoice.pk).status == Status.HELD


def test_finance_without_decide_action_is_refused(people):
    invoice = held_invoice(people["procurement"])

    with pytest.raises(NotAllowed):
        vendor_invoice_approve(invoice_id=invoice.pk, reason="ok", by=people["finance"])

    assert VendorInvoice.objects.get(pk=invoice.pk).status == Status.HELD


def test_approve_needs_reason(people):
    invoice = held_invoice(people["procurement"])

    with pytest.raises(InvalidInput):
        vendor_invoice_approve(invoice_id=invoice.pk, reason="  ", by=people["approver"])

    assert VendorInvoice.objects.get(pk=invoice.pk).status == Status.HELD


def test_only_held_invoice_is_approved(people):
    make_order(make_vendor())
    matched = vendor_invoice_record(invoice_input(), by=people["procurement"])

    with pytest.raises(RuleViolation) as refused:
        vendor_invoice_approve(invoice_id=matched.pk, reason="ok", by=people["approver"])

    assert "only a held invoice is approved" in str(refused.value)


def test_unknown_invoice_is_not_found(people):
    with pytest.raises(NotFound):
        vendor_invoice_approve(invoice_id=999, reason="ok", by=people["approver"])


def test_reject_held_invoice(people):
    invoice = held_invoice(people["procurement"])

    rejected = vendor_invoice_reject(
        invoice_id=invoice.pk, reason="Bank change not confirmed", by=people["approver"]
    )

    assert rejected.status == Status.REJECTED
    assert VendorInvoice.objects.get(pk=invoice.pk).decision_note == "Bank change not confirmed"
    assert AuditEntry.objects.filter(action="vendor_invoice.reject").count() == 1


def test_reject_needs_reason_and_is_final(people):
    invoice = held_invoice(people["procurement"])
    with pytest.raises(InvalidInput):
        vendor_invoice_reject(invoice_id=invoice.pk, reason="", by=people["approver"])
    vendor_invoice_reject(invoice_id=invoice.pk, reason="Wrong account", by=people["approver"])

    with pytest.raises(RuleViolation):
        vendor_invoice_approve(invoice_id=invoice.pk, reason="after all", by=people["approver"])
    with pytest.raises(RuleViolation):
        vendor_invoice_recheck(invoice_id=invoice.pk, by=people["procurement"])

    assert VendorInvoice.objects.get(pk=invoice.pk).status == Status.REJECTED


def test_recheck_after_cause_fixed(people):
    invoice = held_invoice(people["procurement"])
    VendorBankAccount.objects.create(party=invoice.vendor, iban=OTHER_IBAN, is_primary=False)

    result = vendor_invoice_recheck(invoice_id=invoice.pk, by=people["procurement"])

    assert result.invoice.status == Status.MATCHED
    assert result.blocking_codes == []
    assert VendorInvoice.objects.get(pk=invoice.pk).findings.count() == 0


def test_recheck_while_cause_remains(people):
    invoice = held_invoice(people["procurement"])

    result = vendor_invoice_recheck(invoice_id=invoice.pk, by=people["finance"])

    assert result.held
    assert result.blocking_codes == ["VENDOR_BANK_ACCOUNT_MISMATCH"]


def test_payable_lists_matched_and_approved(people):
    vendor = make_vendor()
    make_order(vendor, lines=(("40", "120.00"), ("20", "80.00")))
    matched = vendor_invoice_record(invoice_input(number="M-1"), by=people["procurement"])
    held = vendor_invoice_record(
        invoice_input(number="H-1", issue_date=dt.date(2026, 6, 1), due_date=None,
                      payee_iban=OTHER_IBAN),
        by=people["procurement"],
    )  # fmt: skip
    approved = vendor_invoice_record(
        invoice_input(number="A-1", issue_date=dt.date(2026, 3, 1), payee_iban=OTHER_IBAN,
                      due_date=dt.date(2026, 3, 31)),
        by=people["procurement"],
    )  # fmt: skip
    vendor_invoice_approve(invoice_id=approved.pk, reason="Confirmed", by=people["approver"])
    without_due_date = vendor_invoice_record(
        one_line_input(quantity="1", unit_price="120.00", number="N-1", due_date=None),
        by=people["procurement"],
    )

    payable = list(vendor_invoices_payable())

    assert [invoice.pk for invoice in payable] == [approved.pk, matched.pk, without_due_date.pk]
    assert [invoice.pk for invoice in vendor_invoices_held()] == [held.pk]
    assert [i.pk for i in vendor_invoices_list(status="held", vendor="V-HOST")] == [held.pk]
    assert list(vendor_invoices_list(vendor="V-NONE")) == []


def test_held_orders_selector_lists_held_only():
    vendor = make_vendor()
    held = make_order(vendor, "PO-HELD")
    held.status = held.Status.HELD
    held.save()
    make_order(vendor, "PO-OK")

    assert [order.number for order in purchase_orders_held()] == ["PO-HELD"]


def test_recheck_held_checks_every_held_invoice(people):
    vendor = make_vendor()
    make_order(vendor, lines=(("40", "120.00"), ("20", "80.00")))
    first = vendor_invoice_record(invoice_input(number="H-1", payee_iban=OTHER_IBAN), by=None)
    second = vendor_invoice_record(
        one_line_input(quantity="1", unit_price="120.00", number="H-2", payee_iban=OTHER_IBAN),
        by=None,
    )
    matched = vendor_invoice_record(
        one_line_input(quantity="2", unit_price="120.00", number="M-1"), by=None
    )
    VendorBankAccount.objects.create(party=vendor, iban=OTHER_IBAN, is_primary=False)

    results = vendor_invoices_recheck_held(by=people["procurement"])

    assert [result.invoice.pk for result in results] == [first.pk, second.pk]
    assert all(result.invoice.status == Status.MATCHED for result in results)
    assert VendorInvoice.objects.get(pk=matched.pk).status == Status.MATCHED


def test_reject_twice_names_first_decision(people):
    invoice = held_invoice(people["procurement"])
    vendor_invoice_reject(invoice_id=invoice.pk, reason="Wrong account", by=people["approver"])
    decided_on = timezone.localdate().isoformat()

    with pytest.raises(RuleViolation) as refused:
        vendor_invoice_reject(invoice_id=invoice.pk, reason="again", by=people["approver"])

    message = str(refused.value)
    assert f"vendor invoice {invoice.pk} is already rejected" in message
    assert f"alex.approver rejected it on {decided_on}" in message
    assert "A decision is final, so it cannot be rejected again." in message
    assert "is not rejected" not in message


def test_approve_twice_names_first_decision(people):
    invoice = held_invoice(people["procurement"])
    vendor_invoice_approve(invoice_id=invoice.pk, reason="Confirmed", by=people["approver"])

    with pytest.raises(RuleViolation) as refused:
        vendor_invoice_approve(invoice_id=invoice.pk, reason="again", by=people["approver"])

    message = str(refused.value)
    assert "is already approved: alex.approver approved it on " in message
    assert "cannot be approved again." in message


def test_approve_after_reject_names_rejection(people):
    invoice = held_invoice(people["procurement"])
    vendor_invoice_reject(invoice_id=invoice.pk, reason="Wrong account", by=people["approver"])

    with pytest.raises(RuleViolation) as refused:
        vendor_invoice_approve(invoice_id=invoice.pk, reason="after all", by=people["approver"])

    message = str(refused.value)
    assert "is already rejected: alex.approver rejected it on " in message
    assert "A decision is final, so it cannot be approved." in message
    assert "only a held invoice" not in message
