"""Commitment checks: minimum commitment, contract term and milestones of a draft.

These checks question whether a line may be billed at all, so their amount at stake is the
billed amount without a basis, as a positive number. MINIMUM_COMMITMENT_SHORTFALL is the
exception: its amount is the shortfall, which the draft under-bills.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from billguard.billing.models import Invoice
from billguard.checks.context import CheckContext, Draft
from billguard.checks.engine import check
from billguard.checks.finding import Observation, Severity
from billguard.checks.line_terms import (
    FAMILY,
    MILESTONE,
    at_stake,
    committed_amounts,
    is_true_up,
    kind_of,
    line_end,
    line_subject,
    price_text,
    quantity_text,
    share_from,
    version_term_end,
)
from billguard.domain.invoice import InvoiceLine
from billguard.registry.pricing import contract_line


@check("MINIMUM_COMMITMENT_SHORTFALL", family=FAMILY, severity=Severity.BLOCK)
def minimum_commitment_shortfall(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    version = context.version_on(draft.service_start)
    if version is None or version.minimum_commitment is None:
        return
    if version.currency != draft.document.currency:
        return  # amounts in different currencies cannot be compared
    committed = committed_amounts(draft, context, version)
    shortfall = committed.shortfall(version.minimum_commitment)
    if not shortfall:
        return
    minimum = version.minimum_commitment * committed.periods
    periods = "" if committed.periods == 1 else f" for {committed.periods} billing periods"
    yield Observation(
        subject="minimum commitment",
        message=(
            f"the draft bills {price_text(committed.billed)} against a minimum commitment of "
            f"{price_text(minimum)}{periods}, and no true-up line bills the remaining "
            f"{price_text(shortfall)}"
        ),
        expected=f"at least {price_text(minimum)}",
        actual=(f"{price_text(committed.billed)} billed, {price_text(committed.true_up)} true-up"),
        amount_at_stake=at_stake(draft, shortfall),
        evidence={
            **context.contract_evidence(version),
            "minimum_commitment": price_text(version.minimum_commitment),
            "billing_periods": str(committed.periods),
        },
    )


@check("CONTRACT_EXPIRED", family=FAMILY, severity=Severity.BLOCK)
def contract_expired(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    """Report lines whose service runs past the contract's end date and its renewals."""
    for line in draft.document.lines:
        start, end = draft.line_start(line), line_end(draft, line)
        if start is None or end is None:
            continue
        # The version in force at the line's end carries the latest end date, such as one an
        # approved amendment extended.
        version = context.version_on(end)
        if version is None:
            continue
        last_day = version_term_end(version, end)
        if last_day is None or end <= last_day:
            continue
        kind = kind_of(draft, line, contract_line(version, line.item_id))
        share = share_from(draft, context, line, kind, last_day + dt.timedelta(days=1))
        renewal = (
            f"auto-renews every {version.renewal_months} months"
            if version.renewal_terms == version.RenewalTerms.AUTO_RENEW and version.renewal_months
            else "has no renewal"
        )
        yield Observation(
            subject=line_subject(line),
            message=(
                f"{line.item_id or 'the line'} is billed for service from {start} to {end}, but "
                f"the contract ended on {last_day} and {renewal}"
            ),
            expected=f"service on or before {last_day}",
            actual=f"{start} to {end}",
            amount_at_stake=at_stake(draft, line.net_amount * share),
            evidence={
                **context.contract_evidence(version),
                "end_date": str(version.end_date),
                "renewal_terms": version.renewal_terms,
            },
        )


def milestone_lines(draft: Draft, context: CheckContext) -> Iterator[InvoiceLine]:
    for line in draft.document.lines:
        if not line.item_id or is_true_up(line):
            continue
        version = context.version_on(draft.line_start(line))
        terms = contract_line(version, line.item_id) if version is not None else None
        if kind_of(draft, line, terms) == MILESTONE:
            yield line


@check("MILESTONE_NOT_ACCEPTED", family=FAMILY, severity=Severity.BLOCK)
def milestone_not_accepted(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    """Report milestone lines that the customer had not accepted by the draft's issue date or
    service end, whichever is later."""
    days = [d for d in (draft.document.issue_date, draft.service_end) if d is not None]
    if not days:
        return
    cutoff = max(days)
    for line in milestone_lines(draft, context):
        acceptance = context.acceptances.get(line.item_id)
        if acceptance is not None and acceptance.accepted_on <= cutoff:
            continue
        evidence = context.contract_evidence(context.version_on(draft.line_start(line)))
        if acceptance is None:
            actual = "no acceptance"
        else:
            actual = f"accepted on {acceptance.accepted_on} by {acceptance.accepted_by}"
            evidence["accepted_on"] = acceptance.accepted_on.isoformat()
        yield Observation(
            subject=line_subject(line),
            message=(
                f"milestone {line.item_id} is billed, but the customer had not accepted it "
                f"by {cutoff}"
            ),
            expected=f"accepted on or before {cutoff}",
            actual=actual,
            amount_at_stake=at_stake(draft, line.net_amount),
            evidence=evidence,
        )


@check("MILESTONE_ALREADY_BILLED", family=FAMILY, severity=Severity.BLOCK)
def milestone_already_billed(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    """Report milestone lines that an issued invoice of the contract billed already.

    Credit notes that refer to those invoices state positive quantities, which are subtracted
    from the billed quantity.
    """
    invoices = [
        invoice
        for invoice in context.contract_invoices
        if invoice.document_type == Invoice.DocumentType.INVOICE
        and invoice.status == Invoice.Status.ISSUED
        and (draft.invoice_id is None or invoice.pk != draft.invoice_id)
    ]
    credit_notes = [
        note
        for note in context.contract_invoices
        if note.document_type == Invoice.DocumentType.CREDIT_NOTE
        and note.status == Invoice.Status.ISSUED
    ]
    for line in milestone_lines(draft, context):
        billed_on = [
            (invoice, billed)
            for invoice in invoices
            for billed in invoice.lines.all()
            if billed.line_code == line.item_id
        ]
        billed_ids = {invoice.pk for invoice, _ in billed_on}
        credited = sum(
            (
                credit.quantity
                for note in credit_notes
                if note.credited_invoice_id in billed_ids
                for credit in note.lines.all()
                if credit.line_code == line.item_id
            ),
            Decimal(0),
        )
        outstanding = sum((billed.quantity for _, billed in billed_on), Decimal(0)) - credited
        if outstanding <= 0:
            continue
        numbers = sorted({str(invoice.number) for invoice, _ in billed_on})
        yield Observation(
            subject=line_subject(line),
            message=(
                f"milestone {line.item_id} was already billed on invoice "
                f"{', '.join(numbers)}, and no credit note reversed it"
            ),
            expected="not billed before",
            actual=f"billed on {', '.join(numbers)} (quantity {quantity_text(outstanding)})",
            amount_at_stake=at_stake(draft, line.net_amount),
            evidence={
                **context.contract_evidence(context.version_on(draft.line_start(line))),
                "earlier_invoices": ", ".join(numbers),
            },
        )
