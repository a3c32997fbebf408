"""The ``billguard audit leakage`` subcommand: the imported history against the contract terms."""

from __future__ import annotations

import argparse
from typing import Any

from billguard.cli.main import EXIT_OK, output_file, parse_date


def top_count(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 0 or more")
    return int(text)


def add_parser(audit_actions: Any) -> None:
    """Add ``leakage`` to the actions of the ``audit`` subcommand."""
    leakage = audit_actions.add_parser(
        "leakage",
        help="re-price the imported invoice history against the contract terms in force",
        description="Re-price every imported invoice line against the contract version in "
        "force on its service date, and report under- and over-billing, missed billing "
        "periods, duplicates, invoices to the wrong bill-to entity and invoices that match "
        "no contract, with the money per customer, contract, finding code and currency. "
        "Then list the contracts without a signed SOW document or with an empty mandatory "
        "field, the most invoiced first. See docs/leakage-audit.md.",
    )
    leakage.add_argument(
        "--since",
        type=parse_date,
        metavar="DATE",
        help="audit only invoices issued on or after DATE (YYYY-MM-DD); missed billing "
        "periods are looked for from DATE on",
    )
    leakage.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="report format (default table)",
    )
    leakage.add_argument(
        "--output", type=output_file, metavar="FILE", help="write the report to FILE"
    )
    leakage.add_argument(
        "--top",
        type=top_count,
        default=20,
        metavar="N",
        help="rows of the customer, contract and remediation lists (default 20, 0 for all)",
    )
    leakage.add_argument(
        "--engine",
        choices=("auto", "postgresql", "duckdb"),
        default="auto",
        help="where the SQL runs: auto and duckdb copy the tables into DuckDB, postgresql "
        "runs it in the PostgreSQL database (default auto)",
    )
    leakage.set_defaults(handler=audit_leakage)


def audit_leakage(args: argparse.Namespace) -> int:
    from django.db import connection

    from billguard.domain.errors import InvalidInput
    from billguard.insights.leakage import leakage_audit
    from billguard.insights.leakage_output import render

    if args.engine == "postgresql" and connection.vendor != "postgresql":
        raise InvalidInput(
            "the postgresql engine needs a PostgreSQL database.",
            place="--engine",
            value=args.engine,
            fix="Use --engine auto on SQLite.",
        )
    report = leakage_audit(args.since, engine_name=args.engine)
    text = render(report, args.format, args.top or None)
    if args.output is None:
        print(text, end="")
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"leakage report written to {args.output}")
    return EXIT_OK
