"""Who works on which held draft of the exception queue.

Assigning takes the same action as resolving (``exception_resolve``): a user who may fix a
held draft at its source may hand it to a colleague, and only such a colleague may receive it.
Every assignment, change of assignee and release is recorded in the audit trail.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from billguard.billing.models import ExceptionAssignment, Invoice
from billguard.controls.roles import authorize, has_action
from billguard.controls.services import audit_record
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation

logger = logging.getLogger(__name__)

ASSIGN_ACTION = "exception_resolve"
NOTE_MAX = 300


def exception_assign(
    *, invoice_id: int, assignee: User | None, by: User, note: str = ""
) -> ExceptionAssignment | None:
    """Assign held draft ``invoice_id`` to ``assignee``, or release it when ``assignee`` is None.

    Returns the assignment, or None after a release.
    """
    authorize(by, ASSIGN_ACTION)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(
            f"the note has {len(note)} characters, more than {NOTE_MAX}.",
            place="note",
            fix="Shorten the note.",
        )
    if assignee is not None and not has_action(assignee, ASSIGN_ACTION):
        raise RuleViolation(
            f"{assignee.get_username()} may not resolve held invoices, so the exception "
            "cannot be assigned to them.",
            place="assignee",
            value=assignee.get_username(),
            fix="Choose a colleague with the finance or finance approver role.",
        )

    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
        if invoice is None:
            raise NotFound(
                f"exception {invoice_id} was not found.",
                place="invoice_id",
                value=invoice_id,
                fix="Open the exception queue and choose a held invoice.",
            )
        if invoice.status != Invoice.Status.HELD or not invoice.draft_key:
            raise RuleViolation(
                f"invoice {invoice} is {invoice.status}, and only a held draft of the billing "
                "run is assigned.",
                place="invoice_id",
                value=invoice_id,
            )
        current = (
            ExceptionAssignment.objects.select_related("assignee")
            .filter(draft_key=invoice.draft_key)
            .first()
        )
        before = current.assignee.get_username() if current is not None else ""
        after = assignee.get_username() if assignee is not None else ""
        if assignee is None:
            if current is not None:
                current.delete()
            assignment = None
        else:
            assignment, _ = ExceptionAssignment.objects.update_or_create(
                draft_key=invoice.draft_key,
                defaults={
                    "assignee": assignee,
                    "assigned_by": by.get_username(),
                    "assigned_at": timezone.now(),
                    "note": note,
                },
            )
        audit_record(
            actor=by.get_username(),
            action="exception.assign",
            record=invoice,
            before={"assignee": before},
            after={"assignee": after},
            reason=note,
            billing_run_id=invoice.billing_run_id,
        )
    logger.info(
        "exception %s (%s) assigned by %s: %r -> %r",
        invoice_id,
        invoice.draft_key,
        by.get_username(),
        before,
        after,
    )
    return assignment


def exception_assignees() -> QuerySet[User]:
    """Active users whose role may resolve held invoices, by user name."""
    from billguard.controls.actions import action_codename

    codename = action_codename(ASSIGN_ACTION)
    return (
        User.objects.filter(is_active=True)
        .filter(groups__permissions__codename=codename)
        .distinct()
        .order_by("username")
    )
