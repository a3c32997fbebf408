"""The stored findings of the checks as a CSV, one row per finding.

Findings are stored with the draft they were found on (``checks.StoredFinding``) by the
billing run. Drafts checked in guard mode with ``billguard check`` are reported but not
stored, so they are not exported.
"""

from __future__ import annotations

import csv
import io

from django.db.models import Q, QuerySet

from billguard.billing.models import Invoice
from billguard.checks.engine import registered_checks
from billguard.checks.models import StoredFinding
from billguard.domain.currencies import is_currency, minor_units
from billguard.domain.errors import InvalidInput
from billguard.domain.periods import BillingPeriod

FINDINGS_HEADER = [
    "billing_run",
    "period",
    "invoice",
    "invoice_status",
    "document_type",
    "seller",
    "contract",
    "customer_code",
    "customer",
    "code",
    "severity",
    "observed",
    "subject",
    "message",
    "expected",
    "actual",
    "amount_at_stake",
    "currency",
]
STATUSES = ("held", "issued", "all")


def findings_select(
    *, period: BillingPeriod | None = None, code: str | None = None, status: str = "all"
) -> QuerySet[StoredFinding]:
    """Return the stored findings of the billing runs of ``period``, of check ``code``, on
    held or issued drafts (``status``), by seller entity and draft."""
    if status not in STATUSES:
        raise InvalidInput(
            f"{status!r} is not a status to export.",
            place="--status",
            value=status,
            fix=f"Use one of: {', '.join(STATUSES)}.",
        )
    findings = StoredFinding.objects.select_related(
        "billing_run", "invoice__seller_entity", "invoice__contract__party"
    ).order_by("invoice__seller_entity__code", "invoice_id", "pk")
    if period is not None:
        # A run bills usage and time in arrears, so its drafts' own periods may start in the
        # month before. The run's period decides, and the draft's period only without a run.
        of_run = Q(billing_run__period_start__gte=period.start) & Q(
            billing_run__period_start__lt=period.end
        )
        without_run = (
            Q(billing_run__isnull=True)
            & Q(invoice__period_start__gte=period.start)
            & Q(invoice__period_start__lt=period.end)
        )
        findings = findings.filter(of_run | without_run)
    if code is not None:
        code = code.strip().upper()
        known = {check.code for check in registered_checks()}
        if code not in known and not StoredFinding.objects.filter(code=code).exists():
            raise InvalidInput(
                f"{code!r} is not a check code.",
                place="--code",
                value=code,
                fix="Use a code of the gate report, such as PRICE_MISMATCH.",
            )
        findings = findings.filter(code=code)
    if status != "all":
        findings = findings.filter(invoice__status=status)
    return findings


def findings_csv(findings: QuerySet[StoredFinding]) -> tuple[str, int]:
    """Return the CSV of ``findings`` and its number of rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FINDINGS_HEADER)
    rows = 0
    for finding in findings.iterator(chunk_size=500):
        invoice = finding.invoice
        contract = invoice.contract
        party = contract.party if contract is not None else None
        buyer = (invoice.parties or {}).get("buyer", {})
        run = finding.billing_run
        writer.writerow(
            [
                run.pk if run is not None else "",
                run.period_label if run is not None else _period_text(invoice),
                invoice.number or f"draft {invoice.pk}",
                invoice.status,
                invoice.document_type,
                invoice.seller_entity.code,
                contract.number if contract is not None else "",
                party.code if party is not None else "",
                party.name if party is not None else buyer.get("name", ""),
                finding.code,
                finding.severity,
                "yes" if finding.observed else "no",
                finding.subject,
                finding.message,
                finding.expected,
                finding.actual,
                _stake(finding),
                finding.currency,
            ]
        )
        rows += 1
    return out.getvalue(), rows


def _stake(finding: StoredFinding) -> str:
    if finding.amount_at_stake is None:
        return ""
    if is_currency(finding.currency):
        return f"{finding.amount_at_stake:.{minor_units(finding.currency)}f}"
    return f"{finding.amount_at_stake.normalize():f}"


def _period_text(invoice: Invoice) -> str:
    if invoice.period_start is None:
        return ""
    end = invoice.period_end.isoformat() if invoice.period_end else ""
    return f"{invoice.period_start.isoformat()}..{end}"
