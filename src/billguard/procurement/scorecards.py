"""Supplier scorecards: score each vendor of a month from its components, store it, alert.

A component is a measure (scorecard_measures.py) turned into points from 0 to 100. The score
is the weighted mean of the points, with the weights of the policy's ``scorecard`` section. A
component without data in the month is left out, and the weights of the others are rescaled
so that they add up to 100 percent. A vendor with no data for any weighted component gets no
score that month.

Each score is stored as a VendorScore (one per vendor and month; computing again updates
it). A score below the policy setting ``scorecard_alert_threshold`` raises
``vendor.score_dropped`` once per vendor and month, naming the components that pulled it
down.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from billguard.controls.alerts import Alert, alerts_emit
from billguard.controls.models.alerts import AlertEvent
from billguard.controls.policy import policy_setting
from billguard.controls.policy_scorecard import (
    SCORECARD_COMPONENTS,
    ScorecardPolicy,
    scorecard_policy,
)
from billguard.controls.roles import authorize
from billguard.controls.services import DEFAULT_ACTOR, AuditItem, audit_record_batch
from billguard.domain.errors import InvalidInput
from billguard.domain.periods import BillingPeriod, parse_period
from billguard.procurement import scorecard_measures as measures
from billguard.procurement.models import VendorScore
from billguard.procurement.scorecard_measures import Measure
from billguard.registry.models import Party

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

POINTS_PLACES = Decimal("0.01")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
HUNDRED = Decimal(100)


class Status:
    """Whether a component counts in the score."""

    SCORED = "scored"
    NO_DATA = "no_data"
    NOT_WEIGHTED = "not_weighted"


MeasureFunction = Callable[[BillingPeriod, Collection[int]], dict[int, Measure]]
COMPONENT_MEASURES: dict[str, MeasureFunction] = {
    "on_time_receipts": measures.on_time_receipts,
    "price_variance": measures.price_variance,
    "match_exceptions": measures.match_exceptions,
    "duplicate_attempts": measures.duplicate_attempts,
    "change_requests": measures.change_requests,
    "document_compliance": measures.document_compliance,
}


@dataclass(frozen=True)
class ComponentScore:
    """One component of one vendor's month: its measure, points and share of the score.

    ``share`` is the component's weight in percent after rescaling over the components that
    have data. It is None for a component that does not count.
    """

    name: str
    weight: int
    status: str
    measure: Decimal | None = None
    points: Decimal | None = None
    share: Decimal | None = None
    observations: int = 0
    detail: str = ""

    @property
    def label(self) -> str:
        return SCORECARD_COMPONENTS[self.name]

    def as_data(self) -> dict[str, Any]:
        """Return the component as JSON-ready data, decimals as text."""
        return {
            "label": self.label,
            "status": self.status,
            "measure": _text(self.measure),
            "points": _text(self.points),
            "weight": self.weight,
            "share": _text(self.share),
            "observations": self.observations,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class VendorScorecard:
    """One vendor's scorecard of a month. ``score`` is None when no weighted component has
    data."""

    vendor_id: int
    vendor_code: str
    vendor_name: str
    period: str
    score: Decimal | None
    components: tuple[ComponentScore, ...]
    alerted: bool = False

    @property
    def no_data(self) -> list[str]:
        return [c.name for c in self.components if c.status == Status.NO_DATA]

    def pulled_down(self, threshold: Decimal) -> list[ComponentScore]:
        """Return the counted components below ``threshold``, the largest loss first.

        A component's loss is the number of points it costs the score: its share times the
        points it is short of 100.
        """
        below = [
            c
            for c in self.components
            if c.status == Status.SCORED and c.points is not None and c.points < threshold
        ]
        return sorted(below, key=lambda c: (-_loss(c), c.name))


@dataclass
class ScorecardRun:
    """The result of computing one month's scorecards."""

    period: str
    threshold: int
    scorecards: list[VendorScorecard] = field(default_factory=list)
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    alerts: list[str] = field(default_factory=list)  # codes of the vendors alerted now


