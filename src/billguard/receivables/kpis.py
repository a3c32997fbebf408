"""Receivables KPIs for a period: DSO, the invoice dispute rate and the reissue count.

A period is a BillingPeriod (a month, a quarter or a year): its ``start`` is its first day
and its ``end`` the first day after it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Sum

from billguard.billing.models import Invoice
from billguard.domain.currencies import minor_units
from billguard.domain.periods import BillingPeriod
from billguard.domain.rounding import RoundingMode, round_decimal
from billguard.receivables.balances import balances_of, issued_invoices
from billguard.receivables.models import Dispute


def days_sales_outstanding(period: BillingPeriod, currency: str) -> Decimal | None:
    """Return the DSO of ``period`` in ``currency``, in days rounded to one decimal.

    DSO = receivables at period end / net credit sales of the period x days in the period.

    - receivables at period end: the open amounts (payable, less the credit notes issued and
      the payments received up to that day) on the period's last day, of the invoices in
      ``currency`` issued on or before that day.
    - net credit sales of the period: the payable amounts of the invoices in ``currency``
      issued in the period, less the payable amounts of the credit notes issued in it. Every
      invoice is a credit sale, because Billguard bills before it is paid.
    - days in the period: from its first day to its last, both included.

    Returns None when the net credit sales are zero or less, where DSO has no meaning.
    """
    last_day = period.end - dt.timedelta(days=1)
    invoices = issued_invoices().filter(currency=currency, issue_date__lte=last_day)
    receivables = sum((b.open_amount for b in balances_of(invoices, last_day)), Decimal(0))
    sales = credit_sales(period, currency)
    if sales <= 0:
        return None
    days = (period.end - period.start).days
    return round_decimal(receivables / sales * days, 1, RoundingMode.HALF_UP)


def credit_sales(period: BillingPeriod, currency: str) -> Decimal:
    """Payable of the invoices issued in ``period``, less that of its credit notes."""
    issued = Invoice.objects.filter(
        status=Invoice.Status.ISSUED,
        currency=currency,
        issue_date__gte=period.start,
        issue_date__lt=period.end,
    )
    invoiced = issued.filter(document_type=Invoice.DocumentType.INVOICE).aggregate(
        total=Sum("payable")
    )["total"] or Decimal(0)
    credited = issued.filter(document_type=Invoice.DocumentType.CREDIT_NOTE).aggregate(
        total=Sum("payable")
    )["total"] or Decimal(0)
    return round_decimal(invoiced - abs(credited), minor_units(currency), RoundingMode.HALF_UP)


def invoice_dispute_rate(period: BillingPeriod) -> Decimal | None:
    """Return the share of the period's invoices that were disputed, from 0 to 1 (4 decimals).

    Dispute rate = invoices disputed / invoices issued in the period, where both count the
    invoices (credit notes excluded, reissues included) issued in the period, and an
    invoice is disputed when it has at least one dispute of any status, opened at any time.
    Returns None when no invoice was issued in the period.
    """
    issued = issued_invoices().filter(issue_date__gte=period.start, issue_date__lt=period.end)
    count = issued.count()
    if count == 0:
        return None
    disputed = (
        Dispute.objects.filter(invoice__in=issued.values("pk")).values("invoice_id").distinct()
    ).count()
    return round_decimal(Decimal(disputed) / Decimal(count), 4, RoundingMode.HALF_UP)


def reissue_count(period: BillingPeriod) -> int:
    """Return the number of invoices issued in the period to replace a disputed invoice.

    Reissue count = issued invoices whose issue date is in the period and that replace
    another invoice (``Invoice.replaces`` is set). A reissue still held is not counted.
    """
    return (
        issued_invoices()
        .filter(issue_date__gte=period.start, issue_date__lt=period.end, replaces__isnull=False)
        .count()
    )
