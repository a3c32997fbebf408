"""The exception queue: drafts held by a blocking finding, and their resolution.

A held draft is fixed at its source (the schedule, the contract through an amendment, a
usage record). It is then drafted again from that source and checked again, and issued
when no blocking finding remains.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet

from billguard.billing.drafting import draft_contract
from billguard.billing.invoices import invoices_issue, invoices_save_drafts
from billguard.billing.models import ExceptionResolution, Invoice
from billguard.billing.outputs import invoice_write_outputs
from billguard.billing.selectors import invoice_for_output, load_draft_sources
from billguard.controls.roles import authorize
from billguard.controls.services import DEFAULT_ACTOR, audit_record
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation
from billguard.domain.periods import parse_period

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


@dataclass
class Resolution:
    invoice: Invoice
    issued: bool
    blocking_codes: list[str]


def exceptions_open() -> QuerySet[Invoice]:
    """Held drafts, oldest first, with their contract and findings."""
    return (
        Invoice.objects.filter(status=Invoice.Status.HELD)
        .select_related("contract", "bill_to")
        .prefetch_related("findings")
        .order_by("held_since", "pk")
    )


def exception_resolve(
    *, invoice_id: int, note: str, resolved_by: str = "", by: User | None = None
) -> Resolution:
    """Draft the held invoice again from its fixed source, check it, and issue it if clean.

    With ``by``, its user name replaces ``resolved_by`` in the resolution and the audit trail.
    """
    from billguard.billing.run import check_plans

    if by is not None:
        authorize(by, "exception_resolve")
        resolved_by = by.get_username()
    if not note.strip():
        raise InvalidInput(
            "a resolution needs a note.", place="--note", fix="Say what was fixed at the source."
        )
    with transaction.atomic():
        held = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
        if held is None:
            raise NotFound(
                f"exception {invoice_id} was not found.",
                place="ID",
                value=invoice_id,
                fix="List the open exceptions with: billguard exceptions",
            )
        if held.status != Invoice.Status.HELD or held.contract_id is None or not held.draft_key:
            raise RuleViolation(
                f"invoice {invoice_id} is {held.status}, not a held draft of the billing run.",
                place="ID",
                value=invoice_id,
            )
        period = parse_period(held.draft_key.rsplit(":", 1)[1])
        sources = load_draft_sources([held.contract_id], period)
        plan = draft_contract(sources[0], period) if sources else None
        if plan is None:
            raise RuleViolation(
                f"contract {held.contract} has nothing left to bill for {period.label}.",
                fix="Check its billing schedule; the held draft stays in the queue.",
            )
        if held.replaces_id is not None:
            # A reissue keeps its own draft key, because the original's stays with the original,
            # and its own dates, because it is issued after the period it bills.
            plan.draft_key = held.draft_key
            plan.document.issue_date = held.issue_date or plan.document.issue_date
            plan.document.due_date = held.due_date or plan.document.due_date
        checked = check_plans([(plan, sources[0].contract)], period)
        invoice = invoices_save_drafts(checked=checked, billing_run=held.billing_run)[0]
        if held.replaces_id is not None:
            Invoice.objects.filter(pk=invoice.pk).update(replaces_id=held.replaces_id)
            invoice.replaces_id = held.replaces_id
        issued = invoice.status == Invoice.Status.DRAFT
        if issued:
            invoices_issue(invoices=[invoice], actor=resolved_by or DEFAULT_ACTOR)
            transaction.on_commit(lambda: invoice_write_outputs(invoice_for_output(invoice.pk)))
        ExceptionResolution.objects.create(
            invoice=invoice,
            note=note[:500],
            outcome="issued" if issued else "still held",
            created_by=resolved_by,
        )
        audit_record(
            actor=resolved_by or DEFAULT_ACTOR,
            action="exception.resolve",
            record=invoice,
            before={"held_invoice": invoice_id, "status": Invoice.Status.HELD.value},
            after={"status": invoice.status, "number": invoice.number},
            reason=note[:500],
            billing_run_id=invoice.billing_run_id,
        )
    blocking = sorted({f.code for f in checked[0].findings if f.blocks})
    logger.info(
        "exception %s of contract %s resolved: %s",
        invoice_id,
        held.contract_id,
        "issued " + str(invoice.number) if issued else "still held by " + ", ".join(blocking),
    )
    return Resolution(invoice=invoice, issued=issued, blocking_codes=blocking)
