"""Storing drafts with their findings, and issuing them with gapless numbers."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from billguard.billing.bulk import instances_insert, rows_insert
from billguard.billing.documents import party_to_dict
from billguard.billing.drafting import DraftPlan
from billguard.billing.models import BillingRun, Invoice, InvoiceLine, InvoiceTaxSubtotal
from billguard.billing.numbering import numbers_take
from billguard.checks.finding import Finding
from billguard.checks.models import StoredFinding
from billguard.controls.services import AuditItem, audit_record_batch
from billguard.delivery.outbox import invoices_delivery_queue
from billguard.domain.errors import RuleViolation
from billguard.domain.invoice import InvoiceDocument, TaxSubtotal
from billguard.domain.invoice import InvoiceLine as DocumentLine

logger = logging.getLogger(__name__)

# Invoices whose numbers one UPDATE stores.
NUMBER_BATCH = 500


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
    # The status is compared here, not in SQL, so that PostgreSQL uses the draft_key index
    # alone even with stale statistics.
    earlier = list(
        Invoice.objects.filter(draft_key__in=keys).values_list(
            "draft_key", "status", "held_since", "created_at"
        )
    )
    issued = {str(key) for key, status, _, _ in earlier if status == Invoice.Status.ISSUED}
    # A draft held again keeps the time of its first hold.
    held_before = {
        key: since or created_at
        for key, status, since, created_at in earlier
        if status == Invoice.Status.HELD
    }
    now = timezone.now()
    if issued:
        raise RuleViolation(
            f"{len(issued)} draft(s) were already issued: {', '.join(sorted(issued)[:5])}.",
            fix="Issued invoices are corrected with a credit note, never drafted again.",
        )
    Invoice.objects.filter(draft_key__in=keys).exclude(status=Invoice.Status.ISSUED).delete()

    invoices = []
    for item in checked:
        document = item.plan.document
        version = item.plan.contract_version
        invoices.append(
            Invoice(
                document_type=Invoice.DocumentType.INVOICE,
                status=Invoice.Status.HELD if item.blocked else Invoice.Status.DRAFT,
                held_since=held_before.get(item.plan.draft_key, now) if item.blocked else None,
                seller_entity_id=item.seller_entity_id,
                contract_id=item.contract_id,
                contract_version=version,
                # The SOW revision that the version in force points at: the exact document
                # the invoice's terms came from, read from the loaded version, no query.
                terms_document_id=version.sow_document_id if version is not None else None,
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
    instances_insert(Invoice, invoices)

    _lines_insert(invoices, checked)
    _tax_subtotals_insert(invoices, checked)
    rows_insert(
        StoredFinding,
        FINDING_FIELDS,
        (
            _finding_row(finding, invoice.pk, billing_run, now)
            for invoice, item in zip(invoices, checked, strict=True)
            for finding in item.findings
        ),
    )
    return invoices


LINE_FIELDS = (
    "invoice",
    "position",
    "line_code",
    "kind",
    "description",
    "quantity",
    "unit_code",
    "unit_price",
    "discount_percent",
    "net_amount",
    "gl_account",
    "tax_category",
    "tax_rate",
    "exemption_reason",
    "service_start",
    "service_end",
)
TAX_SUBTOTAL_FIELDS = (
    "invoice",
    "category",
    "rate",
    "taxable_amount",
    "tax_amount",
    "exemption_reason",
)
FINDING_FIELDS = (
    "invoice",
    "billing_run",
    "code",
    "severity",
    "subject",
    "message",
    "expected",
    "actual",
    "amount_at_stake",
    "currency",
    "evidence",
    "created_at",
    "observed",
)


def document_rows_insert(invoice_pk: int, document: InvoiceDocument, kinds: dict[str, str]) -> None:
    """Insert the lines and VAT breakdown of one stored document, positioned by line id.

    A credit note keeps the line ids, and so the positions, of the invoice it corrects.
    """
    rows_insert(
        InvoiceLine,
        LINE_FIELDS,
        [
            line_row(invoice_pk, int(line.line_id), line, kinds.get(line.line_id, ""))
            for line in document.lines
        ],
    )
    rows_insert(
        InvoiceTaxSubtotal,
        TAX_SUBTOTAL_FIELDS,
        [subtotal_row(invoice_pk, subtotal) for subtotal in document.tax_subtotals],
    )


def line_row(invoice_pk: int, position: int, line: DocumentLine, kind: str) -> tuple[object, ...]:
    """One InvoiceLine row in the order of LINE_FIELDS."""
    return (
        invoice_pk,
        position,
        line.item_id,
        kind,
        line.description,
        line.quantity,
        line.unit_code,
        line.unit_price,
        line.discount_percent,
        line.net_amount,
        line.gl_account,
        line.tax_category,
        line.tax_rate,
        line.exemption_reason,
        line.service_start,
        line.service_end,
    )


def subtotal_row(invoice_pk: int, subtotal: TaxSubtotal) -> tuple[object, ...]:
    """One InvoiceTaxSubtotal row in the order of TAX_SUBTOTAL_FIELDS."""
    return (
        invoice_pk,
        subtotal.category,
        subtotal.rate,
        subtotal.taxable_amount,
        subtotal.tax_amount,
        subtotal.exemption_reason,
    )


def _lines_insert(invoices: list[Invoice], checked: Sequence[CheckedPlan]) -> None:
    rows = [
        line_row(invoice.pk, position, line, item.plan.line_kinds.get(line.line_id, ""))
        for invoice, item in zip(invoices, checked, strict=True)
        for position, line in enumerate(item.plan.document.lines, start=1)
    ]
    rows_insert(InvoiceLine, LINE_FIELDS, rows)


def _tax_subtotals_insert(invoices: list[Invoice], checked: Sequence[CheckedPlan]) -> None:
    rows_insert(
        InvoiceTaxSubtotal,
        TAX_SUBTOTAL_FIELDS,
        (
            subtotal_row(invoice.pk, subtotal)
            for invoice, item in zip(invoices, checked, strict=True)
            for subtotal in item.plan.document.tax_subtotals
        ),
    )


def _finding_row(
    finding: Finding, invoice_id: int, billing_run: BillingRun | None, created_at: dt.datetime
) -> tuple[object, ...]:
    """Return the StoredFinding row of ``finding``, cut to the column sizes."""
    stake = finding.amount_at_stake
    return (
        invoice_id,
        billing_run.pk if billing_run is not None else None,
        finding.code,
        finding.severity.value,
        finding.subject[:200],
        finding.message[:500],
        finding.expected[:200],
        finding.actual[:200],
        stake.amount if stake else None,
        stake.currency if stake else "",
        finding.evidence,
        created_at,
        finding.observed,
    )


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
            observed=finding.observed,
        )
        for finding in findings
    ]


def invoices_issue(
    *,
    invoices: Sequence[Invoice],
    issue_date: dt.date | None = None,
    actor: str = "system",
    deliver: bool = True,
) -> None:
    """Give clean drafts their numbers and make them issued, one series lock per seller entity.

    The caller opens the transaction: numbers, statuses, the drafts, one audit entry per
    invoice and, with ``deliver``, the delivery outbox rows commit together.
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
    _issued_save(list(invoices), now, issue_date)
    audit_record_batch(actor=actor, items=[_issue_audit_item(i) for i in invoices])
    if deliver:
        invoices_delivery_queue(invoices)


