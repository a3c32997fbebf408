"""The open amount and payment status of each issued invoice, as of a date.

The open amount of an invoice is its payable amount, less the issued credit notes that
credit it and the payment allocations applied to it. As of a date, only the credit notes
issued and the payments received on or before that date count.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from billguard.billing.models import Invoice
from billguard.receivables.models import PaymentAllocation
from billguard.registry.models import Party

OPEN = "open"
PARTIALLY_PAID = "partially paid"
PAID = "paid"
OVERDUE = "overdue"
CREDITED = "credited"
PAYMENT_STATUSES = (OPEN, PARTIALLY_PAID, PAID, OVERDUE, CREDITED)


@dataclass(frozen=True)
class InvoiceBalance:
    """The amounts of one issued invoice as of a date, and its payment status."""

    invoice: Invoice
    credited: Decimal
    paid: Decimal
    as_of: dt.date

    @property
    def open_amount(self) -> Decimal:
        return max(self.invoice.payable - self.credited - self.paid, Decimal(0))

    @property
    def days_past_due(self) -> int:
        """Days from the due date to ``as_of``; 0 or less while the invoice is not yet due."""
        due = self.invoice.due_date or self.invoice.issue_date or self.as_of
        return (self.as_of - due).days

    @property
    def status(self) -> str:
        """One of PAYMENT_STATUSES, decided in this order.

        credited: credit notes cover the whole payable amount. paid: nothing is open.
        overdue: something is open after the due date, paid in part or not. partially
        paid: a payment covers part and the due date has not passed. open: nothing paid yet.
        """
        payable = self.invoice.payable
        if self.credited >= payable:
            return CREDITED
        if self.open_amount <= 0:
            return PAID
        if self.days_past_due > 0:
            return OVERDUE
        if self.paid > 0:
            return PARTIALLY_PAID
        return OPEN


def issued_invoices() -> QuerySet[Invoice]:
    """Issued invoices (credit notes excluded) with what the balances and reports read."""
    return Invoice.objects.filter(
        status=Invoice.Status.ISSUED, document_type=Invoice.DocumentType.INVOICE
    ).select_related("contract__party", "bill_to__party", "seller_entity")


def customer_filter(party_id: int) -> Q:
    """Match the invoices of a customer: those of its contracts, and those without a
    contract whose bill-to entity is one of its own."""
    return Q(contract__party_id=party_id) | Q(contract__isnull=True, bill_to__party_id=party_id)


def invoice_customer(invoice: Invoice) -> Party | None:
    """Return the customer of an invoice: its contract's party, else its bill-to entity's."""
    if invoice.contract is not None:
        return invoice.contract.party
    if invoice.bill_to is not None:
        return invoice.bill_to.party
    return None


def invoice_customer_id(invoice: Invoice) -> int | None:
    customer = invoice_customer(invoice)
    return customer.pk if customer is not None else None


def balances_of(invoices: Iterable[Invoice], as_of: dt.date | None = None) -> list[InvoiceBalance]:
    """Return the balance of each invoice as of ``as_of`` (default today), in two queries."""
    as_of = as_of or timezone.localdate()
    invoices = list(invoices)
    ids = [invoice.pk for invoice in invoices]
    credited = _credited(ids, as_of)
    paid = _paid(ids, as_of)
    return [
        InvoiceBalance(
            invoice=invoice,
            credited=credited.get(invoice.pk, Decimal(0)),
            paid=paid.get(invoice.pk, Decimal(0)),
            as_of=as_of,
        )
        for invoice in invoices
    ]


def balance_of(invoice: Invoice, as_of: dt.date | None = None) -> InvoiceBalance:
    return balances_of([invoice], as_of)[0]


def credited_in_full(invoices: Iterable[Invoice]) -> set[int]:
    """Return the ids of the invoices whose issued credit notes cover their whole payable amount.

    Every issued credit note counts, whatever its date, because the question is whether
    anything of the invoice is left to dispute now.
    """
    invoices = list(invoices)
    credited = _credited([invoice.pk for invoice in invoices], dt.date.max)
    return {
        invoice.pk
        for invoice in invoices
        if invoice.pk in credited and credited[invoice.pk] >= invoice.payable
    }


def credited_total(invoice: Invoice) -> Decimal:
    """Return what the issued credit notes of ``invoice`` credit, whatever their date."""
    return _credited([invoice.pk], dt.date.max).get(invoice.pk, Decimal(0))


# Ids per query, below SQLite's limit of host parameters in older builds.
_ID_BATCH = 900


def _credited(ids: list[int], as_of: dt.date) -> dict[int, Decimal]:
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for start in range(0, len(ids), _ID_BATCH):
        rows = (
            Invoice.objects.filter(
                credited_invoice_id__in=ids[start : start + _ID_BATCH],
                document_type=Invoice.DocumentType.CREDIT_NOTE,
                status=Invoice.Status.ISSUED,
                issue_date__lte=as_of,
            )
            .values("credited_invoice_id")
            .annotate(total=Sum("payable"))
        )
        for row in rows:
            # Credit notes state positive amounts (EN 16931); abs() also accepts negative ones.
            totals[row["credited_invoice_id"]] += abs(row["total"])
    return totals


def _paid(ids: list[int], as_of: dt.date) -> dict[int, Decimal]:
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for start in range(0, len(ids), _ID_BATCH):
        rows = (
            PaymentAllocation.objects.filter(
                invoice_id__in=ids[start : start + _ID_BATCH], payment__received_on__lte=as_of
            )
            .values("invoice_id")
            .annotate(total=Sum("amount"))
        )
        for row in rows:
            totals[row["invoice_id"]] += row["total"]
    return totals