def vendor_scores_compute(
    *,
    period: str,
    vendor: Party | None = None,
    by: AbstractBaseUser | None = None,
) -> ScorecardRun:
    """Compute, store and alert the scorecards of ``period`` (YYYY-MM) for every vendor.

    With ``vendor``, only that vendor's. Vendors merged into another party are skipped,
    because their records belong to the surviving party. A vendor whose stored score has no
    data any more loses the stored row. Raises InvalidInput for a period that is not a
    month or has not started, or a party that is not a vendor.
    """
    if by is not None:
        authorize(by, "scorecard_compute")
    month = scorecard_period(period)
    if vendor is not None:
        _validate_vendor(vendor)
    policy = scorecard_policy()
    threshold = int(policy_setting("scorecard_alert_threshold"))

    vendors = (
        [vendor]
        if vendor is not None
        else list(
            Party.objects.filter(kind=Party.Kind.VENDOR, merged_into__isnull=True).order_by("code")
        )
    )
    vendor_ids = [v.pk for v in vendors]
    found = {name: measure(month, vendor_ids) for name, measure in COMPONENT_MEASURES.items()}
    cards = [_scorecard(v, month.label, found, policy) for v in vendors]

    run = ScorecardRun(period=month.label, threshold=threshold)
    actor = by.get_username() if by is not None else DEFAULT_ACTOR
    with transaction.atomic():
        # Locking the vendors makes two computations of the same month wait for each other,
        # so the second one updates the rows the first one created.
        list(Party.objects.select_for_update().filter(pk__in=vendor_ids).order_by("pk"))
        run.scorecards = _store(cards, run, Decimal(threshold), actor)
    logger.info(
        "scorecards of %s computed by %s: %d vendors, %d created, %d changed, %d unchanged, "
        "%d removed, %d alerts",
        run.period,
        actor,
        len(cards),
        run.created,
        run.changed,
        run.unchanged,
        run.removed,
        len(run.alerts),
    )
    return run


def scorecard_period(text: str, *, place: str = "period") -> BillingPeriod:
    """Parse a scorecard period: a calendar month, written YYYY-MM, that has started."""
    cleaned = text.strip() if isinstance(text, str) else ""
    match = _MONTH.fullmatch(cleaned)
    if match is None or not 1 <= int(match[2]) <= 12:
        raise InvalidInput(
            f"{text!r} is not a month; scorecards are computed per calendar month.",
            place=place,
            value=text,
            fix="Write the month as YYYY-MM, such as 2026-11.",
        )
    period = parse_period(cleaned, place=place)
    today = timezone.localdate()
    if period.start > today:
        raise InvalidInput(
            f"the month {period.label} has not started yet (today is {today.isoformat()}).",
            place=place,
            value=text,
            fix="Give the current month or an earlier one.",
        )
    return period


def component_points(name: str, measure: Measure, policy: ScorecardPolicy) -> Decimal:
    """Turn a component's measure into points from 0 to 100, to 2 decimals.

    Shares count directly (on-time receipts, document compliance) or inverted (match
    exceptions). The price variance, duplicate attempts and change requests per contract lose
    points linearly, from 100 at 0 to 0 at the policy's ``zero_points_at`` value.
    """
    scales = policy.zero_points_at
    if name in ("on_time_receipts", "document_compliance"):
        points = measure.value * HUNDRED
    elif name == "match_exceptions":
        points = (1 - measure.value) * HUNDRED
    elif name == "price_variance":
        points = _linear(measure.value, scales["price_variance_percent"])
    elif name == "duplicate_attempts":
        points = _linear(measure.value, scales["duplicate_attempts"])
    elif name == "change_requests":
        points = _linear(measure.value, scales["change_requests_per_contract"])
    else:
        raise ValueError(f"unknown scorecard component {name!r}")
    return min(HUNDRED, max(Decimal(0), points)).quantize(POINTS_PLACES, ROUND_HALF_UP)


