"""Reads of the stored supplier scores: a vendor's trend, and the data of a scorecard view.

Every function returns plain values (text, numbers, lists, mappings), ready for JSON, with
decimals written as text so that no precision is lost.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from billguard.controls.policy import policy_setting
from billguard.controls.policy_scorecard import SCORECARD_COMPONENTS, scorecard_policy
from billguard.domain.errors import InvalidInput, NotFound
from billguard.domain.periods import parse_period
from billguard.procurement.models import VendorScore
from billguard.registry.models import Party

DEFAULT_TREND_PERIODS = 12


@dataclass(frozen=True)
class TrendPoint:
    period: str
    score: Decimal | None  # None for a month without a stored score


def vendor_by_code(code: str, *, place: str = "vendor") -> Party:
    """Return the vendor with ``code``; raise NotFound or InvalidInput naming it otherwise."""
    party = Party.objects.filter(code=code.strip()).first()
    if party is None:
        known = list(
            Party.objects.filter(kind=Party.Kind.VENDOR, merged_into__isnull=True)
            .order_by("code")
            .values_list("code", flat=True)[:5]
        )
        examples = f", such as {', '.join(known)}" if known else ""
        raise NotFound(
            f"vendor {code!r} was not found.",
            place=place,
            value=code,
            fix=f"Give the code of an existing vendor{examples}.",
        )
    if party.kind != Party.Kind.VENDOR:
        raise InvalidInput(
            f"party {party.code} is a {party.kind}, not a vendor.",
            place=place,
            value=code,
            fix="Give the code of a vendor.",
        )
    return party


def months_until(until: str, count: int) -> list[str]:
    """Return the ``count`` months up to and including ``until`` (YYYY-MM), oldest first."""
    year, month = (int(part) for part in until.split("-"))
    index = year * 12 + month - 1 - (count - 1)
    return [f"{(index + i) // 12:04d}-{(index + i) % 12 + 1:02d}" for i in range(count)]


def vendor_score_trend(
    vendor: Party, *, periods: int = DEFAULT_TREND_PERIODS, until: str | None = None
) -> list[TrendPoint]:
    """Return the vendor's score of each of the last ``periods`` months, oldest first.

    The last month is ``until``, or by default the latest month with a score of the vendor
    (the current month when it has none).
    """
    if until is None:
        until = _latest_period(VendorScore.objects.filter(vendor=vendor))
    months = months_until(until, periods)
    scores = dict(
        VendorScore.objects.filter(vendor=vendor, period__in=months).values_list("period", "score")
    )
    return [TrendPoint(month, scores.get(month)) for month in months]


def scorecards_overview(
    *, vendor: Party | None = None, periods: int = DEFAULT_TREND_PERIODS, until: str | None = None
) -> dict[str, Any]:
    """Return the stored scores of the last ``periods`` months by vendor, for a dashboard.

    The months end at ``until`` or by default at the latest month with a stored score. Each
    vendor with a score in those months is listed, or only ``vendor`` when given (listed even
    without a score). For each vendor: its score of every month (None without one), its
    latest score with the components, and the change from the score before it.
    """
    if periods < 1:
        raise InvalidInput(
            f"{periods} is not a number of months of 1 or more.",
            place="periods",
            value=periods,
            fix="Give 1 or more, such as 12.",
        )
    if until is not None:
        parse_period(until, place="until")
    rows_query = VendorScore.objects.select_related("vendor")
    if vendor is not None:
        rows_query = rows_query.filter(vendor=vendor)
    until = until or _latest_period(rows_query)
    months = months_until(until, periods)
    threshold = int(policy_setting("scorecard_alert_threshold"))

    rows_by_vendor: dict[int, dict[str, VendorScore]] = defaultdict(dict)
    vendors: dict[int, Party] = {}
    for row in rows_query.filter(period__in=months).order_by("vendor__code", "period"):
        rows_by_vendor[row.vendor_id][row.period] = row
        vendors[row.vendor_id] = row.vendor
    if vendor is not None:
        vendors.setdefault(vendor.pk, vendor)

    return {
        "periods": months,
        "threshold": threshold,
        "components": dict(SCORECARD_COMPONENTS),
        "weights": dict(scorecard_policy().weights),
        "vendors": [
            _vendor_data(party, rows_by_vendor.get(party.pk, {}), months, threshold)
            for party in sorted(vendors.values(), key=lambda party: party.code)
        ],
    }


def _vendor_data(
    party: Party, rows: dict[str, VendorScore], months: list[str], threshold: int
) -> dict[str, Any]:
    scored = [rows[month] for month in months if month in rows]
    latest = scored[-1] if scored else None
    previous = scored[-2] if len(scored) > 1 else None
    change = latest.score - previous.score if latest and previous else None
    return {
        "vendor": party.code,
        "name": party.name,
        "scores": [
            {
                "period": month,
                "score": _text(rows[month].score) if month in rows else None,
                "alerted": rows[month].alerted if month in rows else False,
            }
            for month in months
        ],
        "latest": None
        if latest is None
        else {
            "period": latest.period,
            "score": _text(latest.score),
            "below_threshold": latest.score < threshold,
            "alerted": latest.alerted,
            "computed_at": latest.computed_at.isoformat(),
            "components": {
                name: latest.components[name]
                for name in SCORECARD_COMPONENTS
                if name in latest.components
            },
        },
        "trend": {
            "change": _text(change),
            "direction": None if change is None else _direction(change),
            "since": previous.period if previous else None,
        },
    }


def _latest_period(rows: Any) -> str:
    latest = rows.order_by("-period").values_list("period", flat=True).first()
    if latest is not None:
        return str(latest)
    today = timezone.localdate()
    return f"{today.year:04d}-{today.month:02d}"


def _direction(change: Decimal) -> str:
    if change > 0:
        return "up"
    if change < 0:
        return "down"
    return "flat"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"
