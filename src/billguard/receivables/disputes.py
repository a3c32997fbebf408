"""Invoice disputes: opening one against an issued invoice, rejecting it, or resolving it.

A dispute is resolved in one of two ways. By credit note alone: a credit note for the
disputed invoice, in full or for some line quantities. By credit note and reissue: a credit
note for the whole invoice, and a corrected invoice drafted again from the same contract
and period, run through every registered check and numbered in the seller entity's gapless
series. A reissue that a blocking finding holds is kept as a held draft in the exception
queue, where ``billguard exceptions resolve`` issues it once its source is fixed.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from billguard.billing.credit import credit_note_issue
from billguard.billing.drafting import DEFAULT_PAYMENT_TERMS_DAYS, draft_contract
from billguard.billing.invoices import invoices_issue, invoices_save_drafts
from billguard.billing.models import Invoice
from billguard.billing.outputs import invoice_write_outputs
from billguard.billing.selectors import invoice_for_output, load_draft_sources
from billguard.checks.engine import INVOICE, registered_checks
from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation
from billguard.domain.money import money_text, to_decimal
from billguard.domain.periods import parse_period
from billguard.receivables.balances import credited_total
from billguard.receivables.models import Dispute

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

MAX_NOTE_LENGTH = 500


@dataclass(frozen=True)
class DisputeResolution:
    dispute: Dispute
    credit_note: Invoice
    reissued: Invoice | None
    # Codes of the blocking findings that hold the reissue; empty when it was issued.
    blocking_codes: list[str]


def invoice_check_codes() -> list[str]:
    """Codes of the registered checks of customer invoices, sorted."""
    return sorted(check.code for check in registered_checks() if INVOICE in check.subjects)


def dispute_open(
    *,
    invoice: Invoice,
    opened_on: dt.date,
    reason: str,
    amount: Decimal,
    by: User,
    note: str = "",
    check_code: str = "",
) -> Dispute:
    """Open a dispute against an issued invoice for ``amount`` of its payable amount."""
    authorize(by, "dispute_open")
    if reason not in Dispute.Reason.values:
        raise InvalidInput(
            f"{reason!r} is not a dispute reason.",
            place="--reason",
            value=reason,
            fix=f"Use one of: {', '.join(Dispute.Reason.values)}.",
        )
    check_code = _check_code_validate(check_code)
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidInput(
            f"the note is {len(note)} characters long, over the limit of {MAX_NOTE_LENGTH}.",
            place="--note",
            fix="Shorten it.",
        )
    amount = to_decimal(amount, place="--amount")
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if (
            invoice.status != Invoice.Status.ISSUED
            or invoice.document_type != Invoice.DocumentType.INVOICE
        ):
            raise RuleViolation(
                f"{invoice} is not an issued invoice, so it cannot be disputed.",
                place="INVOICE",
                value=str(invoice),
                fix="Dispute an issued invoice; a held draft is resolved in the exception queue.",
            )
        credited = credited_total(invoice)
        if credited >= invoice.payable:
            raise RuleViolation(
                f"invoice {invoice.number} is credited in full by {_credit_notes(invoice)}, "
                "so nothing is left to dispute.",
                place="INVOICE",
                value=invoice.number,
                fix="Dispute the invoice that replaced it, if the customer disputes that one.",
            )
        if credited and (amount <= 0 or amount > invoice.payable - credited):
            left = money_text(invoice.payable - credited, invoice.currency)
            raise InvalidInput(
                f"the disputed amount {amount} is not between 0 and the {left} of invoice "
                f"{invoice.number} that {_credit_notes(invoice)} left uncredited.",
                place="--amount",
                value=amount,
                fix="Give the part of what is left that the customer disputes.",
            )
        if amount <= 0 or amount > invoice.payable:
            raise InvalidInput(
                f"the disputed amount {amount} is not between 0 and the invoice's payable "
                f"amount {money_text(invoice.payable, invoice.currency)}.",
                place="--amount",
                value=amount,
                fix="Give the part of the invoice that the customer disputes.",
            )
        if invoice.issue_date is not None and opened_on < invoice.issue_date:
            raise InvalidInput(
                f"the dispute date {opened_on} is before invoice {invoice.number} of "
                f"{invoice.issue_date}.",
                place="--date",
                value=opened_on,
                fix="Give the date the customer raised the dispute.",
            )
        if invoice.disputes.filter(status=Dispute.Status.OPEN).exists():
            raise RuleViolation(
                f"invoice {invoice.number} already has an open dispute.",
                place="INVOICE",
                value=invoice.number,
                fix="Add to the open dispute by resolving or rejecting it first.",
            )
        dispute = Dispute.objects.create(
            invoice=invoice,
            opened_on=opened_on,
            reason=reason,
            note=note.strip(),
            amount=amount,
            check_code=check_code,
            opened_by=by.get_username(),
        )
        audit_record(
            actor=by.get_username(),
            action="dispute.open",
            record=dispute,
            before=None,
            after={
                "invoice": invoice.number,
                "opened_on": opened_on,
                "reason": reason,
                "amount": amount,
                "check_code": check_code,
            },
            reason=note.strip(),
        )
    logger.info("opened dispute %s on invoice %s (%s)", dispute.pk, invoice.number, reason)
    return dispute


def dispute_by_id(dispute_id: int, *, place: str = "DISPUTE") -> Dispute:
    dispute = Dispute.objects.select_related("invoice").filter(pk=dispute_id).first()
    if dispute is None:
        raise NotFound(
            f"dispute {dispute_id} was not found.",
            place=place,
            value=dispute_id,
            fix="List the disputes with `billguard disputes list`.",
        )
    return dispute


def dispute_reject(*, dispute: Dispute, note: str, by: User) -> Dispute:
    """Close a dispute without a correction, so the invoice remains valid as issued."""
    authorize(by, "dispute_decide")
    _note_validate(note)
    with transaction.atomic():
        dispute = _locked_open(dispute)
        dispute.status = Dispute.Status.REJECTED
        _decided(dispute, note, by)
        dispute.save()
        audit_record(
            actor=by.get_username(),
            action="dispute.reject",
            record=dispute,
            before={"status": Dispute.Status.OPEN.value},
            after={"status": dispute.status, "invoice": dispute.invoice.number},
            reason=dispute.decision_note,
        )
    logger.info("rejected dispute %s on invoice %s", dispute.pk, dispute.invoice.number)
    return dispute


def dispute_resolve(
    *,
    dispute: Dispute,
    reissue: bool,
    note: str,
    issue_date: dt.date,
    by: User,
    quantities: dict[str, Decimal] | None = None,
    check_code: str | None = None,
) -> DisputeResolution:
    """Resolve a dispute by a credit note, and with ``reissue`` by a corrected invoice too.

    Without ``reissue``, ``quantities`` (by line position) credits part of the invoice. A
    reissue always follows a full credit note, so the corrected invoice replaces it whole.
    The user needs both the dispute_decide and the invoice_credit action. A ``check_code``
    replaces the code recorded at opening (empty: no check would have caught the error);
    None keeps it.

    NOTE: payments already applied to the disputed invoice stay on it, so a credited invoice
    can show more paid than open. Move them with ``payment_allocate`` (to the reissue).
    """
    authorize(by, "dispute_decide")
    authorize(by, "invoice_credit")
    _note_validate(note)
    if check_code is not None:
        check_code = _check_code_validate(check_code)
    if reissue and quantities:
        raise InvalidInput(
            "a reissue replaces the whole invoice, so its credit note cannot be partial.",
            place="--line",
            fix="Leave out --line, or resolve by credit note alone.",
        )
    with transaction.atomic():
        dispute = _locked_open(dispute)
        original = dispute.invoice
        if reissue:
            _reissue_source_check(original)
        credit_note = credit_note_issue(
            invoice=original,
            reason=f"Dispute {dispute.pk} ({dispute.get_reason_display()}): {note.strip()}"[:300],
            issue_date=issue_date,
            quantities=quantities,
            by=by,
        )
        reissued, blocking = (
            invoice_reissue(original, issue_date=issue_date, actor=by.get_username())
            if reissue
            else (None, [])
        )
        dispute.status = Dispute.Status.RESOLVED
        dispute.resolution = (
            Dispute.Resolution.CREDIT_AND_REISSUE if reissue else Dispute.Resolution.CREDIT_ONLY
        )
        dispute.credit_note = credit_note
        dispute.reissued_invoice = reissued
        if check_code is not None:
            dispute.check_code = check_code
        _decided(dispute, note, by)
        dispute.save()
        audit_record(
            actor=by.get_username(),
            action="dispute.resolve",
            record=dispute,
            before={"status": Dispute.Status.OPEN.value},
            after={
                "status": dispute.status,
                "resolution": dispute.resolution,
                "invoice": original.number,
                "credit_note": credit_note.number,
                "reissued_invoice": reissued.number or f"held draft {reissued.pk}"
                if reissued is not None
                else None,
                "blocking_codes": blocking,
                "check_code": dispute.check_code,
            },
            reason=dispute.decision_note,
        )
    logger.info(
        "resolved dispute %s on invoice %s by credit note %s%s",
        dispute.pk,
        original.number,
        credit_note.number,
        f" and reissue {reissued}" if reissued is not None else "",
    )
    return DisputeResolution(dispute, credit_note, reissued, blocking)


def _reissue_source_check(original: Invoice) -> None:
    if original.contract_id is None or not original.draft_key or ":" not in original.draft_key:
        raise RuleViolation(
            f"invoice {original.number} was not drafted from a contract's billing schedule, "
            "so it cannot be drafted again.",
            place="--reissue",
            value=original.number,
            fix="Resolve by credit note alone, and bill the correction in its source system.",
        )


def invoice_reissue(
    original: Invoice, *, issue_date: dt.date, actor: str
) -> tuple[Invoice, list[str]]:
    """Draft ``original``'s contract and period again, check it, and issue it if clean.

    The reissue is dated ``issue_date`` and due after the payment terms in force. It links
    to ``original`` through ``Invoice.replaces`` and has the draft key
    ``CONTRACT#RN:PERIOD`` (N counts the contract's reissues of the period), because the
    key ``CONTRACT:PERIOD`` stays with the original. Returns the invoice and the codes of
    the blocking findings that hold it.
    """
    from billguard.billing.run import check_plans

    _reissue_source_check(original)
    assert original.contract_id is not None and original.draft_key is not None
    period = parse_period(original.draft_key.rsplit(":", 1)[1])
    sources = load_draft_sources([original.contract_id], period)
    plan = draft_contract(sources[0], period) if sources else None
    if plan is None:
        raise RuleViolation(
            f"contract {original.contract} has nothing to bill for {period.label} any more.",
            place="--reissue",
            value=original.number,
            fix="Resolve by credit note alone.",
        )
    version = plan.contract_version
    terms = (version.payment_terms_days if version else None) or DEFAULT_PAYMENT_TERMS_DAYS
    plan.document.issue_date = issue_date
    plan.document.due_date = issue_date + dt.timedelta(days=terms)
    contract_number = sources[0].contract.number
    earlier = Invoice.objects.filter(
        draft_key__startswith=f"{contract_number}#R", draft_key__endswith=f":{period.label}"
    ).count()
    plan.draft_key = f"{contract_number}#R{earlier + 1}:{period.label}"
    checked = check_plans([(plan, sources[0].contract)], period)
    invoice = invoices_save_drafts(checked=checked, billing_run=None)[0]
    Invoice.objects.filter(pk=invoice.pk).update(replaces=original)
    invoice.replaces = original
    blocking = sorted({finding.code for finding in checked[0].findings if finding.blocks})
    if invoice.status == Invoice.Status.DRAFT:
        invoices_issue(invoices=[invoice], actor=actor)
        transaction.on_commit(lambda: invoice_write_outputs(invoice_for_output(invoice.pk)))
    logger.info(
        "reissued invoice %s as %s",
        original.number,
        invoice.number or f"held draft {invoice.pk} ({', '.join(blocking)})",
    )
    return invoice, blocking


def reissue_of(dispute: Dispute) -> Invoice | None:
    """Return the invoice that replaced the disputed one, held or issued.

    ``Dispute.reissued_invoice`` is emptied when a held reissue is drafted again from the
    exception queue, so the link from the reissue to the invoice it replaces is read then.
    """
    if dispute.reissued_invoice is not None:
        return dispute.reissued_invoice
    if dispute.resolution != Dispute.Resolution.CREDIT_AND_REISSUE:
        return None
    return Invoice.objects.filter(replaces=dispute.invoice).order_by("-pk").first()


def disputes_list(*, status: str | None = None) -> list[Dispute]:
    if status is not None and status not in Dispute.Status.values:
        raise InvalidInput(
            f"{status!r} is not a dispute status.",
            place="--status",
            value=status,
            fix=f"Use one of: {', '.join(Dispute.Status.values)}.",
        )
    disputes = Dispute.objects.select_related("invoice", "credit_note", "reissued_invoice")
    if status is not None:
        disputes = disputes.filter(status=status)
    return list(disputes.order_by("opened_on", "pk"))


def _credit_notes(invoice: Invoice) -> str:
    """Name the issued credit notes of ``invoice``: ``credit note ADE-000004``."""
    numbers = list(
        Invoice.objects.filter(
            credited_invoice=invoice,
            document_type=Invoice.DocumentType.CREDIT_NOTE,
            status=Invoice.Status.ISSUED,
        )
        .order_by("number")
        .values_list("number", flat=True)
    )
    if len(numbers) == 1:
        return f"credit note {numbers[0]}"
    return f"credit notes {', '.join(str(number) for number in numbers)}"


def _check_code_validate(check_code: str) -> str:
    check_code = check_code.strip().upper()
    codes = invoice_check_codes()
    if check_code and check_code not in codes:
        raise InvalidInput(
            f"{check_code!r} is not the code of a registered invoice check.",
            place="--check",
            value=check_code,
            fix=f"Use one of {', '.join(codes)}, or leave it out when no check would have "
            "caught the error.",
        )
    return check_code


def _note_validate(note: str) -> None:
    if not note.strip():
        raise InvalidInput(
            "a decision needs a note.", place="--note", fix="Say why the dispute ends this way."
        )
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidInput(
            f"the note is {len(note)} characters long, over the limit of {MAX_NOTE_LENGTH}.",
            place="--note",
            fix="Shorten it.",
        )


def _locked_open(dispute: Dispute) -> Dispute:
    locked = (
        Dispute.objects.select_for_update(of=("self",)).select_related("invoice").get(pk=dispute.pk)
    )
    if locked.status != Dispute.Status.OPEN:
        raise RuleViolation(
            f"dispute {locked.pk} is {locked.status}, not open.",
            place="DISPUTE",
            value=locked.pk,
            fix="Only an open dispute is resolved or rejected.",
        )
    return locked


def _decided(dispute: Dispute, note: str, by: User) -> None:
    dispute.decision_note = note.strip()
    dispute.decided_by = by.get_username()
    dispute.decided_at = timezone.now()