def scorecard_combine(
    points: Mapping[str, tuple[Measure, Decimal] | None], weights: Mapping[str, int]
) -> tuple[Decimal | None, tuple[ComponentScore, ...]]:
    """Return the score and the components from each component's (measure, points) or None.

    The weights of the components with data are rescaled to shares that add up to 100
    percent. The score is the sum of points times share, to 2 decimals.
    """
    counted = sum(weights[name] for name, found in points.items() if found and weights[name])
    components = []
    total = Decimal(0)
    for name in SCORECARD_COMPONENTS:
        found = points.get(name)
        weight = weights[name]
        if found is None:
            components.append(ComponentScore(name=name, weight=weight, status=Status.NO_DATA))
            continue
        measure, earned = found
        status = Status.SCORED if weight else Status.NOT_WEIGHTED
        share = Decimal(weight) * HUNDRED / counted if weight and counted else None
        if share is not None:
            total += earned * share / HUNDRED
        components.append(
            ComponentScore(
                name=name,
                weight=weight,
                status=status,
                measure=measure.value,
                points=earned,
                share=share.quantize(POINTS_PLACES, ROUND_HALF_UP) if share is not None else None,
                observations=measure.observations,
                detail=measure.detail,
            )
        )
    score = total.quantize(POINTS_PLACES, ROUND_HALF_UP) if counted else None
    return score, tuple(components)


def components_from_data(data: dict[str, Any]) -> tuple[ComponentScore, ...]:
    """Read the components stored on a VendorScore back, in the order of the components."""
    result = []
    for name in SCORECARD_COMPONENTS:
        item = data.get(name)
        if item is None:
            continue
        result.append(
            ComponentScore(
                name=name,
                weight=int(item.get("weight", 0)),
                status=str(item.get("status", Status.NO_DATA)),
                measure=_decimal(item.get("measure")),
                points=_decimal(item.get("points")),
                share=_decimal(item.get("share")),
                observations=int(item.get("observations", 0)),
                detail=str(item.get("detail", "")),
            )
        )
    return tuple(result)


def _scorecard(
    vendor: Party,
    period: str,
    found: dict[str, dict[int, Measure]],
    policy: ScorecardPolicy,
) -> VendorScorecard:
    points: dict[str, tuple[Measure, Decimal] | None] = {}
    for name in SCORECARD_COMPONENTS:
        measure = found[name].get(vendor.pk)
        points[name] = (
            None if measure is None else (measure, component_points(name, measure, policy))
        )
    score, components = scorecard_combine(points, policy.weights)
    return VendorScorecard(
        vendor_id=vendor.pk,
        vendor_code=vendor.code,
        vendor_name=vendor.name,
        period=period,
        score=score,
        components=components,
    )


