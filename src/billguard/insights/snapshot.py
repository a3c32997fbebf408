"""Snapshots of the dashboard figures: computed once, then read in one query.

With 100k contracts and a million invoice lines, computing every figure takes tens of
seconds (docs/kpis.md, "Speed"), far above what a page may take. So the figures are stored
as a KpiSnapshot per last month, and the dashboard reads the snapshot while it is younger
than settings.BILLGUARD_KPI_MAX_AGE seconds. An older or missing snapshot is computed again
by the request that finds it. Run on a schedule, `billguard kpis refresh` keeps the snapshot
fresh, so that no page request computes it.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from billguard.domain.periods import BillingPeriod
from billguard.insights import kpi_exceptions, kpi_times
from billguard.insights.kpis import Point, invoice_figures, months_ending
from billguard.insights.models import KpiSnapshot

logger = logging.getLogger(__name__)

Figures = dict[str, Any]


def dashboard_figures(last: BillingPeriod, *, now: dt.datetime | None = None) -> KpiSnapshot:
    """Return the snapshot of the twelve months ending with ``last``, fresh enough to show."""
    now = now or timezone.now()
    max_age = dt.timedelta(seconds=settings.BILLGUARD_KPI_MAX_AGE)
    snapshot = KpiSnapshot.objects.filter(through=last.label).first()
    if snapshot is not None and now - snapshot.computed_at <= max_age:
        return snapshot
    return kpi_snapshot_refresh(last, now=now)


def kpi_snapshot_refresh(last: BillingPeriod, *, now: dt.datetime | None = None) -> KpiSnapshot:
    """Compute every figure of the twelve months ending with ``last`` and store them."""
    now = now or timezone.now()
    started = timezone.now()
    figures = figures_compute(months_ending(last))
    snapshot, _ = KpiSnapshot.objects.update_or_create(
        through=last.label, defaults={"computed_at": now, "figures": figures}
    )
    logger.info(
        "dashboard figures through %s computed in %.1f s",
        last.label,
        (timezone.now() - started).total_seconds(),
    )
    return snapshot


def figures_compute(periods: list[BillingPeriod]) -> Figures:
    """Compute every dashboard figure over ``periods`` as JSON: decimals become strings."""
    invoices = invoice_figures(periods)
    return {
        "periods": [period.label for period in periods],
        "dso": {currency: _values(points) for currency, points in invoices.dso.items()},
        "dispute_rate": _values(invoices.dispute_rate),
        "reissues": _values(invoices.reissues),
        "touchless_rate": _values(invoices.touchless_rate),
        "money_held": {
            currency: [drafts, str(total)]
            for currency, (drafts, total) in kpi_exceptions.money_held().items()
        },
        "held_by_period": _by_currency(kpi_exceptions.held_by_period(periods)),
        "money_recovered": _by_currency(kpi_exceptions.money_recovered(periods)),
        "codes": [
            [figure.code, figure.drafts, figure.findings, _amounts(figure.held)]
            for figure in kpi_exceptions.exceptions_by_code()
        ],
        "teams": [
            [figure.team, figure.drafts, _amounts(figure.held)]
            for figure in kpi_exceptions.exceptions_by_team()
        ],
        "approval_time": _values(kpi_times.approval_time(periods)),
        "amendment_lag": _values(kpi_times.amendment_lag(periods)),
        "cycle_time": _values(kpi_times.billing_cycle_time(periods)),
    }


def decimal_or_none(value: str | None) -> Decimal | None:
    """Read back a value of a snapshot."""
    return None if value is None else Decimal(value)


def _values(points: list[Point]) -> list[str | None]:
    return [None if point.value is None else str(point.value) for point in points]


def _by_currency(series: dict[str, list[Point]]) -> dict[str, list[str | None]]:
    return {currency: _values(points) for currency, points in series.items()}


def _amounts(amounts: dict[str, Decimal]) -> dict[str, str]:
    return {currency: str(amount) for currency, amount in sorted(amounts.items())}
