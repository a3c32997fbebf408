"""The invoice history before the demo month, issued with the real drafting and issuing.

Each month from November 2025 to October 2026 is billed as a billing run would bill it, but
without the checks: these invoices were issued before Billguard guarded the billing, so the
history contains whatever the schedules contained at the time.
"""

from __future__ import annotations

import datetime as dt
import logging

from billguard.billing.drafting import draft_contract
from billguard.billing.invoices import CheckedPlan, invoices_issue, invoices_save_drafts
from billguard.billing.models import BillingRun
from billguard.billing.selectors import billable_contract_ids, load_draft_sources
from billguard.domain.periods import parse_period
from billguard.sample.calendar import HISTORY_START, RUN_MONTH, months_between
from billguard.sample.plans import Book

logger = logging.getLogger(__name__)

CHUNK_SIZE = 500


def issue_history(book: Book) -> int:
    """Issue every month's invoices up to the demo month; return how many were issued.

    A contract month listed in a plan's ``history_gaps`` is left out, as if the legacy
    billing system had skipped it.
    """
    gaps = {(plan.number, month) for plan in book.contracts for month in plan.history_gaps}
    issued = 0
    for month in months_between(HISTORY_START, RUN_MONTH):
        period = parse_period(f"{month:%Y-%m}")
        started = dt.datetime.combine(period.start, dt.time(6, 0), tzinfo=dt.UTC)
        run = BillingRun.objects.create(
            period_label=period.label,
            period_start=period.start,
            period_end=period.end,
            status=BillingRun.Status.COMPLETED,
            started_at=started,
            finished_at=started,
        )
        contract_ids = billable_contract_ids(period)
        count = 0
        for first in range(0, len(contract_ids), CHUNK_SIZE):
            sources = load_draft_sources(contract_ids[first : first + CHUNK_SIZE], period)
            checked = []
            for source in sources:
                if (source.contract.number, month) in gaps:
                    continue
                plan = draft_contract(source, period)
                if plan is None:
                    continue
                checked.append(
                    CheckedPlan(
                        plan=plan,
                        contract_id=source.contract.pk,
                        seller_entity_id=source.contract.seller_entity_id,
                        findings=[],
                    )
                )
            invoices = invoices_save_drafts(checked=checked, billing_run=run)
            # The history was delivered when it was issued, so it gets no delivery rows.
            invoices_issue(invoices=invoices, issue_date=period.start, deliver=False)
            count += len(invoices)
        run.counts = {"contracts": len(contract_ids), "issued": count}
        run.chunks_done = (len(contract_ids) + CHUNK_SIZE - 1) // CHUNK_SIZE
        run.save(update_fields=["counts", "chunks_done"])
        logger.info("sample history %s: %d invoices issued", period.label, count)
        issued += count
    return issued
