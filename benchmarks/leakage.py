"""Benchmark of the leakage audit on PostgreSQL: 1M imported invoice lines, 100k contracts.

The contract book is benchmarks.book with 4 lines per contract (two fixed monthly fees, a
usage line and a time-and-materials line), a second version for every tenth contract from
2026-07-01 and a 5 % discount on L02 of every fourth. This module adds a 2 % uplift of L01
from 2026-09-01 on every seventh unamended contract, an unsigned SOW on every 97th, and the
imported history: one invoice per contract and month from 2026-06 to 2026-10 with lines L01
and L02, priced from the contract terms except for seeded faults (a wrong price on every 50th
contract's L01 in August, the bill-to of another customer on every 100th contract's
September invoice, and on every 100th contract the September L02 billing August again: a
duplicate and a missed period). Everything is written with COPY.

The audit is timed end to end (``leakage_audit``, SQL and summaries). The floor is one
aggregate over the same lines joined to their invoices, the contract version in force and
the contract line: the scan and joins that any re-pricing needs, without the pricing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from benchmarks.book import (
    AMENDMENT_START,
    CREATED_AT,
    DISCOUNT_PERCENT,
    BookSize,
    contract_lines,
    customer_name,
    customer_of,
    has_discount,
    is_amended,
)
from benchmarks.database import configure_django, recreate_database
from benchmarks.tables import Table

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql://root@127.0.0.1:5432/billguard_leakage_bench"
MONTHS = ((2026, 6), (2026, 7), (2026, 8), (2026, 9), (2026, 10))
BILLED_LINES = ("L01", "L02")
UPLIFT_EVERY = 7
UPLIFT_START = dt.date(2026, 9, 1)
UPLIFT_PERCENT = Decimal("2")
UNSIGNED_SOW_EVERY = 97
WRONG_PRICE_EVERY = 50
WRONG_BILL_TO_EVERY = 100
DUPLICATE_EVERY = 100
CENT = Decimal("0.01")
FOURTH_DECIMAL = Decimal("0.0001")

FLOOR_SQL = """
SELECT v.currency, COUNT(*), SUM(l.quantity * cl.unit_price - l.net_amount)
FROM history_importedinvoiceline l
JOIN history_importedinvoice i ON i.id = l.invoice_id
JOIN registry_contractversion v
    ON v.contract_id = i.contract_id
   AND v.effective_from <= l.service_start
   AND NOT EXISTS (
       SELECT 1 FROM registry_contractversion later
       WHERE later.contract_id = v.contract_id
         AND later.effective_from > v.effective_from
         AND later.effective_from <= l.service_start
   )
JOIN registry_contractline cl ON cl.version_id = v.id AND cl.line_code = l.line_code
GROUP BY v.currency
"""


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    start = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return start, following - dt.timedelta(days=1)


def has_uplift(j: int) -> bool:
    return j % UPLIFT_EVERY == 0 and not is_amended(j)


def unit_price(j: int, size: BookSize, code: str, day: dt.date) -> Decimal:
    amended = is_amended(j) and day >= AMENDMENT_START
    line = next(line for line in contract_lines(j, size, amended=amended) if line.code == code)
    price = line.unit_price
    if code == "L01" and has_uplift(j) and day >= UPLIFT_START:
        price = (price * (1 + UPLIFT_PERCENT / 100)).quantize(FOURTH_DECIMAL, ROUND_HALF_UP)
    return price


def net_amount(j: int, size: BookSize, code: str, price: Decimal) -> Decimal:
    line = next(line for line in contract_lines(j, size) if line.code == code)
    quantity = line.quantity or Decimal(1)
    percent = DISCOUNT_PERCENT if code == "L02" and has_discount(j) else Decimal(0)
    return (quantity * price * (100 - percent) / 100).quantize(CENT, ROUND_HALF_UP)


def history_rows(size: BookSize) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Return the invoice rows and the line rows of the imported history, in memory."""
    invoices: list[tuple[object, ...]] = []
    lines: list[tuple[object, ...]] = []
    for j in range(1, size.contracts + 1):
        customer = customer_of(j)
        for year, month in MONTHS:
            start, end = month_bounds(year, month)
            invoice_id = len(invoices) + 1
            total = Decimal(0)
            for position, code in enumerate(BILLED_LINES, start=1):
                price = unit_price(j, size, code, start)
                if code == "L01" and month == 8 and j % WRONG_PRICE_EVERY == 0:
                    price += 1
                service_start, service_end = start, end
                if code == "L02" and month == 9 and j % DUPLICATE_EVERY == 1:
                    service_start, service_end = month_bounds(year, 8)
                    price = unit_price(j, size, code, service_start)
                quantity = next(
                    line.quantity for line in contract_lines(j, size) if line.code == code
                )
                net = net_amount(j, size, code, price)
                total += net
                lines.append(
                    (invoice_id, position, code, quantity, price, net, service_start, service_end)
                )
            bill_to = customer
            if month == 9 and j % WRONG_BILL_TO_EVERY == 0:
                bill_to = customer % size.customers + 1
            invoices.append(
                (
                    invoice_id,
                    "quickbooks",
                    f"QB-{invoice_id}",
                    "invoice",
                    f"INV-{invoice_id:08d}",
                    customer_name(customer),
                    customer,
                    bill_to,
                    j,
                    start,
                    "EUR",
                    total,
                    total,
                    CREATED_AT,
                )
            )
    return invoices, lines


