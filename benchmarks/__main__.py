"""Write a generated book into a fresh database and time the billing runs of its periods.

For the chosen backend, the database is dropped and created, migrated, and the book written
with COPY (PostgreSQL) or executemany (SQLite). Each period then runs in a child process
(``benchmarks.period_run``), one after another, so a later run bills a book that contains the
invoices of the earlier ones. On PostgreSQL, a COPY of as many invoice-line rows as the last
run billed is timed as the floor to compare the run with. The figures are printed and written
as JSON. With ``--queue-workers N`` the runs go to N ``billguard worker`` processes through
Redis (queue mode, PostgreSQL only), and the workers' CPU time and peak memory are added.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.book import BookSize
from benchmarks.database import DEFAULT_POSTGRES_URL, configure_django, recreate_database

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_PERIODS = ("2026-10", "2026-11")


def main() -> None:
    args = parse_arguments()
    size = book_size(args.contracts, args.lines_per_contract, args.periods)
    if args.queue_workers and args.backend != "postgresql":
        raise SystemExit("error: queue mode needs PostgreSQL; drop --queue-workers for SQLite")
    folder = args.backend + ("-queue" if args.queue_workers else "")
    var_dir = (args.var_dir or REPOSITORY / "var" / "bench" / folder).resolve()
    url = args.database_url or default_url(args.backend, var_dir)
    results_path = args.results or var_dir / "results.json"

    recreate_database(url)
    _remove_outputs(var_dir)
    configure_django(url, var_dir)
    from benchmarks.machine import describe_machine
    from billguard.billing.run import DEFAULT_CHUNK_SIZE

    chunk_size = args.chunk_size or DEFAULT_CHUNK_SIZE
    results: dict[str, Any] = {
        "command": " ".join(["python", "-m", "benchmarks", *sys.argv[1:]]),
        "backend": args.backend,
        "machine": describe_machine(),
        "contracts": size.contracts,
        "lines_per_contract": size.lines_per_contract,
        "chunk_size": chunk_size,
        "queue_workers": args.queue_workers,
    }
    results["book"] = write_book(size)
    print(f"book written in {results['book']['seconds']:.1f} s")

    pool = None
    if args.queue_workers:
        from benchmarks.workers import queue_environment, workers_start

        queue_env = queue_environment(args.broker_url)
        os.environ.update(queue_env)
        pool = workers_start(args.queue_workers, queue_env, var_dir / "workers")
    results["runs"] = []
    try:
        for index, period in enumerate(args.periods):
            profile = args.profile if index == len(args.periods) - 1 else None
            workers_before = pool.figures() if pool is not None else None
            figures = run_period_process(
                url, var_dir, period, chunk_size, profile, pool is not None
            )
            if pool is not None and workers_before is not None:
                figures["queue_workers"] = workers_after = pool.figures()
                workers_after["cpu_seconds"] -= workers_before["cpu_seconds"]  # type: ignore[operator]
            results["runs"].append(figures)
            print_run(figures)
    finally:
        if pool is not None:
            pool.stop()

    if args.backend == "postgresql" and not args.skip_copy:
        results["copy_floor"] = measure_copy_floor(size, args.periods[-1], results["runs"][-1])
        print_copy_floor(results["copy_floor"])

    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"figures written to {results_path}")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument(
        "--contracts", type=int, default=100_000, help="contracts in the book (default 100000)"
    )
    parser.add_argument(
        "--lines-per-contract",
        type=int,
        default=10,
        help="lines each contract bills in a monthly run, at least 3 (default 10)",
    )
    parser.add_argument(
        "--periods",
        nargs="+",
        default=list(DEFAULT_PERIODS),
        help="months to run, in order (default: 2026-10 2026-11)",
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        help="contracts per chunk of the billing run (default: the billing run's default)",
    )
    parser.add_argument(
        "--database-url",
        help=f"database to drop and recreate (default {DEFAULT_POSTGRES_URL}, or "
        "VAR_DIR/billguard_bench.sqlite3 for SQLite)",
    )
    parser.add_argument(
        "--var-dir", type=Path, help="folder of the outputs (default var/bench/BACKEND)"
    )
    parser.add_argument(
        "--results", type=Path, help="JSON file of the figures (default VAR_DIR/results.json)"
    )
    parser.add_argument("--profile", type=Path, help="write a cProfile of the last run here")
    parser.add_argument("--skip-copy", action="store_true", help="do not time the COPY floor")
    parser.add_argument(
        "--queue-workers",
        type=int,
        default=0,
        help="run in queue mode on this many workers, each with one child (default 0: in process)",
    )
    parser.add_argument(
        "--broker-url",
        default="redis://127.0.0.1:6379/14",
        help="Redis broker of the queue mode (default redis://127.0.0.1:6379/14)",
    )
    return parser.parse_args()


def default_url(backend: str, var_dir: Path) -> str:
    if backend == "postgresql":
        return DEFAULT_POSTGRES_URL
    return f"sqlite:///{var_dir / 'billguard_bench.sqlite3'}"


def book_size(contracts: int, lines_per_contract: int, periods: list[str]) -> BookSize:
    """Size the book, with usage and timesheets in the month before each period."""
    months = []
    for label in periods:
        try:
            start = dt.date.fromisoformat(f"{label}-01")
        except ValueError:
            raise SystemExit(f"error: period {label!r} is not a month such as 2026-11") from None
        previous = start - dt.timedelta(days=1)
        months.append((previous.year, previous.month))
    try:
        return BookSize(contracts, lines_per_contract, tuple(months))
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None


def write_book(size: BookSize) -> dict[str, Any]:
    """Migrate the empty database, write the book and refresh the planner statistics."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from benchmarks.book import book_tables
    from benchmarks.tables import write_tables

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter()
    with transaction.atomic():
        written = write_tables(book_tables(size))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    finished = time.perf_counter()
    for table in written:
        print(f"  {table.model_label:30} {table.rows:>10} rows  {table.seconds:7.1f} s")
    return {
        "seconds": finished - started,
        "migrate_seconds": migrated - started,
        "tables": {t.model_label: {"rows": t.rows, "seconds": t.seconds} for t in written},
    }


