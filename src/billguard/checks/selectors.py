"""Batch loading of check contexts: a chunk of drafts costs a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Q

from billguard.billing.models import BillingRun, Invoice
from billguard.checks.context import CheckContext
from billguard.checks.modes import CheckModes, check_modes_load
from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.delivery.templates import invoice_languages, template_catalog_load
from billguard.domain.periods import BillingPeriod
from billguard.prefetch import load_instances, prefetch_children
from billguard.procurement.cost_resolution import cost_changes_settle
from billguard.procurement.models import CostChange
from billguard.registry.duplicates import DuplicateMatcher, default_matcher
from billguard.registry.mandatory import MandatoryFields, mandatory_fields_load
from billguard.registry.matching.records import dismissed_pairs, party_records
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


@dataclass(frozen=True)
class SharedRecords:
    """Records that are the same for every draft: the chart of accounts, the likely
    duplicates of every customer party, and the policy's check modes and mandatory fields.

    A billing run loads them once with ``shared_records_load`` and passes them to each
    ``load_contexts`` call, so its chunks do not load the chart and match all customers again.
    They are a snapshot: parties, accounts and a policy changed later in the run are not seen.
    """

    gl_accounts: dict[str, GLAccount]
    duplicate_parties: dict[int, list[tuple[Party, str]]]
    check_modes: CheckModes
    mandatory_fields: MandatoryFields


def shared_records_load(matcher: DuplicateMatcher | None = None) -> SharedRecords:
    """Load the chart of accounts and the policy, and match every customer party against the
    others."""
    return SharedRecords(
        gl_accounts=_gl_accounts(),
        duplicate_parties=duplicate_parties_of(None, matcher or default_matcher()),
        check_modes=check_modes_load(),
        mandatory_fields=mandatory_fields_load(),
    )


# The shared records of the billing run a process last loaded them for. The key has the
# run's start time besides its id, because ids come back after a rollback (SQLite, tests).
_run_records: dict[tuple[str, int, str], SharedRecords] = {}


def shared_records_for_run(run: BillingRun) -> SharedRecords:
    """Return the shared records of billing run ``run``, loading them on first use.

    Every process (the calling one, each queue worker) loads them once per run and keeps only
    the latest run's.
    """
    key = (run._state.db or "default", run.pk, run.started_at.isoformat())
    records = _run_records.get(key)
    if records is None:
        records = shared_records_load()
        _run_records.clear()
        _run_records[key] = records
    return records


def load_contexts(
    requests: list[ContextRequest],
    *,
    as_of: dt.date,
    period: BillingPeriod | None = None,
    matcher: DuplicateMatcher | None = None,
    shared: SharedRecords | None = None,
) -> list[CheckContext]:
    """Build one CheckContext per request, loading the records of all of them together.

    ``shared`` gives the chart of accounts and the duplicate parties loaded beforehand, and
    then ``matcher`` is not used. Without it they are loaded here.
    """
    contract_ids = {r.contract_id for r in requests if r.contract_id is not None}
    starts = [r.service_start for r in requests if r.service_start]
    ends = [r.service_end for r in requests if r.service_end]
    window_start = (min(starts) if starts else as_of) - dt.timedelta(days=LOOKBACK_DAYS)
    window_end = (max(ends) if ends else as_of) + dt.timedelta(days=LOOKBACK_DAYS)

    contracts = {
        c.pk: c for c in Contract.objects.filter(pk__in=contract_ids).select_related("party")
    }
    version_list = list(
        ContractVersion.objects.filter(contract_id__in=contract_ids).select_related(
            "contract", "bill_to__party__merged_into", "sow_document"
        )
    )
    for relation in ("lines", "discounts", "price_changes"):
        prefetch_children(version_list, relation)
    versions = _group(version_list, "contract_id")
    amendments = _group(
        Amendment.objects.filter(contract_id__in=contract_ids).select_related("document"),
        "contract_id",
    )
    schedule_list = load_instances(BillingSchedule.objects.filter(contract_id__in=contract_ids))
    prefetch_children(schedule_list, "lines")
    schedules = {s.contract_id: s for s in schedule_list}
    usage = _group(
        load_instances(
            UsageRecord.objects.filter(
                contract_id__in=contract_ids, service_date__range=(window_start, window_end)
            )
        ),
        "contract_id",
    )
    timesheets = _group(
        load_instances(
            Timesheet.objects.filter(
                contract_id__in=contract_ids, work_date__range=(window_start, window_end)
            )
        ),
        "contract_id",
    )
    acceptances = _group(
        load_instances(MilestoneAcceptance.objects.filter(contract_id__in=contract_ids)),
        "contract_id",
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
    contract_invoices, party_invoices = _issued_invoices(
        contract_ids, party_ids, window_start, window_end
    )

    price_list_ids = {v.price_list_id for vs in versions.values() for v in vs if v.price_list_id}
    items = load_instances(PriceListItem.objects.filter(price_list_id__in=price_list_ids))
    families = {v.sow_document.family for vs in versions.values() for v in vs if v.sow_document}
    documents: dict[str, list[Document]] = defaultdict(list)
    for document in load_instances(
        Document.objects.filter(family__in=families).order_by("revision")
    ):
        documents[document.family].append(document)
    emergency = _emergency_changes_unreviewed(
        contract_ids, bill_to_ids, {s.pk for s in schedule_list}
    )
    cost_changes = _open_cost_changes(contract_ids, versions)
    template_catalog = template_catalog_load()
    languages = invoice_languages(bill_to_ids)
    if shared is not None:
        gl_accounts = shared.gl_accounts
        duplicates = shared.duplicate_parties
        mandatory_fields = shared.mandatory_fields
    else:
        gl_accounts = _gl_accounts()
        duplicates = duplicate_parties_of(party_ids, matcher or default_matcher())
        mandatory_fields = mandatory_fields_load()

    contexts = []
    for request in requests:
        contract = contracts.get(request.contract_id) if request.contract_id else None
        cid = contract.pk if contract else None
        bill_to = bill_tos.get(request.bill_to_id) if request.bill_to_id else None
        party_id = None
        if bill_to is not None:
            party_id = bill_to.party_id
        elif contract is not None:
            party_id = contract.party_id
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
                emergency_changes=_emergency_changes_of(
                    emergency,
                    cid,
                    request.bill_to_id,
                    versions.get(cid, []),
                    schedules.get(cid) if cid else None,
                ),
                mandatory_fields=mandatory_fields,
                cost_changes=cost_changes.get(cid, []) if cid else [],
                template_catalog=template_catalog,
                invoice_language=languages.get(request.bill_to_id or 0, ""),
            )
        )
    return contexts


def duplicate_parties_of(
    party_ids: set[int] | None, matcher: DuplicateMatcher
) -> dict[int, list[tuple[Party, str]]]:
    """Likely duplicates of each party in ``party_ids`` (None: of every party) among customers
    that have contracts."""
    if party_ids is not None and not party_ids:
        return {}
    # Only the fields the matcher reads are loaded for all customers. Party rows are loaded
    # for the duplicates found, which are few.
    records = party_records(Party.Kind.CUSTOMER)
    customer_ids = {record.party_id for record in records}
    with_contracts = set(Contract.objects.values_list("party_id", flat=True).distinct())
    found: list[tuple[int, int, str]] = []
    # A pair that someone dismissed as two different entities is not reported again.
    dismissed = dismissed_pairs()
    for pair in matcher.find_pairs(records):
        if (pair.party_id, pair.other_party_id) in dismissed:
            continue
        for own, other in (
            (pair.party_id, pair.other_party_id),
            (pair.other_party_id, pair.party_id),
        ):
            wanted = party_ids is None or own in party_ids
            if wanted and other in with_contracts and other in customer_ids:
                found.append((own, other, pair.reason))
    others = Party.objects.in_bulk({other for _, other, _ in found})
    result: dict[int, list[tuple[Party, str]]] = defaultdict(list)
    for own, other, reason in found:
        result[own].append((others[other], reason))
    return result


def _open_cost_changes(
    contract_ids: set[int], versions: dict[int, list[ContractVersion]]
) -> dict[int, list[CostChange]]:
    """Load, in one query, the open vendor cost changes of the contracts' cost links.

    A change that the contract's latest version already prices is marked amended here, so a
    check run notices an amendment however it was made, and is left out.
    """
    if not contract_ids:
        return {}
    changes = list(
        CostChange.objects.filter(link__contract_id__in=contract_ids, status=CostChange.Status.OPEN)
        .select_related("link")
        .order_by("link__contract_id", "detected_at", "pk")
    )
    if not changes:
        return {}
    grouped: dict[int, list[CostChange]] = defaultdict(list)
    for change in cost_changes_settle(changes, versions):
        grouped[change.link.contract_id].append(change)
    return grouped


def _emergency_changes_unreviewed(
    contract_ids: set[int], bill_to_ids: set[int], schedule_ids: set[int]
) -> dict[tuple[str, str], list[ChangeRequest]]:
    """Load, in one query, the emergency changes not reviewed yet of the contracts, bill-to
    entities and schedules, grouped by (target, target id)."""
    targets = [
        (Target.CONTRACT, contract_ids),
        (Target.BILL_TO, bill_to_ids),
        (Target.SCHEDULE, schedule_ids),
    ]
    condition = Q()
    for target, ids in targets:
        if ids:
            condition |= Q(target=target, target_id__in=[str(pk) for pk in ids])
    if not condition:
        return {}
    grouped: dict[tuple[str, str], list[ChangeRequest]] = defaultdict(list)
    for request in (
        ChangeRequest.objects.filter(
            condition,
            emergency=True,
            reviewed_at__isnull=True,
            status=ChangeRequest.Status.APPLIED,
        )
        .select_related("requested_by")
        .order_by("pk")
    ):
        grouped[(request.target, request.target_id)].append(request)
    return grouped


def _emergency_changes_of(
    emergency: dict[tuple[str, str], list[ChangeRequest]],
    contract_id: int | None,
    bill_to_id: int | None,
    versions: list[ContractVersion],
    schedule: BillingSchedule | None,
) -> list[ChangeRequest]:
    """Return the unreviewed emergency changes to a contract, its schedule, the draft's
    bill-to entity and the bill-to entities of the contract's versions."""
    if not emergency:
        return []
    keys = [(Target.CONTRACT.value, str(contract_id))] if contract_id is not None else []
    bill_to_ids = {bill_to_id} | {v.bill_to_id for v in versions}
    keys += [(Target.BILL_TO.value, str(pk)) for pk in sorted(p for p in bill_to_ids if p)]
    if schedule is not None:
        keys.append((Target.SCHEDULE.value, str(schedule.pk)))
    return [request for key in keys for request in emergency.get(key, [])]


