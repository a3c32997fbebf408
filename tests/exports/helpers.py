"""Issued invoices and mappings for the export tests, built through the billing run."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from billguard.billing.credit import credit_note_issue
from billguard.billing.models import Invoice
from billguard.billing.run import billing_run_execute
from billguard.domain.periods import parse_period
from billguard.exports.mappings import mapping_set
from billguard.registry.models import BillingScheduleLine
from billguard.registry.terms import LineTerms
from tests.factories import make_contract

D = Decimal

# GL account code: (QuickBooks Online account name, Xero account code).
ACCOUNTS = {
    "1200": ("Accounts Receivable (A/R)", "610"),
    "2200": ("VAT Control", "820"),
    "4000": ("Subscriptions", "200"),
    "4100": ("Services", "210"),
}
TAXES = {
    "S:19": ("VAT 19%", "VAT on Income 19%"),
    "S:7": ("VAT 7%", "VAT on Income 7%"),
    "AE:0": ("Reverse Charge", "Reverse Charge Services"),
    "none": ("", "Tax Exempt"),
}


def two_account_lines() -> list[LineTerms]:
    """A subscription at 19 % and services at 7 %, so one invoice has two accounts and rates."""
    return [
        LineTerms(
            line_code="L1",
            kind="recurring_fixed",
            description="Managed service, monthly fee",
            unit_price=D("1000.00"),
            quantity=D("1"),
            gl_account="4000",
        ),
        LineTerms(
            line_code="L2",
            kind="recurring_fixed",
            description="Training, monthly block",
            unit_price=D("333.33"),
            quantity=D("3"),
            gl_account="4100",
            tax_category="S",
            tax_rate=D("7"),
        ),
    ]


def issue_november() -> list[Invoice]:
    """Bill three contracts for 2026-11 and credit one invoice in full; return the issued ones.

    C-1 is one line at 19 %, C-2 two accounts at 19 % and 7 %, C-3 the EU reverse charge.
    """
    make_contract("C-1")
    make_contract("C-2", customer_code="CUST-2", lines=two_account_lines())
    make_contract(
        "C-3",
        customer_code="CUST-3",
        tax_category="AE",
        tax_rate=D("0"),
        exemption_reason="Reverse charge",
    )
    billing_run_execute(period=parse_period("2026-11"))
    first = Invoice.objects.get(contract__number="C-1", document_type="invoice")
    credit_note_issue(
        invoice=first, reason="Service not delivered", issue_date=dt.date(2026, 11, 20)
    )
    return list(Invoice.objects.filter(status=Invoice.Status.ISSUED).order_by("number"))


def break_price(contract_number: str) -> None:
    """Bill the contract's schedule line at 1100.00 where the contract sets 1000.00."""
    line = BillingScheduleLine.objects.get(schedule__contract__number=contract_number)
    line.unit_price = D("1100.00")
    line.save()


def map_everything(*, skip: tuple[str, ...] = ()) -> None:
    """Set every mapping of ACCOUNTS and TAXES for both systems, except the keys in ``skip``."""
    for code, targets in ACCOUNTS.items():
        if code in skip:
            continue
        for system, target in zip(("quickbooks", "xero"), targets, strict=True):
            mapping_set(kind="account", key=code, system=system, target=target)
    for key, targets in TAXES.items():
        if key in skip:
            continue
        for system, target in zip(("quickbooks", "xero"), targets, strict=True):
            if target:
                mapping_set(kind="tax", key=key, system=system, target=target)