def extra_tables(size: BookSize) -> list[Table]:
    invoices, lines = history_rows(size)
    uplifts = (
        (j, "L01", UPLIFT_START, "fixed_uplift", UPLIFT_PERCENT, "", None, None)
        for j in range(1, size.contracts + 1)
        if has_uplift(j)
    )
    return [
        Table(
            "registry.ScheduledPriceChange",
            (
                "version",
                "line_code",
                "effective_on",
                "kind",
                "uplift_percent",
                "index_name",
                "index_base_value",
                "index_value",
            ),
            uplifts,
        ),
        Table(
            "history.ImportedInvoice",
            (
                "id",
                "source",
                "external_id",
                "document_type",
                "number",
                "customer_name",
                "party",
                "bill_to",
                "contract",
                "issue_date",
                "currency",
                "line_extension",
                "total",
                "imported_at",
            ),
            iter(invoices),
        ),
        Table(
            "history.ImportedInvoiceLine",
            (
                "invoice",
                "position",
                "line_code",
                "quantity",
                "unit_price",
                "net_amount",
                "service_start",
                "service_end",
            ),
            iter(lines),
        ),
    ]


def timed(runs: int, work: Any, cpu: dict[str, list[float | None]] | None = None) -> list[float]:
    """Run ``work`` ``runs`` times and return the wall-clock seconds of each run.

    ``cpu`` gets the CPU seconds of each run: ``client`` for this process (every thread,
    DuckDB's included) and ``backend`` for the PostgreSQL backend of Django's connection.
    """
    seconds = []
    for _ in range(runs):
        backend_before = backend_cpu_seconds()
        client_before = time.process_time()
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
        if cpu is not None:
            cpu.setdefault("client", []).append(time.process_time() - client_before)
            backend_after = backend_cpu_seconds()
            used = None
            if backend_before is not None and backend_after is not None:
                used = backend_after - backend_before
            cpu.setdefault("backend", []).append(used)
    return seconds


