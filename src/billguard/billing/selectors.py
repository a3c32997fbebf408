"""Reads for the billing run: the sources of a chunk of contracts in a few queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from billguard.billing.drafting import DraftSources, group_by_contract
from billguard.billing.models import BillingRunChunk, Invoice
from billguard.domain.periods import BillingPeriod
from billguard.prefetch import load_instances, prefetch_children
from billguard.registry.models import (
    BillingSchedule,
    Contract,
    ContractVersion,
    MilestoneAcceptance,
    Timesheet,
    UsageRecord,
)

# Arrears lines look back one billing period; a yearly cadence is the longest.
ARREARS_LOOKBACK_DAYS = 370


def billable_contract_ids(period: BillingPeriod, contract_number: str | None = None) -> list[int]:
    """Ids of active contracts with a billing schedule that may bill in ``period``, in id order.

    A draft contract is not billed: it becomes active through the activation gate.
    """
    schedules = BillingSchedule.objects.filter(
        starts_on__lt=period.end, contract__status=Contract.Status.ACTIVE
    ).exclude(ends_on__lt=period.start - dt.timedelta(days=ARREARS_LOOKBACK_DAYS))
    if contract_number is not None:
        schedules = schedules.filter(contract__number=contract_number)
    return sorted(schedules.values_list("contract_id", flat=True))


def load_draft_sources(contract_ids: list[int], period: BillingPeriod) -> list[DraftSources]:
    """Load schedules, versions and records of ``contract_ids`` for drafting ``period``."""
    window_start = period.start - dt.timedelta(days=ARREARS_LOOKBACK_DAYS)
    contracts = Contract.objects.filter(pk__in=contract_ids).select_related(
        "seller_entity", "party"
    )
    schedule_list = list(
        BillingSchedule.objects.filter(contract_id__in=contract_ids).select_related(
            "bill_to__party"
        )
    )
    prefetch_children(schedule_list, "lines")
    schedules = {s.contract_id: s for s in schedule_list}

    versions = group_by_contract(
        load_instances(ContractVersion.objects.filter(contract_id__in=contract_ids))
    )
    usage = group_by_contract(
        load_instances(
            UsageRecord.objects.filter(
                contract_id__in=contract_ids, service_date__range=(window_start, period.end)
            )
        )
    )
    timesheets = group_by_contract(
        load_instances(
            Timesheet.objects.filter(
                contract_id__in=contract_ids, work_date__range=(window_start, period.end)
            )
        )
    )
    acceptances = group_by_contract(
        load_instances(MilestoneAcceptance.objects.filter(contract_id__in=contract_ids))
    )

    sources = []
    for contract in sorted(contracts, key=lambda c: c.pk):
        schedule = schedules.get(contract.pk)
        if schedule is None:
            continue
        sources.append(
            DraftSources(
                contract=contract,
                seller=contract.seller_entity,
                schedule=schedule,
                versions=versions.get(contract.pk, []),
                bill_to=schedule.bill_to,
                usage=usage.get(contract.pk, []),
                timesheets=timesheets.get(contract.pk, []),
                acceptances={a.line_code: a for a in acceptances.get(contract.pk, [])},
            )
        )
    return sources


def invoice_for_output(pk: int) -> Invoice:
    """Load an issued document with everything its UBL file and journal read."""
    return (
        Invoice.objects.select_related(
            "seller_entity", "contract", "credited_invoice", "terms_document"
        )
        .prefetch_related("lines", "tax_subtotals")
        .get(pk=pk)
    )


@dataclass(frozen=True)
class RunProgress:
    """How far a billing run is: its chunks done of those planned, and their counts so far."""

    chunks_total: int
    chunks_done: int
    chunks_failed: int
    issued: int
    held: int
    already_issued: int
    nothing_to_bill: int

    @property
    def planned(self) -> bool:
        """Whether the run has selected its contracts and split them into chunks yet."""
        return self.chunks_total > 0

    @property
    def percent_done(self) -> int:
        if not self.chunks_total:
            return 0
        return self.chunks_done * 100 // self.chunks_total


def billing_run_progress(run_id: int) -> RunProgress:
    """Read the progress of billing run ``run_id`` from its chunk rows, in one query.

    ``issued`` counts the clean drafts of a dry run, as its report does.
    """
    done = BillingRunChunk.Status.DONE
    rows = BillingRunChunk.objects.filter(run_id=run_id).values_list("status", "counts")
    total = finished = failed = 0
    sums = {"issued": 0, "held": 0, "already_issued": 0, "nothing_to_bill": 0}
    for status, counts in rows:
        total += 1
        if status == BillingRunChunk.Status.FAILED:
            failed += 1
        if status != done:
            continue
        finished += 1
        for key in sums:
            sums[key] += int((counts or {}).get(key, 0))
    return RunProgress(chunks_total=total, chunks_done=finished, chunks_failed=failed, **sums)
