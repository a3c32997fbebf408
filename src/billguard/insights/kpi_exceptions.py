"""Figures of the exception queue: what is held now, why, for how much, and who caused it.

Every figure is per currency where it is money, and computed by grouped queries over the
held drafts (a small share of all invoices), never one query per draft.
docs/kpis.md defines each figure, its formula, its source records and its edge cases.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import Group
from django.db.models import CharField, Count, Exists, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Cast, TruncMonth

from billguard.billing.models import ExceptionResolution, Invoice
from billguard.checks.models import StoredFinding
from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.domain.periods import BillingPeriod
from billguard.insights.kpis import Point, _as_date
from billguard.registry.models import BillingSchedule

PARETO_CODES = 10
# The team of held drafts whose contract had no applied change before the draft was made.
NO_CHANGE = "no change on record"


@dataclass(frozen=True)
class CodeFigure:
    """The held drafts that carry one finding code."""

    code: str
    drafts: int
    findings: int
    # Payable of the held drafts with this code, per currency; a draft with several codes
    # counts under each of them.
    held: dict[str, Decimal]


@dataclass(frozen=True)
class ParetoBar:
    code: str
    drafts: int
    # Share of all code occurrences up to and including this bar, from 0 to 1.
    cumulative: Decimal


@dataclass(frozen=True)
class TeamFigure:
    """The held drafts traced to the role of the person whose change came before them."""

    team: str
    drafts: int
    held: dict[str, Decimal]


def blocking_findings() -> Q:
    """Match the findings that hold a draft: blocking, and not recorded in observe mode."""
    return Q(severity=StoredFinding.Severity.BLOCK, observed=False)


def money_held() -> dict[str, tuple[int, Decimal]]:
    """Return the held drafts now per currency: their count and the sum of their payable."""
    rows = (
        Invoice.objects.filter(status=Invoice.Status.HELD)
        .values("currency")
        .annotate(drafts=Count("pk"), total=Sum("payable"))
        .order_by("currency")
    )
    return {row["currency"]: (row["drafts"], row["total"] or Decimal(0)) for row in rows}


def held_by_period(periods: list[BillingPeriod]) -> dict[str, list[Point]]:
    """Return the payable of the drafts held now per currency, by the month each one bills.

    The trend of the queue's age: money still held from each of the months of ``periods``.
    """
    rows = (
        Invoice.objects.filter(
            status=Invoice.Status.HELD,
            period_start__gte=periods[0].start,
            period_start__lt=periods[-1].end,
        )
        .annotate(month=TruncMonth("period_start"))
        .values("currency", "month")
        .annotate(total=Sum("payable"))
    )
    totals: dict[str, dict[dt.date, Decimal]] = defaultdict(dict)
    for row in rows:
        totals[row["currency"]][_as_date(row["month"])] = row["total"] or Decimal(0)
    return {
        currency: [Point(p, by_month.get(p.start, Decimal(0))) for p in periods]
        for currency, by_month in sorted(totals.items())
    }


def exceptions_by_code() -> list[CodeFigure]:
    """Return the held drafts per finding code, the most frequent code first.

    Two grouped queries: the counts per code, then the payable per code and currency with one
    filtered sum per code.
    """
    counts = list(
        StoredFinding.objects.filter(blocking_findings(), invoice__status=Invoice.Status.HELD)
        .values("code")
        .annotate(drafts=Count("invoice", distinct=True), findings=Count("pk"))
        .order_by("-drafts", "code")
    )
    if not counts:
        return []
    codes = [row["code"] for row in counts]
    sums = {
        f"code_{index}": Sum(
            "payable",
            filter=Q(
                Exists(
                    StoredFinding.objects.filter(
                        blocking_findings(), invoice=OuterRef("pk"), code=code
                    )
                )
            ),
        )
        for index, code in enumerate(codes)
    }
    held: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for row in (
        Invoice.objects.filter(status=Invoice.Status.HELD)
        .values("currency")
        .annotate(**sums)
        .order_by("currency")
    ):
        for index, code in enumerate(codes):
            total = row[f"code_{index}"]
            if total is not None:
                held[code][row["currency"]] = total
    return [
        CodeFigure(
            code=row["code"],
            drafts=row["drafts"],
            findings=row["findings"],
            held=held.get(row["code"], {}),
        )
        for row in counts
    ]


def pareto(figures: list[CodeFigure], top: int = PARETO_CODES) -> list[ParetoBar]:
    """Return the ``top`` most frequent codes with the cumulative share of all occurrences.

    The base of the share is the sum of the drafts of every code, not only the top ones, so
    the last bar shows how much of the queue the top codes explain.
    """
    total = sum(figure.drafts for figure in figures)
    bars = []
    running = 0
    for figure in sorted(figures, key=lambda f: (-f.drafts, f.code))[:top]:
        running += figure.drafts
        share = Decimal(running) / Decimal(total) if total else Decimal(0)
        bars.append(ParetoBar(figure.code, figure.drafts, share.quantize(Decimal("0.0001"))))
    return bars


def money_recovered(periods: list[BillingPeriod]) -> dict[str, list[Point]]:
    """Return the payable issued per month and currency after an exception resolved at source.

    An invoice counts when exception_resolve drafted it again from its fixed source and
    issued it (resolution outcome ``issued``), in the month of its issue date. Overrides
    issue the draft unchanged, so they recover nothing and are not counted.
    """
    resolved = ExceptionResolution.objects.filter(invoice=OuterRef("pk"), outcome="issued")
    rows = (
        Invoice.objects.filter(
            Exists(resolved),
            status=Invoice.Status.ISSUED,
            issue_date__gte=periods[0].start,
            issue_date__lt=periods[-1].end,
        )
        .annotate(month=TruncMonth("issue_date"))
        .values("currency", "month")
        .annotate(total=Sum("payable"))
    )
    totals: dict[str, dict[dt.date, Decimal]] = defaultdict(dict)
    for row in rows:
        totals[row["currency"]][_as_date(row["month"])] = row["total"] or Decimal(0)
    return {
        currency: [Point(p, by_month.get(p.start, Decimal(0))) for p in periods]
        for currency, by_month in sorted(totals.items())
    }


def exceptions_by_team() -> list[TeamFigure]:
    """Return the held drafts grouped by the role of whoever requested the change behind them.

    The change behind a held draft is the last change request applied to its contract or to
    one of the contract's billing schedules before the draft was created; its team is the
    requester's role (several roles are joined with " + "). A draft with no such change
    counts under NO_CHANGE.
    """
    contract_id_text = Cast(OuterRef("contract_id"), output_field=CharField())
    schedule_ids = BillingSchedule.objects.filter(contract_id=OuterRef(OuterRef("contract_id")))
    schedule_ids_text = schedule_ids.annotate(id_text=Cast("pk", output_field=CharField())).values(
        "id_text"
    )
    last_change = (
        ChangeRequest.objects.filter(
            Q(target=Target.CONTRACT, target_id=contract_id_text)
            | Q(target=Target.SCHEDULE, target_id__in=schedule_ids_text),
            status=ChangeRequest.Status.APPLIED,
            applied_at__lt=OuterRef("created_at"),
        )
        .order_by("-applied_at", "-pk")
        .values("requested_by_id")[:1]
    )
    rows = list(
        Invoice.objects.filter(status=Invoice.Status.HELD)
        .annotate(requester=Subquery(last_change))
        .values("requester", "currency")
        .annotate(drafts=Count("pk"), total=Sum("payable"))
    )
    teams = _teams_of({row["requester"] for row in rows if row["requester"] is not None})

    drafts: dict[str, int] = defaultdict(int)
    held: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        team = NO_CHANGE if row["requester"] is None else teams.get(row["requester"], NO_CHANGE)
        drafts[team] += row["drafts"]
        held[team][row["currency"]] += row["total"] or Decimal(0)
    return sorted(
        (
            TeamFigure(team, count, dict(sorted(held[team].items())))
            for team, count in drafts.items()
        ),
        key=lambda figure: (-figure.drafts, figure.team),
    )


def _teams_of(user_ids: set[int]) -> dict[int, str]:
    """Map each user id to its role names joined with " + ", in one query."""
    names: dict[int, list[str]] = defaultdict(list)
    for user_id, name in (
        Group.objects.filter(user__in=user_ids).order_by("name").values_list("user", "name")
    ):
        names[user_id].append(name)
    return {user_id: " + ".join(roles) for user_id, roles in names.items()}
