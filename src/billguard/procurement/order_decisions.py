"""Decisions on a held purchase order by a finance approver: approve it despite its findings,
or reject it.

A held order is otherwise only checked again (``purchase_order_recheck``) after its cause
was fixed. The approver needs the vendor_invoice_decide action and may not be the person who
created the order (segregation of duties). The reason is stored on the order and audited.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import transaction

from billguard.controls.roles import authorize
from billguard.controls.services import DEFAULT_ACTOR, audit_record
from billguard.domain.errors import InvalidInput, NotAllowed, RuleViolation
from billguard.procurement.models import PurchaseOrder

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

Status = PurchaseOrder.Status

MAX_REASON_LENGTH = 500


def purchase_order_approve_held(
    *, order: PurchaseOrder, reason: str, by: User | None = None
) -> PurchaseOrder:
    """Approve a held order despite its findings, so that it takes receipts and invoices."""
    return _decide(order, Status.APPROVED, reason, by, "purchase_order.approve_held")


def purchase_order_reject(
    *, order: PurchaseOrder, reason: str, by: User | None = None
) -> PurchaseOrder:
    """Reject a held order: it is closed and takes no receipts or amendments."""
    return _decide(order, Status.CLOSED, reason, by, "purchase_order.reject")


def _decide(
    order: PurchaseOrder, status: str, reason: str, by: User | None, action: str
) -> PurchaseOrder:
    if by is not None:
        authorize(by, "vendor_invoice_decide")
    reason = _require_reason(reason)
    actor = by.get_username() if by is not None else DEFAULT_ACTOR
    verb = "approved" if status == Status.APPROVED else "rejected"
    with transaction.atomic():
        order = PurchaseOrder.objects.select_for_update().get(pk=order.pk)
        if order.status != Status.HELD:
            raise RuleViolation(
                f"purchase order {order.number} is {order.status}; only a held order is "
                f"{verb} with a reason.",
                place="number",
                value=order.number,
                fix="List the held orders with `billguard purchase-orders list --status held`.",
            )
        if by is not None and order.created_by == actor:
            raise NotAllowed(
                f"{actor} created purchase order {order.number} and may not decide it too.",
                place="user",
                value=actor,
                fix="Ask another finance approver to decide it.",
            )
        before = {"status": order.status, "decided_by": order.decided_by}
        order.status = status
        order.decided_by = actor
        order.decision_note = reason
        order.save(update_fields=["status", "decided_by", "decision_note"])
        audit_record(
            actor=actor,
            action=action,
            record=order,
            before=before,
            after={
                "status": status,
                "decided_by": actor,
                "findings": sorted(order.findings.values_list("code", flat=True)),
            },
            reason=reason,
        )
    logger.info("purchase order %s %s by %s", order.number, verb, actor)
    return order


def _require_reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(
            "a decision needs a reason.",
            place="--reason",
            fix="Say why the held order is approved or rejected, for the audit trail.",
        )
    if len(text) > MAX_REASON_LENGTH:
        raise InvalidInput(
            f"the reason has {len(text)} characters, more than {MAX_REASON_LENGTH}.",
            place="--reason",
            value=len(text),
            fix="Shorten the reason; attach longer notes as a document.",
        )
    return text
