"""Receivables ageing: what each customer owes as of a date, by days past the due date.

An invoice counts when it was issued on or before the date and has an open amount then
(see ``balances``). Its open amount goes to one bucket by the days from its due date to the
as-of date: current (not yet due, 0 days or fewer), 1-30, 31-60, 61-90 and over 90 days.
Amounts in different currencies are never added, so there is one row per customer and
currency, and one total per currency. Unapplied cash (payments received by the date that
no allocation covers) is shown beside the buckets and is not subtracted from them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum

from billguard.domain.money import money_text
from billguard.receivables.balances import balances_of, invoice_customer, issued_invoices
from billguard.receivables.models import Payment, PaymentAllocation
from billguard.registry.models import Party

BUCKETS = ("current", "1-30", "31-60", "61-90", "over 90")


def bucket_of(days_past_due: int) -> str:
    """Return the ageing bucket of an invoice that is ``days_past_due`` days past due."""
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "over 90"


@dataclass
class AgeingRow:
    customer: str
    customer_name: str
    currency: str
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, Decimal(0)))
    invoices: int = 0
    unapplied: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), Decimal(0))


@dataclass
class Ageing:
    as_of: dt.date
    rows: list[AgeingRow]
    # One row per currency, with the customer left empty.
    totals: list[AgeingRow]


def receivables_ageing(as_of: dt.date) -> Ageing:
    """Return the ageing of every customer with something open or unapplied at ``as_of``."""
    invoices = issued_invoices().filter(issue_date__lte=as_of)
    rows: dict[tuple[int, str], AgeingRow] = {}
    parties: dict[int, Party] = {}
    for balance in balances_of(invoices, as_of):
        if balance.open_amount <= 0:
            continue
        invoice = balance.invoice
        party = invoice_customer(invoice)
        if party is None:
            continue
        customer_id = party.pk
        parties[customer_id] = party
        row = rows.setdefault(
            (customer_id, invoice.currency), AgeingRow(party.code, party.name, invoice.currency)
        )
        row.buckets[bucket_of(balance.days_past_due)] += balance.open_amount
        row.invoices += 1
    for (customer_id, currency), amount in _unapplied(as_of).items():
        if amount <= 0:
            continue
        party = parties.get(customer_id) or Party.objects.get(pk=customer_id)
        row = rows.setdefault((customer_id, currency), AgeingRow(party.code, party.name, currency))
        row.unapplied += amount
    ordered = sorted(rows.values(), key=lambda r: (r.currency, r.customer))
    return Ageing(as_of=as_of, rows=ordered, totals=_totals(ordered))


def _unapplied(as_of: dt.date) -> dict[tuple[int, str], Decimal]:
    received: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for row in (
        Payment.objects.filter(received_on__lte=as_of)
        .values("customer_id", "currency")
        .annotate(total=Sum("amount"))
    ):
        received[(row["customer_id"], row["currency"])] += row["total"]
    for row in (
        PaymentAllocation.objects.filter(payment__received_on__lte=as_of)
        .values("payment__customer_id", "payment__currency")
        .annotate(total=Sum("amount"))
    ):
        received[(row["payment__customer_id"], row["payment__currency"])] -= row["total"]
    return received


def _totals(rows: list[AgeingRow]) -> list[AgeingRow]:
    totals: dict[str, AgeingRow] = {}
    for row in rows:
        total = totals.setdefault(row.currency, AgeingRow("", "total", row.currency))
        for bucket in BUCKETS:
            total.buckets[bucket] += row.buckets[bucket]
        total.invoices += row.invoices
        total.unapplied += row.unapplied
    return [totals[currency] for currency in sorted(totals)]


def amount_text(value: Decimal, currency: str) -> str:
    """Return ``value`` with the currency's ISO 4217 decimals and no currency code."""
    return money_text(value, currency).rsplit(" ", 1)[0]


def ageing_as_dict(ageing: Ageing) -> dict[str, object]:
    """Return the ageing as JSON-ready data, with amounts as strings."""

    def row_dict(row: AgeingRow) -> dict[str, object]:
        return {
            "customer": row.customer,
            "name": row.customer_name,
            "currency": row.currency,
            "invoices": row.invoices,
            "buckets": {
                bucket: amount_text(row.buckets[bucket], row.currency) for bucket in BUCKETS
            },
            "total": amount_text(row.total, row.currency),
            "unapplied": amount_text(row.unapplied, row.currency),
        }

    return {
        "as_of": ageing.as_of.isoformat(),
        "buckets": list(BUCKETS),
        "customers": [row_dict(row) for row in ageing.rows],
        "totals": [row_dict(row) for row in ageing.totals],
    }


def ageing_json(ageing: Ageing) -> str:
    return json.dumps(ageing_as_dict(ageing), indent=2)


def ageing_csv(ageing: Ageing) -> str:
    """Return the ageing as CSV: one row per customer and currency, then one total per currency."""
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\n")
    writer.writerow(["customer", "name", "currency", "invoices", *BUCKETS, "total", "unapplied"])
    for row in [*ageing.rows, *ageing.totals]:
        writer.writerow(
            [
                row.customer,
                row.customer_name,
                row.currency,
                row.invoices,
                *(amount_text(row.buckets[bucket], row.currency) for bucket in BUCKETS),
                amount_text(row.total, row.currency),
                amount_text(row.unapplied, row.currency),
            ]
        )
    return output.getvalue()


def ageing_table(ageing: Ageing) -> str:
    """Return the ageing as a text table, amounts with their currency's decimals."""
    if not ageing.rows:
        return f"receivables ageing as of {ageing.as_of}: nothing is open"
    header = f"{'customer':<16}{'cur':<5}" + "".join(f"{b:>14}" for b in BUCKETS)
    header += f"{'total':>15}{'unapplied':>14}"
    lines = [f"receivables ageing as of {ageing.as_of} (days past due)", "", header]

    def line(label: str, row: AgeingRow) -> str:
        return (
            f"{label[:15]:<16}{row.currency:<5}"
            + "".join(f"{amount_text(row.buckets[b], row.currency):>14}" for b in BUCKETS)
            + f"{amount_text(row.total, row.currency):>15}"
            + f"{amount_text(row.unapplied, row.currency):>14}"
        )

    lines += [line(row.customer, row) for row in ageing.rows]
    lines.append("")
    lines += [line("TOTAL", row) for row in ageing.totals]
    return "\n".join(lines)
