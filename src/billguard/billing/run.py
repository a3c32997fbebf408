"""The billing run: draft a period's invoices, check them, hold the blocked, issue the rest.

The run splits the billable contracts into chunks and stores them as BillingRunChunk rows.
Each chunk is one transaction: its drafts, findings, issued invoices and its change to done
commit together or not at all (see billing/chunks.py). A run that crashed is simply started
again: contracts whose invoice for the period is already issued are skipped.

Chunks run in the calling process by default. In queue mode they are sent as Celery tasks to
``billguard worker`` processes, and the calling process follows their progress in the
database. Either way the counts and the report are built from the chunk rows, so they are
the same for both modes. A dry run checks in the calling process and stores nothing.
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import DatabaseError, connection
from django.utils import timezone

from billguard.billing.chunks import (
    RETRYABLE_ERRORS,
    ChunkWork,
    DraftOutcome,
    RunIncomplete,
    check_plans,
    chunk_execute,
    chunk_process,
)
from billguard.billing.models import BillingRun, BillingRunChunk
from billguard.billing.output_process import output_process
from billguard.billing.outputs import ensure_journal_accounts
from billguard.billing.selectors import billable_contract_ids
from billguard.controls.roles import authorize
from billguard.controls.services import DEFAULT_ACTOR, audit_checkpoint
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation
from billguard.domain.periods import BillingPeriod
from billguard.registry.models import BillingSchedule, Contract

if TYPE_CHECKING:
    from django.contrib.auth.models import User

__all__ = [
    "DraftOutcome",
    "RunIncomplete",
    "RunResult",
    "billing_run_execute",
    "billing_run_fail",
    "billing_run_record",
    "check_plans",
    "run_mode_from_environment",
]

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 200
# How often the calling process reads the chunk states while queue workers run them.
QUEUE_POLL_SECONDS = 0.25

ProgressCallback = Callable[[int, int], None]


@dataclass
class RunResult:
    period: BillingPeriod
    billing_run_id: int | None
    dry_run: bool
    contracts_considered: int = 0
    already_issued: int = 0
    nothing_to_bill: int = 0
    chunks: int = 0
    # Chunks started more than once: after a lost database connection or a dead worker.
    retried_chunks: int = 0
    outcomes: list[DraftOutcome] = field(default_factory=list)

    @property
    def issued(self) -> list[DraftOutcome]:
        return [o for o in self.outcomes if o.status in ("issued", "clean")]

    @property
    def held(self) -> list[DraftOutcome]:
        return [o for o in self.outcomes if o.status == "held"]


def run_mode_from_environment() -> str:
    """Return the run mode that BILLGUARD_RUN_MODE sets: ``process`` (the default) or ``queue``."""
    mode = os.environ.get("BILLGUARD_RUN_MODE", "").strip() or BillingRun.Mode.PROCESS
    if mode not in BillingRun.Mode.values:
        raise InvalidInput(
            f"BILLGUARD_RUN_MODE is {mode!r}, which is not a run mode.",
            place="BILLGUARD_RUN_MODE",
            value=mode,
            fix="Set it to process or queue, or unset it.",
        )
    return str(mode)


def billing_run_execute(
    *,
    period: BillingPeriod,
    contract_number: str | None = None,
    dry_run: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
    queue: bool = False,
    queue_timeout: float | None = None,
    by: User | None = None,
    run_id: int | None = None,
    started_from: str = "",
) -> RunResult:
    """Run the billing of ``period`` for every contract, or for ``contract_number`` alone.

    With ``queue``, the chunks run on queue workers and this call waits for them. It raises
    RunIncomplete when a chunk failed, or when no chunk finished for ``queue_timeout``
    seconds (default: the broker's visibility timeout plus 10 minutes). With ``by``, the
    user must hold the billing_run action, a dry run included. Unless it is a dry run, it
    first applies the approved change requests that are due today.

    With ``run_id``, it carries out the run that billing_run_record stored, instead of
    creating one, and stores a dry run's result in that run as well. Any error marks that
    run failed with the error's text, which the run's page shows. ``started_from`` (one of
    ``BillingRun.StartedFrom``) records where a run it creates was started.
    """
    if run_id is None:
        return _execute(
            period=period,
            contract_number=contract_number,
            dry_run=dry_run,
            chunk_size=chunk_size,
            progress=progress,
            queue=queue,
            queue_timeout=queue_timeout,
            by=by,
            recorded=None,
            started_from=started_from,
        )
    recorded = _recorded_run(run_id, period=period, dry_run=dry_run, queue=queue)
    try:
        return _execute(
            period=period,
            contract_number=contract_number,
            dry_run=dry_run,
            chunk_size=chunk_size,
            progress=progress,
            queue=queue,
            queue_timeout=queue_timeout,
            by=by,
            recorded=recorded,
            started_from=started_from,
        )
    except BaseException as error:
        logger.exception("billing run %s failed", recorded.pk)
        _run_mark_failed(recorded, error)
        raise


def billing_run_record(
    *, period: BillingPeriod, dry_run: bool = False, queue: bool = False, by: User
) -> BillingRun:
    """Store a billing run of ``period`` for another process to carry out, and return it.

    The run has no chunks until that process, ``billguard run --run-id ID``, selects the
    contracts and plans them. So a web page can return at once with the run to watch, and
    the run records that it was started from the billing runs page.
    """
    authorize(by, "billing_run")
    run = BillingRun.objects.create(
        period_label=period.label,
        period_start=period.start,
        period_end=period.end,
        dry_run=dry_run,
        mode=BillingRun.Mode.QUEUE if queue and not dry_run else BillingRun.Mode.PROCESS,
        started_from=BillingRun.StartedFrom.WEB,
        started_at=timezone.now(),
        started_by=by.get_username(),
    )
    logger.info(
        "billing run %s recorded: period %s, dry run %s, mode %s, by %s",
        run.pk,
        period.label,
        dry_run,
        run.mode,
        run.started_by,
    )
    return run


def billing_run_fail(*, run: BillingRun, error: BaseException) -> None:
    """Mark a running ``run`` failed with ``error``'s text, as when it could not be started."""
    logger.error("billing run %s failed: %s", run.pk, error)
    _run_mark_failed(run, error)


def _recorded_run(run_id: int, *, period: BillingPeriod, dry_run: bool, queue: bool) -> BillingRun:
    """Return the run that billing_run_record stored, or raise if it is not one to carry out."""
    run = BillingRun.objects.filter(pk=run_id).first()
    if run is None:
        raise NotFound(
            f"billing run {run_id} does not exist.",
            place="--run-id",
            value=run_id,
            fix="Give the id of a billing run that a page recorded.",
        )
    started = BillingRunChunk.objects.filter(run=run).exists()
    if run.status != BillingRun.Status.RUNNING or started:
        raise RuleViolation(
            f"billing run {run_id} is {run.status} and was already carried out.",
            place="--run-id",
            value=run_id,
            fix="Start a new run; running its period again completes what it left undone.",
        )
    expected = (run.period_label, run.dry_run, run.mode == BillingRun.Mode.QUEUE)
    if (period.label, dry_run, queue and not dry_run) != expected:
        raise InvalidInput(
            f"billing run {run_id} was recorded for period {run.period_label}, dry run "
            f"{run.dry_run}, mode {run.mode}, which differs from this command's options.",
            place="--run-id",
            value=run_id,
            fix="Give the run's own period, and --dry-run or --queue as the run was recorded.",
        )
    return run


def _execute(
    *,
    period: BillingPeriod,
    contract_number: str | None,
    dry_run: bool,
    chunk_size: int,
    progress: ProgressCallback | None,
    queue: bool,
    queue_timeout: float | None,
    by: User | None,
    recorded: BillingRun | None,
    started_from: str,
) -> RunResult:
    if by is not None:
        authorize(by, "billing_run")
    if chunk_size < 1:
        raise InvalidInput(
            f"the chunk size {chunk_size} is not a positive number.",
            place="--chunk-size",
            value=chunk_size,
            fix="Give the number of contracts per chunk, such as 200.",
        )
    if not dry_run:
        _apply_due_change_requests()
    if contract_number is not None:
        _require_billable_contract(contract_number)
    contract_ids = billable_contract_ids(period, contract_number)
    chunks = plan_chunks(contract_ids, chunk_size)
    if dry_run:
        return _dry_run(period, contract_ids, chunks, progress, recorded)

    if queue:
        # Imported here so that the default mode never needs Celery's broker.
        from billguard.billing.queue import chunks_enqueue, queue_check_ready

        queue_check_ready()

    ensure_journal_accounts()
    if recorded is not None:
        run = recorded
        run.contract_filter = contract_number or ""
        run.save(update_fields=["contract_filter"])
    else:
        run = BillingRun.objects.create(
            period_label=period.label,
            period_start=period.start,
            period_end=period.end,
            contract_filter=contract_number or "",
            mode=BillingRun.Mode.QUEUE if queue else BillingRun.Mode.PROCESS,
            started_from=started_from,
            started_at=timezone.now(),
            started_by=by.get_username() if by is not None else "",
        )
    chunk_rows = BillingRunChunk.objects.bulk_create(
        BillingRunChunk(run=run, index=index, contract_ids=ids)
        for index, ids in enumerate(chunks, start=1)
    )
    logger.info(
        "billing run %s started: period %s, %d contracts in %d chunks, mode %s, by %s",
        run.pk,
        period.label,
        len(contract_ids),
        len(chunks),
        run.mode,
        run.started_by or DEFAULT_ACTOR,
    )
    try:
        if queue:
            chunks_enqueue([c.pk for c in _chunk_ids(run)])
            _chunks_wait(run, len(chunk_rows), progress, queue_timeout)
        else:
            with output_process(len(chunk_rows)):
                for done, chunk in enumerate(_chunk_ids(run), start=1):
                    chunk_execute(chunk.pk)
                    if progress is not None:
                        progress(done, len(chunk_rows))
    except BaseException as error:
        logger.exception("billing run %s failed", run.pk)
        _run_mark_failed(run, error)
        raise
    result = run_result_load(run)
    _run_complete(run, result)
    audit_checkpoint()
    logger.info(
        "billing run %s finished: %d issued, %d held, %d already issued, %d nothing to bill, "
        "%d of %d chunks retried",
        run.pk,
        len(result.issued),
        len(result.held),
        result.already_issued,
        result.nothing_to_bill,
        result.retried_chunks,
        result.chunks,
    )
    return result


def _apply_due_change_requests() -> None:
    """Apply the approved change requests due today, so that the run drafts the new terms.

    Each request commits in its own transaction, before the run selects its contracts, so
    an approved activation or price change is in the run. With none due this costs one query.
    A dry run stores nothing, so it applies nothing.
    """
    from billguard.controls.requests import change_requests_apply_due

    today = timezone.localdate()
    applied = change_requests_apply_due(today=today)
    if applied:
        logger.info("applied %d change requests due on %s before the billing run", applied, today)


def _require_billable_contract(number: str) -> None:
    status = Contract.objects.filter(number=number).values_list("status", flat=True).first()
    if status is None:
        raise NotFound(
            f"contract {number!r} is not in the registry.",
            place="--contract",
            value=number,
            fix="Give the contract number as the registry shows it, such as C-0001.",
        )
    if status != Contract.Status.ACTIVE:
        raise RuleViolation(
            f"contract {number} is a {status} contract, and only active contracts are billed.",
            place="--contract",
            value=number,
            fix=f"Activate it first with `billguard contracts activate {number}`.",
        )


def plan_chunks(contract_ids: list[int], chunk_size: int) -> list[list[int]]:
    """Split contracts into chunks of about ``chunk_size``, each customer's contracts in one.

    A customer is the party of the schedule's bill-to entity (of the contract without one).
    The checks compare a draft with the customer's issued invoices, so keeping a customer in
    one chunk makes the result independent of the order in which chunks run. A customer with
    more contracts than ``chunk_size`` gets one larger chunk. Chunks and the contracts in
    them are in id order of their first contract.
    """
    unique_ids = sorted(set(contract_ids))
    if not unique_ids:
        return []
    # A range, not an IN list: SQLite limits the parameters of one statement (32766 since
    # SQLite 3.32), and a run may have more contracts than that.
    rows = BillingSchedule.objects.filter(
        contract_id__gte=unique_ids[0], contract_id__lte=unique_ids[-1]
    ).values_list("contract_id", "bill_to__party_id", "contract__party_id")
    party_of = {contract_id: bill_to_party or party for contract_id, bill_to_party, party in rows}
    by_customer: dict[int | None, list[int]] = defaultdict(list)
    for contract_id in unique_ids:
        by_customer[party_of.get(contract_id)].append(contract_id)
    chunks: list[list[int]] = []
    current: list[int] = []
    for group in sorted(by_customer.values(), key=lambda ids: ids[0]):
        if current and len(current) + len(group) > chunk_size:
            chunks.append(sorted(current))
            current = []
        current.extend(group)
    if current:
        chunks.append(sorted(current))
    return chunks


def run_result_load(run: BillingRun) -> RunResult:
    """Build the result of ``run`` from its chunk rows, in chunk order."""
    result = RunResult(
        period=_period_of(run), billing_run_id=run.pk, dry_run=run.dry_run, contracts_considered=0
    )
    for chunk in BillingRunChunk.objects.filter(run=run).order_by("index"):
        result.chunks += 1
        result.contracts_considered += len(chunk.contract_ids)
        result.already_issued += int(chunk.counts.get("already_issued", 0))
        result.nothing_to_bill += int(chunk.counts.get("nothing_to_bill", 0))
        if chunk.attempts > 1:
            result.retried_chunks += 1
        result.outcomes.extend(DraftOutcome.from_dict(item) for item in chunk.outcomes)
    return result


def _dry_run(
    period: BillingPeriod,
    contract_ids: list[int],
    chunks: list[list[int]],
    progress: ProgressCallback | None,
    recorded: BillingRun | None,
) -> RunResult:
    """Draft and check in this process; store nothing but the result in ``recorded``, if given.

    The chunk rows of a recorded dry run carry its progress and outcomes, as a real run's do,
    but no draft, finding or invoice is stored.
    """
    result = RunResult(
        period=period,
        billing_run_id=recorded.pk if recorded is not None else None,
        dry_run=True,
    )
    result.contracts_considered = len(contract_ids)
    result.chunks = len(chunks)
    logger.info(
        "dry run started: period %s, %d contracts in %d chunks, run %s",
        period.label,
        len(contract_ids),
        len(chunks),
        result.billing_run_id,
    )
    chunk_rows: list[BillingRunChunk] = []
    if recorded is not None:
        chunk_rows = BillingRunChunk.objects.bulk_create(
            BillingRunChunk(run=recorded, index=index, contract_ids=ids)
            for index, ids in enumerate(chunks, start=1)
        )
    for done, ids in enumerate(chunks, start=1):
        work = chunk_process(ids, period, run=None)
        result.outcomes.extend(work.outcomes)
        result.already_issued += work.already_issued
        result.nothing_to_bill += work.nothing_to_bill
        if chunk_rows:
            _dry_chunk_store(chunk_rows[done - 1], work)
        if progress is not None:
            progress(done, len(chunks))
    if recorded is not None:
        _run_complete(recorded, result)
    logger.info("dry run finished: %d clean, %d held", len(result.issued), len(result.held))
    return result


def _dry_chunk_store(chunk: BillingRunChunk, work: ChunkWork) -> None:
    now = timezone.now()
    chunk.status = BillingRunChunk.Status.DONE
    chunk.attempts = 1
    chunk.started_at = chunk.started_at or now
    chunk.finished_at = now
    # Clean drafts count as issued, as in RunResult.issued and the report.
    chunk.counts = {
        **work.counts(),
        "issued": sum(1 for o in work.outcomes if o.status in ("issued", "clean")),
    }
    chunk.outcomes = [outcome.as_dict() for outcome in work.outcomes]
    chunk.save(
        update_fields=["status", "attempts", "started_at", "finished_at", "counts", "outcomes"]
    )


def _run_complete(run: BillingRun, result: RunResult) -> None:
    """Mark ``run`` completed with its counts and its gate report."""
    # Imported here because the report module builds on this one's RunResult.
    from billguard.billing.report import run_report, stored_report

    run.status = BillingRun.Status.COMPLETED
    run.finished_at = timezone.now()
    run.chunks_done = result.chunks
    run.counts = _run_counts(result)
    run.report = stored_report(run_report(result))
    run.save(update_fields=["status", "finished_at", "chunks_done", "counts", "report"])


def _chunks_wait(
    run: BillingRun, total: int, progress: ProgressCallback | None, timeout: float | None
) -> None:
    """Wait until queue workers finished every chunk of ``run``, reporting progress."""
    from billguard.billing.queue import default_queue_timeout

    limit = default_queue_timeout() if timeout is None else timeout
    done = 0
    last_change = time.monotonic()
    if progress is not None:
        progress(done, total)
    while True:
        try:
            now_done, failed = _chunks_read(run)
        except RETRYABLE_ERRORS as error:
            # The workers go on without this process; read again on a new connection.
            logger.warning("billing run %s: reading chunk states failed: %s", run.pk, error)
            connection.close()
        else:
            if failed is not None:
                raise RunIncomplete(
                    f"chunk {failed.index} of billing run {run.pk} failed on a worker: "
                    f"{failed.error}",
                    fix="See the worker's log, fix the cause, then run the same period again; "
                    "it completes what this run left undone.",
                )
            if now_done != done:
                done = now_done
                last_change = time.monotonic()
                if progress is not None:
                    progress(done, total)
            if done == total:
                return
        if time.monotonic() - last_change > limit:
            raise RunIncomplete(
                f"timed out waiting for queue workers: {done} of {total} chunks of billing run "
                f"{run.pk} are done, and none finished in the last {limit:.0f} s.",
                fix="Start workers with `billguard worker`, then run the same period again; "
                "it completes what this run left undone.",
            )
        time.sleep(QUEUE_POLL_SECONDS)


def _chunks_read(run: BillingRun) -> tuple[int, BillingRunChunk | None]:
    """Return how many chunks of ``run`` are done, and its first failed chunk if any."""
    chunks = BillingRunChunk.objects.filter(run=run)
    done = chunks.filter(status=BillingRunChunk.Status.DONE).count()
    failed = chunks.filter(status=BillingRunChunk.Status.FAILED).order_by("index").first()
    return done, failed


def _run_mark_failed(run: BillingRun, error: BaseException) -> None:
    # A BillguardError's text names the place, the value and the fix.
    text = str(error) or type(error).__name__
    try:
        BillingRun.objects.filter(pk=run.pk, status=BillingRun.Status.RUNNING).update(
            status=BillingRun.Status.FAILED, finished_at=timezone.now(), error=text
        )
    except DatabaseError as database_error:
        logger.error("billing run %s could not be marked failed: %s", run.pk, database_error)


def _chunk_ids(run: BillingRun) -> list[BillingRunChunk]:
    return list(BillingRunChunk.objects.filter(run=run).order_by("index").only("pk", "index"))


def _run_counts(result: RunResult) -> dict[str, int]:
    return {
        "contracts": result.contracts_considered,
        "chunks": result.chunks,
        "issued": len(result.issued),
        "held": len(result.held),
        "already_issued": result.already_issued,
        "nothing_to_bill": result.nothing_to_bill,
        "retried_chunks": result.retried_chunks,
    }


def _period_of(run: BillingRun) -> BillingPeriod:
    return BillingPeriod(start=run.period_start, end=run.period_end)
