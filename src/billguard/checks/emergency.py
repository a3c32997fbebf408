"""Controls: drafts that rest on a change applied on the emergency path and not reviewed yet.

An administrator may apply a billing-critical change at once, without the approvals the
policy requires. Until a second person reviews it, every draft that the change touches (its
contract version, its billing schedule, its bill-to entity) is held.
"""

from __future__ import annotations

from collections.abc import Iterator

from billguard.checks.completeness import invoice_total
from billguard.checks.context import CheckContext, Draft
from billguard.checks.engine import check
from billguard.checks.finding import Observation, Severity
from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.registry.models import ContractVersion

FAMILY = "controls"


@check("EMERGENCY_CHANGE_UNREVIEWED", family=FAMILY, severity=Severity.BLOCK, needs_contract=False)
def emergency_change_unreviewed(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    if not context.emergency_changes:
        return
    versions = _versions_of_draft(draft, context)
    bill_to_ids = {context.bill_to.pk} if context.bill_to is not None else set()
    if not bill_to_ids:
        bill_to_ids = {v.bill_to_id for v in versions if v.bill_to_id is not None}
    schedule_id = context.schedule.pk if context.schedule is not None else None
    for request in context.emergency_changes:
        version = next((v for v in versions if v.change_request_id == request.pk), None)
        if request.target == Target.CONTRACT:
            if version is None:
                continue
            subject = f"contract version {version.version_number}"
        elif request.target == Target.BILL_TO:
            if request.target_id not in {str(pk) for pk in bill_to_ids}:
                continue
            subject = "bill-to entity"
        elif request.target == Target.SCHEDULE:
            if schedule_id is None or request.target_id != str(schedule_id):
                continue
            subject = "billing schedule"
        else:
            continue
        yield _observation(draft, context, request, subject, version or _first(versions))


def _observation(
    draft: Draft,
    context: CheckContext,
    request: ChangeRequest,
    subject: str,
    version: ContractVersion | None,
) -> Observation:
    applied_on = request.applied_at.date().isoformat() if request.applied_at else "?"
    review_due = request.review_due.isoformat() if request.review_due else ""
    return Observation(
        subject=subject,
        message=(
            f"the {request.target_label or subject} was changed on the emergency path by "
            f"{request.requested_by.get_username()} on {applied_on} (change request "
            f"{request.pk}), and nobody has reviewed the change yet"
        ),
        expected="a reviewed change",
        actual=f"unreviewed emergency change {request.pk}",
        amount_at_stake=invoice_total(draft),
        evidence={
            **context.contract_evidence(version),
            "change_request": str(request.pk),
            "requested_by": request.requested_by.get_username(),
            "review_due": review_due,
        },
    )


def _versions_of_draft(draft: Draft, context: CheckContext) -> list[ContractVersion]:
    """Return the versions in force on the first and the last day of the draft's service."""
    found = []
    for day in (draft.service_start, draft.service_end):
        version = context.version_on(day)
        if version is not None and version not in found:
            found.append(version)
    return found


def _first(versions: list[ContractVersion]) -> ContractVersion | None:
    return versions[0] if versions else None
