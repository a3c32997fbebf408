"""The emergency path: an administrator applies a change at once, and a second person reviews it.

Until the review, the request stays flagged, and EMERGENCY_CHANGE_UNREVIEWED holds every
draft that the change touches.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from billguard.controls.models import ChangeRequest
from billguard.controls.models.alerts import AlertEvent
from billguard.controls.policy import policy_setting
from billguard.controls.request_apply import request_alert, request_apply, request_lock
from billguard.controls.request_prepare import change_prepare
from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.domain.errors import InvalidInput, NotAllowed, RuleViolation

if TYPE_CHECKING:
    from billguard.registry.models import Amendment

logger = logging.getLogger(__name__)

EMERGENCY_APPLY = "change_request.emergency_apply"


@transaction.atomic
def change_emergency_apply(
    *,
    by: User,
    target: str,
    target_id: str | int,
    changes: dict[str, Any],
    reason: str,
    effective_from: dt.date | None = None,
    channel: str = ChangeRequest.Channel.SERVICE,
    amendment: Amendment | None = None,
) -> ChangeRequest:
    """Apply a change at once, without approvals, and flag it for review by someone else.

    The review is due ``emergency_review_hours`` (a policy setting) from now. The request
    keeps the policy's verdict in ``required`` for the record, though nothing waits for it.
    """
    authorize(by, "change_emergency")
    if not reason or not reason.strip():
        raise InvalidInput(
            "an emergency change needs a reason.",
            place="reason",
            fix="Say why the change cannot wait for the approvals.",
        )
    prepared = change_prepare(
        by=by,
        target=target,
        target_id=target_id,
        changes=changes,
        effective_from=effective_from,
        channel=channel,
    )
    now = timezone.now()
    request = ChangeRequest.objects.create(
        target=target,
        **prepared.row_fields(),
        effective_from=effective_from,
        reason=reason.strip(),
        channel=channel,
        status=ChangeRequest.Status.APPROVED,
        requested_by=by,
        requested_at=now,
        decided_at=now,
        amendment=amendment,
        emergency=True,
        review_due=now + dt.timedelta(hours=int(policy_setting("emergency_review_hours"))),
    )
    request_apply(request, by=by, action=EMERGENCY_APPLY)
    request_alert(request, AlertEvent.EMERGENCY_CHANGE)
    logger.warning(
        "emergency change request %s applied to %s %s by %s, review due %s",
        request.pk,
        target,
        request.target_id,
        by.get_username(),
        request.review_due,
    )
    return request


@transaction.atomic
def change_emergency_review(*, request_id: int, by: User, reason: str = "") -> ChangeRequest:
    """Record the review of an emergency change by someone other than who applied it."""
    authorize(by, "change_review")
    request = request_lock(request_id)
    if not request.emergency:
        raise RuleViolation(
            f"change request {request.pk} was not applied on the emergency path.",
            place="request_id",
            value=request.pk,
            fix="Only emergency changes are reviewed. Approve other requests instead.",
        )
    if request.reviewed_at is not None:
        raise RuleViolation(
            f"emergency change request {request.pk} was already reviewed on "
            f"{request.reviewed_at.isoformat()}.",
            place="request_id",
            value=request.pk,
        )
    if by.pk == request.requested_by_id:
        raise NotAllowed(
            f"{by.get_username()} applied emergency change request {request.pk}, so they "
            "cannot review it.",
            place="user",
            value=by.get_username(),
            fix="Ask another reviewer, because an emergency change needs a second person.",
        )
    now = timezone.now()
    request.reviewed_by = by
    request.reviewed_at = now
    request.save(update_fields=["reviewed_by", "reviewed_at"])
    audit_record(
        actor=by.get_username(),
        action="change_request.emergency_review",
        record=request,
        before={"emergency": True, "reviewed": False, "review_due": request.review_due},
        after={"emergency": True, "reviewed": True, "reviewed_by": by.get_username()},
        reason=reason.strip(),
    )
    if request.review_due is not None and now > request.review_due:
        logger.warning(
            "emergency change request %s reviewed by %s after its review was due on %s",
            request.pk,
            by.get_username(),
            request.review_due,
        )
    return request
