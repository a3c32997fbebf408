"""The ``billguard history`` subcommands: import QuickBooks Online and Xero exports, list them.

An import exits 0 when it wrote (or would write, in a dry run) or found nothing to change.
It exits 2 with every problem listed when a file has an invalid value, and then writes
nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billguard.cli.main import EXIT_OK, parse_date
from billguard.cli.plurals import count_noun
from billguard.cli.users import acting_user, add_user_option

if TYPE_CHECKING:
    from billguard.history.services import ImportOutcome, KindCounts, Unresolved

# How many unresolved documents are listed by name before the rest are only counted.
LISTED_UNRESOLVED = 20


def add_parsers(sub: Any) -> None:
    """Add ``history`` and its actions to the top-level subparsers."""
    parser = sub.add_parser(
        "history",
        help="import invoice, credit note and payment history from QuickBooks Online or Xero",
        description="Imported history is what another system invoiced; the leakage audit "
        "re-prices it against the contract terms. See docs/history.md for the layouts.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    importing = actions.add_parser(
        "import",
        help="import exported CSV or XLSX files, all or nothing",
        description="Read the files, validate every row, match each document to its "
        "customer, contract and contract lines, and write them all, or nothing when one value "
        "is wrong. Importing the same files again changes nothing.",
    )
    importing.add_argument("system", choices=("quickbooks", "xero"), help="the exporting system")
    importing.add_argument("--invoices", type=Path, metavar="FILE", help="the invoice file")
    importing.add_argument(
        "--credit-notes", type=Path, metavar="FILE", help="the credit note (credit memo) file"
    )
    importing.add_argument("--payments", type=Path, metavar="FILE", help="the payment file")
    importing.add_argument(
        "--dry-run",
        action="store_true",
        help="validate, resolve and report what would change; write nothing (needs no user)",
    )
    importing.add_argument(
        "--date-order",
        choices=("mdy", "dmy"),
        help="order of day and month in slash dates (default: mdy for quickbooks, dmy for "
        "xero); YYYY-MM-DD is always read",
    )
    importing.add_argument(
        "--currency",
        metavar="CODE",
        help="ISO 4217 currency of documents whose Currency cell is empty (the home currency)",
    )
    add_user_option(importing)
    importing.set_defaults(handler=history_import)

    listing = actions.add_parser("list", help="list the imported invoices and credit notes")
    listing.add_argument("--customer", metavar="CODE_OR_NAME", help="only this customer's")
    listing.add_argument(
        "--since", type=parse_date, metavar="DATE", help="only those dated on or after DATE"
    )
    listing.add_argument("--source", choices=("quickbooks", "xero"), help="only this system's")
    listing.set_defaults(handler=history_list)


def history_import(args: argparse.Namespace) -> int:
    from billguard.cli.progress import ProgressBar
    from billguard.controls.services import audit_checkpoint
    from billguard.history.services import history_import as run_import

    by = None if args.dry_run and not getattr(args, "user", "") else acting_user(args)
    with ProgressBar("importing", unit="lines") as bar:
        outcome = run_import(
            system=args.system,
            invoices=args.invoices,
            credit_notes=args.credit_notes,
            payments=args.payments,
            dry_run=args.dry_run,
            date_order=args.date_order,
            default_currency=args.currency,
            by=by,
            progress=lambda step, done, total: bar.update(done, total),
        )
    if outcome.changed and not args.dry_run:
        audit_checkpoint()
    _print_outcome(outcome)
    return EXIT_OK


def _print_outcome(outcome: ImportOutcome) -> None:
    for label, counts in (
        ("invoices", outcome.invoices),
        ("credit notes", outcome.credit_notes),
        ("payments", outcome.payments),
    ):
        if counts.read:
            print(_counts_line(label, counts))
    if outcome.credit_notes.read:
        print(f"credit notes linked to the invoice they credit: {outcome.credit_notes_linked}")
    if outcome.payments.read:
        print(f"payment allocations to invoices: {outcome.allocations}")
    _print_unresolved("customer not found", outcome.unresolved_customers)
    _print_unresolved("contract not found", outcome.unresolved_contracts)
    if outcome.lines_without_contract_line:
        print(
            f"lines matched to no contract line (line_code empty): "
            f"{outcome.lines_without_contract_line}"
        )
    if not outcome.changed:
        print("nothing changed: every document was imported before with the same content")
    elif outcome.dry_run:
        print("dry run: nothing was written")
    else:
        print(f"import {outcome.import_id} recorded")


def _counts_line(label: str, counts: KindCounts) -> str:
    lines = f" ({count_noun(counts.lines, 'line')})" if counts.lines else ""
    return (
        f"{label}: {counts.read} read{lines}; {counts.created} new, {counts.updated} changed, "
        f"{counts.unchanged} unchanged"
    )


def _print_unresolved(title: str, items: list[Unresolved]) -> None:
    if not items:
        return
    print(f"{title} ({len(items)}; the field stays empty):")
    for item in items[:LISTED_UNRESOLVED]:
        print(f"  {item.number} {item.customer}: {item.issue}")
    if len(items) > LISTED_UNRESOLVED:
        print(f"  and {len(items) - LISTED_UNRESOLVED} more")


def history_list(args: argparse.Namespace) -> int:
    from billguard.domain.money import money_text
    from billguard.history.selectors import imported_invoices_list

    invoices = imported_invoices_list(
        customer=args.customer or "", since=args.since, source=args.source or ""
    )
    count = 0
    for invoice in invoices.iterator():
        count += 1
        kind = "credit note" if invoice.document_type == "credit_note" else "invoice"
        party = invoice.party.code if invoice.party else "-"
        contract = invoice.contract.number if invoice.contract else "-"
        print(
            f"{invoice.issue_date} {invoice.source:10} {kind:11} {invoice.number:14} "
            f"{party:10} {contract:10} {money_text(invoice.total, invoice.currency):>16}  "
            f"{invoice.customer_name}"
        )
    if not count:
        print("no imported invoices")
    return EXIT_OK
