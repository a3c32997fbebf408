"""Applying an approved change request to its target, with the stale check and the audit entry.

The functions here run inside the caller's transaction, which holds the lock on the request
row (:func:`request_lock`), so that a request is applied at most once however many
approvers act at the same moment.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from billguard.controls.alerts import alert_emit
from billguard.controls.appliers import applier_for
from billguard.controls.chain import json_normalize
from billguard.controls.models import ChangeRequest
from billguard.controls.models.alerts import AlertEvent
from billguard.controls.services import DEFAULT_ACTOR, audit_record
from billguard.domain.errors import NotFound

logger = logging.getLogger(__name__)

APPLY = "change_request.apply"
STALE = "change_request.stale"


def request_lock(request_id: int) -> ChangeRequest:
    """Lock and return the request row (SELECT ... FOR UPDATE on PostgreSQL).

    SQLite ignores FOR UPDATE, and its database write lock serializes the writers instead.
    """
    request = (
        ChangeRequest.objects.select_for_update(of=("self",))
        .select_related("requested_by", "amendment")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        raise NotFound(
            f"change request {request_id} was not found.",
            place="request_id",
            value=request_id,
            fix="List the pending change requests to find its id.",
        )
    return request


def request_apply(request: ChangeRequest, *, by: User | None, action: str = APPLY) -> ChangeRequest:
    """Apply ``request`` unless its target changed since the request was made.

    A target whose current values differ from ``request.before`` makes the request stale:
    its status becomes stale with the reason, nothing is applied, and the request is returned
    so that the caller reports it. The caller holds the lock on the request row.
    """
    applier = applier_for(request.target)
    current = json_normalize(applier.snapshot(request.target_id, request.changes))
    before = json_normalize(request.before)
    now = timezone.now()
    if current != before:
        request.status = ChangeRequest.Status.STALE
        request.decided_at = now
        request.decision_reason = stale_reason(request, before, current)[:2000]
        request.save(update_fields=["status", "decided_at", "decision_reason", "required"])
        audit_record(
            actor=actor_name(by),
            action=STALE,
            record=request,
            before={"status": ChangeRequest.Status.APPROVED.value, "values": before},
            after={"status": request.status, "values": current},
            reason=request.decision_reason,
        )
        request_alert(request, AlertEvent.CHANGE_REJECTED)
        logger.warning(
            "change request %s on %s %s is stale: %s",
            request.pk,
            request.target,
            request.target_id,
            request.decision_reason,
        )
        return request

    result = applier.apply(request, by=by)
    request.status = ChangeRequest.Status.APPLIED
    request.applied_at = now
    request.decided_at = request.decided_at or now
    request.result = json_normalize(result or {})
    request.save(update_fields=["status", "applied_at", "decided_at", "result", "required", "mode"])
    audit_record(
        actor=actor_name(by),
        action=action,
        record=request,
        before=request.before,
        after={
            "target": request.target,
            "target_id": request.target_id,
            "changes": request.changes,
            "result": request.result,
            "mode": request.mode,
            "emergency": request.emergency,
        },
        reason=request.reason,
    )
    logger.info(
        "change request %s applied to %s %s (%s)",
        request.pk,
        request.target,
        request.target_id,
        action,
    )
    return request


def stale_reason(request: ChangeRequest, before: Any, current: Any) -> str:
    """Say which attributes of the target changed since the request was made."""
    changed = _differences(before, current)
    label = request.target_label or f"{request.target} {request.target_id}"
    details = "; ".join(f"{name} was {old!r}, now {new!r}" for name, old, new in changed[:10])
    return (
        f"{label} changed since the request was made ({details}), so the request was not "
        "applied. Make a new request against the current values."
    )


def actor_name(by: User | None) -> str:
    return by.get_username() if by is not None else DEFAULT_ACTOR


def _differences(before: Any, current: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    if isinstance(before, dict) and isinstance(current, dict):
        found = []
        for key in sorted(set(before) | set(current), key=str):
            name = f"{prefix}.{key}" if prefix else str(key)
            found += _differences(before.get(key), current.get(key), name)
        return found
    if before != current:
        return [(prefix or "value", before, current)]
    return []


def request_alert(request: ChangeRequest, event: str) -> int:
    """Alert the subscribers of ``event`` about ``request``, after the transaction commits."""
    requester = request.requested_by.get_username() if request.requested_by_id else ""
    return alert_emit(
        event=event,
        subject=f"Change request {request.pk} {request.get_status_display()}: "
        f"{request_subject_label(request)}",
        payload=json_normalize(
            {
                "change_request": request.pk,
                "target": request.target,
                "target_id": request.target_id,
                "target_label": request.target_label,
                "status": request.status,
                "mode": request.mode,
                "emergency": request.emergency,
                "categories": request.categories,
                "changes": request.changes,
                "before": request.before,
                "effective_from": request.effective_from,
                "requested_by": requester,
                "reason": request.reason,
                "decision_reason": request.decision_reason,
            }
        ),
    )


def request_subject_label(request: ChangeRequest) -> str:
    """Return what a request changes, such as ``contract terms C-1``, for messages."""
    kind = str(request.get_target_display())
    label = request.target_label or request.target_id
    return label if label.startswith(kind) or kind.endswith(label) else f"{kind} {label}"
