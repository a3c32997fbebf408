"""One chunk of a billing run: lock its contracts, draft, check, store, issue, mark it done.

A chunk is one transaction. It starts by locking its chunk row and then its contracts
(SELECT ... FOR UPDATE in id order), and only then reads which drafts are already issued. So
a second run of the same period waits for the first and skips what it issued, and a chunk
delivered twice runs once: the second delivery finds the chunk done. On PostgreSQL every
chunk transaction takes its locks in the same order (chunk row, contracts by id, numbering
series by seller entity id), so two runs wait for each other instead of deadlocking. A
deadlock with another command (resolving a held draft, a credit note) is possible, and
PostgreSQL then aborts one transaction; a chunk aborted that way is retried like one that
lost its connection. SQLite has no row locks, but the chunk transaction writes its chunk row
first, which takes SQLite's database write lock for the rest of the transaction.

Drafts are checked and issued in rounds: round k contains the k-th contract, in id order, of
every customer (the bill-to entity's party) in the chunk. So each draft is checked against
the invoices issued before it, including those that this run issued to the same customer for
contracts with lower ids. The run keeps all contracts of one customer in one chunk, so this
is true whatever the chunk size and whichever worker runs which chunk first.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from billguard.billing.collector import chunk_collection
from billguard.billing.drafting import DraftPlan, draft_contract, draft_key_for
from billguard.billing.faults import fault_point
from billguard.billing.invoices import CheckedPlan, invoices_issue, invoices_save_drafts
from billguard.billing.models import BillingRun, BillingRunChunk, Invoice
from billguard.billing.output_process import OutputProcessError, current_output_process
from billguard.billing.outputs import (
    invoice_write_outputs,
    invoices_for_outputs,
    invoices_root,
    seller_ibans,
)
from billguard.billing.selectors import load_draft_sources
from billguard.billing.statistics import statistics_refresh
from billguard.checks.context import CheckContext, Draft
from billguard.checks.engine import run_checks
from billguard.checks.finding import Finding, Severity
from billguard.checks.modes import check_modes_load
from billguard.checks.selectors import (
    ContextRequest,
    SharedRecords,
    contexts_add_issued,
    load_contexts,
    shared_records_for_run,
    shared_records_load,
)
from billguard.controls.alerts import Alert, alerts_emit
from billguard.controls.models.alerts import AlertEvent
from billguard.controls.services import DEFAULT_ACTOR
from billguard.domain.errors import BillguardError
from billguard.domain.money import Money
from billguard.domain.periods import BillingPeriod
from billguard.registry.models import Contract

logger = logging.getLogger(__name__)

# A chunk that loses its database connection is started again this many times, after
# RETRY_BACKOFF_SECONDS times the attempt number.
MAX_CHUNK_RETRIES = 3
RETRY_BACKOFF_SECONDS = 0.5

# A chunk started this many times without finishing is marked failed instead of started
# again. Without this limit, a chunk that kills its worker every time (out of memory, say)
# would go back to the queue forever, because a dead worker's chunk is always delivered again.
MAX_CHUNK_ATTEMPTS = 12

# Errors of the connection or the server (a lost connection, a terminated backend, a
# deadlock, a serialization failure) after which the same chunk can succeed on a new connection.
RETRYABLE_ERRORS = (OperationalError, InterfaceError)


class RunIncomplete(BillguardError):  # noqa: N818  (named like the other BillguardError types)
    """A billing run stopped before every chunk was done; running it again completes it."""

    code = "RUN_INCOMPLETE"


@dataclass
class DraftOutcome:
    """The result of one contract's draft in a run: its status, number and findings."""

    contract_number: str
    draft_key: str
    status: str  # issued, held, clean (dry run)
    invoice_number: str | None
    currency: str
    payable: str
    findings: list[Finding]

    def as_dict(self) -> dict[str, Any]:
        return {
            "contract_number": self.contract_number,
            "draft_key": self.draft_key,
            "status": self.status,
            "invoice_number": self.invoice_number,
            "currency": self.currency,
            "payable": self.payable,
            "findings": [finding.as_dict() for finding in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DraftOutcome:
        return cls(
            contract_number=data["contract_number"],
            draft_key=data["draft_key"],
            status=data["status"],
            invoice_number=data["invoice_number"],
            currency=data["currency"],
            payable=data["payable"],
            findings=[_finding_from_dict(item) for item in data["findings"]],
        )


@dataclass
class ChunkWork:
    """The drafts of one chunk and what became of them."""

    outcomes: list[DraftOutcome] = field(default_factory=list)
    already_issued: int = 0
    nothing_to_bill: int = 0
    issued_invoice_ids: list[int] = field(default_factory=list)
    held_invoice_ids: dict[str, int] = field(default_factory=dict)  # by draft key
    already_issued_keys: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "issued": sum(1 for o in self.outcomes if o.status == "issued"),
            "held": sum(1 for o in self.outcomes if o.status == "held"),
            "already_issued": self.already_issued,
            "nothing_to_bill": self.nothing_to_bill,
        }


def chunk_execute(chunk_id: int) -> None:
    """Run the chunk ``chunk_id`` to done, retrying it after a lost database connection.

    Raises RunIncomplete when the retries are used up, and re-raises any other error after
    marking the chunk failed. A chunk that is already done is left as it is.
    """
    # Inside a caller's transaction a broken connection cannot be replaced, so no retry.
    retries = 0 if connection.in_atomic_block else MAX_CHUNK_RETRIES
    for attempt in range(1, retries + 2):
        try:
            with chunk_collection():
                _chunk_attempt(chunk_id)
            statistics_refresh()
            return
        except RETRYABLE_ERRORS as error:
            if attempt > retries:
                _chunk_mark_failed(chunk_id, error)
                raise RunIncomplete(
                    f"chunk id {chunk_id} failed after {attempt} attempt(s): {error}".strip(),
                    fix="Check the database server, then run the same period again; it "
                    "completes what this run left undone.",
                ) from error
            delay = RETRY_BACKOFF_SECONDS * attempt
            logger.warning(
                "chunk id %s: database error on attempt %d, retrying in %.1f s: %s",
                chunk_id,
                attempt,
                delay,
                error,
            )
            connection.close()
            time.sleep(delay)
        except Exception as error:
            _chunk_mark_failed(chunk_id, error)
            raise


def _chunk_attempt(chunk_id: int) -> None:
    # Counted in its own transaction, so that an attempt that dies still counts. On
    # PostgreSQL this waits while another delivery of the chunk has its row locked.
    claimed = (
        BillingRunChunk.objects.filter(pk=chunk_id, attempts__lt=MAX_CHUNK_ATTEMPTS)
        .exclude(status=BillingRunChunk.Status.DONE)
        .update(
            attempts=F("attempts") + 1,
            status=BillingRunChunk.Status.RUNNING,
            started_at=timezone.now(),
        )
    )
    if not claimed:
        unfinished = (
            BillingRunChunk.objects.filter(pk=chunk_id)
            .exclude(status=BillingRunChunk.Status.DONE)
            .first()
        )
        if unfinished is None:
            logger.info("chunk id %s is already done; nothing to do", chunk_id)
            return
        raise RunIncomplete(
            f"chunk {unfinished.index} of billing run {unfinished.run_id} was started "
            f"{unfinished.attempts} times without finishing.",
            fix="See the worker logs for the cause (a worker process that died, a database "
            "that failed), fix it, then run the same period again.",
        )
    started = time.monotonic()
    with transaction.atomic():
        # The first statement is a write: it locks the chunk row on PostgreSQL and takes the
        # write lock on SQLite, and finds nothing to update once another delivery finished it.
        locked = (
            BillingRunChunk.objects.filter(pk=chunk_id)
            .exclude(status=BillingRunChunk.Status.DONE)
            .update(status=BillingRunChunk.Status.RUNNING)
        )
        if not locked:
            return
        chunk = BillingRunChunk.objects.select_related("run").get(pk=chunk_id)
        run = chunk.run
        period = BillingPeriod(start=run.period_start, end=run.period_end)
        _contracts_lock(chunk.contract_ids)
        work = chunk_process(chunk.contract_ids, period, run=run, chunk_index=chunk.index)
        # Sent after the chunk commits; nothing is sent for a chunk that rolls back.
        _held_alerts_emit(work, run)
        fault_point("issuing", chunk.index)
        chunk.status = BillingRunChunk.Status.DONE
        chunk.finished_at = timezone.now()
        chunk.counts = work.counts()
        chunk.outcomes = [outcome.as_dict() for outcome in work.outcomes]
        chunk.error = ""
        chunk.save(update_fields=["status", "finished_at", "counts", "outcomes", "error"])
        # robust: a failure to write files is logged and leaves the committed chunk done.
        transaction.on_commit(lambda: _outputs_write(work, chunk.index), robust=True)
    counts = work.counts()
    logger.info(
        "billing run %s chunk %d: %d contracts, %d issued, %d held, %d already issued, "
        "%d nothing to bill, in %.2f s (attempt %d)",
        run.pk,
        chunk.index,
        len(chunk.contract_ids),
        counts["issued"],
        counts["held"],
        counts["already_issued"],
        counts["nothing_to_bill"],
        time.monotonic() - started,
        chunk.attempts,
    )


def _held_alerts_emit(work: ChunkWork, run: BillingRun) -> None:
    """Emit invoice.held once per held draft of the chunk, with one query for subscriptions."""
    alerts = []
    for outcome in work.outcomes:
        if outcome.status != "held":
            continue
        codes = sorted({f.code for f in outcome.findings if f.blocks})
        alerts.append(
            Alert(
                subject=f"Invoice of contract {outcome.contract_number} held: {', '.join(codes)}",
                payload={
                    "invoice_id": work.held_invoice_ids.get(outcome.draft_key),
                    "billing_run_id": run.pk,
                    "contract": outcome.contract_number,
                    "draft_key": outcome.draft_key,
                    "currency": outcome.currency,
                    "payable": outcome.payable,
                    "blocking_findings": codes,
                },
            )
        )
    alerts_emit(event=AlertEvent.INVOICE_HELD, alerts=alerts)


def _contracts_lock(contract_ids: list[int]) -> None:
    # Locks in id order, the order of every chunk transaction, so runs never wait in a cycle.
    locked = Contract.objects.select_for_update().filter(pk__in=contract_ids).order_by("pk")
    list(locked.values_list("pk", flat=True))


def _chunk_mark_failed(chunk_id: int, error: BaseException) -> None:
    try:
        BillingRunChunk.objects.filter(pk=chunk_id).exclude(
            status=BillingRunChunk.Status.DONE
        ).update(status=BillingRunChunk.Status.FAILED, error=f"{type(error).__name__}: {error}")
    except DatabaseError as mark_error:
        logger.error("chunk id %s could not be marked failed: %s", chunk_id, mark_error)
    logger.error("chunk id %s failed: %s: %s", chunk_id, type(error).__name__, error)


def chunk_process(
    contract_ids: list[int],
    period: BillingPeriod,
    *,
    run: BillingRun | None,
    chunk_index: int = 0,
) -> ChunkWork:
    """Draft and check the contracts of a chunk; store and issue the drafts unless ``run`` is None.

    With a run, the caller holds the transaction and the locks on the contracts. Without one
    (a dry run) nothing is written, and every draft is checked in one round.
    """
    work = ChunkWork()
    shared = shared_records_for_run(run) if run is not None else shared_records_load()
    sources = load_draft_sources(contract_ids, period)
    keys = {draft_key_for(s.contract.number, period): s for s in sources}
    issued_keys = set(
        Invoice.objects.filter(draft_key__in=keys, status=Invoice.Status.ISSUED).values_list(
            "draft_key", flat=True
        )
    )
    work.already_issued = len(issued_keys)
    work.already_issued_keys = sorted(str(key) for key in issued_keys)

    fault_point("drafting", chunk_index)
    plans: list[tuple[DraftPlan, Contract]] = []
    for key, source in keys.items():
        if key in issued_keys:
            continue
        plan = draft_contract(source, period)
        if plan is None:
            work.nothing_to_bill += 1
            continue
        plans.append((plan, source.contract))

    if run is None:
        for item in check_plans(plans, period, shared=shared):
            work.outcomes.append(_outcome(item, "held" if item.blocked else "clean", None))
        return work

    by_key: dict[str, DraftOutcome] = {}
    rounds = _rounds(plans)
    # The contexts of every plan are loaded once; each round adds what the one before issued.
    all_plans = [item for round_plans in rounds for item in round_plans]
    contexts = dict(
        zip(
            (plan.draft_key for plan, _ in all_plans),
            plan_contexts(all_plans, period, shared=shared),
            strict=True,
        )
    )
    for round_number, round_plans in enumerate(rounds, start=1):
        checked = check_plans(
            round_plans,
            period,
            shared=shared,
            contexts=[contexts.pop(plan.draft_key) for plan, _ in round_plans],
        )
        if round_number == 1:
            fault_point("checks", chunk_index)
        invoices = invoices_save_drafts(checked=checked, billing_run=run)
        invoices_issue(
            invoices=[i for i in invoices if i.status == Invoice.Status.DRAFT],
            actor=run.started_by or DEFAULT_ACTOR,
        )
        round_issued = []
        for invoice, item in zip(invoices, checked, strict=True):
            issued = invoice.status == Invoice.Status.ISSUED
            if issued:
                round_issued.append(invoice.pk)
                work.issued_invoice_ids.append(invoice.pk)
            else:
                work.held_invoice_ids[item.plan.draft_key] = invoice.pk
            status = "issued" if issued else "held"
            by_key[item.plan.draft_key] = _outcome(item, status, invoice.number)
        contexts_add_issued(list(contexts.values()), round_issued)
    work.outcomes = [by_key[plan.draft_key] for plan, _ in plans]
    return work


def _rounds(plans: list[tuple[DraftPlan, Contract]]) -> list[list[tuple[DraftPlan, Contract]]]:
    """Split plans into rounds: round k has each customer's k-th plan, in contract id order."""
    rounds: list[list[tuple[DraftPlan, Contract]]] = []
    seen: dict[int, int] = defaultdict(int)
    for plan, contract in sorted(plans, key=lambda item: item[1].pk):
        party_id = plan.bill_to.party_id if plan.bill_to else contract.party_id
        position = seen[party_id]
        seen[party_id] += 1
        if position == len(rounds):
            rounds.append([])
        rounds[position].append((plan, contract))
    return rounds


def _drafts_of(plans: list[tuple[DraftPlan, Contract]]) -> list[Draft]:
    return [
        Draft(
            document=plan.document,
            contract_number=contract.number,
            line_kinds=plan.line_kinds,
        )
        for plan, contract in plans
    ]


def plan_contexts(
    plans: list[tuple[DraftPlan, Contract]],
    period: BillingPeriod,
    *,
    shared: SharedRecords | None = None,
    drafts: list[Draft] | None = None,
) -> list[CheckContext]:
    """Load the check contexts of ``plans`` together, in a few queries."""
    drafts = drafts if drafts is not None else _drafts_of(plans)
    return load_contexts(
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
        shared=shared,
    )


def check_plans(
    plans: list[tuple[DraftPlan, Contract]],
    period: BillingPeriod,
    *,
    shared: SharedRecords | None = None,
    contexts: list[CheckContext] | None = None,
) -> list[CheckedPlan]:
    """Run every check on the drafts of one chunk, with their contexts loaded together.

    ``shared`` gives the records loaded once per run, the policy's check modes among them;
    without it they are loaded here. ``contexts`` gives contexts already loaded, one per plan
    in order. A blocking finding of a check in observe mode is marked observed and does not
    hold its draft.
    """
    modes = shared.check_modes if shared is not None else check_modes_load()
    drafts = _drafts_of(plans)
    if contexts is None:
        contexts = plan_contexts(plans, period, shared=shared, drafts=drafts)
    return [
        CheckedPlan(
            plan=plan,
            contract_id=contract.pk,
            seller_entity_id=contract.seller_entity_id,
            findings=run_checks(draft, context, modes=modes),
        )
        for (plan, contract), draft, context in zip(plans, drafts, contexts, strict=True)
    ]


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


def _finding_from_dict(data: dict[str, Any]) -> Finding:
    amount = data.get("amount_at_stake")
    return Finding(
        code=data["code"],
        severity=Severity(data["severity"]),
        subject=data["subject"],
        message=data["message"],
        expected=data.get("expected", ""),
        actual=data.get("actual", ""),
        amount_at_stake=Money(Decimal(amount), data["currency"]) if amount is not None else None,
        evidence=dict(data.get("evidence") or {}),
        observed=bool(data.get("observed", False)),
    )


def _outputs_write(work: ChunkWork, chunk_index: int) -> None:
    """Write the files of the invoices the chunk issued, and of already issued ones missing them.

    A run killed after a chunk committed but before its files were written leaves issued
    invoices without files. The next run of the period writes them here. A run with an output
    process hands the ids to it instead.
    """
    fault_point("outputs", chunk_index)
    invoice_ids = list(work.issued_invoice_ids)
    if work.already_issued_keys:
        missing = _without_files(
            Invoice.objects.filter(
                draft_key__in=work.already_issued_keys, status=Invoice.Status.ISSUED
            )
        )
        if missing:
            logger.warning("writing the missing files of %d issued invoice(s)", len(missing))
            invoice_ids += missing
    writer = current_output_process()
    if writer is not None:
        try:
            writer.hand(invoice_ids)
            return
        except OutputProcessError as error:
            logger.error("chunk %d writes its own files: %s", chunk_index, error)
    outputs_write(invoice_ids)


def outputs_write(invoice_ids: list[int]) -> None:
    """Write the UBL and journal files of the issued invoices ``invoice_ids``.

    A file that cannot be written is logged; the invoice stays issued, and the next run of its
    period writes the file.
    """
    invoices = invoices_for_outputs(Invoice.objects.filter(pk__in=invoice_ids))
    ibans = seller_ibans({invoice.seller_entity_id for invoice in invoices})
    for invoice in invoices:
        try:
            invoice_write_outputs(invoice, seller_iban=ibans.get(invoice.seller_entity_id, ""))
        except OSError as error:
            logger.error("could not write the files of invoice %s: %s", invoice.number, error)


def outputs_write_missing(invoice_ids: list[int]) -> None:
    """Write the files of those issued invoices of ``invoice_ids`` that have no journal file."""
    for first in range(0, len(invoice_ids), 1000):
        batch = invoice_ids[first : first + 1000]
        missing = _without_files(Invoice.objects.filter(pk__in=batch, status=Invoice.Status.ISSUED))
        if missing:
            logger.warning("writing the missing files of %d issued invoice(s)", len(missing))
            outputs_write(missing)


def _without_files(invoices: QuerySet[Invoice]) -> list[int]:
    # The journal is written after the UBL file, so an invoice with a journal has both.
    return [
        pk
        for pk, number, seller in invoices.values_list("pk", "number", "seller_entity__code")
        if not (invoices_root() / seller / f"{number}.journal.csv").exists()
    ]
