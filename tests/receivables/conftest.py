"""A customer with three issued invoices of 1190.00 EUR (1000.00 plus 19 % VAT), Net 30.

ADE-000001 for September 2026 (issued 2026-09-01, due 2026-10-01), ADE-000002 for October
(issued 2026-10-01, due 2026-10-31) and ADE-000003 for November (issued 2026-11-01, due
2026-12-01).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from billguard.billing.models import Invoice
from billguard.billing.run import billing_run_execute
from billguard.domain.periods import parse_period
from billguard.receivables.payments import PaymentInput, PaymentResult, payment_record
from billguard.registry.models import Party
from tests.acting_users import make_user
from tests.factories import ContractSetup, make_contract

# The day the tests record payments on, so no payment date is in the future.
TODAY = dt.date(2026, 12, 31)


@dataclass
class Receivables:
    setup: ContractSetup
    september: Invoice
    october: Invoice
    november: Invoice
    finance: User

    @property
    def customer(self) -> Party:
        return self.setup.party

    def pay(
        self, amount: str, received_on: dt.date, reference: str = "", **options: object
    ) -> PaymentResult:
        return payment_record(
            data=PaymentInput(
                customer=self.customer,
                received_on=received_on,
                currency="EUR",
                amount=Decimal(amount),
                reference=reference,
            ),
            by=self.finance,
            today=TODAY,
            **options,  # type: ignore[arg-type]
        )


@pytest.fixture
def receivables() -> Receivables:
    setup = make_contract()
    for label in ("2026-09", "2026-10", "2026-11"):
        billing_run_execute(period=parse_period(label))
    invoices = list(Invoice.objects.filter(status=Invoice.Status.ISSUED).order_by("number"))
    assert [invoice.number for invoice in invoices] == ["ADE-000001", "ADE-000002", "ADE-000003"]
    return Receivables(setup, *invoices, finance=make_user("fran", "finance"))