def _issue_audit_item(invoice: Invoice) -> AuditItem:
    return AuditItem(
        action="invoice.issue",
        record_type=Invoice._meta.label_lower,
        record_id=str(invoice.pk),
        before={"status": Invoice.Status.DRAFT.value},
        after={
            "status": invoice.status,
            "number": invoice.number,
            "issue_date": invoice.issue_date,
            "currency": invoice.currency,
            "payable": invoice.payable,
        },
        billing_run_id=invoice.billing_run_id,
    )


def _issued_save(invoices: list[Invoice], now: dt.datetime, issue_date: dt.date | None) -> None:
    """Store the numbers and the issued status of ``invoices``: one UPDATE for the fields they
    share, and one per NUMBER_BATCH invoices that joins each id to its number."""
    if not invoices:
        return
    shared: dict[str, object] = {"status": Invoice.Status.ISSUED, "issued_at": now}
    if issue_date is not None:
        shared["issue_date"] = issue_date
    ids = [invoice.pk for invoice in invoices]
    for start in range(0, len(ids), NUMBER_BATCH):
        Invoice.objects.filter(pk__in=ids[start : start + NUMBER_BATCH]).update(**shared)

    quote = connection.ops.quote_name
    table, pk, number = quote(Invoice._meta.db_table), quote("id"), quote("number")
    with connection.cursor() as cursor:
        for start in range(0, len(invoices), NUMBER_BATCH):
            batch = invoices[start : start + NUMBER_BATCH]
            values = ", ".join(["(%s, %s)"] * len(batch))
            cursor.execute(
                # Names come from the model and values go as parameters. SQLite (3.33 and
                # later) and PostgreSQL both run UPDATE ... FROM with a WITH clause.
                f"WITH numbered (invoice_id, invoice_number) AS (VALUES {values}) "  # noqa: S608
                f"UPDATE {table} SET {number} = numbered.invoice_number FROM numbered "
                f"WHERE {table}.{pk} = numbered.invoice_id",
                [value for invoice in batch for value in (invoice.pk, invoice.number)],
            )
