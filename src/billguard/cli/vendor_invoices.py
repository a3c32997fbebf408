"""The ``billguard vendor-invoices`` subcommands: record, import, list and decide vendor invoices.

Recording and importing exit 1 when an invoice is held by a blocking finding, like the billing
run; bad input exits 2 and records nothing.
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billguard.cli.main import EXIT_BLOCKED, EXIT_OK, positive_int
from billguard.cli.plurals import count_noun
from billguard.cli.users import acting_user, add_user_option

if TYPE_CHECKING:
    from billguard.procurement.models import VendorInvoice
    from billguard.procurement.vendor_invoice_import import ImportOutcome

STATUSES = ("recorded", "matched", "held", "approved", "rejected")


def add_parsers(sub: Any) -> None:
    """Add ``vendor-invoices`` and its actions to the top-level subparsers."""
    parser = sub.add_parser(
        "vendor-invoices",
        help="record, import, check and decide vendor invoices",
        description="Vendor invoices are matched against our purchase orders and receipts. "
        "A matched invoice is payable; a held one waits for a finance approver's decision.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    record = actions.add_parser(
        "record",
        help="record one vendor invoice from a JSON file and check it",
        description="Read one invoice from a JSON object with the fields of the CSV layout "
        "(see docs/vendor-invoices.md) and a list of lines, record it and check it.",
    )
    record.add_argument("--file", required=True, type=Path, metavar="FILE", help="the JSON file")
    add_user_option(record)
    record.set_defaults(handler=vendor_invoices_record)

    importing = actions.add_parser(
        "import",
        help="import the vendor invoices of a CSV file or a UBL 2.1 invoice",
        description="Read the file (UBL 2.1 XML or the Billguard CSV layout, told apart by "
        "content), validate every invoice, then record and check them all, or nothing when "
        "one value is wrong. Importing the same file again records nothing new.",
    )
    importing.add_argument("file", type=Path, metavar="FILE")
    importing.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and check, report the statuses, and record nothing (needs no user)",
    )
    add_user_option(importing)
    importing.set_defaults(handler=vendor_invoices_import)

    listing = actions.add_parser("list", help="list vendor invoices with their status")
    listing.add_argument("--status", choices=STATUSES, help="only invoices in this status")
    listing.add_argument("--vendor", metavar="CODE", help="only this vendor's invoices")
    listing.set_defaults(handler=vendor_invoices_list)

    show = actions.add_parser("show", help="show an invoice, its lines and its findings")
    show.add_argument("id", type=positive_int, metavar="ID")
    show.set_defaults(handler=vendor_invoices_show)

    approve = actions.add_parser(
        "approve",
        help="approve a held invoice despite its findings (a finance approver other than the "
        "person who recorded it)",
    )
    approve.add_argument("id", type=positive_int, metavar="ID")
    approve.add_argument("--reason", required=True, help="why it may be paid despite findings")
    add_user_option(approve)
    approve.set_defaults(handler=vendor_invoices_approve)

    reject = actions.add_parser("reject", help="reject an invoice: it is not to be paid")
    reject.add_argument("id", type=positive_int, metavar="ID")
    reject.add_argument("--reason", required=True, help="why it is rejected")
    add_user_option(reject)
    reject.set_defaults(handler=vendor_invoices_reject)

    recheck = actions.add_parser(
        "recheck",
        help="check an invoice again after its cause was fixed (a receipt, a tolerance)",
    )
    target = recheck.add_mutually_exclusive_group(required=True)
    target.add_argument("id", type=positive_int, metavar="ID", nargs="?")
    target.add_argument("--held", action="store_true", help="check every held invoice again")
    add_user_option(recheck)
    recheck.set_defaults(handler=vendor_invoices_recheck)

    payable = actions.add_parser("payable", help="list the matched and approved invoices")
    payable.set_defaults(handler=vendor_invoices_payable)


def vendor_invoices_record(args: argparse.Namespace) -> int:
    from billguard.controls.services import audit_checkpoint
    from billguard.procurement.vendor_invoice_files import read_vendor_invoice_json
    from billguard.procurement.vendor_invoices import vendor_invoice_record

    by = acting_user(args)
    entry = read_vendor_invoice_json(_read(args.file), source=args.file.name)
    invoice = vendor_invoice_record(entry, by=by)
    audit_checkpoint()
    print(
        f"recorded vendor invoice {invoice.pk}: {invoice.number} of {invoice.vendor.code}, "
        f"{_amount(invoice)}, {invoice.get_status_display()}"
    )
    return _print_findings(invoice)


def vendor_invoices_import(args: argparse.Namespace) -> int:
    from billguard.controls.services import audit_checkpoint
    from billguard.procurement.vendor_invoice_import import vendor_invoices_import as run_import

    by = None if args.dry_run and not getattr(args, "user", "") else acting_user(args)
    outcome = run_import(
        content=_read(args.file), source=args.file.name, dry_run=args.dry_run, by=by
    )
    if not args.dry_run:
        audit_checkpoint()
    _print_import(outcome)
    return EXIT_BLOCKED if outcome.held else EXIT_OK


def vendor_invoices_list(args: argparse.Namespace) -> int:
    from billguard.procurement.scorecard_selectors import vendor_by_code
    from billguard.procurement.selectors import blocking_codes
    from billguard.procurement.selectors import vendor_invoices_list as listing

    if args.vendor:
        # An unknown code is a typing error, not a vendor without invoices.
        vendor_by_code(args.vendor, place="--vendor")
    invoices = list(listing(status=args.status or "", vendor=(args.vendor or "").strip()))
    if not invoices:
        print("no vendor invoices")
        return EXIT_OK
    print(
        f"{'ID':>6}  {'vendor':<14}{'number':<20}{'order':<14}{'issued':<12}"
        f"{'gross':>16}  {'status':<10}blocking findings"
    )
    for invoice in invoices:
        order = invoice.purchase_order.number if invoice.purchase_order else "-"
        codes = ", ".join(blocking_codes(list(invoice.findings.all()))) or "-"
        print(
            f"{invoice.pk:>6}  {invoice.vendor.code[:13]:<14}{invoice.number[:19]:<20}"
            f"{order[:13]:<14}{invoice.issue_date.isoformat():<12}"
            f"{_amount(invoice):>16}  {invoice.status:<10}{codes}"
        )
    print(f"\n{count_noun(len(invoices), 'vendor invoice')}")
    return EXIT_OK


def vendor_invoices_show(args: argparse.Namespace) -> int:
    from billguard.domain.errors import NotFound
    from billguard.procurement.selectors import vendor_invoices_list as listing

    invoice = listing().filter(pk=args.id).first()
    if invoice is None:
        raise NotFound(
            f"vendor invoice {args.id} was not found.",
            place="ID",
            value=args.id,
            fix="List the vendor invoices with `billguard vendor-invoices list`.",
        )
    order = invoice.purchase_order.number if invoice.purchase_order else "-"
    print(f"vendor invoice {invoice.pk}: {invoice.number} of {invoice.vendor.code}")
    print(f"  status          {invoice.get_status_display()}")
    print(f"  to              {invoice.seller_entity.code}")
    print(f"  purchase order  {order}")
    print(f"  issued          {invoice.issue_date}, due {invoice.due_date or '-'}")
    print(
        f"  amounts         net {_money(invoice.net_amount, invoice.currency)}, tax "
        f"{_money(invoice.tax_amount, invoice.currency)}, gross {_amount(invoice)}"
    )
    print(f"  payee account   {invoice.payee_iban or '-'}")
    source = f"{invoice.source} {invoice.source_file}".strip()
    if invoice.source_row:
        source += f", row {invoice.source_row}"
    print(f"  source          {source}, recorded by {invoice.recorded_by or '-'}")
    if invoice.decided_by:
        print(
            f"  decision        {invoice.status} by {invoice.decided_by}: {invoice.decision_note}"
        )
    print("lines")
    for line in invoice.lines.select_related("po_line").order_by("line_number"):
        order_line = f"order line {line.po_line.line_number}" if line.po_line else "no order line"
        print(
            f"  {line.line_number:>3}  {line.quantity.normalize():f} x "
            f"{_unit_price(line.unit_price)} = {_money(line.net_amount, invoice.currency)}  "
            f"{order_line}  {line.description}"
        )
    findings = sorted(invoice.findings.all(), key=lambda finding: (finding.code, finding.pk))
    print(f"findings: {len(findings) or 'none'}")
    for finding in findings:
        state = "observed" if finding.observed else finding.severity
        print(f"  {finding.code} ({state}): {finding.message}")
        print(f"    expected {finding.expected or '-'}; actual {finding.actual or '-'}")
    return EXIT_OK


def vendor_invoices_approve(args: argparse.Namespace) -> int:
    from billguard.controls.services import audit_checkpoint
    from billguard.procurement.vendor_invoices import vendor_invoice_approve

    invoice = vendor_invoice_approve(invoice_id=args.id, reason=args.reason, by=acting_user(args))
    audit_checkpoint()
    print(f"approved vendor invoice {invoice.pk} ({invoice.number}); it is payable")
    return EXIT_OK


def vendor_invoices_reject(args: argparse.Namespace) -> int:
    from billguard.controls.services import audit_checkpoint
    from billguard.procurement.vendor_invoices import vendor_invoice_reject

    invoice = vendor_invoice_reject(invoice_id=args.id, reason=args.reason, by=acting_user(args))
    audit_checkpoint()
    print(f"rejected vendor invoice {invoice.pk} ({invoice.number}); it will not be paid")
    return EXIT_OK


def vendor_invoices_recheck(args: argparse.Namespace) -> int:
    from billguard.controls.services import audit_checkpoint
    from billguard.procurement.vendor_invoices import (
        vendor_invoice_recheck,
        vendor_invoices_recheck_held,
    )

    if args.held:
        results = vendor_invoices_recheck_held(by=acting_user(args))
        audit_checkpoint()
        still_held = [result for result in results if result.held]
        for result in results:
            codes = ", ".join(result.blocking_codes) or "-"
            print(
                f"{result.invoice.pk:>6}  {result.invoice.number[:19]:<20}"
                f"{result.invoice.status:<9}{codes}"
            )
        print(
            f"{count_noun(len(results), 'held vendor invoice')} checked again: "
            f"{len(results) - len(still_held)} matched, {len(still_held)} still held"
        )
        return EXIT_BLOCKED if still_held else EXIT_OK
    result = vendor_invoice_recheck(invoice_id=args.id, by=acting_user(args))
    audit_checkpoint()
    print(f"vendor invoice {result.invoice.pk} is {result.invoice.get_status_display()}")
    return _print_findings(result.invoice)


def vendor_invoices_payable(args: argparse.Namespace) -> int:
    from billguard.procurement.selectors import vendor_invoices_payable as payable

    invoices = list(payable())
    if not invoices:
        print("no payable vendor invoices")
        return EXIT_OK
    print(f"{'ID':>6}  {'vendor':<14}{'number':<20}{'due':<12}{'gross':>16}  {'status':<10}IBAN")
    totals: dict[str, Decimal] = {}
    for invoice in invoices:
        due = invoice.due_date.isoformat() if invoice.due_date else "-"
        print(
            f"{invoice.pk:>6}  {invoice.vendor.code[:13]:<14}{invoice.number[:19]:<20}{due:<12}"
            f"{_amount(invoice):>16}  {invoice.status:<10}{invoice.payee_iban or 'approved'}"
        )
        totals[invoice.currency] = totals.get(invoice.currency, Decimal(0)) + invoice.gross_amount
    summary = ", ".join(_money(amount, currency) for currency, amount in sorted(totals.items()))
    print(f"\n{count_noun(len(invoices), 'payable vendor invoice')}: {summary}")
    return EXIT_OK


def _print_findings(invoice: VendorInvoice) -> int:
    findings = sorted(invoice.findings.all(), key=lambda finding: (finding.code, finding.pk))
    for finding in findings:
        state = "observed" if finding.observed else finding.severity
        print(f"  {finding.code} ({state}): {finding.message}")
    if invoice.status == invoice.Status.HELD:
        print(
            f"held; decide it with `billguard vendor-invoices approve {invoice.pk} --reason "
            f"TEXT` or `reject`, or fix the cause and `recheck {invoice.pk}`"
        )
        return EXIT_BLOCKED
    return EXIT_OK


def _print_import(outcome: ImportOutcome) -> None:
    prefix = "dry run, nothing recorded: " if outcome.dry_run else ""
    if outcome.already_imported:
        print(
            f"{outcome.source} was imported before (SHA-256 {outcome.sha256[:12]}): "
            f"nothing new recorded, {count_noun(len(outcome.skipped), 'invoice')} already there"
        )
        return
    for item in outcome.recorded:
        ident = f"{item.invoice_id:>6}" if item.invoice_id is not None else f"{'-':>6}"
        codes = ", ".join(item.blocking_codes) or "-"
        print(
            f"{ident}  {item.vendor[:13]:<14}{item.number[:19]:<20}"
            f"{_money(Decimal(item.gross_amount), item.currency):>18}  {item.status:<9}{codes}"
        )
    held = len(outcome.held)
    print(
        f"{prefix}{count_noun(len(outcome.recorded), 'vendor invoice')} from {outcome.source} "
        f"({outcome.file_format.upper()}): {len(outcome.recorded) - held} matched, {held} held"
        + (f", {len(outcome.skipped)} already imported" if outcome.skipped else "")
    )


def _amount(invoice: VendorInvoice) -> str:
    return _money(invoice.gross_amount, invoice.currency)


def _money(amount: Decimal, currency: str) -> str:
    """Return the amount rounded to the currency's minor unit, with its code: 1904.00 EUR."""
    from billguard.domain.money import Money, money_text

    return money_text(Money.of(amount, currency).rounded().amount, currency)


def _unit_price(price: Decimal) -> str:
    """Return a unit price with at least two decimals and no trailing zeros beyond: 120.00,
    0.0125."""
    exponent = price.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{price:.{places}f}"


def _read(path: Path) -> bytes:
    from billguard.einvoice.errors import UnreadableDocument

    try:
        return path.read_bytes()
    except OSError as error:
        raise UnreadableDocument(
            f"the file could not be read: {error.strerror}.",
            place=str(path),
            value=str(path),
            fix="Check the path and that the file is readable.",
        ) from error
