"""Figures of elapsed time: approval time, amendment lag and billing cycle time, per month.

docs/kpis.md defines each figure, its formula, its source records and its edge cases.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from decimal import Decimal

from django.db.models import Max
from django.utils import timezone

from billguard.billing.models import Invoice
from billguard.controls.models import ChangeRequest
from billguard.domain.periods import BillingPeriod
from billguard.domain.rounding import RoundingMode, round_decimal
from billguard.insights.kpis import Point
from billguard.registry.models import Amendment

# The statuses of a change request that has had its final decision.
DECIDED = (
    ChangeRequest.Status.APPROVED,
    ChangeRequest.Status.APPLIED,
    ChangeRequest.Status.REJECTED,
)
SECONDS_PER_HOUR = Decimal(3600)
SECONDS_PER_DAY = Decimal(86400)


def approval_time(periods: list[BillingPeriod]) -> list[Point]:
    """Return the median hours from request to final decision, per month of the decision.

    Counts the change requests approved (waiting for their effective date or applied) or
    rejected in the month. Months without a decision have None.
    """
    start, end = _window(periods)
    # NOTE: the median is taken in Python over the window's decided requests, because SQLite
    # has no percentile aggregate. Each row is two timestamps.
    rows = ChangeRequest.objects.filter(
        status__in=DECIDED, decided_at__gte=start, decided_at__lt=end
    ).values_list("requested_at", "decided_at")
    hours: dict[dt.date, list[Decimal]] = defaultdict(list)
    for requested_at, decided_at in rows:
        if decided_at is None:
            continue
        month = timezone.localtime(decided_at).date().replace(day=1)
        seconds = Decimal((decided_at - requested_at).total_seconds())
        hours[month].append(seconds / SECONDS_PER_HOUR)
    return [Point(p, _median(hours.get(p.start))) for p in periods]


def amendment_lag(periods: list[BillingPeriod]) -> list[Point]:
    """Return the median days from an amendment's signature to its approval in the registry.

    Per month of the approval date; amendments approved without a signature date are left out.
    """
    rows = Amendment.objects.filter(
        status=Amendment.Status.APPROVED,
        signed_on__isnull=False,
        approved_on__gte=periods[0].start,
        approved_on__lt=periods[-1].end,
    ).values_list("signed_on", "approved_on")
    days: dict[dt.date, list[Decimal]] = defaultdict(list)
    for signed_on, approved_on in rows:
        if signed_on is None or approved_on is None:
            continue
        days[approved_on.replace(day=1)].append(Decimal((approved_on - signed_on).days))
    return [Point(p, _median(days.get(p.start))) for p in periods]


def billing_cycle_time(periods: list[BillingPeriod]) -> list[Point]:
    """Return the days from each billing period's opening to its last issued invoice.

    A billing run for a period dates its invoices on the period's first day, the day after
    the previous period ended. The cycle time is the time from the start of that day (in the
    server's time zone) to the issue of the period's last invoice, held drafts resolved or
    overridden later included. Reissues after a dispute are left out. One grouped query.
    """
    rows = (
        Invoice.objects.filter(
            status=Invoice.Status.ISSUED,
            document_type=Invoice.DocumentType.INVOICE,
            replaces__isnull=True,
            issued_at__isnull=False,
            billing_run__dry_run=False,
            billing_run__period_start__gte=periods[0].start,
            billing_run__period_start__lt=periods[-1].end,
        )
        .values("billing_run__period_start")
        .annotate(last_issued=Max("issued_at"))
    )
    last_issued = {row["billing_run__period_start"]: row["last_issued"] for row in rows}
    points = []
    for period in periods:
        issued_at = last_issued.get(period.start)
        if issued_at is None:
            points.append(Point(period, None))
            continue
        opened = timezone.make_aware(dt.datetime.combine(period.start, dt.time.min))
        seconds = Decimal((issued_at - opened).total_seconds())
        points.append(
            Point(period, round_decimal(seconds / SECONDS_PER_DAY, 1, RoundingMode.HALF_UP))
        )
    return points


def _window(periods: list[BillingPeriod]) -> tuple[dt.datetime, dt.datetime]:
    """Return the instants at which the first period starts and the last one ends, local time."""
    start = timezone.make_aware(dt.datetime.combine(periods[0].start, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(periods[-1].end, dt.time.min))
    return start, end


def _median(values: list[Decimal] | None) -> Decimal | None:
    if not values:
        return None
    return round_decimal(statistics.median(values), 1, RoundingMode.HALF_UP)
