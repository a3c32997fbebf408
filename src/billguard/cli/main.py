"""The ``billguard`` command.

Exit status: 0 when nothing blocks, and 1 when a blocking finding remains (a held draft, a
blocked external draft). Bad input exits with 2 and writes nothing: an unknown period format
or contract, an unreadable file, an unwritable output file, a missing database, a missing or
unknown ``--user`` on a command that writes, or a user whose roles do not allow the change.
It is 3 when a billing run stopped before it finished (a chunk failed, or queue workers did
not finish in time), and running the same period again completes it. ``billguard demo``
exits 0 when the demonstration ran, held drafts included.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path

EXIT_OK = 0
EXIT_BLOCKED = 1
EXIT_BAD_INPUT = 2
EXIT_RUN_INCOMPLETE = 3

logger = logging.getLogger("billguard.cli")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billguard.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except (ValueError, ImproperlyConfigured) as error:
        print(
            f"error: BILLGUARD_DATABASE_URL={os.environ.get('BILLGUARD_DATABASE_URL', '')!r} "
            f"is not usable: {error}. Use sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/NAME.",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    from billguard.billing.chunks import RunIncomplete
    from billguard.domain.errors import BillguardError

    try:
        if args.command not in ("demo", "migrate"):
            require_database()
        result: int = args.handler(args)
        return result
    except BrokenPipeError:
        # The reader of our output went away (`billguard exceptions | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BLOCKED
    except RunIncomplete as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_RUN_INCOMPLETE
    except BillguardError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


def build_parser() -> argparse.ArgumentParser:
    import billguard.cli.commands as commands
    import billguard.cli.contracts as contracts
    from billguard.cli.approvals import add_approvals_parser
    from billguard.cli.parties import add_parties_parser
    from billguard.cli.policy import add_policy_parser
    from billguard.cli.users import add_user_option, add_users_parser

    parser = argparse.ArgumentParser(
        prog="billguard",
        description="Check every invoice against the signed contract terms before it goes out.",
    )
    add_user_option(parser, top_level=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="build the sample company (once) and run its billing run",
        description="Create the database, load the sample company if it is not there yet, run "
        "the billing run of its period and print the gate report.",
    )
    demo.set_defaults(handler=commands.demo)

    migrate = sub.add_parser("migrate", help="create or upgrade the database tables")
    migrate.set_defaults(handler=commands.migrate)

    run = sub.add_parser(
        "run",
        help="draft, check and issue one period's invoices",
        description="Draft the period from billing schedules (fixed fees in advance), usage "
        "records and timesheets (in arrears) and accepted milestones; run every check; hold "
        "drafts with a blocking finding and issue the others.",
    )
    run.add_argument("--period", required=True, help="2026-11, 2026-Q4 or 2026")
    run.add_argument("--contract", metavar="NUMBER", help="bill only this contract")
    run.add_argument("--dry-run", action="store_true", help="draft and check; store nothing")
    run.add_argument(
        "--run-id",
        type=positive_int,
        metavar="ID",
        help="carry out the billing run ID that the web application recorded and left to "
        "this command; its period, --dry-run and --queue must be the ones it was recorded "
        "with, and a dry run then stores its report in that run",
    )
    run.add_argument(
        "--json", type=output_file, metavar="FILE", help="also write the report as JSON"
    )
    run.add_argument(
        "--queue",
        action="store_true",
        help="run the chunks on `billguard worker` processes and wait for them "
        "(default: in this process, or as BILLGUARD_RUN_MODE=queue sets); needs PostgreSQL "
        "and Redis; a dry run always runs in this process",
    )
    run.add_argument(
        "--chunk-size",
        type=positive_int,
        default=None,
        metavar="N",
        help="contracts per chunk, each chunk one transaction (default 200); a customer's "
        "contracts stay in one chunk",
    )
    run.add_argument(
        "--timeout",
        type=positive_int,
        metavar="SECONDS",
        help="in queue mode, stop waiting when no chunk has finished for this many seconds "
        "(default: BILLGUARD_BROKER_VISIBILITY_TIMEOUT plus 600)",
    )
    add_user_option(run)
    run.set_defaults(handler=commands.run)

    worker = sub.add_parser(
        "worker",
        help="run queued billing-run chunks until stopped",
        description="Start a Celery worker that takes billing-run chunks from the queue "
        "BILLGUARD_QUEUE (default billguard) on the broker BILLGUARD_BROKER_URL (default "
        "redis://127.0.0.1:6379/0). Stop it with Ctrl-C or SIGTERM; it finishes its chunk "
        "first.",
    )
    worker.add_argument(
        "--concurrency",
        type=positive_int,
        default=1,
        metavar="N",
        help="chunks this worker runs at once, each in its own child process (default 1)",
    )
    worker.set_defaults(handler=commands.worker)

    check = sub.add_parser(
        "check",
        help="check invoices drafted by other systems (UBL, CSV, JSON)",
        description="Read draft invoices, find their contracts and run every check. "
        "Nothing is stored.",
    )
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    check.add_argument(
        "--as-of", type=parse_date, help="date the checks take as today (default: today)"
    )
    check.add_argument(
        "--json", type=output_file, metavar="FILE", help="also write findings as JSON"
    )
    check.set_defaults(handler=commands.check)

    exceptions = sub.add_parser(
        "exceptions",
        help="list the exception queue (held drafts, vendor invoices, purchase orders) or "
        "resolve held drafts",
    )
    exceptions.set_defaults(handler=commands.exceptions_list)
    exc_sub = exceptions.add_subparsers(dest="action", metavar="ACTION")
    exc_list = exc_sub.add_parser(
        "list",
        help="list the held drafts, and the held vendor invoices and purchase orders "
        "(the default action)",
    )
    exc_list.set_defaults(handler=commands.exceptions_list)
    resolve = exc_sub.add_parser(
        "resolve", help="draft a held invoice again from its fixed source and issue it if clean"
    )
    resolve.add_argument("id", type=int, metavar="ID")
    resolve.add_argument("--note", required=True, help="what was fixed at the source")
    add_user_option(resolve)
    resolve.set_defaults(handler=commands.exceptions_resolve)
    override = exc_sub.add_parser(
        "override",
        help="request to issue a held invoice despite its blocking findings",
        description="Make a change request to override the held invoice. A finance approver "
        "other than you approves it with `billguard approvals approve ID`, which issues the "
        "invoice with the reason stored on it.",
    )
    override.add_argument("id", type=int, metavar="ID", help="the held invoice (exception) id")
    override.add_argument(
        "--reason", required=True, help="why the invoice may go out despite its findings"
    )
    add_user_option(override)
    override.set_defaults(handler=commands.exceptions_override)

    credit = sub.add_parser("credit", help="issue a credit note for an issued invoice")
    credit.add_argument("number", metavar="INVOICE_NUMBER")
    credit.add_argument("--reason", required=True, help="why the invoice is corrected")
    credit.add_argument(
        "--line",
        action="append",
        type=parse_line_quantity,
        metavar="POSITION=QUANTITY",
        help="credit only this quantity of a line (repeatable); omit for a full credit",
    )
    credit.add_argument(
        "--date", type=parse_date, help="issue date of the credit note (default: today)"
    )
    add_user_option(credit)
    credit.set_defaults(handler=commands.credit)

    audit = sub.add_parser("audit", help="check the audit trail and the imported invoice history")
    audit_sub = audit.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = audit_sub.add_parser(
        "verify",
        help="check that no audit entry was edited, deleted, inserted or reordered",
        description="Recompute every entry's HMAC in sequence order with the audit key "
        "(BILLGUARD_AUDIT_KEY or var/audit.key), then compare the chain with the checkpoints "
        "in var/audit/<database>/checkpoints.log. Exits 0 when the trail is intact, 1 when it was "
        "tampered with.",
    )
    verify.set_defaults(handler=commands.audit_verify)
    import billguard.cli.leakage as leakage_commands

    leakage_commands.add_parser(audit_sub)

    add_policy_parser(sub)
    contracts.add_parsers(sub)
    add_users_parser(sub)
    add_approvals_parser(sub)
    add_parties_parser(sub)
    import billguard.cli.alerts as alerts_commands
    import billguard.cli.amendments as amendments_commands
    import billguard.cli.api as api_commands
    import billguard.cli.cost_links as cost_links_commands
    import billguard.cli.delivery as delivery_commands
    import billguard.cli.documents as documents_commands
    import billguard.cli.exports as exports_commands
    import billguard.cli.history as history_commands
    import billguard.cli.imports as imports_commands
    import billguard.cli.kpis as kpis_commands
    import billguard.cli.purchase_orders as purchase_orders_commands
    import billguard.cli.receivables as receivables_commands
    import billguard.cli.scorecards as scorecards_commands
    import billguard.cli.vendor_invoices as vendor_invoice_commands
    import billguard.cli.vendors as vendors_commands

    documents_commands.add_parsers(sub)
    amendments_commands.add_parsers(sub)
    alerts_commands.add_parsers(sub)
    purchase_orders_commands.add_parsers(sub)
    vendor_invoice_commands.add_parsers(sub)
    scorecards_commands.add_parsers(sub)
    vendors_commands.add_parsers(sub)
    cost_links_commands.add_parsers(sub)
    receivables_commands.add_parsers(sub)
    api_commands.add_parsers(sub)
    exports_commands.add_parsers(sub)
    imports_commands.add_parsers(sub)
    history_commands.add_parsers(sub)
    delivery_commands.add_parsers(sub)
    kpis_commands.add_parsers(sub)
    return parser


def require_database() -> None:
    """Fail with exit status 2 and a hint when the database is missing or unreachable."""
    from django.db import connection
    from django.db.utils import OperationalError

    from billguard.domain.errors import BillguardError

    settings = connection.settings_dict
    name = str(settings["NAME"])
    in_memory = name == ":memory:" or "mode=memory" in name
    if connection.vendor == "sqlite" and not in_memory and not Path(name).exists():
        raise BillguardError(
            f"the database {settings['NAME']} does not exist.",
            code="DATABASE_MISSING",
            fix="Create it with `billguard migrate` (or `make demo` for the sample company), "
            "or point BILLGUARD_DATABASE_URL at an existing one.",
        )
    try:
        connection.ensure_connection()
        tables = connection.introspection.table_names()
    except OperationalError as error:
        raise BillguardError(
            f"cannot connect to the database {settings.get('NAME')!r}: {error}".strip(),
            code="DATABASE_UNREACHABLE",
            fix="Check BILLGUARD_DATABASE_URL and that the server is running.",
        ) from None
    if "billing_invoice" not in tables:
        raise BillguardError(
            f"the database {settings.get('NAME')!r} has no Billguard tables.",
            code="DATABASE_MISSING",
            fix="Create them with `billguard migrate`.",
        )


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; write it as YYYY-MM-DD, such as 2026-11-30"
        ) from None


def positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def parse_line_quantity(text: str) -> tuple[str, Decimal]:
    position, _, quantity = text.partition("=")
    try:
        value = Decimal(quantity)
    except InvalidOperation:
        value = Decimal("NaN")
    if not position.strip().isdigit() or not value.is_finite():
        raise argparse.ArgumentTypeError(
            f"{text!r} is not POSITION=QUANTITY; write it as 2=1.5 (line 2, quantity 1.5)"
        )
    if value <= 0:
        raise argparse.ArgumentTypeError(
            f"the quantity in {text!r} must be more than zero; omit a line not to credit it"
        )
    return position.strip(), value


def output_file(text: str) -> Path:
    """Check an output file option before anything runs, so a bad path writes nothing."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; give a file name inside it")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(
            f"the folder {str(folder)!r} of {text!r} does not exist; create it first"
        )
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(f"{text!r} is not writable")
    return path


if __name__ == "__main__":
    sys.exit(main())
