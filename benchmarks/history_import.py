"""Time the import of a generated QuickBooks Online invoice export (docs/benchmarks.md).

The database is dropped and created, migrated and filled with the benchmark book
(benchmarks.book: customers such as "Zeltorvoba Maschinenbau GmbH", contracts B-0000001, ...). The
export has one invoice per contract and month, with a Service Date, and bills each contract
line at its contract price. Nine invoices in ten name their contract in the Memo. The tenth
is resolved by date, which finds the customer's five contracts, as real exports often do.
The import is timed, then the same file is imported again (nothing changes) and timed too.

    python -m benchmarks.history_import --backend postgresql --lines 1000000
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.book import BookSize, contract_lines, contract_number, customer_name, customer_of
from benchmarks.database import configure_django, recreate_database

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES_URL = "postgresql://root@127.0.0.1:5432/billguard_history"
LINES_PER_CONTRACT = 5
HEADER = (
    "*InvoiceNo", "*Customer", "*InvoiceDate", "*DueDate", "Terms", "Location", "Memo",
    "Item(Product/Service)", "ItemDescription", "ItemQuantity", "ItemRate", "*ItemAmount",
    "*ItemTaxCode", "ItemTaxAmount", "Currency", "Service Date",
)  # fmt: skip
# Contracts of the book are in force from 2026-01-01; the export covers months from there.
FIRST_MONTH = dt.date(2026, 1, 1)
MAX_MONTHS = 12
TAX_RATE = Decimal("0.19")
CENT = Decimal("0.01")


def export_rows(lines: int) -> Iterator[tuple[str, ...]]:
    """Yield ``lines`` invoice lines: one invoice per contract and month, 5 lines each."""
    contracts = _contracts_for(lines)
    size = BookSize(contracts=contracts, lines_per_contract=LINES_PER_CONTRACT)
    written = 0
    invoice = 0
    for month in range(MAX_MONTHS):
        first = _add_months(FIRST_MONTH, month)
        for j in range(1, contracts + 1):
            invoice += 1
            number = contract_number(j)
            customer = customer_name(customer_of(j))
            memo = f"Contract {number}, {first:%B %Y}" if j % 10 else f"{first:%B %Y} services"
            issued = first.strftime("%m/%d/%Y")
            due = (first + dt.timedelta(days=30)).strftime("%m/%d/%Y")
            for spec in contract_lines(j, size):
                quantity = spec.quantity or Decimal(1 + (j * 7 + month) % 40)
                amount = (quantity * spec.unit_price).quantize(CENT)
                tax = (amount * TAX_RATE).quantize(CENT)
                yield (
                    f"INV-{invoice:07d}", customer, issued, due, "Net 30", "", memo,
                    spec.code, spec.description, str(quantity), str(spec.unit_price),
                    str(amount), "19% VAT", str(tax), "EUR", issued,
                )  # fmt: skip
                written += 1
                if written == lines:
                    return


def export_write(path: Path, lines: int) -> None:
    """Write the export as CSV, or as XLSX (openpyxl, write-only) when ``path`` ends in .xlsx."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("Invoices")
        sheet.append(HEADER)
        for row in export_rows(lines):
            sheet.append(row)
        book.save(path)
        return
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(export_rows(lines))


def main() -> None:
    args = _arguments()
    var_dir = (REPOSITORY / "var" / "bench" / f"history-{args.backend}").resolve()
    url = args.database_url or (
        DEFAULT_POSTGRES_URL
        if args.backend == "postgresql"
        else f"sqlite:///{var_dir / 'bench.sqlite3'}"
    )
    recreate_database(url)
    configure_django(url, var_dir)
    from benchmarks.__main__ import write_book
    from benchmarks.machine import describe_machine

    contracts = _contracts_for(args.lines)
    write_book(BookSize(contracts=contracts, lines_per_contract=LINES_PER_CONTRACT))
    path = var_dir / f"invoices-{args.lines}.{args.format}"
    started = time.perf_counter()
    export_write(path, args.lines)
    print(
        f"export of {args.lines} lines written to {path} in {time.perf_counter() - started:.1f} s"
    )

    user = _importing_user()
    results: dict[str, Any] = {
        "command": " ".join(["python", "-m", "benchmarks.history_import", *sys.argv[1:]]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "backend": args.backend,
        "format": args.format,
        "lines": args.lines,
        "contracts": contracts,
        "machine": describe_machine(),
    }
    for attempt in ("first", "second"):
        profile = cProfile.Profile() if args.profile and attempt == "first" else None
        seconds, outcome = _timed_import(path, user, profile)
        if profile is not None:
            profile.dump_stats(args.profile)
        results[attempt] = {
            "seconds": round(seconds, 2),
            "rows_per_second": round(args.lines / seconds),
            "process_cpu_seconds": round(outcome.cpu_seconds, 2),
            "database_backend_cpu_seconds": round(outcome.backend_cpu_seconds, 2),
            "load_average_1min_after": round(outcome.load_average, 2),
            "invoices_created": outcome.invoices.created,
            "invoices_unchanged": outcome.invoices.unchanged,
            "unresolved_contracts": len(outcome.unresolved_contracts),
            "lines_without_contract_line": outcome.lines_without_contract_line,
        }
        print(f"{attempt} import: {json.dumps(results[attempt])}")
    output = args.results or var_dir / f"results-{args.format}.json"
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {output}")


def _timed_import(path: Path, user: Any, profile: cProfile.Profile | None) -> tuple[float, Any]:
    from billguard.history.services import history_import

    backend_started = _backend_cpu_seconds()
    started = time.perf_counter()
    cpu_started = time.process_time()
    if profile is not None:
        profile.enable()
    outcome = history_import(system="quickbooks", invoices=path, by=user)
    if profile is not None:
        profile.disable()
    # The CPU time of this process (DuckDB's threads included, PostgreSQL's server not) and the
    # load average tell a slow figure on a busy machine from a slow import.
    outcome.cpu_seconds = time.process_time() - cpu_started
    outcome.load_average = os.getloadavg()[0]
    outcome.backend_cpu_seconds = _backend_cpu_seconds() - backend_started
    return time.perf_counter() - started, outcome


def _backend_cpu_seconds() -> float:
    """Return the CPU time of this connection's PostgreSQL server process (0 on SQLite).

    Read from /proc, so it needs the server on this machine, as the benchmark's is.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are the 14th and 15th fields of /proc/PID/stat, in clock ticks.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _importing_user() -> Any:
    from django.contrib.auth.models import Group, User

    from billguard.controls.roles import roles_install

    roles_install()
    user = User.objects.create(username="bench.finance")
    user.groups.add(Group.objects.get(name="finance"))
    return user


def _contracts_for(lines: int) -> int:
    """Return the contracts needed so that ``lines`` fill at most MAX_MONTHS months."""
    return max(1, -(-lines // (LINES_PER_CONTRACT * MAX_MONTHS)))


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--database-url", help=f"default: {DEFAULT_POSTGRES_URL} or a file")
    parser.add_argument("--lines", type=int, default=1_000_000, help="invoice lines to import")
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--profile", metavar="FILE", help="write cProfile statistics of run 1")
    parser.add_argument("--results", type=Path, metavar="FILE", help="write the figures as JSON")
    return parser.parse_args()


if __name__ == "__main__":
    main()
