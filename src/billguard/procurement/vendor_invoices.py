"""Vendor invoices: record one, check it, and decide the held ones.

An invoice is recorded, then checked at once by every check registered for vendor invoices
(duplicates, bank account, the three-way match, the vendor's onboarding). With no blocking
finding it is matched and payable. Otherwise it is held until a finance approver other than
the person who recorded it approves it despite its findings, someone rejects it, or a check
after the cause was fixed (a receipt recorded, a tolerance set) finds it clean.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from billguard.checks.engine import VENDOR_INVOICE, run_subject_checks
from billguard.checks.finding import Finding
from billguard.checks.modes import CheckModes, check_modes_load
from billguard.controls.models import AuditEntry
from billguard.controls.roles import authorize
from billguard.controls.services import DEFAULT_ACTOR, audit_record
from billguard.domain.errors import InvalidInput, NotAllowed, NotFound, RuleViolation
from billguard.procurement.context import vendor_invoice_context
from billguard.procurement.models import ProcurementFinding, VendorInvoice, VendorInvoiceLine
from billguard.procurement.signals import vendor_invoice_recorded
from billguard.procurement.vendor_invoice_input import (
    VendorInvoiceInput,
    VendorInvoiceInvalid,
    VendorInvoiceLineInput,
    normalize_invoice_number,
)
from billguard.procurement.vendor_invoice_validation import (
    ValidatedInvoice,
    vendor_invoice_validate,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

__all__ = [
    "VendorInvoiceCheck",
    "VendorInvoiceInput",
    "VendorInvoiceInvalid",
    "VendorInvoiceLineInput",
    "normalize_invoice_number",
    "vendor_invoice_approve",
    "vendor_invoice_check",
    "vendor_invoice_recheck",
    "vendor_invoice_record",
    "vendor_invoice_reject",
    "vendor_invoices_recheck_held",
]

logger = logging.getLogger(__name__)

Status = VendorInvoice.Status

# A decision is final: an approved or rejected invoice is not checked or decided again.
DECIDED = (Status.APPROVED, Status.REJECTED)
MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class VendorInvoiceCheck:
    """The outcome of checking a vendor invoice: its new status and every finding."""

    invoice: VendorInvoice
    findings: list[Finding] = field(default_factory=list)

    @property
    def blocking_codes(self) -> list[str]:
        return sorted({finding.code for finding in self.findings if finding.blocks})

    @property
    def held(self) -> bool:
        return self.invoice.status == Status.HELD


def vendor_invoice_record(
    entry: VendorInvoiceInput, *, by: User | None, modes: CheckModes | None = None
) -> VendorInvoice:
    """Validate ``entry``, store the invoice with its lines, and check it.

    Raises VendorInvoiceInvalid listing every invalid value, and stores nothing then. Sends
    ``vendor_invoice_recorded`` inside the transaction, after the lines are stored. The
    returned invoice is matched or held.
    """
    if by is not None:
        authorize(by, "vendor_invoice_record")
    validated = vendor_invoice_validate(entry)
    with transaction.atomic():
        invoice = vendor_invoice_store(validated, by=by)
        vendor_invoice_check(invoice, by=by, modes=modes)
    return invoice


def vendor_invoice_store(validated: ValidatedInvoice, *, by: User | None) -> VendorInvoice:
    """Write a validated invoice and its lines, audit it and send ``vendor_invoice_recorded``.

    Must run inside the caller's transaction; the invoice is left recorded, not checked.
    """
    entry = validated.entry
    actor = by.get_username() if by is not None else DEFAULT_ACTOR
    invoice = VendorInvoice.objects.create(
        vendor=validated.vendor,
        seller_entity=validated.seller_entity,
        purchase_order=validated.order,
        number=entry.number.strip(),
        normalized_number=validated.normalized_number,
        issue_date=entry.issue_date,
        due_date=entry.due_date,
        currency=entry.currency,
        net_amount=entry.net_amount,
        tax_amount=entry.tax_amount,
        gross_amount=entry.gross_amount,
        payee_iban=validated.payee_iban,
        source=entry.source,
        source_file=entry.source_file[:300],
        source_row=entry.source_row,
        source_sha256=entry.source_sha256,
        recorded_by=actor,
    )
    VendorInvoiceLine.objects.bulk_create(
        VendorInvoiceLine(
            invoice=invoice,
            line_number=line.line_number,
            po_line=validated.order_lines.get(line.line_number),
            description=line.description[:200],
            quantity=line.quantity,
            unit_code=line.unit_code or "C62",
            unit_price=line.unit_price / line.price_base_quantity,
            net_amount=line.net_amount,
        )
        for line in entry.lines
    )
    audit_record(
        actor=actor,
        action="vendor_invoice.record",
        record=invoice,
        before=None,
        after=_snapshot(invoice),
    )
    vendor_invoice_recorded.send(sender=VendorInvoice, invoice=invoice, by=by)
    logger.info(
        "recorded vendor invoice %s (%s) of vendor %s on order %s",
        invoice.pk,
        invoice.number,
        validated.vendor.code,
        validated.order.number,
    )
    return invoice


def vendor_invoice_check(
    invoice: VendorInvoice, *, by: User | None = None, modes: CheckModes | None = None
) -> VendorInvoiceCheck:
    """Run every check registered for vendor invoices and store the outcome.

    The invoice's findings are replaced, and it becomes held when a finding blocks (a
    blocking finding of a check that the policy observes does not) and matched otherwise,
    in one transaction with an audit entry. ``modes`` are the policy's check modes, loaded
    here when not given. Raises RuleViolation for an approved or rejected invoice.
    """
    actor = by.get_username() if by is not None else DEFAULT_ACTOR
    with transaction.atomic():
        locked = (
            VendorInvoice.objects.select_for_update(of=("self",))
            .select_related("vendor", "seller_entity", "purchase_order")
            .get(pk=invoice.pk)
        )
        _require_undecided(locked, "checked again")
        context = vendor_invoice_context(locked)
        findings = run_subject_checks(
            VENDOR_INVOICE,
            locked,
            context,
            modes=modes if modes is not None else check_modes_load(),
        )
        before = {"status": locked.status, "findings": _finding_codes(locked)}
        locked.findings.all().delete()
        ProcurementFinding.objects.bulk_create(
            _finding_row(locked, finding) for finding in findings
        )
        locked.status = Status.HELD if any(f.blocks for f in findings) else Status.MATCHED
        locked.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="vendor_invoice.check",
            record=locked,
            before=before,
            after={"status": locked.status, "findings": sorted(f.code for f in findings)},
        )
    invoice.status = locked.status
    logger.info(
        "checked vendor invoice %s: %s with %d findings", locked.pk, locked.status, len(findings)
    )
    return VendorInvoiceCheck(invoice=locked, findings=findings)


def vendor_invoice_recheck(*, invoice_id: int, by: User | None) -> VendorInvoiceCheck:
    """Check a recorded, held or matched invoice again, after its cause was fixed."""
    if by is not None:
        authorize(by, "vendor_invoice_record")
    invoice = _invoice(invoice_id)
    return vendor_invoice_check(invoice, by=by)


def vendor_invoices_recheck_held(*, by: User | None) -> list[VendorInvoiceCheck]:
    """Check every held invoice again, oldest first, each in its own transaction.

    For a cause that touches many invoices, such as a match tolerance set for a vendor.
    """
    if by is not None:
        authorize(by, "vendor_invoice_record")
    modes = check_modes_load()
    held = VendorInvoice.objects.filter(status=Status.HELD).order_by("pk")
    return [vendor_invoice_check(invoice, by=by, modes=modes) for invoice in held]


def vendor_invoice_approve(*, invoice_id: int, reason: str, by: User | None) -> VendorInvoice:
    """Approve a held invoice despite its findings, which makes it payable.

    The approver needs the vendor_invoice_decide action and may not be the person who
    recorded the invoice (segregation of duties). The reason is stored on the invoice.
    """
    if by is not None:
        authorize(by, "vendor_invoice_decide")
    reason = _require_reason(reason)
    with transaction.atomic():
        invoice = _invoice(invoice_id, lock=True)
        actor = by.get_username() if by is not None else DEFAULT_ACTOR
        _require_undecided(invoice, "approved")
        if invoice.status != Status.HELD:
            raise RuleViolation(
                f"vendor invoice {invoice.pk} is {invoice.get_status_display()}; only a held "
                "invoice is approved.",
                place="ID",
                value=invoice.pk,
                fix="A matched invoice is already payable; list the held ones with "
                "`billguard vendor-invoices list --status held`.",
            )
        if by is not None and invoice.recorded_by == actor:
            raise NotAllowed(
                f"{actor} recorded vendor invoice {invoice.pk} and may not approve it too.",
                place="user",
                value=actor,
                fix="Ask another finance approver to approve it.",
            )
        return _decide(invoice, Status.APPROVED, reason, actor, "vendor_invoice.approve")


def vendor_invoice_reject(*, invoice_id: int, reason: str, by: User | None) -> VendorInvoice:
    """Reject a recorded, held or matched invoice: it is not to be paid."""
    if by is not None:
        authorize(by, "vendor_invoice_decide")
    reason = _require_reason(reason)
    with transaction.atomic():
        invoice = _invoice(invoice_id, lock=True)
        _require_undecided(invoice, "rejected")
        actor = by.get_username() if by is not None else DEFAULT_ACTOR
        return _decide(invoice, Status.REJECTED, reason, actor, "vendor_invoice.reject")


def _decide(
    invoice: VendorInvoice, status: str, reason: str, actor: str, action: str
) -> VendorInvoice:
    before = {"status": invoice.status, "decided_by": invoice.decided_by}
    invoice.status = status
    invoice.decided_by = actor
    invoice.decision_note = reason
    invoice.save(update_fields=["status", "decided_by", "decision_note"])
    audit_record(
        actor=actor,
        action=action,
        record=invoice,
        before=before,
        after={"status": status, "decided_by": actor, "findings": _finding_codes(invoice)},
        reason=reason,
    )
    logger.info("vendor invoice %s %s by %s", invoice.pk, status, actor)
    return invoice


def _invoice(invoice_id: int, *, lock: bool = False) -> VendorInvoice:
    invoices = VendorInvoice.objects.select_related("vendor", "seller_entity", "purchase_order")
    if lock:
        invoices = invoices.select_for_update(of=("self",))
    invoice = invoices.filter(pk=invoice_id).first()
    if invoice is None:
        raise NotFound(
            f"vendor invoice {invoice_id} was not found.",
            place="ID",
            value=invoice_id,
            fix="List the vendor invoices with `billguard vendor-invoices list`.",
        )
    return invoice


def _require_undecided(invoice: VendorInvoice, verb: str) -> None:
    """Raise RuleViolation when the invoice is already approved or rejected.

    ``verb`` is the past participle of the requested step ("approved", "rejected",
    "checked again").
    """
    if invoice.status not in DECIDED:
        return
    status = str(invoice.status)
    decided_on = _decision_date(invoice)
    when = f" on {decided_on.isoformat()}" if decided_on is not None else ""
    who = invoice.decided_by or "an earlier decision"
    again = " again" if invoice.status == _status_for(verb) else ""
    raise RuleViolation(
        f"vendor invoice {invoice.pk} is already {status}: {who} {status} it{when}. "
        f"A decision is final, so it cannot be {verb}{again}.",
        place="ID",
        value=invoice.pk,
        fix="If the vendor sends a corrected invoice, record that one instead.",
    )


def _status_for(verb: str) -> str | None:
    return {"approved": Status.APPROVED, "rejected": Status.REJECTED}.get(verb)


def _decision_date(invoice: VendorInvoice) -> dt.date | None:
    """Return the date of the audit entry that recorded the invoice's decision."""
    entry = (
        AuditEntry.objects.filter(
            action__in=("vendor_invoice.approve", "vendor_invoice.reject"),
            record_id=str(invoice.pk),
        )
        .order_by("-sequence")
        .first()
    )
    if entry is None:
        return None
    return timezone.localdate(entry.recorded_at)