def contexts_add_issued(contexts: list[CheckContext], invoice_ids: list[int]) -> None:
    """Add the invoices just issued to the history of ``contexts``, loaded in one query.

    A chunk loads its contexts once; after each round of issuing, the drafts still to check
    see the invoices of the earlier rounds as a fresh load would show them.
    """
    if not invoice_ids or not contexts:
        return
    invoices = list(
        Invoice.objects.filter(pk__in=invoice_ids, status=Invoice.Status.ISSUED)
        .select_related("bill_to")
        .order_by("pk")
    )
    prefetch_children(invoices, "lines")
    by_party: dict[int, list[Invoice]] = defaultdict(list)
    by_contract: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        if invoice.bill_to is not None:
            by_party[invoice.bill_to.party_id].append(invoice)
        if invoice.contract_id is not None:
            by_contract[invoice.contract_id].append(invoice)
    for context in contexts:
        party_id = None
        if context.bill_to is not None:
            party_id = context.bill_to.party_id
        elif context.contract is not None:
            party_id = context.contract.party_id
        if party_id in by_party:
            context.party_invoices = [*context.party_invoices, *by_party[party_id]]
        if context.contract is not None and context.contract.pk in by_contract:
            context.contract_invoices = [
                *context.contract_invoices,
                *by_contract[context.contract.pk],
            ]