def backend_cpu_seconds() -> float | None:
    """Return the CPU seconds used so far by the PostgreSQL backend of Django's connection.

    The figure comes from ``/proc/PID/stat`` (user plus system time), so it is None unless
    the server runs on this machine under Linux and this process may read its processes.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command name come the state (field 3) ... utime (14) and stime (15).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    args = parse_arguments()
    size = BookSize(args.contracts, lines_per_contract=4)
    var_dir = (REPOSITORY / "var" / "bench" / "leakage").resolve()
    if not args.skip_write:
        recreate_database(args.database_url)
    configure_django(args.database_url, var_dir)
    from benchmarks.machine import describe_machine

    results: dict[str, Any] = {
        "command": " ".join(["python", "-m", "benchmarks.leakage", *sys.argv[1:]]),
        "machine": describe_machine(),
        "contracts": size.contracts,
    }
    if args.skip_write:
        recorded = _reused_figures(args.results)
        results.update({key: recorded[key] for key in ("write_seconds", "invoice_lines")})
    else:
        _write(size, results)
    _measure(args, results)


def _reused_figures(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise SystemExit(f"error: --skip-write needs the figures of a full run in {path}")
    recorded: dict[str, Any] = json.loads(path.read_text())
    return recorded


def _write(size: BookSize, results: dict[str, Any]) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction

    from benchmarks.book import book_tables
    from benchmarks.tables import write_tables

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    with transaction.atomic():
        written = write_tables(book_tables(size) + extra_tables(size))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE registry_document SET signed_on = NULL "  # noqa: S608 - an integer
                f"WHERE kind = 'sow' AND id % {UNSIGNED_SOW_EVERY} = 0"
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    results["write_seconds"] = time.perf_counter() - started
    rows = {table.model_label: table.rows for table in written}
    results["invoice_lines"] = rows["history.ImportedInvoiceLine"]
    print(
        f"book and history written in {results['write_seconds']:.1f} s: "
        f"{results['invoice_lines']} invoice lines, {size.contracts} contracts"
    )


def _measure(args: argparse.Namespace, results: dict[str, Any]) -> None:
    from django.db import connection

    from billguard.insights.leakage import leakage_audit

    def floor() -> None:
        with connection.cursor() as cursor:
            cursor.execute(FLOOR_SQL)
            cursor.fetchall()

    floor()  # the first scan reads the tables into the page cache, as the audit's first run
    floor_cpu: dict[str, list[float | None]] = {}
    results["floor_seconds"] = timed(args.runs, floor, floor_cpu)
    results["floor_backend_cpu_seconds"] = floor_cpu["backend"]
    floor_median = statistics.median(results["floor_seconds"])
    results["floor_median_seconds"] = floor_median
    print(
        f"floor: {', '.join(f'{s:.2f}' for s in results['floor_seconds'])} s, "
        f"backend CPU {_listed(floor_cpu['backend'])} s"
    )
    results["load_average_before"] = os.getloadavg()
    results["engines"] = {}
    for engine in args.engines:
        reports: list[Any] = []

        def audit(name: str = engine, found: list[Any] = reports) -> None:
            found.append(leakage_audit(engine_name=name))

        cpu: dict[str, list[float | None]] = {}
        seconds = timed(args.runs, audit, cpu)
        median = statistics.median(seconds)
        report = reports[-1]
        results["engines"][engine] = {
            "seconds": seconds,
            "median_seconds": median,
            "client_cpu_seconds": cpu["client"],
            "backend_cpu_seconds": cpu["backend"],
            "ratio_to_floor": median / floor_median,
            "findings": {row.key: row.money.findings for row in report.by_code},
            "remediation_rows": len(report.remediation),
        }
        print(
            f"audit on {engine}: {', '.join(f'{s:.2f}' for s in seconds)} s, median "
            f"{median:.2f} s, {median / floor_median:.1f} x the floor"
        )
        print(f"  CPU seconds: client {_listed(cpu['client'])}, backend {_listed(cpu['backend'])}")
        print(f"  findings by code: {results['engines'][engine]['findings']}")
    results["load_average_after"] = os.getloadavg()
    print(
        f"load average before {results['load_average_before']}, "
        f"after {results['load_average_after']}"
    )
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"figures written to {args.results}")


def _listed(values: list[float | None]) -> str:
    return ", ".join("n/a" if value is None else f"{value:.2f}" for value in values)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.leakage", description=__doc__)
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument(
        "--database-url",
        default=DEFAULT_URL,
        help=f"PostgreSQL database to drop and recreate (default {DEFAULT_URL})",
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each query")
    parser.add_argument(
        "--engines",
        nargs="+",
        default=["duckdb", "postgresql"],
        choices=["duckdb", "postgresql"],
        help="audit engines to time (default both)",
    )
    parser.add_argument(
        "--skip-write",
        action="store_true",
        help="reuse the database and figures of an earlier full run",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=REPOSITORY / "var" / "bench" / "leakage.json",
        help="JSON file for the figures",
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