def _require_reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(
            "a decision needs a reason.",
            place="--reason",
            fix="Say why the invoice is approved or rejected, for the audit trail.",
        )
    if len(text) > MAX_REASON_LENGTH:
        raise InvalidInput(
            f"the reason has {len(text)} characters, more than {MAX_REASON_LENGTH}.",
            place="--reason",
            value=len(text),
            fix="Shorten the reason; attach longer notes as a document.",
        )
    return text


def _finding_row(invoice: VendorInvoice, finding: Finding) -> ProcurementFinding:
    stake = finding.amount_at_stake
    return ProcurementFinding(
        vendor_invoice=invoice,
        code=finding.code,
        severity=finding.severity.value,
        subject=finding.subject[:200],
        message=finding.message[:500],
        expected=finding.expected[:200],
        actual=finding.actual[:200],
        amount_at_stake=stake.amount if stake is not None else None,
        currency=stake.currency if stake is not None else "",
        evidence=dict(finding.evidence),
        observed=finding.observed,
    )


def _finding_codes(invoice: VendorInvoice) -> list[str]:
    return sorted(invoice.findings.values_list("code", flat=True))


def _snapshot(invoice: VendorInvoice) -> dict[str, object]:
    return {
        "vendor": invoice.vendor.code,
        "seller_entity": invoice.seller_entity.code,
        "purchase_order": invoice.purchase_order.number if invoice.purchase_order else "",
        "number": invoice.number,
        "normalized_number": invoice.normalized_number,
        "issue_date": invoice.issue_date.isoformat(),
        "currency": invoice.currency,
        "gross_amount": str(invoice.gross_amount),
        "payee_iban": invoice.payee_iban,
        "source": invoice.source,
        "source_file": invoice.source_file,
    }
