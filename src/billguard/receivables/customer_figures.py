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
from billguard.receivables.ageing import BUCKETS, AgeingRow, bucket_of
from billguard.receivables.balances import balances_of, issued_invoices
from billguard.receivables.models import PaymentAllocation
from billguard.registry.models import BillToEntity, Contract, Party

_AMOUNT: DecimalField[Decimal, Decimal] = DecimalField(max_digits=18, decimal_places=3)


def customer_invoices_filter(party_ids: list[int]) -> Q:
    """Match the invoices of the customers ``party_ids``, as ``balances.customer_filter`` does.

    The contracts and bill-to entities are read first, so the database matches invoices by
    their own indexed columns (contract, bill-to) instead of joining on every invoice.
    """
    contract_ids = list(
        Contract.objects.filter(party_id__in=party_ids).values_list("pk", flat=True)
    )
    bill_to_ids = list(
        BillToEntity.objects.filter(party_id__in=party_ids).values_list("pk", flat=True)
    )
    return Q(contract_id__in=contract_ids) | Q(contract__isnull=True, bill_to_id__in=bill_to_ids)


def with_open_amount(invoices: QuerySet[Invoice], as_of: dt.date) -> QuerySet[Invoice]:
    """Annotate each invoice with ``open_amount`` as of ``as_of``, as ``InvoiceBalance`` has it."""
    credited = (
        Invoice.objects.filter(
            credited_invoice_id=OuterRef("pk"),
            document_type=Invoice.DocumentType.CREDIT_NOTE,
            status=Invoice.Status.ISSUED,
            issue_date__lte=as_of,
        )
        .order_by()
        .values("credited_invoice_id")
        .annotate(total=Sum(Abs("payable")))
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
    remaining = ExpressionWrapper(
        F("payable")
        - Coalesce(Subquery(credited, output_field=_AMOUNT), zero)
        - Coalesce(Subquery(paid, output_field=_AMOUNT), zero),
        output_field=_AMOUNT,
    )
    return invoices.annotate(open_amount=Greatest(remaining, zero, output_field=_AMOUNT))


def balances_due(party_ids: list[int], as_of: dt.date) -> dict[int, list[tuple[str, Decimal]]]:
    """Return the open amount of each customer's issued invoices, per currency, in 3 queries.

    Only currencies with something open appear, sorted by their code.
    """
    if not party_ids:
        return {}
    invoices = issued_invoices().filter(customer_invoices_filter(party_ids), issue_date__lte=as_of)
    rows = (
        with_open_amount(invoices.select_related(None), as_of)
        .annotate(customer_id=Coalesce("contract__party_id", "bill_to__party_id"))
        .order_by()
        .values("customer_id", "currency")
        .annotate(total=Sum("open_amount"))
    )
    due: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r["customer_id"], r["currency"])):
        if row["total"] and row["total"] > 0:
            due[row["customer_id"]].append((row["currency"], row["total"]))
    return dict(due)


def held_drafts_count(party_ids: list[int]) -> dict[int, int]:
    """Return the number of held drafts (open exceptions) of each customer, in 3 queries."""
    if not party_ids:
        return {}
    rows = (
        Invoice.objects.filter(customer_invoices_filter(party_ids), status=Invoice.Status.HELD)
        .annotate(customer_id=Coalesce("contract__party_id", "bill_to__party_id"))
        .order_by()
        .values("customer_id")
        .annotate(held=Count("pk"))
    )
    return {row["customer_id"]: row["held"] for row in rows}


def customer_ageing(party: Party, as_of: dt.date) -> list[AgeingRow]:
    """Return the ageing of one customer at ``as_of``: one row per currency with something open.

    The invoices with an open amount are picked in SQL; their buckets then come from
    ``balances`` and ``ageing``, the same code as the receivables ageing of all customers.
    The rows leave ``unapplied`` at zero: unapplied cash belongs to payments, not invoices.
    """
    open_ids = (
        with_open_amount(issued_invoices().select_related(None), as_of)
        .filter(customer_invoices_filter([party.pk]), issue_date__lte=as_of)
        .filter(Q(open_amount__gt=0))
        .values_list("pk", flat=True)
    )
    invoices = issued_invoices().filter(pk__in=list(open_ids))
    rows: dict[str, AgeingRow] = {}
    for balance in balances_of(invoices, as_of):
        if balance.open_amount <= 0:
            continue
        currency = balance.invoice.currency
        row = rows.setdefault(currency, AgeingRow(party.code, party.name, currency))
        row.buckets[bucket_of(balance.days_past_due)] += balance.open_amount
        row.invoices += 1
    return [rows[currency] for currency in sorted(rows)]


__all__ = [
    "BUCKETS",
    "balances_due",
    "customer_ageing",
    "customer_invoices_filter",
    "held_drafts_count",
    "with_open_amount",
]