def _gl_accounts() -> dict[str, GLAccount]:
    return {account.code: account for account in GLAccount.objects.all()}


def _issued_invoices(
    contract_ids: set[int], party_ids: set[int], window_start: dt.date, window_end: dt.date
) -> tuple[dict[int | None, list[Invoice]], dict[int | None, list[Invoice]]]:
    """Load the issued invoices and credit notes of the contracts, and those of the parties
    whose period overlaps the window, with their lines.

    Returns them grouped by contract and by the party of their bill-to entity. An invoice of
    both groups is loaded once and is one object in both.
    """
    # Two queries that each use a foreign key index, then one load: a single query with OR
    # across the bill-to join makes PostgreSQL scan every invoice. The status is compared here,
    # not in SQL, because with stale statistics PostgreSQL ANDs the status index, which lists
    # every issued invoice, into both queries.
    issued = Invoice.Status.ISSUED
    of_contracts = {
        pk
        for pk, status in Invoice.objects.filter(contract_id__in=contract_ids).values_list(
            "pk", "status"
        )
        if status == issued
    }
    party_of = {
        pk: party_id
        for pk, party_id, status in Invoice.objects.filter(
            bill_to__party_id__in=party_ids, period_start__lte=window_end
        )
        .filter(Q(period_end__gte=window_start) | Q(period_end__isnull=True))
        .values_list("pk", "bill_to__party_id", "status")
        if status == issued
    }
    # The checks read these invoices' own fields and lines, not their bill-to entity (a party's
    # invoices are grouped here), so the fast loader builds them without a join.
    invoices = load_instances(
        Invoice.objects.filter(pk__in=of_contracts | party_of.keys()).order_by("pk")
    )
    prefetch_children(invoices, "lines")

    by_contract: dict[int | None, list[Invoice]] = defaultdict(list)
    by_party: dict[int | None, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        if invoice.pk in of_contracts:
            by_contract[invoice.contract_id].append(invoice)
        if invoice.pk in party_of:
            by_party[party_of[invoice.pk]].append(invoice)
    return by_contract, by_party


def _group(queryset, attribute, key=None):  # type: ignore[no-untyped-def]
    grouped = defaultdict(list)
    for row in queryset:
        grouped[key(row) if key else getattr(row, attribute)].append(row)
    return grouped
