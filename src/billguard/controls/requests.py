"""Change requests to billing-critical fields: made, approved by others, then applied.

A request records the change, the values it replaces (``before``) and the policy's verdict
(``required``). It is applied once every enforced requirement has its approvals, at once or
on its effective date. No one approves their own request, and no one counts twice, whether
they act themselves or through a delegate. Every transition appends an audit entry whose
record is the request.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.db import models, transaction
from django.utils import timezone

from billguard.controls.approval_policy import (
    requirements_count,
    requirements_describe,
    requirements_met_by,
    requirements_outstanding,
)
from billguard.controls.delegations import delegation_create, delegations_active
from billguard.controls.emergency import change_emergency_apply, change_emergency_review
from billguard.controls.models import Approval, ChangeRequest
from billguard.controls.models.alerts import AlertEvent
from billguard.controls.models.policy import Mode
from billguard.controls.policy import policy_setting
from billguard.controls.request_apply import request_alert, request_apply, request_lock
from billguard.controls.request_prepare import change_prepare
from billguard.controls.roles import authorize, has_action, user_roles
from billguard.controls.services import DEFAULT_ACTOR, AuditItem, audit_record, audit_record_batch
from billguard.domain.errors import BillguardError, InvalidInput, NotAllowed, RuleViolation

if TYPE_CHECKING:
    from billguard.registry.models import Amendment

logger = logging.getLogger(__name__)

__all__ = [
    "change_emergency_apply",
    "change_emergency_review",
    "change_request_approve",
    "change_request_create",
    "change_request_reject",
    "change_request_withdraw",
    "change_requests_apply_due",
    "change_requests_expire",
    "delegation_create",
]

_OPEN = (ChangeRequest.Status.PENDING, ChangeRequest.Status.APPROVED)


@transaction.atomic
def change_request_create(
    *,
    by: User,
    target: str,
    target_id: str | int,
    changes: dict[str, Any],
    reason: str,
    effective_from: dt.date | None = None,
    channel: str = ChangeRequest.Channel.SERVICE,
    amendment: Amendment | None = None,
    subjects: Iterable[str] | None = None,
    sizes: Mapping[str, Decimal | int | str] | None = None,
) -> ChangeRequest:
    """Record a request to change ``target`` ``target_id`` and the approvals it needs.

    ``subjects`` adds policy subjects that are not field categories (``override``,
    ``policy``, ``bespoke:<field>``). ``sizes`` gives the size of the change per subject,
    such as 12 for a 12% discount. Without it, the discount percent and the price change in
    percent are computed from the changes. When every matching rule is in observe mode,
    the change goes through without approvals and the request stays on record as observed.
    """
    authorize(by, "change_request")
    prepared = change_prepare(
        by=by,
        target=target,
        target_id=target_id,
        changes=changes,
        effective_from=effective_from,
        channel=channel,
        subjects=subjects,
        sizes=sizes,
    )
    now = timezone.now()
    request = ChangeRequest.objects.create(
        target=target,
        **prepared.row_fields(),
        effective_from=effective_from,
        reason=reason.strip(),
        channel=channel,
        mode=prepared.mode,
        requested_by=by,
        requested_at=now,
        expires_at=now + dt.timedelta(days=int(policy_setting("request_expiry_days"))),
        amendment=amendment,
    )
    audit_record(
        actor=by.get_username(),
        action="change_request.create",
        record=request,
        before=None,
        after={
            "target": target,
            "target_id": request.target_id,
            "changes": request.changes,
            "before": request.before,
            "categories": request.categories,
            "sizes": prepared.sizes,
            "required": request.required,
            "mode": request.mode,
            "effective_from": effective_from,
        },
        reason=request.reason,
    )
    logger.info(
        "change request %s on %s %s made by %s (%s mode)",
        request.pk,
        target,
        request.target_id,
        by.get_username(),
        request.mode,
    )
    request_alert(request, AlertEvent.CHANGE_REQUESTED)
    if request.mode == Mode.OBSERVE:
        _approved(request, by=by, now=now)
    return request


def change_request_approve(*, request_id: int, by: User, reason: str = "") -> ChangeRequest:
    """Count ``by``'s approval, and approve and apply the request once the policy is met.

    ``by`` approves with their own roles, or for a delegator under an active delegation with
    the delegator's roles, and the approval then names both. The request row is locked for the
    whole decision, so two approvers acting at once apply it exactly once. A request whose
    target changed since it was made comes back with status stale, unapplied.
    """
    now = timezone.now()
    if not has_action(by, "change_approve") and not delegations_active(by, timezone.localdate(now)):
        authorize(by, "change_approve")
    with transaction.atomic():
        request = request_lock(request_id)
        _require_status(request, (ChangeRequest.Status.PENDING,), "approved")
        _require_not_expired(request, now)
        if by.pk == request.requested_by_id:
            raise NotAllowed(
                f"{by.get_username()} made change request {request.pk}, so they cannot approve it.",
                place="user",
                value=by.get_username(),
                fix="Ask another approver, because a change needs a second person.",
            )
        approvals = list(request.approvals.all())
        counted = {a.approver_id for a in approvals} | {
            a.on_behalf_of_id for a in approvals if a.on_behalf_of_id is not None
        }
        if by.pk in counted:
            raise RuleViolation(
                f"{by.get_username()} has already approved change request {request.pk}, "
                "in person or through a delegate.",
                place="user",
                value=by.get_username(),
                fix="Another approver must approve it.",
            )
        delegator, roles = _approving_identity(request, by, counted, timezone.localdate(now))

        person = delegator if delegator is not None else by
        outstanding_before = requirements_describe(request.required)
        met = requirements_met_by(request.required, roles)
        request.required = requirements_count(request.required, person.get_username(), roles)
        Approval.objects.create(
            change_request=request,
            approver=by,
            on_behalf_of=delegator,
            role=(met[0]["role"] or _main_role(roles))[:30],
            rule=", ".join(r["rule"] for r in met if r["rule"])[:80],
            decision=Approval.Decision.APPROVE,
            reason=reason.strip(),
            decided_at=now,
        )
        request.save(update_fields=["required"])
        audit_record(
            actor=by.get_username(),
            action="change_request.approve",
            record=request,
            before={"status": request.status, "outstanding": outstanding_before},
            after={
                "approver": by.get_username(),
                "on_behalf_of": delegator.get_username() if delegator is not None else None,
                "counted_toward": [r["rule"] or "any approver" for r in met],
                "outstanding": requirements_describe(request.required),
            },
            reason=reason.strip(),
        )
        if not requirements_outstanding(request.required):
            _approved(request, by=by, now=now)
    return request


@transaction.atomic
def change_request_reject(*, request_id: int, by: User, reason: str) -> ChangeRequest:
    """Reject an open request with ``reason``. Its requester withdraws it instead."""
    authorize(by, "change_approve")
    if not reason or not reason.strip():
        raise InvalidInput(
            "a rejection needs a reason.",
            place="reason",
            fix="Say why the change is rejected, so the requester can act on it.",
        )
    request = request_lock(request_id)
    _require_status(request, _OPEN, "rejected")
    if by.pk == request.requested_by_id:
        raise NotAllowed(
            f"{by.get_username()} made change request {request.pk}, and a requester "
            "withdraws their own request rather than rejecting it.",
            place="user",
            value=by.get_username(),
            fix="Withdraw the request instead.",
        )
    now = timezone.now()
    previous = request.status
    if not request.approvals.filter(approver=by).exists():
        Approval.objects.create(
            change_request=request,
            approver=by,
            role=_main_role(user_roles(by))[:30],
            decision=Approval.Decision.REJECT,
            reason=reason.strip(),
            decided_at=now,
        )
    request.status = ChangeRequest.Status.REJECTED
    request.decided_at = now
    request.decision_reason = reason.strip()
    request.save(update_fields=["status", "decided_at", "decision_reason"])
    audit_record(
        actor=by.get_username(),
        action="change_request.reject",
        record=request,
        before={"status": previous},
        after={"status": request.status},
        reason=request.decision_reason,
    )
    request_alert(request, AlertEvent.CHANGE_REJECTED)
    return request


@transaction.atomic
def change_request_withdraw(*, request_id: int, by: User) -> ChangeRequest:
    """Withdraw an open request. Only its requester may withdraw it."""
    request = request_lock(request_id)
    if by.pk != request.requested_by_id:
        raise NotAllowed(
            f"only {request.requested_by.get_username()}, who made change request "
            f"{request.pk}, may withdraw it.",
            place="user",
            value=by.get_username(),
            fix="Reject it with a reason instead, if you may approve changes.",
        )
    _require_status(request, _OPEN, "withdrawn")
    previous = request.status
    request.status = ChangeRequest.Status.WITHDRAWN
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    audit_record(
        actor=by.get_username(),
        action="change_request.withdraw",
        record=request,
        before={"status": previous},
        after={"status": request.status},
    )
    return request


@transaction.atomic
def change_requests_expire(*, now: dt.datetime | None = None) -> int:
    """Expire the pending requests whose expiry time has passed, and return how many."""
    now = now or timezone.now()
    expired = list(
        ChangeRequest.objects.select_for_update()
        .filter(status=ChangeRequest.Status.PENDING, expires_at__lte=now)
        .order_by("pk")
    )
    if not expired:
        return 0
    ChangeRequest.objects.filter(pk__in=[r.pk for r in expired]).update(
        status=ChangeRequest.Status.EXPIRED, decided_at=now
    )
    audit_record_batch(
        actor=DEFAULT_ACTOR,
        items=[
            AuditItem(
                action="change_request.expire",
                record_type=ChangeRequest._meta.label_lower,
                record_id=str(r.pk),
                before={"status": ChangeRequest.Status.PENDING.value},
                after={"status": ChangeRequest.Status.EXPIRED.value, "expires_at": r.expires_at},
                reason="no decision before the request expired",
            )
            for r in expired
        ],
    )
    logger.info("expired %d change requests: %s", len(expired), [r.pk for r in expired])
    return len(expired)


def change_requests_apply_due(*, today: dt.date) -> int:
    """Apply the approved requests whose effective date is ``today`` or earlier.

    Each request is applied in its own transaction, so one that fails (its target no longer
    takes the change) stays approved, is logged, and does not hold back the others. Returns
    the number applied, not counting a stale request.
    """
    due = ChangeRequest.objects.filter(status=ChangeRequest.Status.APPROVED).filter(
        models.Q(effective_from__lte=today) | models.Q(effective_from__isnull=True)
    )
    applied = 0
    for request_id in due.order_by("effective_from", "pk").values_list("pk", flat=True):
        try:
            with transaction.atomic():
                request = request_lock(request_id)
                if request.status != ChangeRequest.Status.APPROVED:
                    continue
                request = request_apply(request, by=None)
        except BillguardError as error:
            logger.error("change request %s was not applied on %s: %s", request_id, today, error)
            continue
        if request.status == ChangeRequest.Status.APPLIED:
            applied += 1
    logger.info("applied %d change requests due on %s", applied, today)
    return applied


def _approved(request: ChangeRequest, *, by: User, now: dt.datetime) -> None:
    """Mark the request approved, and apply it at once unless it takes effect later."""
    request.status = ChangeRequest.Status.APPROVED
    request.decided_at = now
    request.save(update_fields=["status", "decided_at", "required"])
    request_alert(request, AlertEvent.CHANGE_APPROVED)
    due = request.effective_from is None or request.effective_from <= timezone.localdate()
    if due:
        request_apply(request, by=by)
    else:
        logger.info(
            "change request %s approved, to apply on %s", request.pk, request.effective_from
        )


def _approving_identity(
    request: ChangeRequest, by: User, counted: set[int], today: dt.date
) -> tuple[User | None, set[str]]:
    """Return who ``by`` approves as (None for themselves, or a delegator) and their roles.

    ``by`` acts for themselves when their own roles meet an outstanding requirement, and
    otherwise for the first delegator whose roles do.
    """
    candidates: list[tuple[User | None, set[str]]] = []
    own = has_action(by, "change_approve")
    if own:
        candidates.append((None, user_roles(by)))
    notes = []
    delegations = delegations_active(by, today)
    for delegation in delegations:
        delegator = delegation.delegator
        name = delegator.get_username()
        if delegator.pk == request.requested_by_id:
            notes.append(f"{name} made the request, so nobody approves it for them")
        elif delegator.pk in counted:
            notes.append(f"{name} has already been counted")
        elif not has_action(delegator, "change_approve"):
            notes.append(f"{name} may not approve changes")
        else:
            candidates.append((delegator, user_roles(delegator)))

    for person, roles in candidates:
        if requirements_met_by(request.required, roles):
            return person, roles
    detail = f" ({'; '.join(notes)})" if notes else ""
    raise NotAllowed(
        f"{by.get_username()} has none of the roles that change request {request.pk} still needs: "
        f"{requirements_describe(request.required)}{detail}.",
        place="user",
        value=by.get_username(),
        fix="Ask an approver who has the role.",
    )


def _main_role(roles: set[str]) -> str:
    return sorted(roles)[0] if roles else ""


def _require_status(
    request: ChangeRequest, allowed: Iterable[ChangeRequest.Status], verb: str
) -> None:
    if request.status not in set(allowed):
        raise RuleViolation(
            f"change request {request.pk} is {request.status}, so it cannot be {verb}.",
            place="status",
            value=request.status,
        )


def _require_not_expired(request: ChangeRequest, now: dt.datetime) -> None:
    if request.expires_at is not None and request.expires_at <= now:
        raise RuleViolation(
            f"change request {request.pk} expired at {request.expires_at.isoformat()}.",
            place="request_id",
            value=request.pk,
            fix="Ask the requester to make the request again.",
        )
