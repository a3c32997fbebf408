"""Receivables figures of a page of customers, computed in SQL in a few queries.

The open amount here is the one of ``balances``: the payable amount, less the issued credit
notes and the payment allocations dated on or before the as-of date, and never below zero.
``balances`` computes it per invoice in Python. This module computes the same figure in the
database, so a list of customers, or a customer with thousands of invoices, costs a fixed
number of queries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Abs, Coalesce, Greatest

from billguard.billing.models import Invoice
from billguard.receivables.ageing import AgeingRow, bucket_of
from billguard.receivables.balances import InvoiceBalance, issued_invoices
from billguard.receivables.models import PaymentAllocation
from billguard.registry.models import BillToEntity, Contract, Party

_AMOUNT: DecimalField[Decimal, Decimal] = DecimalField(max_digits=18, decimal_places=3)


@dataclass(frozen=True)
class CustomerInvoices:
    """The invoices of some customers, matched by contract and bill-to entity ids.

    The contracts and bill-to entities are read first, so the database matches invoices by
    their own indexed columns (contract, bill-to) and joins no other table. The same ids
    then tell which customer an invoice row belongs to.
    """

    party_of_contract: dict[int, int]
    party_of_bill_to: dict[int, int]

    @property
    def filter(self) -> Q:
        """Match the invoices of the customers, as ``balances.customer_filter`` does."""
        return Q(contract_id__in=list(self.party_of_contract)) | Q(
            contract__isnull=True, bill_to_id__in=list(self.party_of_bill_to)
        )

    def customer_id(self, contract_id: int | None, bill_to_id: int | None) -> int | None:
        """Return the customer of an invoice: its contract's party, else its bill-to's."""
        if contract_id is not None:
            return self.party_of_contract.get(contract_id)
        if bill_to_id is not None:
            return self.party_of_bill_to.get(bill_to_id)
        return None


def customer_invoices(party_ids: list[int]) -> CustomerInvoices:
    """Read the contract and bill-to ids of the customers ``party_ids``, in 2 queries."""
    contracts = Contract.objects.filter(party_id__in=party_ids).values_list("pk", "party_id")
    bill_tos = BillToEntity.objects.filter(party_id__in=party_ids).values_list("pk", "party_id")
    return CustomerInvoices(dict(contracts), dict(bill_tos))


def customer_invoices_filter(party_ids: list[int]) -> Q:
    """Match the invoices of the customers ``party_ids``, as ``balances.customer_filter`` does."""
    return customer_invoices(party_ids).filter


def with_open_amount(invoices: QuerySet[Invoice], as_of: dt.date) -> QuerySet[Invoice]:
    """Annotate each invoice with its balance as of ``as_of``, as ``InvoiceBalance`` has it.

    ``credited_amount`` and ``paid_amount`` are the parts that ``balances`` sums, and
    ``open_amount`` is what remains of the payable amount, never below zero.
    """
    credited = (
        Invoice.objects.filter(
            credited_invoice_id=OuterRef("pk"),
            document_type=Invoice.DocumentType.CREDIT_NOTE,
            status=Invoice.Status.ISSUED,
            issue_date__lte=as_of,
        )
        .order_by()
        .values("credited_invoice_id")
        # Credit notes state positive amounts (EN 16931); Abs() also accepts negative ones.
        .annotate(total=Abs(Sum("payable")))
        .values("total")
    )
    paid = (
        PaymentAllocation.objects.filter(invoice_id=OuterRef("pk"), payment__received_on__lte=as_of)
        .order_by()
        .values("invoice_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    zero = Value(Decimal(0), output_field=_AMOUNT)
    annotated = invoices.annotate(
        credited_amount=Coalesce(Subquery(credited, output_field=_AMOUNT), zero),
        paid_amount=Coalesce(Subquery(paid, output_field=_AMOUNT), zero),
    )
    remaining = ExpressionWrapper(
        F("payable") - F("credited_amount") - F("paid_amount"), output_field=_AMOUNT
    )
    return annotated.annotate(open_amount=Greatest(remaining, zero, output_field=_AMOUNT))


def balances_of_annotated(invoices: Iterable[Invoice], as_of: dt.date) -> list[InvoiceBalance]:
    """Return the balances of invoices that ``with_open_amount`` annotated, with no query.

    The open amount, the days past due and the payment status then come from
    ``InvoiceBalance`` itself.
    """
    return [
        InvoiceBalance(
            invoice=invoice,
            credited=invoice.credited_amount,  # type: ignore[attr-defined]
            paid=invoice.paid_amount,  # type: ignore[attr-defined]
            as_of=as_of,
        )
        for invoice in invoices
    ]


def balances_due(party_ids: list[int], as_of: dt.date) -> dict[int, list[tuple[str, Decimal]]]:
    """Return the open amount of each customer's issued invoices, per currency, in 3 queries.

    Only currencies with something open appear, sorted by their code.
    """
    if not party_ids:
        return {}
    customers = customer_invoices(party_ids)
    invoices = issued_invoices().filter(customers.filter, issue_date__lte=as_of)
    rows = (
        with_open_amount(invoices.select_related(None), as_of)
        .order_by()
        .values("contract_id", "bill_to_id", "currency")
        .annotate(total=Sum("open_amount"))
    )
    totals: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        customer_id = customers.customer_id(row["contract_id"], row["bill_to_id"])
        if customer_id is not None and row["total"]:
            totals[(customer_id, row["currency"])] += row["total"]
    due: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    for (customer_id, currency), total in sorted(totals.items()):
        if total > 0:
            due[customer_id].append((currency, total))
    return dict(due)


def held_drafts_count(party_ids: list[int]) -> dict[int, int]:
    """Return the number of held drafts (open exceptions) of each customer, in 3 queries."""
    if not party_ids:
        return {}
    customers = customer_invoices(party_ids)
    rows = (
        Invoice.objects.filter(customers.filter, status=Invoice.Status.HELD)
        .order_by()
        .values("contract_id", "bill_to_id")
        .annotate(held=Count("pk"))
    )
    counts: dict[int, int] = defaultdict(int)
    for row in rows:
        customer_id = customers.customer_id(row["contract_id"], row["bill_to_id"])
        if customer_id is not None:
            counts[customer_id] += row["held"]
    return dict(counts)


def customer_ageing(
    party: Party, as_of: dt.date, invoices: CustomerInvoices | None = None
) -> list[AgeingRow]:
    """Return the ageing of one customer at ``as_of``: one row per currency with something open.

    The invoices with an open amount are picked in SQL, in one query when ``invoices`` (the
    customer's contract and bill-to ids) is given. Their buckets come from ``InvoiceBalance``
    and ``ageing.bucket_of``, as in the receivables ageing of all customers. The rows leave
    ``unapplied`` at zero: unapplied cash belongs to payments, not invoices.
    """
    invoices = invoices or customer_invoices([party.pk])
    open_invoices = (
        with_open_amount(issued_invoices().select_related(None), as_of)
        .filter(invoices.filter, issue_date__lte=as_of)
        .filter(Q(open_amount__gt=0))
        .only("pk", "currency", "payable", "issue_date", "due_date")
    )
    rows: dict[str, AgeingRow] = {}
    for balance in balances_of_annotated(open_invoices, as_of):
        if balance.open_amount <= 0:
            continue
        currency = balance.invoice.currency
        row = rows.setdefault(currency, AgeingRow(party.code, party.name, currency))
        row.buckets[bucket_of(balance.days_past_due)] += balance.open_amount
        row.invoices += 1
    return [rows[currency] for currency in sorted(rows)]
