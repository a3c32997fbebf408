"""Held drafts made by a real billing run on contracts with a seeded fault."""

from __future__ import annotations

from decimal import Decimal

from billguard.billing.exceptions import exceptions_open
from billguard.billing.models import Invoice
from billguard.billing.run import billing_run_execute
from billguard.domain.periods import parse_period
from billguard.registry.models import BillingScheduleLine
from tests.factories import make_contract

PERIOD = "2026-11"


def held_drafts() -> dict[str, Invoice]:
    """Bill November 2026 for three contracts and return the two held drafts by contract.

    C-1 has no statement of work (SOW_MISSING); C-2's schedule bills 900.00 where the contract
    has 1000.00 (PRICE_MISMATCH); C-3 is clean and issued.
    """
    make_contract("C-1", customer_code="NORTHWIND", sow_document_id=None)
    price_fault = make_contract("C-2", customer_code="CONTOSO")
    BillingScheduleLine.objects.filter(schedule__contract=price_fault.contract).update(
        unit_price=Decimal("900.00")
    )
    make_contract("C-3", customer_code="FABRIKAM")
    billing_run_execute(period=parse_period(PERIOD))
    return {invoice.contract.number: invoice for invoice in exceptions_open()}