def _store(
    cards: Sequence[VendorScorecard], run: ScorecardRun, threshold: Decimal, actor: str
) -> list[VendorScorecard]:
    """Create, update or remove the VendorScore rows of ``cards`` and raise their alerts."""
    existing = {
        row.vendor_id: row
        for row in VendorScore.objects.filter(
            period=run.period, vendor_id__in=[card.vendor_id for card in cards]
        )
    }
    now = timezone.now()
    to_create: list[VendorScore] = []
    to_keep: list[VendorScore] = []
    to_remove: list[VendorScore] = []
    audit: list[AuditItem] = []
    alerts: list[Alert] = []
    stored: list[VendorScorecard] = []

    for card in cards:
        row = existing.get(card.vendor_id)
        if card.score is None:
            if row is not None:
                to_remove.append(row)
                audit.append(_audit_item("vendor_score.remove", row, _row_data(row), None))
            stored.append(card)
            continue

        components = {c.name: c.as_data() for c in card.components}
        before = _row_data(row) if row is not None else None
        changed = row is None or row.score != card.score or row.components != components
        if row is None:
            row = VendorScore(vendor_id=card.vendor_id, period=card.period)
            to_create.append(row)
        else:
            to_keep.append(row)
        alert_now = card.score < threshold and not row.alerted
        row.score = card.score
        row.components = components
        row.computed_at = now
        if alert_now:
            row.alerted = True
            alerts.append(_alert(card, threshold))
            run.alerts.append(card.vendor_code)
        if row.pk is not None:
            if changed or alert_now:
                run.changed += 1
                audit.append(_audit_item("vendor_score.compute", row, before, _row_data(row)))
            else:
                run.unchanged += 1
        stored.append(replace(card, alerted=row.alerted))

    VendorScore.objects.bulk_create(to_create)
    # Rows computed again with the same result get their new computed_at only.
    VendorScore.objects.bulk_update(to_keep, ["score", "components", "computed_at", "alerted"])
    VendorScore.objects.filter(pk__in=[row.pk for row in to_remove]).delete()
    audit += [_audit_item("vendor_score.compute", row, None, _row_data(row)) for row in to_create]
    audit_record_batch(actor=actor, items=audit)
    if alerts:
        alerts_emit(event=AlertEvent.VENDOR_SCORE_DROPPED, alerts=alerts)
    run.created = len(to_create)
    run.removed = len(to_remove)
    return stored


def _audit_item(
    action: str, row: VendorScore, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> AuditItem:
    return AuditItem(
        action=action,
        record_type="procurement.vendorscore",
        record_id=str(row.pk),
        before=before,
        after=after,
    )


def _alert(card: VendorScorecard, threshold: Decimal) -> Alert:
    assert card.score is not None
    pulled = card.pulled_down(threshold)
    labels = ", ".join(c.label for c in pulled)
    return Alert(
        subject=(
            f"Supplier score of {card.vendor_code} for {card.period} is {card.score}, below "
            f"{threshold}: {labels}"
        ),
        payload={
            "vendor": card.vendor_code,
            "vendor_name": card.vendor_name,
            "period": card.period,
            "score": str(card.score),
            "threshold": str(threshold),
            "pulled_down": [
                {
                    "component": c.name,
                    "label": c.label,
                    "points": str(c.points),
                    "share": str(c.share),
                    "points_lost": str(_loss(c).quantize(POINTS_PLACES, ROUND_HALF_UP)),
                    "detail": c.detail,
                }
                for c in pulled
            ],
            "no_data": card.no_data,
        },
        key=f"vendor_score:{card.vendor_id}:{card.period}",
    )


def _validate_vendor(vendor: Party) -> None:
    if vendor.kind != Party.Kind.VENDOR:
        raise InvalidInput(
            f"party {vendor.code} is a {vendor.kind}, not a vendor.",
            place="vendor",
            value=vendor.code,
            fix="Give the code of a vendor.",
        )
    if vendor.merged_into_id is not None:
        survivor = Party.objects.get(pk=vendor.merged_into_id)
        raise InvalidInput(
            f"vendor {vendor.code} was merged into {survivor.code}, which is scored instead.",
            place="vendor",
            value=vendor.code,
            fix=f"Give {survivor.code}.",
        )


def _row_data(row: VendorScore) -> dict[str, Any]:
    return {
        "vendor_id": row.vendor_id,
        "period": row.period,
        "score": str(row.score),
        "alerted": row.alerted,
        "components": {
            name: {"status": item.get("status"), "points": item.get("points")}
            for name, item in row.components.items()
        },
    }


def _linear(value: Decimal, zero_at: int) -> Decimal:
    return HUNDRED - value * HUNDRED / Decimal(zero_at)


def _loss(component: ComponentScore) -> Decimal:
    if component.share is None or component.points is None:
        return Decimal(0)
    return component.share * (HUNDRED - component.points) / HUNDRED


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def _decimal(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))
