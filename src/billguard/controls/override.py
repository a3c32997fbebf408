"""Overrides of held invoices, as change requests: a reason, and an approver other than the
requester.

The request's target is the held invoice and its one change is the reason. Once approved,
the invoice is issued despite its blocking findings, with the reason stored on it.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from billguard.billing.invoices import invoices_issue
from billguard.billing.models import ExceptionResolution, Invoice
from billguard.billing.outputs import invoice_write_outputs
from billguard.billing.selectors import invoice_for_output
from billguard.checks.models import StoredFinding
from billguard.controls.applier_values import target_int_id
from billguard.controls.appliers import register_applier
from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.controls.request_apply import actor_name
from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation

logger = logging.getLogger(__name__)

OVERRIDE = "override"
# The length of Invoice.override_reason, where the reason is stored.
REASON_MAX = 300


def exception_override_request(*, invoice_id: int, by: User, reason: str) -> ChangeRequest:
    """Ask for the override of held invoice ``invoice_id``; another person approves it with
    change_request_approve, which issues the invoice."""
    from billguard.controls.requests import change_request_create

    authorize(by, "exception_override")
    return change_request_create(
        by=by,
        target=Target.INVOICE_OVERRIDE,
        target_id=invoice_id,
        changes={"reason": (reason or "").strip()},
        reason=(reason or "").strip(),
        subjects=[OVERRIDE],
    )


@register_applier(Target.INVOICE_OVERRIDE)
class InvoiceOverrideApplier:
    """Issues a held invoice with the override reason once the override is approved."""

    def label(self, target_id: str) -> str:
        invoice = _invoice(target_id)
        contract = invoice.contract.number if invoice.contract is not None else "no contract"
        return f"held invoice {invoice.pk} ({contract})"

    def scope(self, target_id: str) -> tuple[str, str]:
        invoice = _invoice(target_id)
        if invoice.contract is None:
            return "", ""
        return invoice.contract.party.customer_group, invoice.contract.contract_type

    def categories(self, changes: dict[str, Any]) -> list[str]:
        return []

    def validate(
        self, target_id: str, changes: dict[str, Any], effective_from: dt.date | None
    ) -> None:
        unknown = set(changes) - {"reason"}
        if unknown:
            raise InvalidInput(
                f"an override changes only its reason, not {', '.join(sorted(unknown))}.",
                place="changes",
                fix='Give {"reason": "..."}.',
            )
        reason = changes.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidInput(
                "an override needs a reason.",
                place="reason",
                fix="Say why the invoice may go out despite its blocking findings.",
            )
        if len(reason) > REASON_MAX:
            raise InvalidInput(
                f"the reason has {len(reason)} characters, more than {REASON_MAX}.",
                place="reason",
                fix="Shorten the reason.",
            )
        _require_held(_invoice(target_id))

    def snapshot(self, target_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        invoice = _invoice(target_id)
        return {"status": invoice.status, "reason": invoice.override_reason}

    def apply(self, request: ChangeRequest, *, by: User | None) -> dict[str, Any]:
        invoice = Invoice.objects.select_for_update().get(pk=int(request.target_id))
        _require_held(invoice)
        blocking = sorted(
            set(
                StoredFinding.objects.filter(
                    invoice=invoice, severity=StoredFinding.Severity.BLOCK
                ).values_list("code", flat=True)
            )
        )
        reason = request.changes["reason"].strip()
        invoice.override_reason = reason
        invoice.status = Invoice.Status.DRAFT
        invoice.save(update_fields=["override_reason", "status"])
        invoices_issue(invoices=[invoice], actor=actor_name(by))
        ExceptionResolution.objects.create(
            invoice=invoice,
            note=reason,
            outcome="overridden",
            created_by=actor_name(by),
        )
        audit_record(
            actor=actor_name(by),
            action="exception.override",
            record=invoice,
            before={"status": Invoice.Status.HELD.value, "blocking": blocking},
            after={
                "status": invoice.status,
                "number": invoice.number,
                "change_request": request.pk,
            },
            reason=reason,
            billing_run_id=invoice.billing_run_id,
        )
        invoice_pk = invoice.pk
        transaction.on_commit(lambda: invoice_write_outputs(invoice_for_output(invoice_pk)))
        logger.info(
            "held invoice %s issued as %s by override (change request %s)",
            invoice.pk,
            invoice.number,
            request.pk,
        )
        return {"invoice": invoice.pk, "number": invoice.number, "blocking": blocking}


def _invoice(target_id: str) -> Invoice:
    invoice = (
        Invoice.objects.select_related("contract__party")
        .filter(pk=target_int_id(target_id, "invoice"))
        .first()
    )
    if invoice is None:
        raise NotFound(
            f"invoice {target_id} was not found.",
            place="invoice_id",
            value=target_id,
            fix="List the open exceptions with: billguard exceptions",
        )
    return invoice


def _require_held(invoice: Invoice) -> None:
    if invoice.status != Invoice.Status.HELD:
        raise RuleViolation(
            f"invoice {invoice} is {invoice.status}, and only a held invoice is overridden.",
            place="invoice_id",
            value=invoice.pk,
            fix="List the open exceptions with: billguard exceptions",
        )
