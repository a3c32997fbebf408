"""``billguard export`` (journals, UBL, findings, mappings) and ``accounting-mappings``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from billguard.cli.main import EXIT_BAD_INPUT, EXIT_OK, output_file, positive_int
from billguard.cli.users import acting_user, add_user_option

SYSTEMS = ("quickbooks", "xero")


def add_parsers(sub: Any) -> None:
    """Add the ``export`` and ``accounting-mappings`` commands to the subparsers ``sub``."""
    _add_export_parser(sub)
    _add_mappings_parser(sub)


def _add_export_parser(sub: Any) -> None:
    export = sub.add_parser(
        "export",
        help="write journals, UBL files, findings or mappings for accounting",
        description="Write files for the accounting system. Each file is written to a "
        "temporary file and renamed into place, so a failed export leaves no partial file.",
    )
    kinds = export.add_subparsers(dest="kind", metavar="KIND", required=True)

    journal = kinds.add_parser(
        "journal",
        help="the journals of the invoices and credit notes issued in a period",
        description="One journal per issued invoice or credit note of the period (by issue "
        "date): the receivable is debited with the payable amount, revenue is credited per "
        "GL account and tax per VAT breakdown line; a credit note is reversed. Every GL "
        "account and tax treatment needs a mapping for the chosen system "
        "(`billguard accounting-mappings`); the export fails, writing nothing, while one is "
        "missing.",
    )
    journal.add_argument("--format", required=True, choices=SYSTEMS, help="import layout")
    journal.add_argument("--period", required=True, help="2026-11, 2026-Q4 or 2026")
    journal.add_argument("--seller", metavar="CODE", help="only this seller entity")
    journal.add_argument("-o", "--output", required=True, type=output_file, metavar="FILE")
    journal.add_argument(
        "--max-lines",
        type=positive_int,
        metavar="N",
        help="write several files of at most N lines each, never splitting a journal, named "
        "FILE-1.csv, FILE-2.csv and so on (Xero imports up to 300 lines per file)",
    )
    journal.set_defaults(handler=export_journal)

    ubl = kinds.add_parser(
        "ubl",
        help="UBL 2.1 files of the invoices and credit notes issued in a period",
        description="Write each invoice and credit note issued in the period as UBL 2.1 XML, "
        "validated against the UBL schema and the EN 16931 rules, into the folder "
        "DIR_OR_ZIP/<seller>/<number>.xml, or into a ZIP file when the name ends in .zip.",
    )
    ubl.add_argument("--period", required=True, help="2026-11, 2026-Q4 or 2026")
    ubl.add_argument("--seller", metavar="CODE", help="only this seller entity")
    ubl.add_argument("-o", "--output", required=True, type=_ubl_target, metavar="DIR_OR_ZIP")
    ubl.set_defaults(handler=export_ubl)

    findings = kinds.add_parser(
        "findings",
        help="the stored findings of the checks as CSV",
        description="One row per finding stored by the billing runs: invoice, contract, "
        "customer, check code, severity, message, expected and actual values and the money "
        "at stake.",
    )
    findings.add_argument(
        "--period", help="only findings of the billing runs of this period (2026-11, 2026-Q4)"
    )
    findings.add_argument("--code", metavar="CODE", help="only this check code")
    findings.add_argument(
        "--status",
        choices=("held", "issued", "all"),
        default="all",
        help="only findings on held or on issued invoices (default all)",
    )
    findings.add_argument("-o", "--output", required=True, type=output_file, metavar="FILE")
    findings.set_defaults(handler=export_findings)

    mappings = kinds.add_parser(
        "mappings",
        help="the accounting mappings as CSV (the layout `accounting-mappings import` reads)",
    )
    mappings.add_argument("--system", choices=SYSTEMS, help="only this accounting system")
    mappings.add_argument("-o", "--output", required=True, type=output_file, metavar="FILE")
    mappings.set_defaults(handler=export_mappings)


def _add_mappings_parser(sub: Any) -> None:
    mappings = sub.add_parser(
        "accounting-mappings",
        help="name GL accounts and tax treatments as QuickBooks Online or Xero knows them",
        description="A GL account maps to a QuickBooks Online account name or a Xero account "
        "code. A tax treatment (S:19 for a VAT category and rate, O for a category without "
        "a rate, US-TX for a US sales tax jurisdiction, none for untaxed journal lines) maps "
        "to a QuickBooks Online tax code or a Xero tax rate name. Changing them needs a role "
        "that manages the chart of accounts; each change leaves an audit entry.",
    )
    actions = mappings.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="set one mapping (replaces the current one)")
    add.add_argument("kind", choices=("account", "tax"))
    add.add_argument("key", metavar="KEY", help="GL account code, or tax treatment")
    add.add_argument("--system", required=True, choices=SYSTEMS)
    add.add_argument(
        "--target",
        required=True,
        help="account name (QuickBooks Online), account code (Xero), tax code or tax rate name",
    )
    add_user_option(add)
    add.set_defaults(handler=mappings_add)

    listing = actions.add_parser("list", help="list the mappings")
    listing.add_argument("--system", choices=SYSTEMS, help="only this accounting system")
    listing.add_argument("--kind", choices=("account", "tax"), help="only this kind")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=mappings_list_command)

    imported = actions.add_parser(
        "import",
        help="set the mappings of a CSV file (columns kind, key, system, target)",
        description="All rows or none: every row is checked before the first is stored. "
        "Importing the same file again changes nothing.",
    )
    imported.add_argument("file", type=Path, metavar="FILE")
    imported.add_argument("--dry-run", action="store_true", help="check and count; store nothing")
    add_user_option(imported)
    imported.set_defaults(handler=mappings_import_command)


def export_journal(args: argparse.Namespace) -> int:
    from billguard.domain.periods import parse_period
    from billguard.exports.journals import (
        XERO_MAX_ROWS,
        build_journals,
        quickbooks_csv,
        require_mappings,
        split_journals,
        xero_csv,
    )
    from billguard.exports.selection import issued_in_period, write_atomically

    period = parse_period(args.period, place="--period")
    journals = build_journals(issued_in_period(period, args.seller))
    require_mappings(journals, args.format)
    render = quickbooks_csv if args.format == "quickbooks" else xero_csv
    if args.max_lines is None:
        files = [(args.output, journals)]
    else:
        parts = split_journals(journals, args.max_lines)
        output = args.output
        files = [
            (output.with_name(f"{output.stem}-{n}{output.suffix}"), part)
            for n, part in enumerate(parts, start=1)
        ]
    for path, part in files:
        write_atomically(path, render(part).encode())

    totals: dict[str, Decimal] = defaultdict(Decimal)
    for journal in journals:
        totals[journal.currency] += journal.total()
    amounts = ", ".join(f"{totals[c]} {c}" for c in sorted(totals)) or "nothing"
    for path, part in files:
        rows = sum(len(journal.lines) for journal in part)
        print(f"wrote {len(part)} journal(s), {rows} line(s), for {period.label} to {path}")
    print(f"debits and credits: {amounts}")
    if not journals:
        print(f"no invoice or credit note was issued in {period.label}")
    if args.format == "xero":
        if len(totals) > 1:
            print(
                "warning: the file mixes currencies, but Xero's manual journal template has no "
                "currency column; export each seller entity with --seller",
                file=sys.stderr,
            )
        largest = max(sum(len(j.lines) for j in part) for _, part in files)
        if largest > XERO_MAX_ROWS:
            print(
                f"warning: Xero imports at most {XERO_MAX_ROWS} lines per file and a file has "
                f"{largest}; export with --max-lines {XERO_MAX_ROWS} to split it",
                file=sys.stderr,
            )
    return EXIT_OK


def export_ubl(args: argparse.Namespace) -> int:
    from billguard.domain.periods import parse_period
    from billguard.exports.selection import issued_in_period
    from billguard.exports.ubl import ubl_export_build, ubl_export_write

    period = parse_period(args.period, place="--period")
    export = ubl_export_build(issued_in_period(period, args.seller))
    ubl_export_write(export, args.output)
    print(
        f"wrote {export.invoices} invoice(s) and {export.credit_notes} credit note(s) issued "
        f"in {period.label} to {args.output}, each valid against EN 16931"
    )
    for skipped in export.skipped:
        print(f"warning: no UBL for {skipped}", file=sys.stderr)
    return EXIT_OK


def export_findings(args: argparse.Namespace) -> int:
    from billguard.domain.periods import parse_period
    from billguard.exports.findings import findings_csv, findings_select
    from billguard.exports.selection import write_atomically

    period = parse_period(args.period, place="--period") if args.period else None
    content, rows = findings_csv(findings_select(period=period, code=args.code, status=args.status))
    write_atomically(args.output, content.encode())
    print(f"wrote {rows} finding(s) to {args.output}")
    return EXIT_OK


def export_mappings(args: argparse.Namespace) -> int:
    from billguard.exports.mappings import mappings_csv, mappings_list
    from billguard.exports.selection import write_atomically

    rows = mappings_list(system=args.system)
    write_atomically(args.output, mappings_csv(rows).encode())
    print(f"wrote {len(rows)} mapping(s) to {args.output}")
    return EXIT_OK


def mappings_add(args: argparse.Namespace) -> int:
    from billguard.exports.mappings import mapping_set

    user = acting_user(args)
    row, changed = mapping_set(
        kind=args.kind, key=args.key, system=args.system, target=args.target, by=user
    )
    state = "set" if changed else "unchanged"
    print(f"{row.system} {row.kind} {row.key} -> {row.target} ({state})")
    return EXIT_OK


def mappings_list_command(args: argparse.Namespace) -> int:
    from billguard.exports.mappings import mappings_list
    from billguard.exports.treatments import describe_treatment

    rows = mappings_list(system=args.system, kind=args.kind)
    if args.json:
        print(json.dumps([row.__dict__ for row in rows], indent=2))
        return EXIT_OK
    if not rows:
        print("no accounting mappings")
        return EXIT_OK
    print(f"{'system':<12}{'kind':<9}{'key':<10}{'target':<36}meaning")
    for row in rows:
        meaning = describe_treatment(row.key) if row.kind == "tax" else "GL account"
        print(f"{row.system:<12}{row.kind:<9}{row.key:<10}{row.target:<36}{meaning}")
    return EXIT_OK


def mappings_import_command(args: argparse.Namespace) -> int:
    from billguard.exports.mappings import mappings_import

    try:
        content = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        print(f"error: {args.file}: cannot read the file: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    user = acting_user(args)
    result = mappings_import(content=content, source=str(args.file), dry_run=args.dry_run, by=user)
    prefix = "dry run, nothing stored: " if result.dry_run else ""
    print(
        f"{prefix}{result.rows} row(s) read: {result.created} created, {result.changed} "
        f"changed, {result.unchanged} unchanged"
    )
    return EXIT_OK


def _ubl_target(text: str) -> Path:
    """Check a folder or ZIP target before anything runs, so a bad path writes nothing."""
    path = Path(text)
    if path.suffix.lower() == ".zip":
        return output_file(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text!r} is a file; give a folder, or a name ending in .zip"
        )
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"the folder {str(parent)!r} of {text!r} does not exist; create it first"
        )
    if not os.access(path if path.exists() else parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"{text!r} is not writable")
    return path
