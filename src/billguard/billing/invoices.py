"""Storing drafts with their findings, and issuing them with gapless numbers."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from billguard.billing.documents import party_to_dict
from billguard.billing.drafting import DraftPlan
from billguard.billing.models import BillingRun, Invoice, InvoiceLine, InvoiceTaxSubtotal
from billguard.billing.numbering import numbers_take
from billguard.checks.finding import Finding
from billguard.checks.models import StoredFinding
from billguard.domain.errors import RuleViolation

logger = logging.getLogger(__name__)


@dataclass
class CheckedPlan:
    plan: DraftPlan
    contract_id: int
    seller_entity_id: int
    findings: list[Finding]

    @property
    def blocked(self) -> bool:
        return any(f.blocks for f in self.findings)


def invoices_save_drafts(
    *, checked: Sequence[CheckedPlan], billing_run: BillingRun | None
) -> list[Invoice]:
    """Store checked drafts with lines, VAT breakdown and findings, in a few bulk inserts.

    A draft with a blocking finding is stored as held; the others as drafts ready to issue.
    An earlier unissued draft with the same key is replaced, so a re-run re-checks it.
    """
    keys = [c.plan.draft_key for c in checked]
    issued = {
        str(key)
        for key in Invoice.objects.filter(
            draft_key__in=keys, status=Invoice.Status.ISSUED
        ).values_list("draft_key", flat=True)
    }
    if issued:
        raise RuleViolation(
            f"{len(issued)} draft(s) were already issued: {', '.join(sorted(issued)[:5])}.",
            fix="Issued invoices are corrected with a credit note, never drafted again.",
        )
    Invoice.objects.filter(draft_key__in=keys).exclude(status=Invoice.Status.ISSUED).delete()

    invoices = []
    for item in checked:
        document = item.plan.document
        invoices.append(
            Invoice(
                document_type=Invoice.DocumentType.INVOICE,
                status=Invoice.Status.HELD if item.blocked else Invoice.Status.DRAFT,
                seller_entity_id=item.seller_entity_id,
                contract_id=item.contract_id,
                contract_version=item.plan.contract_version,
                bill_to=item.plan.bill_to,
                currency=document.currency,
                period_start=document.period_start,
                period_end=document.period_end,
                issue_date=document.issue_date,
                due_date=document.due_date,
                customer_po=document.order_reference,
                line_extension=document.totals.line_extension,
                tax_total=document.totals.tax_total,
                payable=document.totals.payable,
                billing_run=billing_run,
                draft_key=item.plan.draft_key,
                parties={
                    "seller": party_to_dict(document.seller),
                    "buyer": party_to_dict(document.buyer),
                },
            )
        )
    Invoice.objects.bulk_create(invoices)

    lines, subtotals, findings = [], [], []
    for invoice, item in zip(invoices, checked, strict=True):
        document = item.plan.document
        for position, line in enumerate(document.lines, start=1):
            lines.append(
                InvoiceLine(
                    invoice=invoice,
                    position=position,
                    line_code=line.item_id,
                    kind=item.plan.line_kinds.get(line.line_id, ""),
                    description=line.description,
                    quantity=line.quantity,
                    unit_code=line.unit_code,
                    unit_price=line.unit_price,
                    discount_percent=line.discount_percent,
                    net_amount=line.net_amount,
                    gl_account=line.gl_account,
                    tax_category=line.tax_category,
                    tax_rate=line.tax_rate,
                    exemption_reason=line.exemption_reason,
                    service_start=line.service_start,
                    service_end=line.service_end,
                )
            )
        for subtotal in document.tax_subtotals:
            subtotals.append(
                InvoiceTaxSubtotal(
                    invoice=invoice,
                    category=subtotal.category,
                    rate=subtotal.rate,
                    taxable_amount=subtotal.taxable_amount,
                    tax_amount=subtotal.tax_amount,
                    exemption_reason=subtotal.exemption_reason,
                )
            )
        findings.extend(stored_findings(invoice, item.findings, billing_run))
    InvoiceLine.objects.bulk_create(lines)
    InvoiceTaxSubtotal.objects.bulk_create(subtotals)
    StoredFinding.objects.bulk_create(findings)
    return invoices


def stored_findings(
    invoice: Invoice, findings: Sequence[Finding], billing_run: BillingRun | None
) -> list[StoredFinding]:
    return [
        StoredFinding(
            invoice=invoice,
            billing_run=billing_run,
            code=finding.code,
            severity=finding.severity.value,
            subject=finding.subject[:200],
            message=finding.message[:500],
            expected=finding.expected[:200],
            actual=finding.actual[:200],
            amount_at_stake=finding.amount_at_stake.amount if finding.amount_at_stake else None,
            currency=finding.amount_at_stake.currency if finding.amount_at_stake else "",
            evidence=finding.evidence,
        )
        for finding in findings
    ]


def invoices_issue(*, invoices: Sequence[Invoice], issue_date: dt.date | None = None) -> None:
    """Give clean drafts their numbers and make them issued, one series lock per seller entity.

    The caller holds the transaction: numbers, statuses and the drafts commit together.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("invoices_issue must run inside a transaction")
    by_seller: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        if invoice.status != Invoice.Status.DRAFT:
            raise RuleViolation(
                f"invoice {invoice} is {invoice.status}; only a clean draft is issued.",
                fix="Resolve or override its blocking findings first.",
            )
        by_seller[invoice.seller_entity_id].append(invoice)
    now = timezone.now()
    for seller_entity_id in sorted(by_seller):
        batch = sorted(by_seller[seller_entity_id], key=lambda i: i.pk)
        numbers = numbers_take(seller_entity_id=seller_entity_id, count=len(batch))
        for invoice, number in zip(batch, numbers, strict=True):
            invoice.number = number
            invoice.status = Invoice.Status.ISSUED
            invoice.issued_at = now
            if issue_date is not None:
                invoice.issue_date = issue_date
            logger.info("issued invoice %s (id %s)", number, invoice.pk)
    Invoice.objects.bulk_update(
        list(invoices), ["number", "status", "issued_at", "issue_date"], batch_size=500
    )
