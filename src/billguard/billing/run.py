"""The billing run: draft a period's invoices, check them, hold the blocked, issue the rest.

Contracts are processed in chunks in id order. Each chunk is one transaction: its drafts,
findings and issued invoices commit together or not at all, so a run that crashed is simply
started again; contracts whose invoice for the period is already issued are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from billguard.billing.drafting import DraftPlan, draft_contract, draft_key_for
from billguard.billing.invoices import CheckedPlan, invoices_issue, invoices_save_drafts
from billguard.billing.models import BillingRun, Invoice
from billguard.billing.outputs import ensure_journal_accounts, invoice_write_outputs
from billguard.billing.selectors import billable_contract_ids, load_draft_sources
from billguard.checks.context import Draft
from billguard.checks.engine import run_checks
from billguard.checks.finding import Finding
from billguard.checks.selectors import ContextRequest, load_contexts
from billguard.domain.errors import NotFound
from billguard.domain.periods import BillingPeriod
from billguard.registry.models import Contract

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 200

ProgressCallback = Callable[[int, int], None]


@dataclass
class DraftOutcome:
    """What the run did with one contract's draft."""

    contract_number: str
    draft_key: str
    status: str  # issued, held, dry-run clean, dry-run held
    invoice_number: str | None
    currency: str
    payable: str
    findings: list[Finding]


@dataclass
class RunResult:
    period: BillingPeriod
    billing_run_id: int | None
    dry_run: bool
    contracts_considered: int = 0
    already_issued: int = 0
    nothing_to_bill: int = 0
    outcomes: list[DraftOutcome] = field(default_factory=list)

    @property
    def issued(self) -> list[DraftOutcome]:
        return [o for o in self.outcomes if o.status in ("issued", "clean")]

    @property
    def held(self) -> list[DraftOutcome]:
        return [o for o in self.outcomes if o.status == "held"]


def billing_run_execute(
    *,
    period: BillingPeriod,
    contract_number: str | None = None,
    dry_run: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
) -> RunResult:
    """Run the billing of ``period`` for every contract, or for ``contract_number`` alone."""
    if contract_number is not None and not Contract.objects.filter(number=contract_number).exists():
        raise NotFound(
            f"contract {contract_number!r} is not in the registry.",
            place="--contract",
            value=contract_number,
            fix="Give the contract number as the registry shows it, such as C-0001.",
        )
    contract_ids = billable_contract_ids(period, contract_number)
    run = None
    if not dry_run:
        ensure_journal_accounts()
        run = BillingRun.objects.create(
            period_label=period.label,
            period_start=period.start,
            period_end=period.end,
            contract_filter=contract_number or "",
            started_at=timezone.now(),
        )
    result = RunResult(period=period, billing_run_id=run.pk if run else None, dry_run=dry_run)
    result.contracts_considered = len(contract_ids)
    logger.info(
        "billing run %s started: period %s, %d contracts, dry run %s",
        result.billing_run_id,
        period.label,
        len(contract_ids),
        dry_run,
    )
    chunks = [contract_ids[i : i + chunk_size] for i in range(0, len(contract_ids), chunk_size)]
    try:
        for index, chunk in enumerate(chunks, start=1):
            _run_chunk(chunk, period, run, result)
            logger.info(
                "billing run %s chunk %d/%d done (%d contracts)",
                result.billing_run_id,
                index,
                len(chunks),
                len(chunk),
            )
            if progress is not None:
                progress(index, len(chunks))
    except Exception:
        if run is not None:
            BillingRun.objects.filter(pk=run.pk).update(
                status=BillingRun.Status.FAILED, finished_at=timezone.now()
            )
        logger.exception("billing run %s failed", result.billing_run_id)
        raise
    if run is not None:
        run.status = BillingRun.Status.COMPLETED
        run.finished_at = timezone.now()
        run.chunks_done = len(chunks)
        run.counts = {
            "contracts": result.contracts_considered,
            "issued": len(result.issued),
            "held": len(result.held),
            "already_issued": result.already_issued,
            "nothing_to_bill": result.nothing_to_bill,
        }
        run.save(update_fields=["status", "finished_at", "chunks_done", "counts"])
    logger.info(
        "billing run %s finished: %d issued, %d held, %d already issued, %d nothing to bill",
        result.billing_run_id,
        len(result.issued),
        len(result.held),
        result.already_issued,
        result.nothing_to_bill,
    )
    return result


def check_plans(
    plans: list[tuple[DraftPlan, Contract]], period: BillingPeriod
) -> list[CheckedPlan]:
    """Run every check on the drafts of one chunk, with their contexts loaded together."""
    drafts = [
        Draft(
            document=plan.document,
            contract_number=contract.number,
            line_kinds=plan.line_kinds,
        )
        for plan, contract in plans
    ]
    contexts = load_contexts(
        [
            ContextRequest(
                contract_id=contract.pk,
                bill_to_id=plan.bill_to.pk if plan.bill_to else None,
                service_start=draft.service_start,
                service_end=draft.service_end,
            )
            for (plan, contract), draft in zip(plans, drafts, strict=True)
        ],
        as_of=period.start,
        period=period,
    )
    return [
        CheckedPlan(
            plan=plan,
            contract_id=contract.pk,
            seller_entity_id=contract.seller_entity_id,
            findings=run_checks(draft, context),
        )
        for (plan, contract), draft, context in zip(plans, drafts, contexts, strict=True)
    ]


def _run_chunk(
    contract_ids: list[int], period: BillingPeriod, run: BillingRun | None, result: RunResult
) -> None:
    sources = load_draft_sources(contract_ids, period)
    keys = {draft_key_for(s.contract.number, period): s for s in sources}
    issued_keys = set(
        Invoice.objects.filter(draft_key__in=keys, status=Invoice.Status.ISSUED).values_list(
            "draft_key", flat=True
        )
    )
    result.already_issued += len(issued_keys)

    plans: list[tuple[DraftPlan, Contract]] = []
    for key, source in keys.items():
        if key in issued_keys:
            continue
        plan = draft_contract(source, period)
        if plan is None:
            result.nothing_to_bill += 1
            continue
        plans.append((plan, source.contract))
    checked = check_plans(plans, period)

    if run is None:
        for item in checked:
            result.outcomes.append(_outcome(item, "held" if item.blocked else "clean", None))
        return

    with transaction.atomic():
        invoices = invoices_save_drafts(checked=checked, billing_run=run)
        clean = [i for i in invoices if i.status == Invoice.Status.DRAFT]
        invoices_issue(invoices=clean)
        transaction.on_commit(lambda: _write_outputs([i.pk for i in clean]))
    for invoice, item in zip(invoices, checked, strict=True):
        status = "issued" if invoice.status == Invoice.Status.ISSUED else "held"
        result.outcomes.append(_outcome(item, status, invoice.number))


def _outcome(item: CheckedPlan, status: str, number: str | None) -> DraftOutcome:
    document = item.plan.document
    return DraftOutcome(
        contract_number=document.contract_reference,
        draft_key=item.plan.draft_key,
        status=status,
        invoice_number=number,
        currency=document.currency,
        payable=str(document.totals.payable),
        findings=item.findings,
    )


def _write_outputs(invoice_ids: list[int]) -> None:
    invoices = (
        Invoice.objects.filter(pk__in=invoice_ids)
        .select_related("seller_entity", "contract", "credited_invoice")
        .prefetch_related("lines", "tax_subtotals")
    )
    for invoice in invoices:
        invoice_write_outputs(invoice)
