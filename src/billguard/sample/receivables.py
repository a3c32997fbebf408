"""The sample company's receivables: a year of customer payments, and two disputes.

Most invoices were paid on time, some late, a few not at all, and one in part. The
payments up to the as-of date were received before Billguard kept receivables, so they are
bulk-inserted with their allocations, without audit entries, the way the history invoices
were issued without checks. The disputes go through the services as ``fran.finance``: one
resolved by a credit note and a reissue, and one still open.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User

from billguard.billing.models import Invoice
from billguard.domain.currencies import minor_units
from billguard.domain.rounding import RoundingMode, round_decimal
from billguard.receivables.disputes import dispute_open, dispute_resolve
from billguard.receivables.models import Payment, PaymentAllocation
from billguard.receivables.payments import RULE_EXACT_AMOUNT, RULE_REFERENCE
from billguard.sample.calendar import AS_OF
from billguard.sample.plans import Book
from billguard.sample.users import DEMO_RUN_USER

logger = logging.getLogger(__name__)

SEED = 7301
# Shares of the invoices due before the as-of date: paid late, and never paid. The rest
# were paid on or before their due date.
LATE_SHARE = 0.12
UNPAID_SHARE = 0.03
# The dispute resolved by credit note and reissue: a September invoice, reissued in October.
REISSUED_PERIOD = "2026-09"
DISPUTE_OPENED_ON = dt.date(2026, 10, 6)
REISSUED_ON = dt.date(2026, 10, 15)
OPEN_DISPUTE_OPENED_ON = dt.date(2026, 10, 20)


@dataclass(frozen=True)
class SampleReceivables:
    payments: int
    disputes: int
    # The credit note and the reissue of the resolved dispute.
    documents_issued: int


def sample_receivables_create(book: Book) -> SampleReceivables:
    """Write the disputes, then the payments, and return how many of each were written."""
    disputes = _disputes_create(book)
    payments = _payments_create(random.Random(SEED))
    logger.info("sample receivables: %d payments, %d disputes", payments, disputes)
    return SampleReceivables(payments=payments, disputes=disputes, documents_issued=2)


def _regular_invoice(book: Book, period_label: str, skip: int = 0) -> Invoice:
    """Return the period's issued invoice of a monthly contract without a seeded fault.

    ``skip`` passes over that many candidates, so two disputes land on two customers.
    """
    numbers = [
        plan.number
        for plan in book.contracts
        if not plan.role and plan.terms.cadence == "monthly" and plan.schedule_starts_on
    ]
    keys = [f"{number}:{period_label}" for number in numbers]
    invoices = {
        invoice.draft_key: invoice
        for invoice in Invoice.objects.filter(draft_key__in=keys, status=Invoice.Status.ISSUED)
    }
    found = [invoices[key] for key in keys if key in invoices]
    return found[skip]


def _disputes_create(book: Book) -> int:
    finance = User.objects.get(username=DEMO_RUN_USER)
    disputed = _regular_invoice(book, REISSUED_PERIOD)
    dispute = dispute_open(
        invoice=disputed,
        opened_on=DISPUTE_OPENED_ON,
        reason="other",
        amount=disputed.payable,
        note="Lost in the customer's move to a new ERP system, which needs a new number.",
        by=finance,
    )
    dispute_resolve(
        dispute=dispute,
        reissue=True,
        note="Credited, and reissued unchanged under a new number.",
        issue_date=REISSUED_ON,
        by=finance,
    )
    second = _regular_invoice(book, "2026-10", skip=1)
    dispute_open(
        invoice=second,
        opened_on=OPEN_DISPUTE_OPENED_ON,
        reason="missing_po",
        amount=second.payable,
        note="The customer's AP team rejects invoices without its new PO number.",
        by=finance,
    )
    return 2


def _payments_create(rng: random.Random) -> int:
    """Bulk-insert one payment per paid invoice, pay one invoice in part, and add one
    payment that matches no invoice."""
    invoices = list(
        Invoice.objects.filter(
            status=Invoice.Status.ISSUED,
            document_type=Invoice.DocumentType.INVOICE,
            issue_date__lt=AS_OF,
            disputes__isnull=True,
        )
        .select_related("contract", "bill_to")
        .order_by("issue_date", "number")
    )
    payments: list[Payment] = []
    amounts: list[tuple[Invoice, Decimal, str]] = []
    partial_done = False
    for invoice in invoices:
        due = invoice.due_date or invoice.issue_date
        assert due is not None
        assert invoice.issue_date is not None

        draw = rng.random()
        if draw < UNPAID_SHARE:
            continue
        if draw < UNPAID_SHARE + LATE_SHARE:
            received = due + dt.timedelta(days=rng.randint(3, 75))
        else:
            received = due - dt.timedelta(days=rng.randint(0, 12))
            received = max(received, invoice.issue_date + dt.timedelta(days=1))
        if received >= AS_OF:
            continue

        amount = invoice.payable
        if not partial_done and due < AS_OF - dt.timedelta(days=45):
            amount = round_decimal(
                invoice.payable / 2, minor_units(invoice.currency), RoundingMode.HALF_UP
            )
            partial_done = True

        by_reference = rng.random() < 0.8
        party_id = invoice.contract.party_id if invoice.contract else invoice.bill_to.party_id  # type: ignore[union-attr]
        payments.append(
            Payment(
                customer_id=party_id,
                bill_to_id=invoice.bill_to_id,
                received_on=received,
                currency=invoice.currency,
                amount=amount,
                method=Payment.Method.BANK_TRANSFER,
                reference=f"Invoice {invoice.number}" if by_reference else "",
                source="sample-bank",
                external_id=f"SB-{received:%Y%m%d}-{len(payments) + 1:05d}",
                created_by="system",
            )
        )
        amounts.append((invoice, amount, RULE_REFERENCE if by_reference else RULE_EXACT_AMOUNT))

    Payment.objects.bulk_create(payments, batch_size=500)
    PaymentAllocation.objects.bulk_create(
        [
            PaymentAllocation(
                payment=payment, invoice=invoice, amount=amount, rule=rule, created_by="system"
            )
            for payment, (invoice, amount, rule) in zip(payments, amounts, strict=True)
        ],
        batch_size=500,
    )
    # One payment names no invoice and matches no open amount, so it stays unapplied.
    first = invoices[0]
    Payment.objects.create(
        customer_id=first.contract.party_id if first.contract else first.bill_to.party_id,  # type: ignore[union-attr]
        received_on=AS_OF - dt.timedelta(days=3),
        currency=first.currency,
        amount=Decimal("250.00"),
        method=Payment.Method.BANK_TRANSFER,
        reference="Advance, see our letter",
        source="sample-bank",
        external_id="SB-UNAPPLIED-1",
        created_by="system",
    )
    return len(payments) + 1
