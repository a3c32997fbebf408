"""Monthly series of the dashboard's invoice figures: DSO, dispute rate, reissues, touchless.

Every series covers a window of calendar months (twelve on the dashboard) and is computed by
a few grouped queries over the whole window, never one query per invoice or per month.
docs/kpis.md defines each figure, its formula, its source records and its edge cases.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import TruncMonth

from billguard.billing.models import ExceptionResolution, Invoice
from billguard.domain.errors import InvalidInput
from billguard.domain.periods import BillingPeriod, parse_period
from billguard.domain.rounding import RoundingMode, round_decimal
from billguard.receivables.models import Dispute, PaymentAllocation

WINDOW_MONTHS = 12


@dataclass(frozen=True)
class Point:
    """The value of one figure in one period; None where the figure has no meaning."""

    period: BillingPeriod
    value: Decimal | None


@dataclass
class InvoiceFigures:
    """The per-month series computed from issued invoices."""

    periods: list[BillingPeriod]
    issued: list[Point] = field(default_factory=list)
    dispute_rate: list[Point] = field(default_factory=list)
    reissues: list[Point] = field(default_factory=list)
    touchless_rate: list[Point] = field(default_factory=list)
    # DSO per currency (ISO 4217 code), in days.
    dso: dict[str, list[Point]] = field(default_factory=dict)


def months_ending(last: BillingPeriod, count: int = WINDOW_MONTHS) -> list[BillingPeriod]:
    """Return ``count`` calendar months, oldest first, the last of them ``last``."""
    year, month = last.start.year, last.start.month
    periods = []
    for _ in range(count):
        periods.append(parse_period(f"{year:04d}-{month:02d}"))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(periods))


def last_complete_month(as_of: dt.date) -> BillingPeriod:
    """Return the calendar month before the one that contains ``as_of``."""
    first = as_of.replace(day=1) - dt.timedelta(days=1)
    return parse_period(f"{first.year:04d}-{first.month:02d}")


def month_param(text: str | None, as_of: dt.date) -> BillingPeriod:
    """Parse the last month of the window from a ``YYYY-MM`` value; empty gives the default.

    The default is the last complete month before ``as_of``.
    """
    if not text:
        return last_complete_month(as_of)
    period = parse_period(text.strip(), place="through")
    if period.days > 31:
        raise InvalidInput(
            f"{text!r} is not one calendar month.",
            place="through",
            value=text,
            fix="Give a month as YYYY-MM, for example 2026-11.",
        )
    return period


def invoice_figures(periods: list[BillingPeriod]) -> InvoiceFigures:
    """Compute the invoice series of ``periods`` (consecutive calendar months, oldest first)."""
    figures = InvoiceFigures(periods=periods)
    counts = _issued_counts(periods)
    for period in periods:
        row = counts.get(period.start, {})
        issued = row.get("issued", 0)
        figures.issued.append(Point(period, Decimal(issued)))
        figures.reissues.append(Point(period, Decimal(row.get("reissued", 0))))
        figures.dispute_rate.append(Point(period, _ratio(row.get("disputed", 0), issued)))
        figures.touchless_rate.append(Point(period, _ratio(row.get("touchless", 0), issued)))
    figures.dso = dso_series(periods)
    return figures


def touched_flags() -> Q:
    """Match the invoices whose own fields show that a person touched them.

    Touched: not drafted by a billing run (no draft key), a reissue after a dispute, edited by
    hand, or issued by override. An invoice resolved from the exception queue is touched too,
    which only its ExceptionResolution shows. Every other issued invoice is touchless.
    """
    return (
        Q(draft_key__isnull=True)
        | Q(replaces__isnull=False)
        | Q(manual_edit=True)
        | ~Q(override_reason="")
    )


def dso_series(periods: list[BillingPeriod]) -> dict[str, list[Point]]:
    """Return the DSO of each month of ``periods`` per currency, in days (one decimal).

    DSO = receivables at the month's last day / net credit sales of the month x days in the
    month, as billguard.receivables.kpis.days_sales_outstanding defines it for one period.
    Months without positive net credit sales have None.
    """
    if not periods:
        return {}
    window_end = periods[-1].end
    sales = _net_credit_sales(periods)
    receivables = _receivables_at_month_ends(periods, window_end)
    currencies = sorted(set(sales) | set(receivables))
    series: dict[str, list[Point]] = {}
    for currency in currencies:
        points = []
        for period in periods:
            net_sales = sales.get(currency, {}).get(period.start, Decimal(0))
            open_amount = receivables.get(currency, {}).get(period.start, Decimal(0))
            if net_sales <= 0:
                points.append(Point(period, None))
                continue
            dso = open_amount / net_sales * period.days
            points.append(Point(period, round_decimal(dso, 1, RoundingMode.HALF_UP)))
        series[currency] = points
    return series


def _issued_counts(periods: list[BillingPeriod]) -> dict[dt.date, dict[str, int]]:
    """Count the invoices issued per month: all, disputed, reissues and touchless.

    One scan of the window's invoices counts what their own fields show. Disputes and
    exception resolutions concern few invoices, so they are counted from their own tables.
    """
    in_window = Q(
        status=Invoice.Status.ISSUED,
        document_type=Invoice.DocumentType.INVOICE,
        issue_date__gte=periods[0].start,
        issue_date__lt=periods[-1].end,
    )
    counts: dict[dt.date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in (
        Invoice.objects.filter(in_window)
        .annotate(month=TruncMonth("issue_date"))
        .values("month")
        .annotate(
            issued=Count("pk"),
            reissued=Count("pk", filter=Q(replaces__isnull=False)),
            touched=Count("pk", filter=touched_flags()),
        )
    ):
        month = counts[_as_date(row["month"])]
        month["issued"] = row["issued"]
        month["reissued"] = row["reissued"]
        month["touchless"] = row["issued"] - row["touched"]

    in_window_invoice = Exists(Invoice.objects.filter(in_window, pk=OuterRef("invoice_id")))
    disputed = (
        Dispute.objects.filter(in_window_invoice)
        .annotate(month=TruncMonth("invoice__issue_date"))
        .values("month")
        .annotate(invoices=Count("invoice", distinct=True))
    )
    for row in disputed:
        counts[_as_date(row["month"])]["disputed"] = row["invoices"]

    # Resolved invoices that the flags already count as touched are not subtracted twice.
    resolved = (
        ExceptionResolution.objects.filter(in_window_invoice)
        .filter(
            invoice__draft_key__isnull=False,
            invoice__replaces__isnull=True,
            invoice__manual_edit=False,
            invoice__override_reason="",
        )
        .annotate(month=TruncMonth("invoice__issue_date"))
        .values("month")
        .annotate(invoices=Count("invoice", distinct=True))
    )
    for row in resolved:
        counts[_as_date(row["month"])]["touchless"] -= row["invoices"]
    return counts


def _net_credit_sales(periods: list[BillingPeriod]) -> dict[str, dict[dt.date, Decimal]]:
    """Invoices less credit notes issued per currency and month, in one grouped query."""
    rows = (
        Invoice.objects.filter(
            status=Invoice.Status.ISSUED,
            issue_date__gte=periods[0].start,
            issue_date__lt=periods[-1].end,
        )
        .annotate(month=TruncMonth("issue_date"))
        .values("currency", "month", "document_type")
        .annotate(total=Sum("payable"))
    )
    sales: dict[str, dict[dt.date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        total = row["total"] or Decimal(0)
        if row["document_type"] == Invoice.DocumentType.CREDIT_NOTE:
            # Credit notes state positive amounts (EN 16931); abs() also accepts negative ones.
            total = -abs(total)
        sales[row["currency"]][_as_date(row["month"])] += total
    return sales


def _receivables_at_month_ends(
    periods: list[BillingPeriod], window_end: dt.date
) -> dict[str, dict[dt.date, Decimal]]:
    """Open amounts of the issued invoices at each month's last day, per currency.

    Open at day d = payable of the invoices issued up to d, less the credit notes issued and
    the payments received up to d against those invoices. Each sum is grouped by month and
    accumulated here, so the whole history is read in three grouped queries. An invoice whose
    credit notes and payments exceed its payable counts as zero, not negative, as
    billguard.receivables.balances computes it; only invoices with a credit note can exceed
    it, because a payment is allocated at most up to the open amount.
    """
    invoiced = (
        Invoice.objects.filter(
            status=Invoice.Status.ISSUED,
            document_type=Invoice.DocumentType.INVOICE,
            issue_date__lt=window_end,
        )
        .annotate(month=TruncMonth("issue_date"))
        .values("currency", "month")
        .annotate(total=Sum("payable"))
    )
    credited = (
        Invoice.objects.filter(
            status=Invoice.Status.ISSUED,
            document_type=Invoice.DocumentType.CREDIT_NOTE,
            issue_date__lt=window_end,
            credited_invoice__status=Invoice.Status.ISSUED,
            credited_invoice__document_type=Invoice.DocumentType.INVOICE,
        )
        .annotate(
            month=TruncMonth("issue_date"), invoice_month=TruncMonth("credited_invoice__issue_date")
        )
        .values("credited_invoice__currency", "month", "invoice_month")
        .annotate(total=Sum("payable"))
    )
    paid = (
        PaymentAllocation.objects.filter(
            payment__received_on__lt=window_end,
            invoice__status=Invoice.Status.ISSUED,
            invoice__document_type=Invoice.DocumentType.INVOICE,
            invoice__issue_date__lt=window_end,
        )
        .annotate(
            month=TruncMonth("payment__received_on"),
            invoice_month=TruncMonth("invoice__issue_date"),
        )
        .values("invoice__currency", "month", "invoice_month")
        .annotate(total=Sum("amount"))
    )

    # (currency, month the amount counts from, month of the invoice, signed amount)
    movements: list[tuple[str, dt.date, dt.date, Decimal]] = []
    for row in invoiced:
        month = _as_date(row["month"])
        movements.append((row["currency"], month, month, row["total"] or Decimal(0)))
    for row in credited:
        movements.append(
            (
                row["credited_invoice__currency"],
                _as_date(row["month"]),
                _as_date(row["invoice_month"]),
                -abs(row["total"] or Decimal(0)),
            )
        )
    for row in paid:
        movements.append(
            (
                row["invoice__currency"],
                _as_date(row["month"]),
                _as_date(row["invoice_month"]),
                -(row["total"] or Decimal(0)),
            )
        )

    open_amounts: dict[str, dict[dt.date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for currency, month, invoice_month, amount in movements:
        for period in periods:
            if month <= period.start and invoice_month <= period.start:
                open_amounts[currency][period.start] += amount
    for currency, by_month in _over_settled(periods, window_end).items():
        for start, excess in by_month.items():
            open_amounts[currency][start] += excess
    return open_amounts


def _over_settled(
    periods: list[BillingPeriod], window_end: dt.date
) -> dict[str, dict[dt.date, Decimal]]:
    """The amounts by which credited invoices are settled beyond their payable, per month end.

    Adding them back makes the grouped sums equal the sum of open amounts floored at zero.
    Only invoices with an issued credit note are read, a small share of all invoices.
    """
    candidates = {
        invoice.pk: invoice
        for invoice in Invoice.objects.filter(
            status=Invoice.Status.ISSUED,
            document_type=Invoice.DocumentType.INVOICE,
            issue_date__lt=window_end,
            credit_notes__status=Invoice.Status.ISSUED,
        )
        .distinct()
        .only("pk", "currency", "payable", "issue_date")
    }
    if not candidates:
        return {}
    settlements: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for invoice_id, day, amount in Invoice.objects.filter(
        credited_invoice_id__in=candidates,
        document_type=Invoice.DocumentType.CREDIT_NOTE,
        status=Invoice.Status.ISSUED,
    ).values_list("credited_invoice_id", "issue_date", "payable"):
        if invoice_id is not None and day is not None:
            settlements[invoice_id].append((day, abs(amount)))
    for invoice_id, day, amount in PaymentAllocation.objects.filter(
        invoice_id__in=candidates
    ).values_list("invoice_id", "payment__received_on", "amount"):
        settlements[invoice_id].append((day, amount))

    excess: dict[str, dict[dt.date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for invoice_id, invoice in candidates.items():
        for period in periods:
            last_day = period.last_day
            if invoice.issue_date is None or invoice.issue_date > last_day:
                continue
            settled = sum(
                (amount for day, amount in settlements[invoice_id] if day <= last_day),
                Decimal(0),
            )
            if settled > invoice.payable:
                excess[invoice.currency][period.start] += settled - invoice.payable
    return excess


def _ratio(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return round_decimal(Decimal(part) / Decimal(whole), 4, RoundingMode.HALF_UP)


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    """TruncMonth gives a date for a DateField, and a datetime on some backends."""
    return value.date() if isinstance(value, dt.datetime) else value
