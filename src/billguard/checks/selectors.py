"""Batch loading of check contexts: a chunk of drafts costs a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Prefetch, Q

from billguard.billing.models import Invoice
from billguard.checks.context import CheckContext
from billguard.domain.periods import BillingPeriod
from billguard.registry.duplicates import DeterministicMatcher, DuplicateMatcher, PartyRecord
from billguard.registry.models import (
    Amendment,
    BillingSchedule,
    BillToEntity,
    Contract,
    ContractVersion,
    Document,
    GLAccount,
    MilestoneAcceptance,
    Party,
    PriceListItem,
    Timesheet,
    UsageRecord,
)

# How far back usage and earlier invoices are loaded around a draft's service period: the
# duplicate and coverage checks look at most this far.
LOOKBACK_DAYS = 400


@dataclass(frozen=True)
class ContextRequest:
    contract_id: int | None
    bill_to_id: int | None
    service_start: dt.date | None
    service_end: dt.date | None


def load_contexts(
    requests: list[ContextRequest],
    *,
    as_of: dt.date,
    period: BillingPeriod | None = None,
    matcher: DuplicateMatcher | None = None,
) -> list[CheckContext]:
    """Build one CheckContext per request, loading the records of all of them together."""
    contract_ids = {r.contract_id for r in requests if r.contract_id is not None}
    starts = [r.service_start for r in requests if r.service_start]
    ends = [r.service_end for r in requests if r.service_end]
    window_start = (min(starts) if starts else as_of) - dt.timedelta(days=LOOKBACK_DAYS)
    window_end = (max(ends) if ends else as_of) + dt.timedelta(days=LOOKBACK_DAYS)

    contracts = {
        c.pk: c for c in Contract.objects.filter(pk__in=contract_ids).select_related("party")
    }
    versions = _group(
        ContractVersion.objects.filter(contract_id__in=contract_ids)
        .select_related("contract", "bill_to__party__merged_into", "sow_document")
        .prefetch_related("lines", "discounts", "price_changes"),
        "contract_id",
    )
    amendments = _group(
        Amendment.objects.filter(contract_id__in=contract_ids).select_related("document"),
        "contract_id",
    )
    schedules = {
        s.contract_id: s
        for s in BillingSchedule.objects.filter(contract_id__in=contract_ids).prefetch_related(
            "lines"
        )
    }
    usage = _group(
        UsageRecord.objects.filter(
            contract_id__in=contract_ids, service_date__range=(window_start, window_end)
        ),
        "contract_id",
    )
    timesheets = _group(
        Timesheet.objects.filter(
            contract_id__in=contract_ids, work_date__range=(window_start, window_end)
        ),
        "contract_id",
    )
    acceptances = _group(
        MilestoneAcceptance.objects.filter(contract_id__in=contract_ids), "contract_id"
    )

    bill_to_ids = {r.bill_to_id for r in requests if r.bill_to_id is not None}
    bill_to_ids |= {v.bill_to_id for vs in versions.values() for v in vs if v.bill_to_id}
    bill_tos = {
        b.pk: b
        for b in BillToEntity.objects.filter(pk__in=bill_to_ids).select_related(
            "party__merged_into"
        )
    }
    party_ids = {c.party_id for c in contracts.values()} | {b.party_id for b in bill_tos.values()}
    issued_lines = Prefetch("lines")
    issued = Invoice.objects.filter(status=Invoice.Status.ISSUED).prefetch_related(issued_lines)
    contract_invoices = _group(issued.filter(contract_id__in=contract_ids), "contract_id")
    # The grouping key reads invoice.bill_to, so it is joined here, not fetched per invoice.
    party_invoices = _group(
        issued.filter(
            bill_to__party_id__in=party_ids,
            period_start__lte=window_end,
        )
        .filter(Q(period_end__gte=window_start) | Q(period_end__isnull=True))
        .select_related("bill_to"),
        "bill_to__party_id",
        key=lambda invoice: invoice.bill_to.party_id if invoice.bill_to else None,
    )

    price_list_ids = {v.price_list_id for vs in versions.values() for v in vs if v.price_list_id}
    items = list(PriceListItem.objects.filter(price_list_id__in=price_list_ids))
    families = {v.sow_document.family for vs in versions.values() for v in vs if v.sow_document}
    documents: dict[str, list[Document]] = defaultdict(list)
    for document in Document.objects.filter(family__in=families).order_by("revision"):
        documents[document.family].append(document)
    gl_accounts = {a.code: a for a in GLAccount.objects.all()}
    duplicates = duplicate_parties_of(party_ids, matcher or DeterministicMatcher())

    contexts = []
    for request in requests:
        contract = contracts.get(request.contract_id) if request.contract_id else None
        cid = contract.pk if contract else None
        bill_to = bill_tos.get(request.bill_to_id) if request.bill_to_id else None
        party_id = bill_to.party_id if bill_to else (contract.party_id if contract else None)
        contexts.append(
            CheckContext(
                as_of=as_of,
                contract=contract,
                versions=versions.get(cid, []),
                amendments=amendments.get(cid, []),
                schedule=schedules.get(cid) if cid else None,
                bill_to=bill_to,
                usage=usage.get(cid, []),
                timesheets=timesheets.get(cid, []),
                acceptances={a.line_code: a for a in acceptances.get(cid, [])},
                contract_invoices=contract_invoices.get(cid, []),
                party_invoices=party_invoices.get(party_id, []),
                price_list_items=items,
                documents=dict(documents),
                gl_accounts=gl_accounts,
                duplicate_parties=duplicates.get(party_id, []) if party_id else [],
                period=period,
            )
        )
    return contexts


def duplicate_parties_of(
    party_ids: set[int], matcher: DuplicateMatcher
) -> dict[int, list[tuple[Party, str]]]:
    """Likely duplicates of each party in ``party_ids`` among customers that have contracts."""
    if not party_ids:
        return {}
    customers = {
        p.pk: p for p in Party.objects.filter(kind=Party.Kind.CUSTOMER, merged_into__isnull=True)
    }
    with_contracts = set(Contract.objects.values_list("party_id", flat=True).distinct())
    records = [PartyRecord(p.pk, p.name, p.postcode, p.tax_id) for p in customers.values()]
    result: dict[int, list[tuple[Party, str]]] = defaultdict(list)
    for pair in matcher.find_pairs(records):
        for own, other in (
            (pair.party_id, pair.other_party_id),
            (pair.other_party_id, pair.party_id),
        ):
            if own in party_ids and other in with_contracts and other in customers:
                result[own].append((customers[other], pair.reason))
    return result


def _group(queryset, attribute, key=None):  # type: ignore[no-untyped-def]
    grouped = defaultdict(list)
    for row in queryset:
        grouped[key(row) if key else getattr(row, attribute)].append(row)
    return grouped