def run_period_process(
    url: str, var_dir: Path, period: str, chunk_size: int, profile: Path | None, queue: bool
) -> dict[str, Any]:
    """Run the billing of ``period`` in a child process and return its figures."""
    figures_path = var_dir / f"run-{period}.json"
    command = [
        sys.executable,
        "-m",
        "benchmarks.period_run",
        "--database-url",
        url,
        "--var-dir",
        str(var_dir),
        "--period",
        period,
        "--chunk-size",
        str(chunk_size),
        "--json",
        str(figures_path),
    ]
    if profile is not None:
        command += ["--profile", str(profile)]
    if queue:
        command.append("--queue")
    print(f"billing run {period} ...", flush=True)
    subprocess.run(command, check=True, cwd=REPOSITORY)  # noqa: S603 - our own module
    figures: dict[str, Any] = json.loads(figures_path.read_text())
    return figures


def measure_copy_floor(size: BookSize, period: str, run: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.copy_floor import invoice_line_rows, time_copy

    rows = invoice_line_rows(size, dt.date.fromisoformat(f"{period}-01"))
    seconds = time_copy(rows)
    return {
        "rows": len(rows),
        "seconds": seconds,
        "rows_per_second": len(rows) / seconds,
        "run_rows": run["invoice_lines"],
        "run_seconds": run["seconds"],
        "run_over_copy": run["seconds"] / seconds,
    }


def print_run(figures: dict[str, Any]) -> None:
    server = figures["server_cpu_seconds"]
    print(
        f"  {figures['issued']} issued, {figures['held']} held, "
        f"{figures['invoice_lines']} lines in {figures['seconds']:.1f} s = "
        f"{figures['lines_per_second']:.0f} lines/s; "
        f"CPU {figures['user_seconds']:.1f} s user, {figures['system_seconds']:.1f} s system"
        + (f", database server {server:.1f} s" if server is not None else "")
        + f"; peak RSS {figures['max_rss_mib']:.0f} MiB"
    )
    children_cpu = figures.get("children_user_seconds", 0) + figures.get(
        "children_system_seconds", 0
    )
    if children_cpu:
        print(
            f"  child processes (output files): CPU {children_cpu:.1f} s, "
            f"peak RSS {figures['children_max_rss_mib']:.0f} MiB"
        )
    workers = figures.get("queue_workers")
    if workers:
        print(
            f"  queue workers: {workers['workers']}, CPU {workers['cpu_seconds']:.1f} s, "
            f"peak RSS {workers['max_rss_mib_per_worker']:.0f} MiB per worker"
        )
    if figures["findings"]:
        print(f"  findings: {figures['findings']}")


def print_copy_floor(floor: dict[str, Any]) -> None:
    print(
        f"COPY of {floor['rows']} invoice-line rows: {floor['seconds']:.1f} s "
        f"({floor['rows_per_second']:.0f} rows/s); "
        f"run / COPY = {floor['run_over_copy']:.1f}"
    )


def _remove_outputs(var_dir: Path) -> None:
    """Delete the outputs of an earlier benchmark, which the new book's numbers would reuse."""
    import shutil

    shutil.rmtree(var_dir / "invoices", ignore_errors=True)
    shutil.rmtree(var_dir / "reports", ignore_errors=True)


if __name__ == "__main__":
    main()
