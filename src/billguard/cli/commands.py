"""Handlers of the ``billguard`` subcommands: parse arguments, call services, print."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from billguard.cli.main import EXIT_BLOCKED, EXIT_OK
from billguard.cli.progress import ProgressBar
from billguard.cli.users import acting_user


def migrate(args: argparse.Namespace) -> int:
    from billguard.controls.policy_yaml import policy_seed
    from billguard.controls.roles import roles_install

    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0, interactive=False)
    roles_install()
    if policy_seed():
        print("default control policy loaded")
    print("database is up to date, with the roles installed")
    return EXIT_OK


def demo(args: argparse.Namespace) -> int:
    from django.contrib.auth.models import User

    from billguard.billing.models import BillingRun
    from billguard.billing.report import format_report, run_report, write_json
    from billguard.billing.run import billing_run_execute
    from billguard.checks.guard import check_documents
    from billguard.cli.scorecards import format_run
    from billguard.controls.overview import controls_overview, format_controls
    from billguard.controls.policy_yaml import policy_seed
    from billguard.domain.periods import parse_period
    from billguard.integrations.drafts import read_drafts
    from billguard.procurement.overview import format_procurement, procurement_overview
    from billguard.sample.company import (
        AS_OF,
        PERIOD,
        generate_sample_company,
        sample_company_exists,
    )
    from billguard.sample.scorecards import sample_scorecards_compute
    from billguard.sample.users import (
        DEMO_RUN_USER,
        SAMPLE_PASSWORD,
        sample_passwords_set,
        sample_users_create,
    )

    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0, interactive=False)
    policy_seed()
    drafts_dir = Path(settings.VAR_DIR) / "sample" / "legacy-drafts"
    if sample_company_exists():
        print(f"sample company already loaded (as of {AS_OF})")
    else:
        summary = generate_sample_company(external_drafts_dir=drafts_dir)
        print(
            f"sample company loaded as of {AS_OF}: {summary.customers} customers, "
            f"{summary.contracts} contracts, {len(summary.seeded_faults)} seeded faults"
        )
    # A sample company loaded before it had users gets them now; existing users are kept.
    sample_users_create()
    sample_passwords_set()
    by = User.objects.get(username=DEMO_RUN_USER)
    print(f"billing run started by {DEMO_RUN_USER}")
    period = parse_period(PERIOD)
    with ProgressBar("billing run") as bar:
        result = billing_run_execute(
            period=period,
            progress=bar.update,
            by=by,
            started_from=BillingRun.StartedFrom.CLI,
        )
    documents = [doc for path in sorted(drafts_dir.glob("*")) for doc in read_drafts(path)]
    guard_results = check_documents(documents, as_of=AS_OF)
    report = run_report(result, guard_results)
    print(format_report(report))
    print()
    print(format_controls(controls_overview()))
    print()
    print(format_procurement(procurement_overview()))
    print()
    print(format_run(sample_scorecards_compute()))
    path = write_json(report, _report_path(period.label, result.billing_run_id))
    print(f"\nreport written to {path}")
    print(f"invoices written under {Path(settings.VAR_DIR) / 'invoices'}")
    print(
        "web pages: run `billguard serve`, open http://127.0.0.1:8000/ and sign in as a "
        f"sample user (such as {DEMO_RUN_USER}) with the password {SAMPLE_PASSWORD}"
    )
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    from billguard.billing.models import BillingRun
    from billguard.billing.report import format_report, run_report, write_json
    from billguard.billing.run import (
        DEFAULT_CHUNK_SIZE,
        billing_run_execute,
        run_mode_from_environment,
    )
    from billguard.domain.periods import parse_period

    period = parse_period(args.period, place="--period")
    # A dry run stores nothing, so it runs without a user unless one is given.
    by = acting_user(args) if not args.dry_run or args.user else None
    queue = args.queue or run_mode_from_environment() == BillingRun.Mode.QUEUE
    queue = queue and not args.dry_run
    with ProgressBar("billing run") as bar:
        result = billing_run_execute(
            period=period,
            contract_number=args.contract,
            dry_run=args.dry_run,
            chunk_size=args.chunk_size or DEFAULT_CHUNK_SIZE,
            progress=bar.update,
            queue=queue,
            queue_timeout=args.timeout,
            by=by,
            run_id=args.run_id,
            started_from=BillingRun.StartedFrom.CLI,
        )
    report = run_report(result)
    print(format_report(report))
    if not args.dry_run:
        path = write_json(report, _report_path(period.label, result.billing_run_id))
        print(f"\nreport written to {path}")
    if args.json:
        write_json(report, args.json)
    return EXIT_BLOCKED if result.held else EXIT_OK


def worker(args: argparse.Namespace) -> int:
    import os

    from celery.signals import worker_process_init
    from django.db import connections

    from billguard.celery_app import app, queue_name

    # The worker's child processes open their own connections.
    connections.close_all()
    worker_process_init.connect(_worker_logging, weak=False)
    app.worker_main(
        [
            "worker",
            f"--concurrency={args.concurrency}",
            "--loglevel=INFO",
            f"--queues={queue_name()}",
            f"--hostname=billguard-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )
    return EXIT_OK


def _worker_logging(**kwargs: object) -> None:
    """Send billguard's log records to Celery's handler in each worker child process.

    Celery starts Django again in the worker, which resets the billguard logger from the
    settings: its own handler would print each line a second time next to Celery's, and
    without BILLGUARD_LOG_LEVEL the chunk logs (INFO) would be dropped.
    """
    import logging
    import os

    billguard_logger = logging.getLogger("billguard")
    billguard_logger.handlers = []
    billguard_logger.propagate = True
    billguard_logger.setLevel(os.environ.get("BILLGUARD_LOG_LEVEL", "INFO"))


def check(args: argparse.Namespace) -> int:
    from billguard.billing.report import write_json
    from billguard.checks.guard import check_documents
    from billguard.domain.invoice import DocumentType
    from billguard.integrations.drafts import read_drafts

    documents = []
    for path in args.files:
        documents.extend(read_drafts(path))  # raises before anything is checked or printed
    as_of = args.as_of or timezone.localdate()
    results = check_documents(documents, as_of=as_of)
    blocked = False
    for result in results:
        doc = result.document
        label = doc.number or "(no number)"
        verdict = "BLOCKED" if result.blocked else "clean"
        kind = "credit note" if doc.document_type is DocumentType.CREDIT_NOTE else "invoice"
        contract = result.contract_number or "-"
        print(f"{doc.source}: {kind} {label}, contract {contract}: {verdict}")
        for finding in result.findings:
            stake = f" [{finding.amount_at_stake}]" if finding.amount_at_stake else ""
            severity = "observed" if finding.observed else finding.severity.value
            print(f"  {severity:<5} {finding.code}: {finding.message}{stake}")
            if finding.expected or finding.actual:
                print(f"        expected {finding.expected or '-'}, actual {finding.actual or '-'}")
        blocked = blocked or result.blocked
    if args.json:
        payload = [
            {
                "source": r.document.source,
                "number": r.document.number,
                "contract": r.contract_number,
                "blocked": r.blocked,
                "findings": [f.as_dict() for f in r.findings],
            }
            for r in results
        ]
        write_json({"results": payload}, args.json)
    return EXIT_BLOCKED if blocked else EXIT_OK


def exceptions_list(args: argparse.Namespace) -> int:
    from billguard.billing.exceptions import exceptions_open
    from billguard.domain.money import Money

    held = list(exceptions_open())
    procurement_held = _procurement_exceptions()
    if not held and not procurement_held:
        print("the exception queue is empty")
        return EXIT_OK
    if held:
        print(f"{'ID':>6}  {'contract':<12}{'period':<24}{'amount':>14}  blocking findings")
        for invoice in held:
            findings = invoice.findings.all()
            codes = sorted({f.code for f in findings if f.severity == "block" and not f.observed})
            period = f"{invoice.period_start} to {invoice.period_end}"
            amount = str(Money.of(invoice.payable, invoice.currency).rounded())
            contract = invoice.contract.number if invoice.contract else "-"
            print(f"{invoice.pk:>6}  {contract:<12}{period:<24}{amount:>14}  {', '.join(codes)}")
        print(f"\n{len(held)} held; resolve one with: billguard exceptions resolve ID --note TEXT")
    if procurement_held:
        if held:
            print()
        _print_procurement_exceptions(procurement_held)
    return EXIT_BLOCKED


def _procurement_exceptions() -> list[tuple[str, int, str, str, str, str]]:
    """Held vendor invoices and purchase orders: (kind, id, vendor, reference, amount, codes)."""
    from billguard.domain.money import Money
    from billguard.procurement.selectors import (
        blocking_codes,
        purchase_orders_held,
        vendor_invoices_held,
    )

    rows = []
    for invoice in vendor_invoices_held():
        rows.append(
            (
                "vendor invoice",
                invoice.pk,
                invoice.vendor.code,
                invoice.number,
                str(Money.of(invoice.gross_amount, invoice.currency).rounded()),
                ", ".join(blocking_codes(list(invoice.findings.all()))),
            )
        )
    for order in purchase_orders_held():
        total = Money.of(
            sum((line.quantity * line.unit_price for line in order.lines.all()), start=Decimal(0)),
            order.currency,
        ).rounded()
        rows.append(
            (
                "purchase order",
                order.pk,
                order.vendor.code,
                order.number,
                str(total),
                ", ".join(blocking_codes(list(order.findings.all()))),
            )
        )
    return rows


def _print_procurement_exceptions(rows: list[tuple[str, int, str, str, str, str]]) -> None:
    print("procurement")
    print(
        f"{'ID':>6}  {'record':<16}{'vendor':<14}{'reference':<20}{'amount':>18}  blocking findings"
    )
    for kind, pk, vendor, reference, amount, codes in rows:
        print(
            f"{pk:>6}  {kind:<16}{vendor[:13]:<14}{reference[:19]:<20}{amount:>18}  {codes or '-'}"
        )
    from billguard.cli.plurals import count_noun

    invoices = sum(1 for row in rows if row[0] == "vendor invoice")
    orders = len(rows) - invoices
    print(
        f"\n{count_noun(invoices, 'vendor invoice')} and "
        f"{count_noun(orders, 'purchase order')} held."
    )
    print("Decide an invoice with: billguard vendor-invoices approve ID --reason TEXT (or reject)")
    print(
        "Decide an order with: billguard purchase-orders approve-held NUMBER --reason TEXT "
        "(or reject), or fix its cause and run: billguard purchase-orders recheck NUMBER"
    )


def exceptions_resolve(args: argparse.Namespace) -> int:
    from billguard.billing.exceptions import exception_resolve
    from billguard.controls.services import audit_checkpoint

    resolution = exception_resolve(invoice_id=args.id, note=args.note, by=acting_user(args))
    audit_checkpoint()
    if resolution.issued:
        print(f"issued invoice {resolution.invoice.number}")
        return EXIT_OK
    print(
        f"still held as exception {resolution.invoice.pk}: "
        f"{', '.join(resolution.blocking_codes)}; fix these at the source and resolve again"
    )
    return EXIT_BLOCKED


def exceptions_override(args: argparse.Namespace) -> int:
    from billguard.controls.override import exception_override_request

    request = exception_override_request(
        invoice_id=args.id, by=acting_user(args), reason=args.reason
    )
    if request.status == request.Status.APPLIED:
        number = request.result.get("number", "") if isinstance(request.result, dict) else ""
        print(
            f"change request {request.pk} overrode held invoice {args.id} at once (observe "
            f"mode): issued {number}"
        )
        return EXIT_OK
    print(f"change request {request.pk} asks to override held invoice {args.id}")
    print(
        "a finance approver other than you must approve it with: "
        f"billguard approvals approve {request.pk}"
    )
    return EXIT_OK


def credit(args: argparse.Namespace) -> int:
    from billguard.billing.credit import credit_note_issue, invoice_by_number
    from billguard.controls.services import audit_checkpoint
    from billguard.domain.errors import InvalidInput
    from billguard.domain.money import Money

    by = acting_user(args)
    invoice = invoice_by_number(args.number)
    positions = [position for position, _ in args.line or []]
    repeated = sorted({p for p in positions if positions.count(p) > 1})
    if repeated:
        raise InvalidInput(
            f"line {', '.join(repeated)} is given more than once.",
            place="--line",
            fix="Give each line once with the total quantity to credit.",
        )
    quantities = dict(args.line) if args.line else None
    note = credit_note_issue(
        invoice=invoice,
        reason=args.reason,
        issue_date=args.date or timezone.localdate(),
        quantities=quantities,
        by=by,
    )
    audit_checkpoint()
    amount = Money.of(note.payable, note.currency).rounded()
    print(f"issued credit note {note.number} for invoice {invoice.number}: {amount}")
    return EXIT_OK


def audit_verify(args: argparse.Namespace) -> int:
    from billguard.controls.verify import audit_verify as verify

    result = verify()
    if result.intact:
        print(f"audit trail intact: {result.entries_checked} entries checked")
        return EXIT_OK
    print(
        f"audit trail tampered ({result.problem}), first entry in doubt "
        f"{result.first_bad_sequence}: {result.message}"
    )
    return EXIT_BLOCKED


def _report_path(label: str, run_id: int | None) -> Path:
    return Path(settings.VAR_DIR) / "reports" / f"billing-run-{label}-{run_id}.json"
