"""Resolving a vendor cost change: the customer terms amended, or the difference approved.

A change is ``amended`` once the contract's latest version prices the linked line at the price
the new cost implies. That is noticed when a contract change is applied and whenever the checks
load the open changes of a contract. A change is ``approved`` when a change request of target
``cost_change`` (field category price, so the policy's price rules apply) is approved: the
customer keeps the terms in force and the vendor difference is accepted.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.controls.roles import authorize
from billguard.controls.services import DEFAULT_ACTOR, audit_record
from billguard.domain.errors import NotFound, RuleViolation
from billguard.procurement.cost_pricing import MILESTONE, implied_price
from billguard.procurement.models import CostChange, CostLink
from billguard.registry.models import ContractVersion
from billguard.registry.pricing import contract_line

logger = logging.getLogger(__name__)

# The change a request of target cost_change makes.
APPROVE_DIFFERENCE = {"status": CostChange.Status.APPROVED.value}


def linked_price(link: CostLink, versions: Iterable[ContractVersion]) -> Decimal | None:
    """Return the line's unit price in the version that was current when ``link`` was made."""
    ordered = sorted(versions, key=lambda v: v.version_number)
    current = None
    for version in ordered:
        if link.created_at is None or version.created_at <= link.created_at:
            current = version
    line = contract_line(current or ordered[0], link.line_code) if ordered else None
    return line.unit_price if line is not None else None


def price_for_cost(
    link: CostLink, cost: Decimal, versions: Iterable[ContractVersion]
) -> Decimal | None:
    """Return the customer unit price ``cost`` implies for ``link``, None when unknown."""
    if link.basis == MILESTONE:
        base = linked_price(link, versions)
        if base is None:
            return None
        return implied_price(
            link.basis, cost, link.margin_percent, linked_price=base, agreed_cost=link.agreed_cost
        )
    return implied_price(link.basis, cost, link.margin_percent)


def changes_amended(
    changes: list[CostChange], versions: dict[int, list[ContractVersion]]
) -> set[int]:
    """Return the ids of the open ``changes`` that the latest contract versions already price.

    The changes of one link count together: the latest one gives the cost the price must
    follow, and once it does, every open change of the link is resolved.
    """
    by_link: dict[int, list[CostChange]] = defaultdict(list)
    for change in changes:
        by_link[change.link_id].append(change)
    amended: set[int] = set()
    for link_changes in by_link.values():
        link = link_changes[0].link
        contract_versions = versions.get(link.contract_id, [])
        if not contract_versions:
            continue
        latest = max(contract_versions, key=lambda v: v.version_number)
        line = contract_line(latest, link.line_code)
        newest = max(link_changes, key=lambda c: (c.detected_at, c.pk))
        expected = price_for_cost(link, newest.new_cost, contract_versions)
        if line is not None and expected is not None and line.unit_price == expected:
            amended |= {change.pk for change in link_changes}
    return amended


def cost_changes_settle(
    changes: list[CostChange],
    versions: dict[int, list[ContractVersion]],
    *,
    actor: str = DEFAULT_ACTOR,
    reason: str = "",
) -> list[CostChange]:
    """Mark ``amended`` the open ``changes`` that the contract terms now price, and return the
    ones still open. Writes only when a change is amended."""
    amended = changes_amended(changes, versions)
    if not amended:
        return changes
    now = timezone.now()
    with transaction.atomic():
        for change in changes:
            if change.pk not in amended:
                continue
            change.status = CostChange.Status.AMENDED
            change.resolved_by = actor[:150]
            change.resolved_at = now
            change.save(update_fields=["status", "resolved_by", "resolved_at"])
            audit_record(
                actor=actor,
                action="cost_change.amended",
                record=change,
                before={"status": CostChange.Status.OPEN.value},
                after={"status": change.status, "new_cost": change.new_cost},
                reason=reason or "the customer terms price the new vendor cost",
            )
            logger.info(
                "cost change %s of contract %s line %s amended in the customer terms",
                change.pk,
                change.link.contract_id,
                change.link.line_code,
            )
    return [change for change in changes if change.pk not in amended]


def cost_changes_settle_contract(contract_id: int, *, actor: str, reason: str) -> int:
    """Settle the open changes of one contract against its versions, and return how many
    were amended."""
    changes = list(
        CostChange.objects.filter(link__contract_id=contract_id, status=CostChange.Status.OPEN)
        .select_related("link")
        .order_by("pk")
    )
    if not changes:
        return 0
    versions = list(
        ContractVersion.objects.filter(contract_id=contract_id).prefetch_related("lines")
    )
    still_open = cost_changes_settle(changes, {contract_id: versions}, actor=actor, reason=reason)
    return len(changes) - len(still_open)


@transaction.atomic
def cost_change_approve_difference(*, change_id: int, reason: str, by: User) -> ChangeRequest:
    """Request the approval of a vendor cost difference without amending the customer terms.

    The request has target ``cost_change`` and field category price, so the policy's price
    rules name its approvers. Once it is approved, the change becomes ``approved`` with the
    names of its approvers. Raises RuleViolation when the change is not open or already waits.
    """
    from billguard.controls.requests import change_request_create

    authorize(by, "cost_link_manage")
    change = cost_change_get(change_id)
    if change.status != CostChange.Status.OPEN:
        raise RuleViolation(
            f"cost change {change.pk} is {change.status}, not open.",
            place="change_id",
            value=change.pk,
            fix="Only an open cost change needs a decision.",
        )
    waiting = ChangeRequest.objects.filter(
        target=Target.COST_CHANGE,
        target_id=str(change.pk),
        status__in=(ChangeRequest.Status.PENDING, ChangeRequest.Status.APPROVED),
    ).first()
    if waiting is not None:
        raise RuleViolation(
            f"cost change {change.pk} already waits for approval in change request {waiting.pk}.",
            place="change_id",
            value=change.pk,
            fix="Approve, reject or withdraw that request first.",
        )
    size = Decimal(0)
    if change.old_cost:
        size = (abs(change.new_cost - change.old_cost) * 100 / abs(change.old_cost)).quantize(
            Decimal("0.0001")
        )
    request = change_request_create(
        by=by,
        target=Target.COST_CHANGE,
        target_id=change.pk,
        changes=dict(APPROVE_DIFFERENCE),
        reason=reason,
        sizes={"price": size},
    )
    CostChange.objects.filter(pk=change.pk).update(change_request_id=request.pk)
    return request


def cost_change_get(change_id: int) -> CostChange:
    change = CostChange.objects.select_related("link__contract__party").filter(pk=change_id).first()
    if change is None:
        raise NotFound(
            f"cost change {change_id} was not found.",
            place="change_id",
            value=change_id,
            fix="List them with `billguard cost-links changes`.",
        )
    return change
