"""The applier of change requests that accept a vendor cost difference (target cost_change).

A pass-through or cost-plus line whose vendor cost changed is held until the customer terms
follow the cost or someone accepts the difference. Accepting it changes what is invoiced
compared with the cost, so it is a price change: the request carries the field category price
and the policy's price rules name its approvers. Applying it marks the cost change approved.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from billguard.controls.applier_values import approvers_text, target_int_id
from billguard.controls.appliers import register_applier
from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.controls.request_apply import actor_name
from billguard.controls.services import audit_record
from billguard.domain.errors import InvalidInput, NotFound
from billguard.procurement.cost_pricing import price_text
from billguard.procurement.models import CostChange

# The only change a request of this target makes: the approval of the difference.
APPROVED = CostChange.Status.APPROVED.value
PRICE = "price"


@register_applier(Target.COST_CHANGE)
class CostChangeApplier:
    """Marks an open vendor cost change approved, naming the approvers."""

    def label(self, target_id: str) -> str:
        change = _change(target_id)
        link = change.link
        return (
            f"cost change {change.pk} of contract {link.contract.number} line {link.line_code}: "
            f"{price_text(change.old_cost)} to {price_text(change.new_cost)}"
        )

    def scope(self, target_id: str) -> tuple[str, str]:
        contract = _change(target_id).link.contract
        return contract.party.customer_group, contract.contract_type

    def categories(self, changes: dict[str, Any]) -> list[str]:
        # Always a price decision, whatever the policy's table of critical attributes lists.
        return [PRICE]

    def validate(
        self, target_id: str, changes: dict[str, Any], effective_from: dt.date | None
    ) -> None:
        if changes != {"status": APPROVED}:
            raise InvalidInput(
                "a cost change request only approves the difference.",
                place="changes",
                value=changes,
                fix='Give {"status": "approved"}.',
            )
        change = _change(target_id)
        if change.status != CostChange.Status.OPEN:
            raise InvalidInput(
                f"cost change {change.pk} is {change.status}, not open.",
                place="target_id",
                value=target_id,
                fix="Only an open cost change needs its difference approved.",
            )

    def snapshot(self, target_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        change = _change(target_id)
        return {"status": change.status, "new_cost": change.new_cost}

    def apply(self, request: ChangeRequest, *, by: User | None) -> dict[str, Any]:
        change = (
            CostChange.objects.select_for_update(of=("self",))
            .select_related("link__contract")
            .get(pk=int(request.target_id))
        )
        change.status = CostChange.Status.APPROVED
        change.resolved_by = approvers_text(request)[:150]
        change.resolved_at = timezone.now()
        change.change_request_id = request.pk
        change.save(update_fields=["status", "resolved_by", "resolved_at", "change_request_id"])
        audit_record(
            actor=actor_name(by),
            action="cost_change.approve",
            record=change,
            before=request.before,
            after={
                "status": change.status,
                "resolved_by": change.resolved_by,
                "change_request": request.pk,
            },
            reason=request.reason,
        )
        return {
            "cost_change": change.pk,
            "contract": change.link.contract.number,
            "line_code": change.link.line_code,
            "resolved_by": change.resolved_by,
        }


def _change(target_id: str) -> CostChange:
    change = (
        CostChange.objects.select_related("link__contract__party")
        .filter(pk=target_int_id(target_id, "cost change"))
        .first()
    )
    if change is None:
        raise NotFound(
            f"cost change {target_id} was not found.",
            place="target_id",
            value=target_id,
            fix="List them with `billguard cost-links changes`.",
        )
    return change
